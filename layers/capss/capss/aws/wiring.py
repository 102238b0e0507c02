"""What every function's cold start shares: boto3 clients built on first use, and a reset.

Each function has its own module (`submit_function`, `status_function`,
`finish_function`) that imports only what that function runs, so the finish function
never loads httpx or lxml and the status function never loads lxml.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import boto3

T = TypeVar("T")

_COLD_STARTS: list[functools._lru_cache_wrapper[Any]] = []


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
