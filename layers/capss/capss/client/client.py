"""The CAPSS client: token, upload and status over httpx, for both API generations.

httpx exceptions and CAPSS's error answers become the library's errors here, in
`_translate` and `_refuse`, and nowhere else. Token and status calls are idempotent
and retried with exponential backoff and full jitter; an upload is sent again only
when CAPSS certainly did not take it.
"""

from __future__ import annotations

import dataclasses
import email.utils
import enum
import json
import logging
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, BinaryIO, TypeVar

import httpx

from capss.bounds import clip
from capss.client.api import SANDBOX_URL, TOKEN_FORM, UPLOAD_FIELD, Api, endpoints
from capss.client.auth import PROCESS_CACHE, BearerAuth, Origin, Token, TokenCache, cache_key, mask
from capss.client.status import StatusResult, describes_job, normalise_status
from capss.client.tls import DEFAULT_CIPHERS, ssl_context
from capss.errors import (
    BadCredentials,
    CapssError,
    CapssTimeout,
    CapssUnavailable,
    ForeignLinkRefused,
    JobNotFound,
    NeedsPersonError,
    ProtocolError,
    RateLimited,
    RequestRejected,
    TlsFailure,
    TransientError,
)
from capss.kinds import SKIP_DUPLICATES, FileKind

_BACKOFF_BASE_SECONDS = 0.5
_BACKOFF_CAP_SECONDS = 8.0
# A Retry-After longer than this is handed to the caller (queue or state machine) to wait out.
_MAX_INLINE_RETRY_AFTER_SECONDS = 30.0
_EXCERPT_LENGTH = 200
_MAX_LINK_LENGTH = 2048
_MAX_ID_LENGTH = 128
_NOT_TAKEN_STATUSES = frozenset({503})
"""5xx answers after which an upload certainly created no job (unavailable: refused at the door)."""
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_MIN_ATTEMPT_SECONDS = 2.0
"""No request starts, and no retry waits, when less than this would be left of the run."""

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Request(enum.StrEnum):
    """The kinds of request the client makes, as it reports them to `on_request`."""

    TOKEN = "token"  # noqa: S105 - a request kind, not a secret
    UPLOAD = "upload"
    """A file's upload: transactions or item updates."""
    STATUS = "status"


RequestObserver = Callable[[Request, float, bool], None]
"""Told of each request made: its kind, its milliseconds, whether it failed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    base_url: str = SANDBOX_URL
    api: Api = Api.CURRENT
    client_id: str
    client_secret: str = field(repr=False)
    ca_bundle: str | None = None
    tls_ciphers: str = DEFAULT_CIPHERS
    timeout: float = 30.0
    max_retries: int = 3
    """Retries after the first attempt: token and status calls, uploads CAPSS did not take."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown of a token: never the token itself, only its first characters."""

    token_type: str
    scope: str
    expires_at: datetime
    license_id: str | None
    token_prefix: str

    @classmethod
    def of(cls, token: Token) -> TokenInfo:
        return cls(
            token_type=token.token_type,
            scope=token.scope,
            expires_at=datetime.fromtimestamp(token.expires_at, UTC),
            license_id=token.license_id,
            token_prefix=token.masked,
        )

    def __str__(self) -> str:
        license_text = f", license {self.license_id}" if self.license_id else ""
        return (
            f"{self.token_type} token {self.token_prefix} (scope {self.scope}{license_text}), "
            f"expires {self.expires_at.isoformat(timespec='seconds')}"
        )


@dataclass(frozen=True, slots=True)
class UploadReceipt:
    submission_id: str | None
    status_url: str | None
    license_number: str | None
    status: str
    attempts: int
    completed: bool
    """CAPSS answered "complete" at once (seen for item updates)."""
    on_dup: str
    """The onDup value sent, in this generation's spelling."""
    raw: dict[str, Any] = field(repr=False)


