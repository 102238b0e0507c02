"""The short form of `make reliability`, inside `make test`, and the suite's own checks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from capss.pipeline.poll import MAX_POLLS
from capss.pipeline.settings import PollSettings

from local.reliability import (
    CHECK_STATE,
    SCENARIOS,
    SHORT,
    history_notes,
    run_scenario,
    worst_checks,
)
from local.stack import HISTORY_EVENTS
from local.stack._stack import ROOT

DEFAULTS = PollSettings.from_env({})
SHORT_WAITS_LONG_BUDGET = PollSettings(
    first_wait_seconds=20, max_wait_seconds=20, wait_share=0.5, budget_seconds=10**7
)


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s.name in SHORT], ids=lambda s: s.name
)
def test_every_file_ends_recorded_once_told_and_nothing_leaks(scenario: object) -> None:
    row = run_scenario(scenario, files=4, timeout=120)  # type: ignore[arg-type]
    assert row.ok, row
    assert row.final == row.files
    assert row.sent >= row.owed


def _history(checks: int, per_check: int) -> list[dict[str, Any]]:
    """A poller's history: `checks` status checks costing `per_check` events each."""
    check = [{"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": CHECK_STATE}}]
    return (check + [{"type": "WaitStateEntered"}] * (per_check - 1)) * checks


def test_the_check_state_is_the_poller_s() -> None:
    asl = json.loads((ROOT / "statemachine" / "poller.asl.json").read_text(encoding="utf-8"))
    assert asl["States"][CHECK_STATE]["Type"] == "Task"


def test_default_poll_settings_stay_far_inside_the_history_limit() -> None:
    assert worst_checks(DEFAULTS) < 200
    assert history_notes(DEFAULTS, {"a": _history(3, 9), "b": _history(2, 12)}) == []


def test_short_waits_with_a_long_budget_stop_at_the_check_cap() -> None:
    assert worst_checks(SHORT_WAITS_LONG_BUDGET) == MAX_POLLS
    # Nine events a check (Wait, Task, Choice) fit; a check retried once more each does not.
    assert history_notes(SHORT_WAITS_LONG_BUDGET, {"a": _history(3, 9)}) == []
    (note,) = history_notes(SHORT_WAITS_LONG_BUDGET, {"a": _history(3, 9), "b": _history(2, 13)})
    assert f"{MAX_POLLS} checks at up to 13.0 history events" in note


def test_an_execution_past_the_limit_fails_the_run() -> None:
    notes = history_notes(DEFAULTS, {"long": _history(HISTORY_EVENTS // 9 + 1, 9)})
    assert any(note.startswith("long: ") and "history events" in note for note in notes)
