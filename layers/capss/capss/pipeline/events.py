"""Outcome events: what became of a file, for a POS, a chat channel or a ticket system.

Every final outcome, and `processing` once CAPSS has accepted a file, is published once
as an event (EventBridge in the stack) whose detail is a bounded summary of the record:
never a secret, a token, CAPSS's raw answer or the file's contents. Consumers subscribe
with a rule on `source` and `detail-type`; delivery is at least once, so `event_id`
(the record's key and the outcome) lets them drop a repeat.
"""

from __future__ import annotations

from typing import Any

from capss.intake.report import problem_text
from capss.pipeline import advice
from capss.pipeline.ports import EventPublisher, RecordStore
from capss.pipeline.records import FileRecord

SOURCE = "capss.bridge"
DETAIL_TYPE = "CAPSS file outcome"
SCHEMA_VERSION = 1

TEXT_LIMIT = 1000
"""Characters of any one text in an event (EventBridge takes 256 KB per entry)."""
KEY_LIMIT = 1024
"""S3 keys are at most 1024 bytes: a key from a notification is cut only if S3 changes that."""
PROBLEMS_SHOWN = 10
DEFAULT_DEPLOYMENT = advice.Deployment()
"""Names the advice spells out when no stack is known (tests, the CLI)."""
"""Validation problems named in an event; the record and the alert keep them all."""


def outcome_event(
    record: FileRecord, where: advice.Deployment = DEFAULT_DEPLOYMENT
) -> dict[str, Any]:
    """The event detail: fields a subscriber can match on, each bounded."""
    problems = record.problems[:PROBLEMS_SHOWN]
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": _bounded(f"{record.pk}#{record.outcome.value}", KEY_LIMIT + 200),
        "outcome": record.outcome.value,
        "needs_person": record.outcome.needs_person,
        "license": _bounded(record.license, 64),
        "kind": record.kind,
        "bucket": _bounded(record.bucket, 63),
        "key": _bounded(record.key, KEY_LIMIT),
        "version_id": _bounded(record.version_id, 1024),
        "file": _bounded(record.name, 255),
        "submission_id": _bounded(record.submission_id, 128),
        "counts": record.counts.to_json(),
        "transactions": record.transactions,
        "problem_count": len(record.problems),
        "problems": [_bounded(problem_text(problem), TEXT_LIMIT) for problem in problems],
        "uploader": {
            "principal": record.uploaded_by,
            "source_ip": record.uploaded_from,
            "time": record.uploaded_at,
        },
        "received_at": record.received_at,
        "submitted_at": record.submitted_at,
        "completed_at": record.completed_at,
        "what_to_do": _bounded(advice.next_step(record, where), TEXT_LIMIT),
    }


def announce(
    record: FileRecord,
    records: RecordStore,
    events: EventPublisher | None,
    *,
    where: advice.Deployment = DEFAULT_DEPLOYMENT,
) -> bool:
    """Publishes the record's outcome once; True when it was published now.

    As with alerts, the mark is saved only after the publish: a publish that fails is
    retried with the step (queue redelivery, ASL Retry), one that went out is not repeated.
    """
    if events is None or record.announced == record.outcome.value:
        return False
    events.publish(DETAIL_TYPE, outcome_event(record, where))
    record.announced = record.outcome.value
    records.save(record)
    return True


def _bounded(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."
