"""The outcome event: a bounded summary of the record, published once per outcome."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from capss.outcome import Counts, Outcome
from capss.pipeline.events import DETAIL_TYPE, PROBLEMS_SHOWN, TEXT_LIMIT, announce, outcome_event
from capss.pipeline.files import FileRef
from capss.pipeline.memory import MemoryRecordStore
from capss.pipeline.records import FileRecord, Phase

REF = FileRef("intake", "incoming/transactions/000000300/day.xml", "v1", size=10)


class Bus:
    def __init__(self, *, refuse: bool = False) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.refuse = refuse

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        if self.refuse:
            raise RuntimeError("bus down")
        self.events.append((detail_type, detail))


def _record(records: MemoryRecordStore) -> FileRecord:
    record = records.claim(REF, "transactions", timedelta(minutes=5)).record
    record.license, record.phase = "000000300", Phase.DONE
    return record


def test_a_long_story_is_cut_to_bounds() -> None:
    records = MemoryRecordStore()
    record = _record(records)
    record.outcome = Outcome.REJECTED
    record.problems = [
        {"severity": "error", "code": "x", "message": "m" * 5000, "line": n} for n in range(50)
    ]
    record.messages = ["CAPSS said " * 1000]
    record.error = "e" * 10_000
    record.hint = "h" * 10_000
    detail = outcome_event(record)
    assert detail["problem_count"] == 50
    assert len(detail["problems"]) == PROBLEMS_SHOWN
    assert all(len(text) <= TEXT_LIMIT for text in detail["problems"])
    assert len(detail["what_to_do"]) == TEXT_LIMIT
    assert len(json.dumps(detail)) < 20_000
    # CAPSS's own words and the raw error stay on the record.
    assert "CAPSS said" not in json.dumps(detail)
    assert "eeee" not in json.dumps(detail)


def test_each_outcome_is_announced_once_and_a_failed_publish_is_owed() -> None:
    records = MemoryRecordStore()
    record = _record(records)
    record.phase, record.outcome = Phase.SUBMITTED, Outcome.PROCESSING
    bus = Bus(refuse=True)
    with pytest.raises(RuntimeError):
        announce(record, records, bus)
    assert record.announced is None
    bus.refuse = False
    assert announce(record, records, bus) is True
    assert announce(record, records, bus) is False
    record.outcome, record.counts = Outcome.COMPLETE, Counts(transactions=2, items=3, saved=3)
    assert announce(record, records, bus) is True
    assert [(kind, d["outcome"]) for kind, d in bus.events] == [
        (DETAIL_TYPE, "processing"),
        (DETAIL_TYPE, "complete"),
    ]
    stored = records.get(REF.pk)
    assert stored is not None
    assert stored.announced == "complete"
    assert bus.events[1][1]["counts"]["saved"] == 3


def test_no_bus_means_no_event() -> None:
    records = MemoryRecordStore()
    assert announce(_record(records), records, None) is False
