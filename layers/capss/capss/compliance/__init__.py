"""The chain's duty to report: the register of stores, business days, the missed-report
monitor, the digest and the report. It reads file records through the pipeline's ports;
the per-file pipeline never imports it."""
