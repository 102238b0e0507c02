"""The poll budget: backoff from the first wait, capped, never under Retry-After."""

from __future__ import annotations

from capss.pipeline.poll import next_wait
from capss.pipeline.settings import PollSettings

POLL = PollSettings(
    first_wait_seconds=60, max_wait_seconds=900, backoff_rate=2, budget_seconds=86400
)


def test_backoff_grows_then_caps() -> None:
    assert [next_wait(n, POLL) for n in range(1, 8)] == [60, 120, 240, 480, 900, 900, 900]


def test_retry_after_is_honoured() -> None:
    assert next_wait(1, POLL, retry_after=300) == 300
    assert next_wait(5, POLL, retry_after=10) == 900


def test_settings_never_produce_a_zero_wait() -> None:
    tiny = PollSettings.from_env({"POLL_FIRST_WAIT_SECONDS": "0", "POLL_MAX_WAIT_SECONDS": "0"})
    assert next_wait(1, tiny) >= 1
