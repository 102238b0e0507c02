"""One exception tree that says what to do next.

    CapssError
    ├── TransientError      try again later: ASL Retry and queue redelivery act on it
    │   ├── CapssUnavailable    CAPSS unreachable, connection dropped, or a 5xx
    │   ├── CapssTimeout        connect or read timeout
    │   └── RateLimited         429, with retry_after
    ├── NeedsPersonError    a person must act: recorded as an outcome and alerted
    │   ├── BadCredentials      the token request was refused
    │   ├── RequestRejected     CAPSS answered 400 to an upload, with its message
    │   ├── JobNotFound         404 on a status link
    │   ├── ForeignLinkRefused  a status link to another host: the token stays home
    │   ├── TlsFailure          handshake or certificate failure
    │   └── InputError          an ops command's input cannot be used as given
    └── ProtocolError       CAPSS answered something this code cannot read: a bug or an API change

Every error carries `hint`, one sentence an ops person can act on, and `attempts`,
the number of requests the failed call made. Messages never contain a client
secret or a token. A message that repeats what CAPSS answered names that text in `quoted`:
records and alerts may show it, logs never (`own_words`; the personal data rule in
docs/design.md), since CAPSS may quote a file's customer fields back.
"""

from __future__ import annotations


class CapssError(Exception):
    """Root of every error the library raises on purpose."""

    hint: str = "See the logs for the request that failed."
    attempts: int = 1
    """How many requests the failed call made (for an upload: how many times the file was sent)."""
    quoted: str = ""
    """CAPSS's own text that the message repeats (an excerpt of its answer, its message)."""

    def __init__(self, message: str, *, hint: str | None = None, quoted: str = "") -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        if quoted:
            self.quoted = quoted

    def own_words(self) -> str:
        """The message with CAPSS's text withheld: what a log line may carry."""
        text = str(self)
        if not self.quoted:
            return text
        return text.replace(self.quoted, f"[{len(self.quoted)} characters from CAPSS withheld]")


class TransientError(CapssError):
    """Worth retrying: CAPSS or the network failed in a way that may pass."""

    hint = (
        "Try again later; check the URL and the network if it keeps failing (the deployed"
        " bridge retries by itself and alerts when it gives up)."
    )

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        hint: str | None = None,
        maybe_accepted: bool = False,
        quoted: str = "",
    ) -> None:
        super().__init__(message, hint=hint, quoted=quoted)
        self.retry_after = retry_after
        # An upload that failed after its body was sent may have been taken by CAPSS:
        # sending it again could duplicate it, so the caller decides.
        self.maybe_accepted = maybe_accepted


class NeedsPersonError(CapssError):
    """Retrying will not help: credentials, settings, the file or CAPSS's answer need a person."""


class InputError(NeedsPersonError):
    """What an ops command was asked cannot be done as asked: a file, a name, a range."""


class ProtocolError(CapssError):
    """CAPSS answered in a shape this code does not understand."""

    hint = "Keep the raw answer from the record and report it to the bridge's developers."


class CapssUnavailable(TransientError):
    """CAPSS could not be reached, dropped the connection, or answered 5xx."""

    hint = "CAPSS or the network is down for now: try again later; check the URL if it persists."


class CapssTimeout(TransientError):
    """CAPSS did not connect or answer within the timeout."""

    hint = "CAPSS is slow or unreachable: try again later; raise the timeout if it persists."


class RateLimited(TransientError):
    """CAPSS answered 429: too many requests."""

    hint = "CAPSS asked to slow down: retry after the given delay or lower the concurrency."


class BadCredentials(NeedsPersonError):
    """CAPSS refused the client id and secret (or the token they gave)."""

    hint = (
        "Check the client id and secret on the CAPSS 'API Client' page "
        "(CAPSS_CLIENT_ID / CAPSS_CLIENT_SECRET) and that they belong to this CAPSS environment."
    )


class RequestRejected(NeedsPersonError):
    """CAPSS answered 400 (or another 4xx) to an upload: the file or its parameters."""

    hint = "Read CAPSS's message, correct the file or the onDup/onError values, and submit again."

    def __init__(
        self, message: str, *, http_status: int, capss_message: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint, quoted=capss_message)
        self.http_status = http_status
        self.capss_message = capss_message


class JobNotFound(NeedsPersonError):
    """The status link answered 404: CAPSS does not know (or does not show yet) this job."""

    hint = (
        "A job CAPSS has just accepted may take a moment to appear: keep polling; "
        "if it persists, look the submission up in CAPSS."
    )


class ForeignLinkRefused(NeedsPersonError):
    """A status link points away from the configured CAPSS: the token is not sent there."""

    hint = (
        "Check the CAPSS base URL (CAPSS_BASE_URL): the link must use the same scheme, "
        "host and port; the bearer token is only ever sent to that host."
    )


class TlsFailure(NeedsPersonError):
    """The TLS connection to CAPSS could not be set up."""

    HANDSHAKE_HINT = (
        "The TLS handshake failed: try --tls-ciphers 'DEFAULT@SECLEVEL=1' "
        "(CAPSS_TLS_CIPHERS) for an older CAPSS server."
    )
    CERTIFICATE_HINT = (
        "CAPSS's certificate could not be verified: give the issuing CA with --ca-bundle "
        "(CAPSS_CA_BUNDLE); certificate checks are never turned off."
    )
    hint = HANDSHAKE_HINT
