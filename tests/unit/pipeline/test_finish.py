"""The poller's last step on the in-memory record store: outcome, one alert, the tag."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, BinaryIO

import pytest
from capss import Outcome
from capss.pipeline import advice
from capss.pipeline.files import FileRef
from capss.pipeline.finish import EXECUTION_STATUS_CHANGE, FinishDeps, finish, poller_stopped
from capss.pipeline.memory import MemoryRecordStore
from capss.pipeline.ports import ObjectInfo
from capss.pipeline.records import Phase
from capss.pipeline.settings import FinishSettings
from capss.pipeline.values import Alert

REF = FileRef("intake", "incoming/transactions/000000300/day.xml", "v1", size=10)
SETTINGS = FinishSettings(
    table_name="records",
    topic_arn="arn:topic",
    alert_on_complete=False,
    deployment=advice.Deployment(stack_name="bridge-prod", secret_prefix="capss-prod/"),
)
CHECK_THE_JOB = (
    "`capss status https://capss.test/api/jobs/42`, with CAPSS_BASE_URL=https://capss.test",
    "--secret-id capss-prod/000000300",
)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


class Tags:
    def __init__(self) -> None:
        self.tags: dict[FileRef, dict[str, str]] = {}

    def head(self, ref: FileRef) -> ObjectInfo:
        raise AssertionError("finish never reads the file")

    def download(self, ref: FileRef, dest: BinaryIO) -> None:
        raise AssertionError("finish never reads the file")

    def tag(self, ref: FileRef, tags: dict[str, str]) -> None:
        self.tags[ref] = tags

    def read_uri(self, uri: str) -> bytes:
        raise AssertionError("finish never reads the file")


@pytest.fixture
def deps() -> FinishDeps:
    records = MemoryRecordStore()
    record = records.claim(REF, "transactions", timedelta(minutes=5)).record
    record.phase, record.license = Phase.SUBMITTED, "000000300"
    record.submission_id, record.status_url = "42", "https://capss.test/api/jobs/42"
    records.save(record)
    return FinishDeps(records=records, objects=Tags(), alerts=Outbox())


def _state(**poll: Any) -> dict[str, Any]:
    return {"file_id": REF.pk, "poll": {"polls": 3, "waited_seconds": 600, **poll}}


def test_an_outcome_that_needs_a_person_is_recorded_alerted_once_and_tagged(
    deps: FinishDeps,
) -> None:
    answer = finish(_state(outcome="complete_with_issues"), deps, SETTINGS)
    assert answer == {"outcome": "complete_with_issues", "alerted": True}
    record = deps.records.get(REF.pk)
    assert record is not None
    assert record.phase is Phase.DONE
    assert record.alerted
    assert deps.objects.tags[FileRef(REF.bucket, REF.key, REF.version_id)] == {
        "capss-outcome": "complete_with_issues"
    }  # type: ignore[attr-defined]
    # The state machine retries this step on any failure: a retry sends nothing again.
    again = finish(_state(outcome="complete_with_issues"), deps, SETTINGS)
    assert again == {"outcome": "complete_with_issues", "alerted": False}
    assert len(deps.alerts.sent) == 1  # type: ignore[attr-defined]


def test_a_job_still_processing_when_the_budget_ran_out_is_timed_out(deps: FinishDeps) -> None:
    finish(_state(outcome="timed_out"), deps, SETTINGS)
    record = deps.records.get(REF.pk)
    assert record is not None
    assert record.outcome is Outcome.TIMED_OUT
    assert record.notes == ["CAPSS had not finished after 3 status checks over 10 min 0 s."]
    (alert,) = deps.alerts.sent  # type: ignore[attr-defined]
    assert alert.subject == "CAPSS did not finish, timed out: 000000300 day.xml"
    assert "What to do: Do not drop the file again" in alert.body
    for step in CHECK_THE_JOB:
        assert step in alert.body
    assert "<" not in alert.body.split("What to do:")[1]


def test_a_poller_error_fails_the_file_with_advice_to_check_capss_first(deps: FinishDeps) -> None:
    error = {"Error": "States.TaskFailed", "Cause": '{"errorMessage": "boom"}'}
    finish({**_state(), "error": error}, deps, SETTINGS)
    record = deps.records.get(REF.pk)
    assert record is not None
    assert record.outcome is Outcome.FAILED
    assert record.error == "States.TaskFailed: boom"
    (alert,) = deps.alerts.sent  # type: ignore[attr-defined]
    assert "What to do: Look at the error above" in alert.body
    for step in CHECK_THE_JOB:
        assert step in alert.body
    assert alert.subject.startswith("Not reported to CAPSS, failed:")


def test_a_job_capss_failed_is_filed_as_capss_refusing_it(deps: FinishDeps) -> None:
    finish(_state(outcome="failed"), deps, SETTINGS)
    (alert,) = deps.alerts.sent  # type: ignore[attr-defined]
    assert alert.subject == "CAPSS refused: 000000300 day.xml"
    assert "was refused by CAPSS" in alert.body
    assert alert.attributes["outcome"] == "failed"


def test_a_clean_finish_alerts_nobody_unless_asked(deps: FinishDeps) -> None:
    assert finish(_state(outcome="complete"), deps, SETTINGS)["alerted"] is False
    assert deps.alerts.sent == []  # type: ignore[attr-defined]


def _stopped_event(status: str, **state: Any) -> dict[str, Any]:
    """EventBridge's event for a poller execution that ended without its last step."""
    return {
        "detail-type": EXECUTION_STATUS_CHANGE,
        "source": "aws.states",
        "detail": {
            "name": "day-abc",
            "status": status,
            "input": json.dumps({**_state(), **state}),
            "error": "States.Timeout" if status == "TIMED_OUT" else None,
            "cause": None,
        },
    }


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_a_poller_that_stopped_without_its_last_step_fails_the_file_with_an_alert(
    deps: FinishDeps, status: str
) -> None:
    """Defect 3a: the safety net (an EventBridge rule) gives the file its outcome."""
    assert finish(poller_stopped(_stopped_event(status)), deps, SETTINGS) == {
        "outcome": "failed",
        "alerted": True,
    }
    record = deps.records.get(REF.pk)
    assert record is not None
    assert record.phase is Phase.DONE
    assert f"ended {status}" in (record.error or "")
    (alert,) = deps.alerts.sent  # type: ignore[attr-defined]
    assert f"What to do: {advice.POLLER_STOPPED}" in alert.body


def test_the_safety_net_after_a_recorded_outcome_only_sends_an_owed_alert(
    deps: FinishDeps,
) -> None:
    finish(_state(outcome="complete"), deps, SETTINGS)
    answer = finish(poller_stopped(_stopped_event("FAILED")), deps, SETTINGS)
    assert answer == {"outcome": "complete", "alerted": False}
    assert deps.alerts.sent == []  # type: ignore[attr-defined]