class CapssClient:
    """One CAPSS client id against one CAPSS host. Use it as a context manager."""

    def __init__(
        self,
        config: ClientConfig,
        transport: httpx.BaseTransport | None = None,
        *,
        token_cache: TokenCache = PROCESS_CACHE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        time_left: Callable[[], float | None] = lambda: None,
        on_request: RequestObserver | None = None,
    ) -> None:
        """`time_left` gives the seconds the caller can still spend (None: no limit); every
        retry, Retry-After wait and request timeout stops within it. `on_request` hears of
        every attempt, retries included."""
        self.config = config
        self._endpoints = endpoints(config.api)
        base_url = httpx.URL(config.base_url)
        if base_url.scheme != "https" and base_url.host not in _LOOPBACK_HOSTS:
            raise NeedsPersonError(
                f"refusing to send CAPSS credentials to {config.base_url}: not https",
                hint="Use CAPSS's https:// address (only a local simulator may use http).",
            )
        self._base = str(base_url).rstrip("/")
        self._origin = Origin.of(self._base)
        self._cache = token_cache
        self._cache_key = cache_key(self._base, config.client_id, config.client_secret)
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._time_left = time_left
        self._on_request = on_request
        self._secrets = (config.client_secret,)
        self._http = httpx.Client(
            verify=ssl_context(config.ca_bundle, config.tls_ciphers),
            timeout=httpx.Timeout(config.timeout),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            auth=BearerAuth(self._origin, self._token),
        )

    def __enter__(self) -> CapssClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        config = self.config
        return f"CapssClient({self._base!r}, api={config.api.value}, client={config.client_id!r})"

    # -- token -------------------------------------------------------------------------------

    def token(self) -> TokenInfo:
        """The current token (cached or new), as much of it as may be shown."""
        return TokenInfo.of(self._token(None))

    def check_license(self, license_number: str | None) -> None:
        """Refuses a file of another license than this client's, before it is sent.

        The current API's token names its license; a legacy token does not, and then
        nothing can be checked here (CAPSS itself refuses the file).
        """
        token_license = self.token().license_id
        if token_license and license_number and token_license != license_number:
            raise NeedsPersonError(
                f"the file is for license {license_number}, but CAPSS client"
                f" {self.config.client_id!r} belongs to license {token_license}",
                hint=f"Use license {license_number}'s own CAPSS API client.",
            )

    def _token(self, stale: str | None) -> Token:
        return self._cache.obtain(self._cache_key, self._new_token, stale)

    def _new_token(self) -> Token:
        token = self._retrying(self._fetch_token, Request.TOKEN)[0]
        logger.debug("CAPSS granted a token", extra={"token": repr(token)})
        return token

    def _fetch_token(self) -> Token:
        url = self._base + self._endpoints.oauth_path
        with self._translated("the token request"):
            response = self._http.post(
                url,
                timeout=self._request_timeout("the token request"),
                data=TOKEN_FORM,
                auth=httpx.BasicAuth(self.config.client_id, self.config.client_secret),
                headers={"Accept": "application/json"},
            )
        if response.status_code in (400, 401, 403):
            raise BadCredentials(
                f"CAPSS refused client {self.config.client_id!r} at {url}: "
                f"HTTP {response.status_code} {_oauth_error(response)}"
            )
        self._refuse(response, "the token request")
        # The token answer holds the token itself: never quote it in an error.
        body = self._json(response, "the token request", quote=False)
        access_token = body.get("access_token")
        token_type = body.get("token_type")
        if not isinstance(access_token, str) or not access_token or not isinstance(token_type, str):
            raise ProtocolError(
                f"the token answer lacks access_token or token_type: keys {sorted(body)}"
            )
        if token_type.lower() != "bearer":
            raise ProtocolError(
                f"CAPSS granted a {token_type!r} token; only bearer tokens are known"
            )
        expires_in = body.get("expires_in")
        return Token(
            access_token=access_token,
            token_type="Bearer",  # noqa: S106 - a token type, not a secret
            scope=str(body.get("scope") or ""),
            expires_in=float(expires_in) if isinstance(expires_in, int | float) else 0.0,
            obtained_at=self._clock(),
        )

    # -- upload ------------------------------------------------------------------------------

    def upload(
        self,
        fileobj: BinaryIO,
        filename: str,
        kind: FileKind,
        on_dup: str = SKIP_DUPLICATES,
        on_error: str = "submit",
    ) -> UploadReceipt:
        """Send a file to CAPSS. The file object is streamed and must be seekable."""
        url = self._base + self._endpoints.upload[kind]
        if on_dup == SKIP_DUPLICATES:
            on_dup = self._endpoints.skip_duplicates
        params = {"onDup": on_dup, "onError": on_error}
        what = f"the upload of {filename}"

        def send() -> dict[str, Any]:
            # httpx seeks the file back to its start each time it renders the body.
            files = {UPLOAD_FIELD[kind]: (filename, fileobj, "application/xml")}
            with self._translated(what):
                response = self._http.post(
                    url, params=params, files=files, timeout=self._request_timeout(what)
                )
            code = response.status_code
            if code >= 500 and (code not in _NOT_TAKEN_STATUSES or _has_submission(response)):
                # A 500, or a gateway's 502/504, may come after CAPSS created the job.
                excerpt = self._excerpt(response)
                raise CapssUnavailable(
                    f"CAPSS answered HTTP {code} to {what}; it may have taken the file: {excerpt}",
                    retry_after=_retry_after(response),
                    maybe_accepted=True,
                    quoted=excerpt,
                )
            self._refuse(response, what)
            body = self._json(response, what)
            link = _status_link(body.get("links"))
            if link is None and not _completed(body):
                excerpt = self._excerpt(response)
                raise ProtocolError(
                    f"CAPSS accepted {filename} but gave no status link: {excerpt}", quoted=excerpt
                )
            submission = body.get("submission")
            submission_id = submission.get("submissionId") if isinstance(submission, dict) else None
            # Both go into the record, the execution input and alerts: no real one is this long.
            if len(link or "") > _MAX_LINK_LENGTH or len(str(submission_id or "")) > _MAX_ID_LENGTH:
                excerpt = self._excerpt(response)
                raise ProtocolError(
                    f"CAPSS's answer to {what} carries a status link or submission id too long"
                    f" to be real: {excerpt}",
                    quoted=excerpt,
                )
            return body

        self._token(None)  # its own retries, outside the upload's
        body, attempts = self._retrying(
            send, Request.UPLOAD, retry_if=lambda e: not e.maybe_accepted
        )
        submission = body.get("submission")
        return UploadReceipt(
            submission_id=(
                _str(submission.get("submissionId")) if isinstance(submission, dict) else None
            ),
            status_url=_status_link(body.get("links")),
            license_number=_str(body.get("licenseNumber")),
            status=str(body.get("status") or ""),
            attempts=attempts,
            completed=_completed(body),
            on_dup=on_dup,
            raw=body,
        )

    # -- status ------------------------------------------------------------------------------

    def status(self, url: str) -> StatusResult:
        """One status check of a link CAPSS gave (`links.href`), never a URL built here."""
        self._check_link(url)
        what = "the status check"

        def get() -> httpx.Response:
            with self._translated(what):
                response = self._http.get(
                    url,
                    headers={"Accept": "application/json"},
                    timeout=self._request_timeout(what),
                )
            if response.status_code == 404:
                raise JobNotFound(f"CAPSS does not know the job at {url} (HTTP 404)")
            # A 500 whose body describes the job is CAPSS's verdict on it ("error processing
            # file"); a server's or proxy's error page is trouble on the way, retried.
            if not (response.status_code == 500 and describes_job(_json_object(response))):
                self._refuse(response, what)
            return response

        self._token(None)  # its own retries, outside the status call's
        response, _ = self._retrying(get, Request.STATUS)
        kind = (
            FileKind.ITEM_UPDATES
            if "/itemupdate/" in httpx.URL(url).path
            else FileKind.TRANSACTIONS
        )
        result = normalise_status(
            self._json(response, what), response.status_code, kind, self.config.api
        )
        retry_after = _retry_after(response)
        if retry_after is not None:
            result = _with_retry_after(result, retry_after)
        return result

    def _check_link(self, url: str) -> None:
        try:
            origin = Origin.of(url)
        except httpx.InvalidURL as exc:
            raise ForeignLinkRefused(f"the status link {url!r} is not a URL") from exc
        if origin != self._origin:
            raise ForeignLinkRefused(
                f"the status link {url} is not on {self._base}: refused, the token stays home"
            )

    # -- the boundary: retries and translation -----------------------------------------------

    def _retrying(
        self,
        call: Callable[[], T],
        request: Request,
        retry_if: Callable[[TransientError], bool] = lambda error: True,
    ) -> tuple[T, int]:
        """Runs `call`, retrying transient failures; returns its result and the attempts made."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._observed(call, request), attempt
            except TransientError as error:
                error.attempts = attempt
                if attempt > self.config.max_retries or not retry_if(error):
                    raise
                delay = self._delay(attempt, error.retry_after)
                left = self._time_left()
                if delay is None or (left is not None and left - delay < _MIN_ATTEMPT_SECONDS):
                    raise
                logger.info(
                    "CAPSS call failed, retrying",
                    extra={"error": type(error).__name__, "attempt": attempt, "delay": delay},
                )
                self._sleep(delay)
            except CapssError as error:
                error.attempts = attempt
                raise

    def _observed(self, call: Callable[[], T], request: Request) -> T:
        if self._on_request is None:
            return call()
        started = time.perf_counter()
        failed = True
        try:
            result = call()
            failed = False
            return result
        finally:
            self._on_request(request, (time.perf_counter() - started) * 1000, failed)

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            return retry_after if retry_after <= _MAX_INLINE_RETRY_AFTER_SECONDS else None
        ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2.0 ** (attempt - 1))
        return float(self._jitter() * ceiling)

    def _request_timeout(self, what: str) -> float:
        """The configured timeout, cut to the time left; no request at all when too little is."""
        left = self._time_left()
        if left is None:
            return self.config.timeout
        if left < _MIN_ATTEMPT_SECONDS:
            # Raised before anything is sent: CAPSS certainly has nothing from this request.
            raise CapssTimeout(f"no time left in this run for {what}: not sent")
        return min(self.config.timeout, left)

    def _translated(self, what: str) -> _Translation:
        return _Translation(self._base, what)

    def _refuse(self, response: httpx.Response, what: str) -> None:
        """Raises the error an unsuccessful answer means; returns for 200 and 202."""
        code = response.status_code
        if code in (200, 202):
            return
        if code == 401:
            raise BadCredentials(
                f"CAPSS refused the token for {what} even after renewing it (HTTP 401)"
            )
        if code == 403:
            raise BadCredentials(
                f"CAPSS forbids {what} for client {self.config.client_id!r} (HTTP 403)",
                hint="Check on the CAPSS 'API Client' page that this client may do this.",
            )
        if code == 429:
            raise RateLimited(
                f"CAPSS is rate limiting {what} (HTTP 429)", retry_after=_retry_after(response)
            )
        if code >= 500:
            excerpt = self._excerpt(response)
            raise CapssUnavailable(
                f"CAPSS answered HTTP {code} to {what}: {excerpt}",
                retry_after=_retry_after(response),
                quoted=excerpt,
            )
        if 400 <= code < 500:
            message = self._scrub(_capss_message(response))
            raise RequestRejected(
                f"CAPSS rejected {what} (HTTP {code}): {message}",
                http_status=code,
                capss_message=message,
            )
        excerpt = self._excerpt(response)
        raise ProtocolError(f"CAPSS answered HTTP {code} to {what}: {excerpt}", quoted=excerpt)

    def _json(self, response: httpx.Response, what: str, *, quote: bool = True) -> dict[str, Any]:
        body = _json_object(response)
        if body is None:
            shown = self._excerpt(response) if quote else f"{len(response.content)} bytes withheld"
            raise ProtocolError(
                f"CAPSS's answer to {what} is not a JSON object: {shown}",
                quoted=shown if quote else "",
            )
        return body

    def _excerpt(self, response: httpx.Response) -> str:
        text = response.text
        text = text if len(text) <= _EXCERPT_LENGTH else text[:_EXCERPT_LENGTH] + "…"
        return self._scrub(text) or "(empty)"

    def _scrub(self, text: str) -> str:
        cached = self._cache.get(self._cache_key)
        for secret in (*self._secrets, cached.access_token if cached else ""):
            if secret:
                text = text.replace(secret, mask(secret))
        return text


class _Translation:
    """Turns httpx's exceptions into the library's, for one call."""

    def __init__(self, base: str, what: str) -> None:
        self._base = base
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, httpx.HTTPError):
            raise _translate(exc, self._base, self._what) from exc


def _translate(exc: httpx.HTTPError, base: str, what: str) -> CapssError:
    tls = _ssl_error(exc)
    if tls is not None:
        if isinstance(tls, ssl.SSLCertVerificationError):
            return TlsFailure(
                f"the certificate of {base} failed verification: {tls.verify_message}",
                hint=TlsFailure.CERTIFICATE_HINT,
            )
        return TlsFailure(f"the TLS handshake with {base} failed: {tls.reason or tls}")
    # Before a connection exists nothing can have reached CAPSS; after, the request may have.
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return CapssTimeout(f"connecting to {base} for {what} timed out")
    if isinstance(exc, httpx.ConnectError):
        refused = isinstance(exc.__context__ or exc.__cause__, ConnectionRefusedError) or (
            "Connection refused" in str(exc)
        )
        return CapssUnavailable(
            f"cannot connect to {base} for {what}: {exc}",
            hint=(
                f"Nothing accepts connections at {base}: check the base URL and its port"
                " (CAPSS_BASE_URL, --base-url); if they are right, CAPSS is down: try later."
            )
            if refused
            else None,
        )
    if base.startswith("http://") and isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError):
        # A TLS server hangs up on plain HTTP: the scheme, not CAPSS's health, is at fault.
        return CapssUnavailable(
            f"{base} closed the connection during {what} ({type(exc).__name__})",
            hint=f"The server may expect TLS: try {'https://' + base.removeprefix('http://')}.",
            maybe_accepted=True,
        )
    if isinstance(exc, httpx.TimeoutException):
        return CapssTimeout(
            f"CAPSS did not answer {what} in time ({type(exc).__name__})", maybe_accepted=True
        )
    if isinstance(exc, httpx.TransportError):
        return CapssUnavailable(
            f"the connection to {base} broke during {what}: {type(exc).__name__}: {exc}",
            maybe_accepted=True,
        )
    return ProtocolError(f"{what} failed: {type(exc).__name__}: {exc}")


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _has_submission(response: httpx.Response) -> bool:
    body = _json_object(response)
    submission = body.get("submission") if body else None
    return isinstance(submission, dict) and bool(submission.get("submissionId"))


def _completed(body: dict[str, Any]) -> bool:
    return str(body.get("status") or "").lower() == "complete"


def _status_link(links: object) -> str | None:
    """`links.href`: an object, or a HATEOAS list where the link that is not "new" wins."""
    candidates = [links] if isinstance(links, dict) else links if isinstance(links, list) else []
    hrefs: list[tuple[str, str]] = [
        (str(link.get("rel") or ""), str(link["href"]))
        for link in candidates
        if isinstance(link, dict) and isinstance(link.get("href"), str) and link["href"]
    ]
    for rel, href in hrefs:
        if rel.lower() != "new":
            return href
    return hrefs[0][1] if hrefs else None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _with_retry_after(result: StatusResult, seconds: float) -> StatusResult:
    return dataclasses.replace(result, retry_after=seconds)


def _capss_message(response: httpx.Response) -> str:
    body = _json_object(response)
    if body:
        for key in (
            "message",
            "error_description",
            "statusMessage",
            "error",
            "errorMessages",
            "errors",
        ):
            value = body.get(key)
            if value:
                # errorMessages may quote every bad item of a large file.
                return clip(value if isinstance(value, str) else json.dumps(value))
    text = response.text.strip()
    return text[:_EXCERPT_LENGTH] if text else "(no message)"


def _oauth_error(response: httpx.Response) -> str:
    """RFC 6749's error code only: a description could echo what was sent."""
    body = _json_object(response)
    error = body.get("error") if body else None
    return str(error) if isinstance(error, str) else ""


def _str(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
