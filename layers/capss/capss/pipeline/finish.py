"""The poller's last step: the final outcome on the record, the alert, the tag.

A retry of this step (ASL Retry after a Lambda error) finds the record already final
and sends no second alert.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from capss.bounds import WORD_LIMIT, clip, clip_list
from capss.outcome import Counts, Outcome
from capss.pipeline import advice
from capss.pipeline.alerts import tell
from capss.pipeline.ports import AlertSender, EventPublisher, ObjectStore, RecordStore
from capss.pipeline.records import RAW_BODY_LIMIT, FileRecord, Phase, iso, utcnow
from capss.pipeline.settings import FinishSettings
from capss.telemetry import Metric, about, logger, measure


@dataclass(slots=True)
class FinishDeps:
    records: RecordStore
    objects: ObjectStore
    alerts: AlertSender
    events: EventPublisher | None = None


class RecordMissing(Exception):
    """The poller names a file the table does not know: the stack's state is inconsistent."""


def finish(state: dict[str, Any], deps: FinishDeps, settings: FinishSettings) -> dict[str, Any]:
    record = deps.records.get(state["file_id"])
    if record is None:
        raise RecordMissing(f"no record for {state['file_id']}")
    about(file=record.uri, license=record.license, submission=record.submission_id)
    if record.phase is Phase.DONE:
        # A retry of this step: only an alert that did not go out is still owed.
        alerted = tell(
            record,
            deps,
            where=settings.deployment,
            alert_on_complete=settings.alert_on_complete,
        )
        logger.info("already final", extra={"outcome": record.outcome.value})
        return {"outcome": record.outcome.value, "alerted": alerted}
    poll = state.get("poll", {})
    # Status checks that heard nothing new left the record's count behind.
    record.polls = max(record.polls, int(poll.get("polls", 0)))
    _take_answer(record, poll.get("answer"))
    # A give-up alerted before the poller ran (it could not be started): the real outcome
    # is news again.
    record.alerted = False
    if "stopped" in state:
        record.outcome = Outcome.FAILED
        record.error = clip(str(state["stopped"]))
        record.hint = advice.POLLER_STOPPED
    elif "error" in state:
        record.outcome = Outcome.FAILED
        record.error = clip(_error_text(state["error"]))
        record.hint = advice.poller_failed(record, settings.deployment)
    else:
        record.outcome = Outcome(poll.get("outcome", Outcome.FAILED.value))
        # The poll loop ends `failed` only on CAPSS's own word about the job.
        record.capss_refused = record.outcome is Outcome.FAILED
        if record.outcome is Outcome.TIMED_OUT:
            record.notes.append(
                f"CAPSS had not finished after {poll.get('polls', 0)} status checks over"
                f" {_duration(int(poll.get('waited_seconds', 0)))}."
            )
        if record.outcome is Outcome.PROCESSING:
            record.outcome = Outcome.TIMED_OUT
        word = poll.get("unknown_word")
        if record.outcome is Outcome.TIMED_OUT and word is not None:
            word = clip(str(word), WORD_LIMIT)
            # The error names it: the monitor and the listings read what went wrong there.
            record.error = (
                f"CAPSS answered {advice.said(word)}, a status the bridge does not know:"
                " counted as still processing until the poll budget ended."
            )
            record.hint = advice.unknown_status(record, word, settings.deployment)
    record.phase = Phase.DONE
    record.completed_at = iso(utcnow())
    deps.records.save(record)
    _measure(record)
    alerted = tell(
        record, deps, where=settings.deployment, alert_on_complete=settings.alert_on_complete
    )
    logger.info("file finished", extra={"outcome": record.outcome.value, "alerted": alerted})
    return {"outcome": record.outcome.value, "alerted": alerted}


EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


def poller_stopped(event: dict[str, Any]) -> dict[str, Any]:
    """The poller's own input, from EventBridge's event for an execution that failed, timed
    out or was aborted: the safety net records `failed` and alerts, unless finished."""
    detail = event["detail"]
    state: dict[str, Any] = json.loads(detail["input"])
    state["stopped"] = (
        f"The poller execution {detail.get('name', '')} ended {detail['status']}"
        f" ({detail.get('error') or 'no error given'}: {detail.get('cause') or 'no cause given'})"
    )
    return state


def _take_answer(record: FileRecord, answer: Mapping[str, Any] | None) -> None:
    """CAPSS's last answer, which status checks leave in the poller's state, not the table.

    Bounded again here: the state is the execution's input when a person restarts one."""
    if not answer:
        return
    record.counts = Counts.from_json(answer.get("counts"))
    record.messages = clip_list(answer.get("messages") or [])
    status = answer.get("capss_status")
    record.capss_status = None if status is None else str(status)[:RAW_BODY_LIMIT]


def _error_text(error: Any) -> str:
    """ASL's Catch gives {"Error": type, "Cause": JSON of the Lambda error or plain text}."""
    if not isinstance(error, dict):
        return str(error)
    kind = str(error.get("Error", "Error"))
    cause = error.get("Cause", "")
    try:
        detail = json.loads(cause).get("errorMessage", cause)
    except (ValueError, AttributeError):
        detail = cause
    return f"{kind}: {detail}" if detail else kind


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest % 60} s"


def count_outcome(record: FileRecord) -> None:
    """The file's outcome as a metric, once it is recorded (here, or before CAPSS)."""
    measure(Metric.FILES, 1, Outcome=record.outcome.value, Kind=record.kind)


def _measure(record: FileRecord) -> None:
    count_outcome(record)
    if record.counts.saved is not None:
        measure(Metric.ITEMS_SAVED, record.counts.saved)
    if record.counts.errors:
        measure(Metric.ERROR_ITEMS, record.counts.errors)
    if record.counts.duplicates:
        measure(Metric.DUPLICATE_ITEMS, record.counts.duplicates)
    measure(Metric.POLLS_PER_JOB, record.polls)
    if record.submitted_at and record.completed_at:
        took = datetime.fromisoformat(record.completed_at) - datetime.fromisoformat(
            record.submitted_at
        )
        measure(Metric.SECONDS_TO_COMPLETION, took.total_seconds())
