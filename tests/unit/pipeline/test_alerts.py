"""Alerts read by an ops person: what happened, counts, CAPSS's words, what to do."""

from __future__ import annotations

import pytest
from capss import Counts, Outcome
from capss.errors import BadCredentials, TlsFailure
from capss.pipeline import advice
from capss.pipeline.advice import Deployment
from capss.pipeline.alerts import SUBJECT_LIMIT, compose_alert, should_alert
from capss.pipeline.records import FileRecord

WHERE = Deployment(
    stack_name="bridge-prod",
    secret_prefix="capss-prod/",
    intake_dlq_arn="arn:aws:sqs:us-west-2:123456789012:bridge-prod-IntakeDeadLetterQueue-X",
)


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
        ),
        WHERE,
    )
    assert alert.subject == "CAPSS complete with issues: 000000300 day.xml"
    assert "  saved:        2 of 3 items\n" in alert.body
    assert "  errors:       1\n" in alert.body
    assert "  duplicates:   not reported by CAPSS\n" in alert.body
    assert "n/a" not in alert.body
    assert "Item 2: serial number missing" in alert.body
    assert "What to do: Error items were not saved" in alert.body
    assert "s3://b/incoming/transactions/000000300/" in alert.body
    assert alert.attributes == {
        "outcome": "complete_with_issues",
        "license": "000000300",
        "kind": "transactions",
    }


@pytest.mark.parametrize(
    ("errors", "duplicates", "fix", "check"),
    [
        (0, None, False, True),  # the current API: duplicates only as a flag
        (0, 3, False, True),
        (2, 0, True, False),
        (2, 3, True, True),
        (None, None, True, True),  # CAPSS counted neither: both may apply
        (0, 0, True, True),
    ],
)
def test_issues_advice_names_only_what_capss_counted(
    errors: int | None, duplicates: int | None, fix: bool, check: bool
) -> None:
    counts = Counts(transactions=2, items=3, saved=0, errors=errors, duplicates=duplicates)
    body = compose_alert(_record(Outcome.COMPLETE_WITH_ISSUES, counts=counts), WHERE).body
    assert ("Error items were not saved" in body) is fix
    assert (advice.CHECK_DUPLICATES in body) is check
    shown = advice.cli_next_step(Outcome.COMPLETE_WITH_ISSUES, counts)
    assert shown is not None
    assert (advice.CLI_FIX_ITEMS in shown) is fix
    assert (advice.CLI_DUPLICATES in shown) is check


def test_rejected_alert_lists_problems_with_lines() -> None:
    alert = compose_alert(
        _record(
            Outcome.REJECTED,
            problems=[
                {"severity": "error", "line": 12, "transaction": 1, "item": 2, "message": "bad"}
            ],
        ),
        WHERE,
    )
    assert alert.subject == "Rejected by the bridge, not sent: 000000300 day.xml"
    assert "error (line 12, transaction 1, item 2): bad" in alert.body
    assert "nothing reached CAPSS" in alert.body
    assert "`aws s3 cp <corrected file> s3://b/incoming/transactions/000000300/day.xml`" in (
        alert.body
    )


def test_failed_alert_uses_the_errors_hint() -> None:
    alert = compose_alert(
        _record(Outcome.FAILED, error="wrong client secret", hint="Update secret capss/000000300."),
        WHERE,
    )
    assert "What went wrong: wrong client secret" in alert.body
    assert "What to do: Update secret capss/000000300." in alert.body


def test_subject_is_short_printable_ascii() -> None:
    record = _record(Outcome.TIMED_OUT)
    record.key = "incoming/transactions/000000300/" + "é" * 200 + ".xml"
    subject = compose_alert(record, WHERE).subject
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
    body = compose_alert(_record(Outcome.COMPLETE_WITH_ISSUES, counts=counts), WHERE).body
    advice = body.split("What to do: ", 1)[1]
    assert ("Error items were not saved" in advice) is says_errors
    assert ("Duplicates were already in CAPSS" in advice) is says_duplicates


def test_counts_say_what_capss_did_not_report() -> None:
    counts = Counts(transactions=2, items=2, saved=1, errors=0, duplicates=None)
    body = compose_alert(_record(Outcome.COMPLETE_WITH_ISSUES, counts=counts), WHERE).body
    assert (
        "  duplicates:   not reported by CAPSS; 1 of 2 items neither saved nor an error\n"
    ) in body
    body = compose_alert(_record(Outcome.COMPLETE, counts=Counts(saved=1)), WHERE).body
    assert "  items:        not reported by CAPSS\n  saved:        1\n" in body


def test_the_advice_names_this_stack_and_gives_commands() -> None:
    identical = _record(Outcome.REJECTED)
    identical.hint = advice.identical_file(identical)
    body = compose_alert(identical, WHERE).body
    target = "s3://b/incoming/transactions/000000300/day.xml"
    assert f"`aws s3 cp {target} {target} --metadata capss-resend=true" in body
    assert "Edit metadata" in body
    hint = advice.give_up(maybe_in_capss=False, where=WHERE)
    assert f"aws sqs start-message-move-task --source-arn {WHERE.intake_dlq_arn}" in hint
    tls = advice.for_error(TlsFailure("handshake"), identical, WHERE)
    assert "Stacks > bridge-prod > Update" in tls
    assert "TlsCiphers to DEFAULT@SECLEVEL=1" in tls
    secret = advice.for_error(BadCredentials("no"), identical, WHERE)
    assert "--secret-id capss-prod/000000300" in secret
    for text in (body, hint, tls, secret):
        assert "<license>" not in text
