"""The CAPSS bearer token: a process-wide cache and the `httpx.Auth` flow that applies it.

CAPSS keeps one active token per client and hands back the same one while it lives, so
a Lambda container keeps the token across invocations until shortly before it expires.
Uploads running at once in one container share it: one of them asks CAPSS, the others wait
for that answer, and a 401 has the token renewed once for all of them. A client CAPSS refused
(a revoked secret) is not asked about again for a minute: the callers waiting behind the
refused request get the refusal, not a request each.
The cache key holds a hash of the secret, never the secret: a changed secret gets a
fresh token and the cache never holds anything that could log in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from capss.errors import BadCredentials

_PREFIX_LENGTH = 6
_REFRESH_MARGIN_SECONDS = 60.0
_REFRESH_MARGIN_FRACTION = 0.1
_REFUSAL_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Token:
    """A token CAPSS granted. Its repr shows only the first characters of the secret part."""

    access_token: str = field(repr=False)
    token_type: str
    scope: str
    expires_in: float
    obtained_at: float
    """Wall-clock seconds (time.time()): the cache outlives one invocation."""

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.expires_in

    @property
    def refresh_at(self) -> float:
        margin = min(_REFRESH_MARGIN_SECONDS, self.expires_in * _REFRESH_MARGIN_FRACTION)
        return self.expires_at - margin

    @property
    def masked(self) -> str:
        return mask(self.access_token)

    @property
    def license_id(self) -> str | None:
        return jwt_claim(self.access_token, "license_id")

    def __repr__(self) -> str:
        return (
            f"Token({self.masked}, type={self.token_type!r}, scope={self.scope!r}, "
            f"expires_at={datetime.fromtimestamp(self.expires_at, UTC).isoformat()})"
        )


def mask(token: str) -> str:
    return f"{token[:_PREFIX_LENGTH]}…" if token else ""


def jwt_claim(token: str, name: str) -> str | None:
    """A claim from a JWT's payload, unverified (for display only); None for an opaque token."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    value = claims.get(name) if isinstance(claims, dict) else None
    return str(value) if value is not None else None


CacheKey = tuple[str, str, str]


def cache_key(base_url: str, client_id: str, client_secret: str) -> CacheKey:
    digest = hashlib.sha256(f"{client_id}\0{client_secret}".encode()).hexdigest()
    return (base_url.rstrip("/").lower(), client_id, digest)


class TokenCache:
    """Tokens by (base URL, client id, secret hash), kept until shortly before they expire."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._tokens: dict[CacheKey, Token] = {}
        self._lock = threading.Lock()
        self._fetching: dict[CacheKey, threading.Lock] = {}
        self._refused: dict[CacheKey, tuple[float, str]] = {}

    def obtain(self, key: CacheKey, fetch: Callable[[], Token], stale: str | None = None) -> Token:
        """The cached token, else one from `fetch`, asked once however many callers wait.

        `stale` is a token CAPSS refused: it is dropped unless another caller has already
        replaced it, so a 401 seen by every concurrent caller renews the token once.
        """
        with self._lock:
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:
            if stale is not None:
                self.drop(key, stale)
            token = self.get(key)
            if token is None:
                refused_until, message = self._refused.get(key, (0.0, ""))
                if self._clock() < refused_until:
                    raise BadCredentials(message)
                try:
                    token = fetch()
                except BadCredentials as error:
                    self._refused[key] = (self._clock() + _REFUSAL_SECONDS, str(error))
                    raise
                self.put(key, token)
            return token

    def get(self, key: CacheKey) -> Token | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and self._clock() >= token.refresh_at:
                del self._tokens[key]
                return None
            return token

    def put(self, key: CacheKey, token: Token) -> None:
        with self._lock:
            self._tokens[key] = token

    def drop(self, key: CacheKey, stale: str | None = None) -> None:
        """Forget the token; with `stale`, only while it is still that one.

        Another thread may have renewed it meanwhile.
        """
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and (stale is None or token.access_token == stale):
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._refused.clear()


PROCESS_CACHE = TokenCache()


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int | None

    @classmethod
    def of(cls, url: httpx.URL | str) -> Origin:
        url = httpx.URL(url)
        default = {"https": 443, "http": 80}.get(url.scheme)
        return cls(url.scheme, url.host.lower(), url.port or default)


class BearerAuth(httpx.Auth):
    """Bearer token for the CAPSS origin only; on a 401, renews the token once and retries once.

    `provide(stale)` returns a token, renewing it when given `stale`, the token CAPSS refused.
    """

    requires_response_body = True

    def __init__(self, origin: Origin, provide: Callable[[str | None], Token]) -> None:
        self._origin = origin
        self._provide = provide

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if Origin.of(request.url) != self._origin:
            request.headers.pop("Authorization", None)
            yield request
            return
        token = self._provide(None)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            token = self._provide(token.access_token)
            request.headers["Authorization"] = f"Bearer {token.access_token}"
            # A multipart body from a file object is re-rendered: httpx seeks the file back to 0.
            yield request
