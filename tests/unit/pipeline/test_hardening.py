"""Regression tests for the hardening of issue 13, on the in-memory record store."""

from __future__ import annotations

import json
from datetime import timedelta
from types import TracebackType
from typing import Any

import pytest
from capss import Counts, Outcome
from capss.client.status import StatusResult
from capss.errors import CapssUnavailable, ProtocolError, RequestRejected
from capss.pipeline import advice
from capss.pipeline.alerts import compose_alert, notify
from capss.pipeline.files import FileRef
from capss.pipeline.finish import FinishDeps, finish
from capss.pipeline.memory import MemoryRecordStore
from capss.pipeline.poll import MAX_POLLS, StatusDeps, check_status
from capss.pipeline.records import RAW_BODY_LIMIT, FileRecord, Phase
from capss.pipeline.settings import CapssSettings, FinishSettings, PollSettings, StatusSettings
from capss.pipeline.values import Alert, LicenseCredentials

from tests.unit.pipeline.test_finish import Tags

WHERE = advice.Deployment()

REF = FileRef("intake", "incoming/transactions/000000300/week.xml", "v1", size=10)
SNS_LIMIT = SFN_LIMIT = 256 * 1024
FINISH = FinishSettings(table_name="records", topic_arn="arn:topic", alert_on_complete=False)
SETTINGS = StatusSettings(
    capss=CapssSettings(
        base_url="https://capss.test",
        api="current",
        secret_prefix="capss/",
        tls_ciphers="DEFAULT",
        ca_bundle=None,
    ),
    poll=PollSettings(
        first_wait_seconds=60, max_wait_seconds=900, wait_share=0.5, budget_seconds=86400
    ),
)


class Credentials:
    def for_license(
        self, license_number: str, stale: LicenseCredentials | None = None
    ) -> LicenseCredentials:
        return LicenseCredentials(license_number, "client", "secret")


class Answering:
    """A status client that gives one scripted answer (or raises it)."""

    def __init__(self, answer: StatusResult | Exception) -> None:
        self.answer = answer

    def status(self, url: str) -> StatusResult:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def __enter__(self) -> Answering:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


def _submitted(records: MemoryRecordStore) -> FileRecord:
    record = records.claim(REF, "transactions", timedelta(minutes=5)).record
    record.phase, record.license = Phase.SUBMITTED, "000000300"
    record.submission_id, record.status_url = "42", "https://capss.test/api/jobs/42"
    record.maybe_in_capss = True
    records.save(record)
    return record


def _state() -> dict[str, Any]:
    return {
        "file_id": REF.pk,
        "license": "000000300",
        "status_url": "https://capss.test/api/jobs/42",
        "poll": {"polls": 0, "waited_seconds": 0, "wait_seconds": 60},
    }


def _check(answer: StatusResult | Exception, poll: dict[str, Any] | None = None) -> dict[str, Any]:
    deps = StatusDeps(credentials=Credentials(), clients=lambda _: Answering(answer))
    state = _state()
    state["poll"].update(poll or {})
    return check_status(state, deps, SETTINGS)


def test_thousands_of_capss_messages_keep_the_counts_and_fit_the_state_record_and_alert() -> None:
    """Defect 1: the week's export sent again: 5,000 duplicates, each quoted by CAPSS."""
    records = MemoryRecordStore()
    _submitted(records)
    quoted = tuple(
        f"Item {n} of transaction {n}: duplicate of an item saved" * 40 for n in range(5000)
    )
    counts = Counts(transactions=5000, items=5000, saved=0, errors=5000, duplicates=None)
    raw = {"status": "completed", "errorMessages": list(quoted)}
    result = StatusResult(Outcome.COMPLETE_WITH_ISSUES, counts, quoted, None, raw, 200)
    state = {**_state(), "poll": _check(result)}
    assert state["poll"]["outcome"] == "complete_with_issues"
    # The answer rides in the poller's state: it must fit a Step Functions payload.
    assert len(json.dumps(state).encode()) < SFN_LIMIT / 2
    tags = Tags()
    finish(state, FinishDeps(records=records, objects=tags, alerts=Outbox()), FINISH)
    record = records.get(REF.pk)
    assert record is not None
    assert record.counts == counts
    assert len(record.messages) == 51
    assert record.messages[-1] == "… and 4950 more"
    assert record.capss_status is not None
    assert len(record.capss_status) == RAW_BODY_LIMIT
    alert = compose_alert(record, WHERE)
    assert len(alert.body.encode()) < SNS_LIMIT / 4
    assert "… and 4950 more" in alert.body


def test_a_check_capss_did_not_answer_keeps_the_last_answer_for_the_finish_step() -> None:
    """Status checks write nothing: the state is where CAPSS's last word lives."""
    counts = Counts(transactions=2, items=3, saved=1)
    first = _check(StatusResult(Outcome.PROCESSING, counts, ("1 of 3",), None, {}, 200))
    assert first["answer"]["counts"]["saved"] == 1
    then = _check(CapssUnavailable("busy"), first)
    assert then["outcome"] == "processing"
    assert then["answer"] == first["answer"]
    assert "answer" not in _check(CapssUnavailable("busy"))


