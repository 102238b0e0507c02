"""The short form of `make reliability`, inside `make test`."""

from __future__ import annotations

import pytest

from local.reliability import SCENARIOS, SHORT, run_scenario


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s.name in SHORT], ids=lambda s: s.name
)
def test_every_file_ends_recorded_once_told_and_nothing_leaks(scenario: object) -> None:
    row = run_scenario(scenario, files=4, timeout=120)  # type: ignore[arg-type]
    assert row.ok, row
    assert row.final == row.files
    assert row.sent >= row.owed
