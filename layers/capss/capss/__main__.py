"""`python -m capss`: the same as the `capss` command."""

from capss._cli import main

raise SystemExit(main())
