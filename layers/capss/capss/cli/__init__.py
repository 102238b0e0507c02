"""The `capss` command."""
