"""One exception tree that says what to do next.

    CapssError
    ├── TransientError      try again later: ASL Retry and queue redelivery act on it
    ├── NeedsPersonError    a person must act: recorded as an outcome and alerted
    └── ProtocolError       CAPSS answered something this code cannot read: a bug or an API change

Every error carries `hint`, one sentence an ops person can act on. Messages never
contain a client secret or a token.
"""

from __future__ import annotations


class CapssError(Exception):
    """Root of every error the library raises on purpose."""

    hint: str = "See the logs for the request that failed."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class TransientError(CapssError):
    """Worth retrying: CAPSS or the network failed in a way that may pass."""

    hint = "Nothing to do yet: the bridge retries on its own and alerts if it keeps failing."

    def __init__(
        self, message: str, *, retry_after: float | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class NeedsPersonError(CapssError):
    """Retrying will not help: credentials, configuration, the file or CAPSS's answer need a person."""


class ProtocolError(CapssError):
    """CAPSS answered in a shape this code does not understand."""

    hint = "Keep the raw answer from the record and report it to the bridge's developers."
