"""`python -m capss`: the same as the `capss` command."""

from capss.cli.main import main

raise SystemExit(main())
