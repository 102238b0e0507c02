"""The bridge's decisions: submit, poll and finish one file version, the record that keeps
its story, the ports they need, and the words that tell ops what to do. No SDK here:
`capss.aws` plugs AWS in, `capss.client` CAPSS, `capss.intake` the validator."""
