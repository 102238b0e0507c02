"""The local stack: the CAPSS simulator and the emulated AWS account (no Docker needed)."""
