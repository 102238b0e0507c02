"""The poll schedule: each wait a share of the time already waited, capped, never under
Retry-After, so the detection delay stays a bounded share of the job's length."""

from __future__ import annotations

import pytest
from capss.pipeline.poll import next_wait
from capss.pipeline.settings import PollSettings

POLL = PollSettings.from_env({})


def schedule(poll: PollSettings, until: int) -> list[int]:
    """The seconds after the upload at which the poller checks, up to `until`."""
    checks = [poll.first_wait_seconds]
    while checks[-1] < until:
        checks.append(checks[-1] + next_wait(checks[-1], poll))
    return checks


def test_defaults_check_soon_then_wait_half_the_time_waited() -> None:
    assert (POLL.first_wait_seconds, POLL.wait_share, POLL.max_wait_seconds) == (20, 0.5, 900)
    assert schedule(POLL, 700) == [20, 40, 60, 90, 135, 203, 305, 458, 687, 1031]


def test_waits_grow_with_the_time_waited_then_cap() -> None:
    assert next_wait(20, POLL) == 20
    assert next_wait(1000, POLL) == 500
    assert next_wait(1800, POLL) == 900
    assert next_wait(80_000, POLL) == 900


@pytest.mark.parametrize("job_seconds", [30, 120, 600, 3600, 20_000])
def test_a_job_is_noticed_within_half_its_length_after_the_first_check(job_seconds: int) -> None:
    noticed = next(check for check in schedule(POLL, job_seconds) if check >= job_seconds)
    assert noticed - job_seconds <= max(job_seconds / 2, POLL.first_wait_seconds)


def test_long_jobs_take_at_most_half_the_checks_of_a_fixed_30_second_poll() -> None:
    for job_seconds in (600, 1800, 3600):
        assert len(schedule(POLL, job_seconds)) <= job_seconds / 30 / 2


def test_retry_after_is_honoured() -> None:
    assert next_wait(20, POLL, retry_after=300) == 300
    assert next_wait(5000, POLL, retry_after=10) == 900


def test_a_zero_share_polls_at_a_fixed_interval() -> None:
    fixed = PollSettings.from_env({"POLL_FIRST_WAIT_SECONDS": "30", "POLL_WAIT_SHARE": "0"})
    assert schedule(fixed, 120) == [30, 60, 90, 120]


def test_settings_never_produce_a_zero_wait() -> None:
    tiny = PollSettings.from_env({"POLL_FIRST_WAIT_SECONDS": "0", "POLL_MAX_WAIT_SECONDS": "0"})
    assert next_wait(0, tiny) >= 1