@pytest.mark.parametrize(
    "trouble",
    [
        CapssUnavailable("CAPSS answered HTTP 500 to the status check: <html>"),
        ProtocolError("CAPSS's answer to the status check is not a JSON object: {\"sta"),
    ],
)
def test_an_answer_without_the_jobs_outcome_counts_as_still_processing(
    trouble: Exception,
) -> None:
    """Defect 5: a proxy's page or a body that does not parse is not CAPSS's verdict."""
    poll = _check(trouble)
    assert poll["outcome"] == "processing"
    assert poll["unreachable"] == 1
    assert poll["within_budget"] is True


def test_a_failed_job_in_capss_is_not_advised_to_be_dropped_again() -> None:
    """Defect 5: the bridge refuses a plain re-drop of bytes CAPSS may hold."""
    record = FileRecord(
        pk=REF.pk, bucket="intake", key=REF.key, version_id="v1", kind="transactions"
    )
    record.outcome, record.maybe_in_capss = Outcome.FAILED, True
    assert advice.next_step(record, WHERE) == advice.FAILED_IN_CAPSS
    assert "capss-resend=true" in advice.next_step(record, WHERE)
    assert "capss-resend=true" in advice.poller_failed(record, WHERE)


@pytest.mark.parametrize(
    ("message", "parameter"),
    [
        ("Invalid onDup value: submitWithoutDups", "OnDup"),
        ("onError must be one of cancel, submit", "OnError"),
    ],
)
def test_a_400_naming_onDup_or_onError_names_the_parameter_to_change(
    message: str, parameter: str
) -> None:
    """Defect 6."""
    record = FileRecord(
        pk=REF.pk, bucket="intake", key=REF.key, version_id="v1", kind="transactions"
    )
    error = RequestRejected(
        f"CAPSS rejected the upload (HTTP 400): {message}", http_status=400, capss_message=message
    )
    hint = advice.for_error(error, record, WHERE)
    assert f"stack's {parameter} parameter" in hint
    assert hint.endswith("Then drop the file again.")
    record.maybe_in_capss = True
    assert "capss-resend=true" in advice.for_error(error, record, WHERE)


class Outbox:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Alert] = []
        self.fail = fail

    def send(self, alert: Alert) -> None:
        if self.fail:
            raise ConnectionError("SNS is down")
        self.sent.append(alert)


def _final(records: MemoryRecordStore) -> FileRecord:
    record = _submitted(records)
    record.phase, record.outcome = Phase.DONE, Outcome.FAILED
    records.save(record)
    return record


def test_two_attempts_racing_to_alert_send_one_email() -> None:
    """Defect 7: the finish step and a late duplicate event both find the record final."""
    records = MemoryRecordStore()
    _final(records)
    finish_view, late_event_view = records.get(REF.pk), records.get(REF.pk)
    assert finish_view is not None
    assert late_event_view is not None
    outbox = Outbox()
    assert notify(late_event_view, records, outbox, where=WHERE) is True
    assert notify(finish_view, records, outbox, where=WHERE) is False
    assert len(outbox.sent) == 1


def test_a_failed_send_takes_the_flag_back_so_the_retry_sends() -> None:
    records = MemoryRecordStore()
    _final(records)
    record = records.get(REF.pk)
    assert record is not None
    with pytest.raises(ConnectionError):
        notify(record, records, Outbox(fail=True), where=WHERE)
    stored = records.get(REF.pk)
    assert stored is not None
    assert stored.alerted is False
    outbox = Outbox()
    assert notify(stored, records, outbox, where=WHERE) is True
    assert len(outbox.sent) == 1


def test_the_poll_loop_stays_under_the_execution_history_limit() -> None:
    """Defect 3e: short waits with a long budget would pass 25,000 history events."""
    deps = StatusDeps(
        credentials=Credentials(), clients=lambda _: Answering(CapssUnavailable("busy"))
    )
    state = _state()
    state["poll"] = {"polls": MAX_POLLS - 2, "waited_seconds": 0, "wait_seconds": 1}
    assert check_status(state, deps, SETTINGS)["within_budget"] is True
    state["poll"] = {"polls": MAX_POLLS - 1, "waited_seconds": 0, "wait_seconds": 1}
    assert check_status(state, deps, SETTINGS)["within_budget"] is False
    # 9 history events a check (Wait, Task, Choice), 3 per ASL retry.
    assert MAX_POLLS * 9 + MAX_POLLS * 3 < 25_000


def test_duplicates_from_the_bridges_own_resend_are_not_blamed_on_the_pos() -> None:
    """Defect 5 (advice matches what happened): the blind resend's skipped items."""
    record = FileRecord(
        pk=REF.pk, bucket="intake", key=REF.key, version_id="v1", kind="transactions"
    )
    record.outcome = Outcome.COMPLETE_WITH_ISSUES
    record.counts = Counts(transactions=2, items=3, saved=0, errors=0, duplicates=None)
    assert advice.next_step(record, WHERE) == advice.CHECK_DUPLICATES
    record.resent = True
    assert advice.next_step(record, WHERE) == advice.RESENT_DUPLICATES


