"""Alerts read by an ops person: what happened, counts, CAPSS's words, what to do."""

from __future__ import annotations

import pytest
from capss import Counts, Outcome
from capss.pipeline.alerts import SUBJECT_LIMIT, compose_alert, should_alert
from capss.pipeline.records import FileRecord


def _record(outcome: Outcome, **extra: object) -> FileRecord:
    record = FileRecord(
        pk="FILE#b/incoming/transactions/000000300/day.xml#v1",
        bucket="b",
        key="incoming/transactions/000000300/day.xml",
        version_id="v1",
        kind="transactions",
        license="000000300",
        outcome=outcome,
    )
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_issues_alert_has_counts_messages_and_next_step() -> None:
    alert = compose_alert(
        _record(
            Outcome.COMPLETE_WITH_ISSUES,
            submission_id="131a",
            status_url="https://capss-sb.doj.ca.gov/api/bulkimport/status/1",
            counts=Counts(transactions=2, items=3, saved=2, errors=1, duplicates=None),
            messages=["Item 2: serial number missing"],
        )
    )
    assert alert.subject == "CAPSS complete_with_issues: 000000300 day.xml"
    assert "errors 1" in alert.body
    assert "duplicates n/a" in alert.body
    assert "Item 2: serial number missing" in alert.body
    assert "What to do: Error items were not saved" in alert.body
    assert alert.attributes == {
        "outcome": "complete_with_issues",
        "license": "000000300",
        "kind": "transactions",
    }


def test_rejected_alert_lists_problems_with_lines() -> None:
    alert = compose_alert(
        _record(
            Outcome.REJECTED,
            problems=[
                {"severity": "error", "line": 12, "transaction": 1, "item": 2, "message": "bad"}
            ],
        )
    )
    assert "error (line 12, transaction 1, item 2): bad" in alert.body
    assert "nothing reached CAPSS" in alert.body


def test_failed_alert_uses_the_errors_hint() -> None:
    alert = compose_alert(
        _record(Outcome.FAILED, error="wrong client secret", hint="Update secret capss/000000300.")
    )
    assert "What went wrong: wrong client secret" in alert.body
    assert "What to do: Update secret capss/000000300." in alert.body


def test_subject_is_short_printable_ascii() -> None:
    record = _record(Outcome.TIMED_OUT)
    record.key = "incoming/transactions/000000300/" + "é" * 200 + ".xml"
    subject = compose_alert(record).subject
    assert len(subject) <= SUBJECT_LIMIT
    assert subject.isascii()
    assert subject.isprintable()


@pytest.mark.parametrize(
    ("outcome", "on_complete", "expected"),
    [
        (Outcome.COMPLETE, False, False),
        (Outcome.COMPLETE, True, True),
        (Outcome.COMPLETE_WITH_ISSUES, False, True),
        (Outcome.REJECTED, False, True),
        (Outcome.FAILED, False, True),
        (Outcome.TIMED_OUT, False, True),
    ],
)
def test_who_gets_an_email(outcome: Outcome, on_complete: bool, expected: bool) -> None:
    assert should_alert(_record(outcome), alert_on_complete=on_complete) is expected


@pytest.mark.parametrize(
    ("counts", "says_errors", "says_duplicates"),
    [
        (Counts(errors=1, duplicates=0), True, False),
        (Counts(errors=0, duplicates=None), False, True),
        (Counts(errors=2, duplicates=None), True, True),
        (Counts(), True, True),
    ],
)
def test_issue_advice_fits_what_capss_counted(
    counts: Counts, says_errors: bool, says_duplicates: bool
) -> None:
    body = compose_alert(_record(Outcome.COMPLETE_WITH_ISSUES, counts=counts)).body
    advice = body.split("What to do: ", 1)[1]
    assert ("Error items were not saved" in advice) is says_errors
    assert ("Duplicates were already in CAPSS" in advice) is says_duplicates
