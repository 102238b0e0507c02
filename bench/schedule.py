"""Detection delay and status checks of the poll schedule against fixed-interval pollers.

Computed from `next_wait` with the template's defaults: a job done at T seconds after the
upload is noticed at the first check at or after T.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from capss.pipeline.poll import next_wait
from capss.pipeline.settings import PollSettings

JOBS = {"30 s": 30, "2 min": 120, "10 min": 600, "1 h": 3600}
POLL = PollSettings.from_env({})


def bridge_checks(until: float) -> list[int]:
    checks = [POLL.first_wait_seconds]
    while checks[-1] < until:
        checks.append(checks[-1] + next_wait(checks[-1], POLL))
    return checks


def fixed_checks(interval: int) -> Callable[[float], list[int]]:
    return lambda until: list(range(interval, math.ceil(until / interval) * interval + 1, interval))


SCHEDULES = {
    "bridge": bridge_checks,
    "fixed 30 s": fixed_checks(30),
    "fixed 5 min": fixed_checks(300),
}


def _noticed(schedule: Callable[[float], list[int]], job: float) -> tuple[int, int]:
    checks = schedule(job)
    return checks[-1], len(checks)


def mean_share(schedule: Callable[[float], list[int]], low: int = 60, high: int = 3600) -> float:
    """Mean detection delay as a share of the job's length, jobs spread evenly in log time."""
    points = 400
    jobs = [low * (high / low) ** (i / (points - 1)) for i in range(points)]
    return sum((_noticed(schedule, job)[0] - job) / job for job in jobs) / points


def run() -> dict[str, Any]:
    rows = []
    for label, job in JOBS.items():
        row: dict[str, Any] = {"job": label}
        for name, schedule in SCHEDULES.items():
            noticed, checks = _noticed(schedule, job)
            row[name] = {
                "delay_s": noticed - job,
                "share": round((noticed - job) / job, 2),
                "checks": checks,
            }
        rows.append(row)
    return {
        "settings": {
            "first_wait_seconds": POLL.first_wait_seconds,
            "wait_share": POLL.wait_share,
            "max_wait_seconds": POLL.max_wait_seconds,
        },
        "first_checks": bridge_checks(700),
        "jobs": rows,
        "mean_share_1min_1h": {name: round(mean_share(s), 3) for name, s in SCHEDULES.items()},
    }
