"""A scaled clock for moto's Step Functions: Wait states and Retry intervals pass fast.

The seconds each Wait and Retry asked for are recorded, so tests can check the
backoff the definition and the status function produce.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass
class ScaledClock:
    scale: float = 0.001
    waits: list[float] = field(default_factory=list)
    """Seconds each Wait state asked for, in the order they ran."""
    retries: list[float] = field(default_factory=list)
    """Seconds each ASL Retry asked to pause."""
    redeliveries: list[float] = field(default_factory=list)
    """Seconds each failed queue message stayed invisible (its visibility timeout)."""
    travelled: timedelta = timedelta(0)
    """How far `travel` has moved the stack's calendar ahead of the wall clock."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        """The stack's calendar time: the wall clock plus what was travelled."""
        return datetime.now(UTC) + self.travelled

    def travel(self, by: timedelta) -> datetime:
        with self._lock:
            self.travelled += by
        return self.now()

    def record(self, into: list[float], seconds: float) -> float:
        with self._lock:
            into.append(float(seconds))
        return max(float(seconds), 0.0) * self.scale

    def sleep_retry(self, seconds: float) -> None:
        time.sleep(self.record(self.retries, seconds))

    @contextmanager
    def installed(self) -> Iterator[ScaledClock]:
        from moto.stepfunctions.parser.asl.component.common.retry import (  # noqa: PLC0415
            retrier_decl,
        )
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (  # noqa: PLC0415
            wait_function,
        )

        clock = self

        # Replaced whole: the original re-enters itself for the rest of a fractional wait.
        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            scaled = clock.record(clock.waits, wait_seconds)
            if scaled > 0:
                env.program_state_event.wait(scaled)

        # Only retrier_decl's `time` name: the global time.sleep stays real.
        shim = types.SimpleNamespace(sleep=self.sleep_retry, time=time.time)
        saved_wait = wait_function.WaitFunction._wait_interval
        names = vars(retrier_decl)
        saved_time = names["time"]
        wait_function.WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
        names["time"] = shim
        try:
            yield self
        finally:
            wait_function.WaitFunction._wait_interval = saved_wait  # type: ignore[method-assign]
            names["time"] = saved_time
