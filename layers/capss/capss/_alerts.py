"""Alerts written for the ops person who has to act on them.

An alert is composed from the file's record alone, so every path (rejected at intake,
refused by CAPSS, finished with issues, timed out) reads the same way: what happened,
the counts, what CAPSS said, and what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from capss._outcome import Outcome
from capss._records import FileRecord, RecordStore, problem_text

SUBJECT_LIMIT = 100
"""SNS refuses longer subjects."""

_HEADLINES = {
    Outcome.REJECTED: "was rejected before sending: nothing reached CAPSS",
    Outcome.PROCESSING: "is being processed by CAPSS",
    Outcome.COMPLETE: "was processed by CAPSS with no errors or duplicates",
    Outcome.COMPLETE_WITH_ISSUES: "was processed by CAPSS, which reported error or duplicate items",
    Outcome.FAILED: "could not be reported to CAPSS",
    Outcome.TIMED_OUT: "was accepted by CAPSS, which did not finish within the poll budget",
}

_FIX_ERRORS = (
    "Error items were not saved: correct them and send them again (a new transactions file,"
    " or an item update under incoming/item-updates/<license>/)."
)
_CHECK_DUPLICATES = (
    "Duplicates were already in CAPSS and were not saved again: check that the POS did not"
    " export the same transactions twice."
)

_NEXT_STEPS = {
    Outcome.REJECTED: (
        "Fix the problems listed above in the POS export and drop the corrected file again under"
        " the same prefix. Reports are due by the next business day."
    ),
    Outcome.COMPLETE: "Nothing to do.",
    Outcome.COMPLETE_WITH_ISSUES: f"{_FIX_ERRORS} {_CHECK_DUPLICATES}",
    Outcome.FAILED: "Fix the cause above, then drop the file again. Nothing was saved in CAPSS.",
    Outcome.TIMED_OUT: (
        "Do not drop the file again (it would be sent twice). Check the job with"
        " `capss status <status link>` or in the CAPSS web site; if it stays unfinished,"
        " contact the DOJ CAPSS help desk with the submission id."
    ),
    Outcome.PROCESSING: "Nothing to do yet.",
}


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    body: str
    attributes: dict[str, str]


class AlertSender(Protocol):
    def send(self, alert: Alert) -> None: ...


def compose_alert(record: FileRecord) -> Alert:
    outcome = record.outcome
    license_number = record.license or "unknown license"
    subject = f"CAPSS {outcome.value}: {license_number} {record.name}"
    # SNS takes printable ASCII on one line only.
    subject = "".join(c if " " <= c <= "~" else "?" for c in subject)
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 3] + "..."
    lines = [
        f"The file {record.name} {_HEADLINES[outcome]}.",
        "",
        f"File:        {record.uri}",
        f"License:     {license_number}",
        f"Kind:        {record.kind}",
        f"Outcome:     {outcome.value}",
    ]
    if record.submission_id:
        lines.append(f"Submission:  {record.submission_id}")
    if record.status_url:
        lines.append(f"Status link: {record.status_url}")
    lines.append(f"Received:    {record.received_at or 'unknown'}")
    if record.completed_at:
        lines.append(f"Finished:    {record.completed_at}")
    counts = record.counts.to_json()
    if any(value is not None for value in counts.values()):
        shown = ", ".join(
            f"{name} {'n/a' if value is None else value}" for name, value in counts.items()
        )
        lines += ["", f"Counts from CAPSS: {shown}"]
    if record.problems:
        lines += ["", "Problems found in the file:"]
        lines += [f"  - {problem_text(problem)}" for problem in record.problems]
    if record.messages:
        lines += ["", "CAPSS said:"]
        lines += [f"  - {message}" for message in record.messages]
    if record.notes:
        lines += ["", "Notes from the bridge:"]
        lines += [f"  - {note}" for note in record.notes]
    if record.error:
        lines += ["", f"What went wrong: {record.error}"]
    lines += ["", f"What to do: {record.hint or _next_step(record)}"]
    return Alert(
        subject=subject,
        body="\n".join(lines) + "\n",
        attributes={"outcome": outcome.value, "license": license_number, "kind": record.kind},
    )


def _next_step(record: FileRecord) -> str:
    """For a finish with issues, only the advice that fits what CAPSS counted."""
    if record.outcome is not Outcome.COMPLETE_WITH_ISSUES:
        return _NEXT_STEPS[record.outcome]
    errors, duplicates = record.counts.errors, record.counts.duplicates
    if errors == 0:
        return _CHECK_DUPLICATES
    if errors and duplicates == 0:
        return _FIX_ERRORS
    return _NEXT_STEPS[record.outcome]


class SnsAlertSender:
    """Publishes to the alert topic, with attributes for filtered subscriptions."""

    def __init__(self, topic_arn: str, client: Any) -> None:
        self._topic_arn = topic_arn
        self._client = client

    def send(self, alert: Alert) -> None:
        self._client.publish(
            TopicArn=self._topic_arn,
            Subject=alert.subject,
            Message=alert.body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in alert.attributes.items()
            },
        )


def should_alert(record: FileRecord, *, alert_on_complete: bool = False) -> bool:
    return record.outcome.needs_person or (alert_on_complete and record.outcome is Outcome.COMPLETE)


def notify(
    record: FileRecord,
    records: RecordStore,
    alerts: AlertSender,
    *,
    alert_on_complete: bool = False,
) -> bool:
    """Sends a final record's alert once; True when it was sent now.

    The flag is saved only after the send, so a send that fails is tried again when the
    step is retried (queue redelivery, ASL Retry), and one that went out is never repeated.
    """
    if record.alerted or not should_alert(record, alert_on_complete=alert_on_complete):
        return False
    alerts.send(compose_alert(record))
    record.alerted = True
    records.save(record)
    return True
