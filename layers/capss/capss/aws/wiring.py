"""What every function's cold start shares: boto3 clients built on first use, and a reset.

Each function has its own module (`submit_function`, `status_function`,
`finish_function`) that imports only what that function runs, so the finish function
never loads httpx or lxml and the status function never loads lxml.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import boto3

T = TypeVar("T")

_COLD_STARTS: list[functools._lru_cache_wrapper[Any]] = []


class RemainingTime(Protocol):
    """What the wiring needs of Lambda's context object."""

    def get_remaining_time_in_millis(self) -> int: ...


# Per thread: the local stack runs several functions' invocations at once in one process.
_INVOCATION: ContextVar[RemainingTime | None] = ContextVar("capss_invocation", default=None)


def invoked(context: RemainingTime | None) -> None:
    """The running invocation's context: the clock every CAPSS retry must stop within."""
    _INVOCATION.set(context)


def seconds_left(margin: float) -> Callable[[], float | None]:
    """Seconds the running invocation may still spend, keeping `margin` to record what
    happened (save the record, alert, hand the message back) before Lambda stops it."""

    def left() -> float | None:
        context = _INVOCATION.get()
        if context is None:
            return None
        return context.get_remaining_time_in_millis() / 1000 - margin

    return left


def cold_start(build: Callable[[], T]) -> Callable[[], T]:
    """Builds a function's settings and clients once per container (reset() forgets them)."""
    cached = functools.cache(build)
    _COLD_STARTS.append(cached)
    return cached


def reset() -> None:
    """Forget every cold-start cache (a new environment in the same process: the local stack)."""
    for cached in _COLD_STARTS:
        cached.cache_clear()


class LazyClient:
    """A boto3 client created at its first call.

    A client costs a cold start its service model (the first one also botocore's session
    and endpoints, about as much as importing boto3): a path that never calls a service,
    such as a clean file never alerting, never pays for its client.
    """

    def __init__(self, service: str) -> None:
        self._service = service
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = boto3.client(self._service)
        return getattr(self._client, name)


def aws_client(service: str) -> Any:
    return LazyClient(service)


def scheduled_time(event: dict[str, Any]) -> datetime:
    """The schedule's own time (`<aws.scheduler.scheduled-time>`), so a retried or late
    invocation checks the run it belongs to; now when invoked by hand without one."""
    given = event.get("time")
    if not given:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(str(given)[:40].replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {given!r} carries no zone")
    return moment
