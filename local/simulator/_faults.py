"""Faults injected on demand: what a request gets instead of (or on top of) the normal answer."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Endpoint = Literal["token", "upload", "update", "status", "any"]
Generation = Literal["current", "legacy"]


@dataclass(frozen=True)
class Fault:
    """One misbehaviour, hitting the next `times` matching requests.

    The fields compose: `delay` with `status` is a slow error, `after_accept` with `drop`
    creates the job and then hangs up, `links_as_list` with `links_host` moves the link to
    another host inside a list. A request takes the first pending fault that matches it.
    """

    endpoint: Endpoint = "any"
    times: int = 1
    generation: Generation | None = None
    status: int | None = None
    """Answer this HTTP status with `body` (JSON when a dict) and `headers`."""
    body: str | dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to sleep before answering (normally or with the fault)."""
    drop: bool = False
    """Close the connection without an answer."""
    after_accept: bool = False
    """Upload/update only: create the job before failing (`status` or `drop`), so the client cannot
    know whether CAPSS took the file."""
    rotate_token: bool = False
    """Invalidate the caller's token first, as CAPSS does when another token replaced it: 401."""
    links_as_list: bool = False
    """Answer `links` HATEOAS-style, as a list of link objects."""
    links_host: str | None = None
    """Point `links.href` at another scheme and host, e.g. "https://evil.example"."""
    malformed_json: bool = False
    """Cut the JSON body short so it no longer parses."""

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError("a fault hits at least one request")
        if self.delay < 0:
            raise ValueError("delay cannot be negative")

    @classmethod
    def error(cls, status: int, endpoint: Endpoint = "any", **more: Any) -> Fault:
        """An HTTP error answer; 429 and 503 carry `Retry-After: 1` unless headers say otherwise."""
        headers = dict(more.pop("headers", {}))
        if status in (429, 503):
            headers.setdefault("Retry-After", "1")
        body = more.pop("body", {"status": status, "error": _REASONS.get(status, "Error")})
        return cls(endpoint=endpoint, status=status, body=body, headers=headers, **more)

    @classmethod
    def slow(cls, seconds: float, endpoint: Endpoint = "any", **more: Any) -> Fault:
        return cls(endpoint=endpoint, delay=seconds, **more)

    @classmethod
    def dropped(
        cls, endpoint: Endpoint = "any", *, after_accept: bool = False, **more: Any
    ) -> Fault:
        return cls(endpoint=endpoint, drop=True, after_accept=after_accept, **more)

    @classmethod
    def not_found(cls, times: int = 1, **more: Any) -> Fault:
        """404 on the next status call(s): the job is not visible yet."""
        body = {
            "status": 404,
            "error": "Not Found",
            "message": "Requested Bulk Import not in system",
        }
        return cls(endpoint="status", status=404, body=body, times=times, **more)

    @classmethod
    def unauthorized(cls, endpoint: Endpoint = "any", **more: Any) -> Fault:
        """The token was replaced behind the client's back: this call gets 401."""
        return cls(endpoint=endpoint, rotate_token=True, **more)

    @classmethod
    def links_list(cls, endpoint: Endpoint = "upload", **more: Any) -> Fault:
        return cls(endpoint=endpoint, links_as_list=True, **more)

    @classmethod
    def foreign_link(
        cls, host: str = "https://evil.example", endpoint: Endpoint = "upload", **more: Any
    ) -> Fault:
        return cls(endpoint=endpoint, links_host=host, **more)

    @classmethod
    def malformed(cls, endpoint: Endpoint = "any", **more: Any) -> Fault:
        return cls(endpoint=endpoint, malformed_json=True, **more)

    def matches(self, endpoint: str, generation: str | None) -> bool:
        if self.endpoint not in ("any", endpoint):
            return False
        return self.generation is None or self.generation == generation


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FaultBook:
    """Pending faults, consumed in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._pending.append(fault)

    def take(self, endpoint: str, generation: str | None) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._pending):
                if fault.matches(endpoint, generation):
                    if fault.times == 1:
                        del self._pending[index]
                    else:
                        self._pending[index] = replace(fault, times=fault.times - 1)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._pending)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