def _unknown(word: str = "Error processing file") -> StatusResult:
    raw = {"statusMessage": word}
    return StatusResult(Outcome.PROCESSING, Counts(), (), None, raw, 200, unknown_word=word)


def _told(outbox: Outbox, *answers: StatusResult) -> list[dict[str, Any]]:
    """The poll objects of consecutive checks answered in turn, alerts into `outbox`."""
    scripted = iter(answers)
    deps = StatusDeps(
        credentials=Credentials(), clients=lambda _: Answering(next(scripted)), alerts=outbox
    )
    state = {
        **_state(),
        "bucket": "intake",
        "key": REF.key,
        "version_id": "v1",
        "kind": "transactions",
        "submission_id": "42",
    }
    polls = []
    for _ in answers:
        state["poll"] = check_status(state, deps, SETTINGS)
        polls.append(state["poll"])
    return polls


def test_a_status_word_the_bridge_does_not_know_gets_a_person_once_while_polling_goes_on() -> None:
    outbox = Outbox()
    polls = _told(outbox, *[_unknown()] * 6)
    assert [p["outcome"] for p in polls] == ["processing"] * 6
    assert all(p["within_budget"] for p in polls)
    assert [p["unknown_told"] for p in polls] == [False, False, True, True, True, True]
    (alert,) = outbox.sent
    assert alert.body.startswith(
        "CAPSS answered 'Error processing file', which the bridge does not know, to 3 status"
        " checks in a row of the file week.xml."
    )
    assert f"File:        s3://intake/{REF.key} (version v1)" in alert.body
    assert "capss status https://capss.test/api/jobs/42" in alert.body
    assert alert.attributes == {
        "outcome": "unknown_status",
        "license": "000000300",
        "kind": "transactions",
    }


def test_a_known_answer_between_resets_the_count_and_a_failed_send_is_tried_again() -> None:
    running = StatusResult(Outcome.PROCESSING, Counts(), (), None, {}, 202)
    outbox = Outbox()
    _told(outbox, _unknown(), _unknown(), running, _unknown(), _unknown())
    assert outbox.sent == []
    down = Outbox(fail=True)
    polls = _told(down, *[_unknown()] * 4)
    assert polls[-1]["unknown_told"] is False  # SNS was down: the next check tries again


def test_a_job_that_times_out_on_an_unknown_word_says_so_not_did_not_reach_capss() -> None:
    records = MemoryRecordStore()
    _submitted(records)
    polls = _told(Outbox(), *[_unknown("Completed")] * 3)
    state = {**_state(), "poll": {**polls[-1], "within_budget": False}}
    finish(state, FinishDeps(records=records, objects=Tags(), alerts=Outbox()), FINISH)
    record = records.get(REF.pk)
    assert record is not None
    assert record.outcome is Outcome.TIMED_OUT
    assert record.error is not None
    assert "CAPSS answered 'Completed', a status the bridge does not know" in record.error
    assert record.hint == advice.unknown_status(record, "Completed", WHERE)
    alert = compose_alert(record, WHERE)
    assert "'Completed'" in alert.body
    assert "Do not drop the file again" in alert.body


class Stopped(BaseException):
    """The function stopped where it stands (Lambda's kill): no `except Exception` sees it."""


class Stopping:
    def send(self, alert: Alert) -> None:
        raise Stopped


def test_an_alert_is_marked_pending_before_the_send_and_cleared_after() -> None:
    records = MemoryRecordStore()
    record = _submitted(records)
    record.phase, record.outcome = Phase.DONE, Outcome.TIMED_OUT
    records.save(record)
    outbox = Outbox()
    assert notify(record, records, outbox, where=WHERE) is True
    saved = records.get(REF.pk)
    assert saved is not None
    assert (saved.alerted, saved.alert_pending) == (True, None)
    # A send that fails takes both marks back: the retried step sends it.
    failing = MemoryRecordStore()
    record = _submitted(failing)
    record.phase, record.outcome = Phase.DONE, Outcome.TIMED_OUT
    failing.save(record)
    with pytest.raises(ConnectionError):
        notify(record, failing, Outbox(fail=True), where=WHERE)
    saved = failing.get(REF.pk)
    assert saved is not None
    assert (saved.alerted, saved.alert_pending) == (False, None)
    # A function stopped between the two leaves the mark for the sweep.
    stopped = MemoryRecordStore()
    record = _submitted(stopped)
    record.phase, record.outcome = Phase.DONE, Outcome.TIMED_OUT
    stopped.save(record)
    with pytest.raises(Stopped):
        notify(record, stopped, Stopping(), where=WHERE)
    saved = stopped.get(REF.pk)
    assert saved is not None
    assert saved.alerted is True
    assert saved.alert_pending is not None
