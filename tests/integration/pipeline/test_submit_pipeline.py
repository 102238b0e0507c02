"""Submit, status and finish with their real dependencies: moto for AWS, the simulator for CAPSS."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from capss import Outcome, TransientError
from capss.pipeline.finish import finish
from capss.pipeline.poll import check_status
from capss.pipeline.records import FileRecord, Phase
from capss.pipeline.submit import InProgressElsewhere, submit_file

from local.simulator import Fault
from tests.integration.pipeline.conftest import LICENSES, Pipeline, follow

CLEAN_KEY = "incoming/transactions/000000300/store-0300-clean.xml"


def _state(pipeline: Pipeline, record: FileRecord) -> dict[str, Any]:
    (execution,) = pipeline.sfn.list_executions(
        stateMachineArn=pipeline.submit_settings.state_machine_arn
    )["executions"]
    assert execution["executionArn"] == record.execution_arn
    described = pipeline.sfn.describe_execution(executionArn=execution["executionArn"])
    state: dict[str, Any] = json.loads(described["input"])
    return state


def test_clean_file_is_sent_once_followed_and_finished_without_alert(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    assert record.outcome is Outcome.PROCESSING
    assert record.submission_id == pipeline.sim.jobs[0].submission_id
    assert record.status_url is not None
    assert record.status_url.startswith(pipeline.sim.base_url)
    assert record.upload_attempts == 1
    state = _state(pipeline, record)
    text = json.dumps(state)
    for _client_id, secret in LICENSES.values():
        assert secret not in text
    assert state["poll"] == {
        "outcome": "processing",
        "wait_seconds": 10,
        "polls": 0,
        "waited_seconds": 0,
        "within_budget": True,
    }

    result = follow(pipeline, state)

    assert result == {"outcome": "complete", "alerted": False}
    final = pipeline.submit.records.get(ref.pk)
    assert final is not None
    assert final.outcome is Outcome.COMPLETE
    assert final.polls == 2
    assert final.counts.items == 3
    assert final.counts.saved == 3
    assert final.counts.errors == 0
    assert final.completed_at is not None
    assert pipeline.alerts.sent == []
    tags = pipeline.s3.get_object_tagging(Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id)
    assert tags["TagSet"] == [{"Key": "capss-outcome", "Value": "complete"}]
    assert pipeline.uploads() == 1


def test_duplicate_event_uploads_nothing_more(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    first = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    again = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert again.submission_id == first.submission_id
    assert pipeline.uploads() == 1


def test_identical_bytes_dropped_again_are_not_sent_twice(pipeline: Pipeline) -> None:
    first = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    submit_file(first, pipeline.submit, pipeline.submit_settings)
    second = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    record = submit_file(second, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.REJECTED
    assert record.duplicate_of == first.pk
    assert record.notes[0].startswith("Identical to s3://intake/")
    assert pipeline.uploads() == 1
    (alert,) = pipeline.alerts.sent
    assert alert.subject == "Rejected by the bridge, not sent: 000000300 store-0300-clean.xml"
    assert "capss-resend=true" in alert.body


def test_resend_metadata_sends_identical_bytes_on_purpose(pipeline: Pipeline) -> None:
    submit_file(
        pipeline.drop("store-0300-clean.xml", CLEAN_KEY),
        pipeline.submit,
        pipeline.submit_settings,
    )
    again = pipeline.drop("store-0300-clean.xml", CLEAN_KEY, metadata={"capss-resend": "true"})
    record = submit_file(again, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    assert pipeline.uploads() == 2


def test_invalid_file_is_rejected_with_lines_and_never_sent(pipeline: Pipeline) -> None:
    ref = pipeline.drop(
        "store-0300-invalid.xml", "incoming/transactions/000000300/store-0300-invalid.xml"
    )
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.REJECTED
    errors = [p for p in record.problems if p["severity"] == "error"]
    assert len(errors) == 2
    assert all(p["line"] for p in errors)
    assert pipeline.uploads() == 0
    (alert,) = pipeline.alerts.sent
    assert "Problems found in the file:" in alert.body
    assert "Fix the problems listed above" in alert.body


def test_key_outside_the_layout_is_rejected(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", "incoming/misc/store.xml")
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.REJECTED
    assert record.problems[0]["code"] == "key-layout"
    assert pipeline.uploads() == 0


def test_file_of_another_license_than_its_folder_is_rejected(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", "incoming/transactions/000000301/x.xml")
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.REJECTED
    assert {p["code"] for p in record.problems} >= {"license-mismatch"}


def test_wrong_secret_fails_with_a_hint_and_no_upload(pipeline: Pipeline) -> None:
    boto3_secrets = pipeline.submit.credentials._provider.client  # type: ignore[attr-defined]
    boto3_secrets.put_secret_value(
        SecretId="capss/000000300",
        SecretString=json.dumps({"client_id": "store300", "client_secret": "wrong-one"}),
    )
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.FAILED
    assert pipeline.uploads() == 0
    assert record.upload_attempts == 0  # the token was refused: no upload was at stake
    (alert,) = pipeline.alerts.sent
    assert "wrong-one" not in alert.body
    # The fix is in the stack (the license's secret), not in a command's options.
    assert record.hint is not None
    assert "secret capss/000000300" in record.hint
    assert "CAPSS_CLIENT" not in record.hint
    assert record.hint in alert.body


def test_missing_secret_says_which_secret_to_create(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", "incoming/transactions/x.xml")
    pipeline.submit.credentials._prefix = "other/"  # type: ignore[attr-defined]
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.FAILED
    assert "other/000000300" in (record.hint or "")


def test_capss_outage_goes_back_to_the_queue_then_succeeds(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.error(503, "upload", times=10))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    with pytest.raises(TransientError):
        submit_file(ref, pipeline.submit, pipeline.submit_settings)
    held = pipeline.submit.records.get(ref.pk)
    assert held is not None
    assert held.phase is Phase.CLAIMED  # CAPSS certainly has nothing: a retry sends as new
    assert held.error
    pipeline.sim.clear_faults()
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    assert len(pipeline.sim.jobs) == 1


def test_lost_answer_is_resent_so_capss_skips_what_it_has(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.dropped("upload", after_accept=True))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    with pytest.raises(TransientError):
        submit_file(ref, pipeline.submit, pipeline.submit_settings)
    held = pipeline.submit.records.get(ref.pk)
    assert held is not None
    assert held.phase is Phase.UPLOADING
    assert len(pipeline.sim.jobs) == 1  # CAPSS did take it
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    assert record.on_dup == "submitWithoutDup"
    assert record.upload_attempts == 2
    assert "sent again with onDup=submitWithoutDup" in record.notes[0]
    assert pipeline.sim.jobs[1].on_dup == "submitWithoutDup"


def test_an_attempt_in_progress_elsewhere_is_retried_later(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    pipeline.submit.records.claim(ref, "transactions", timedelta(minutes=5))
    with pytest.raises(InProgressElsewhere):
        submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert pipeline.uploads() == 0


def test_error_items_finish_with_issues_and_an_alert(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-error-items.xml", "incoming/transactions/000000300/errors.xml")
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    result = follow(pipeline, _state(pipeline, record))
    assert result == {"outcome": "complete_with_issues", "alerted": True}
    final = pipeline.submit.records.get(ref.pk)
    assert final is not None
    assert final.counts.errors == 1
    (alert,) = pipeline.alerts.sent
    assert "  errors:       1\n" in alert.body
    assert "CAPSS said:" in alert.body


def test_job_not_visible_yet_keeps_polling(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.not_found(times=2))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    state = _state(pipeline, record)
    state["poll"] = check_status(state, pipeline.status, pipeline.status_settings)
    assert state["poll"]["outcome"] == "processing"
    assert state["poll"]["not_found"] == 1
    assert follow(pipeline, state)["outcome"] == "complete"


def test_status_checks_write_nothing_and_the_finish_step_records_the_last_answer(
    pipeline: Pipeline,
) -> None:
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    state = _state(pipeline, submit_file(ref, pipeline.submit, pipeline.submit_settings))
    submitted = pipeline.submit.records.get(ref.pk)
    assert submitted is not None
    pipeline.sim.inject(Fault(endpoint="status", times=3, status=202, body={"status": 202}))
    for _ in range(3):
        state["poll"] = check_status(state, pipeline.status, pipeline.status_settings)
        record = pipeline.submit.records.get(ref.pk)
        assert record is not None
        assert record.revision == submitted.revision
    assert state["poll"]["answer"]["capss_status"] == '{"status": 202}'
    assert finish(state, pipeline.finish, pipeline.finish_settings)["outcome"] == "timed_out"
    final = pipeline.submit.records.get(ref.pk)
    assert final is not None
    assert final.polls == 3
    assert final.capss_status == '{"status": 202}'


def test_poll_budget_and_backoff(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    state = _state(pipeline, submit_file(ref, pipeline.submit, pipeline.submit_settings))
    pipeline.sim.inject(Fault(endpoint="status", times=50, status=202, body={"status": 202}))
    waits = []
    while True:
        state["poll"] = check_status(state, pipeline.status, pipeline.status_settings)
        waits.append(state["poll"]["wait_seconds"])
        if not state["poll"]["within_budget"]:
            break
    # Checks at 10, 20, 30, 45, 68, 102 s: half the time waited, at least 10, capped at 60.
    assert waits[:7] == [10, 10, 15, 23, 34, 51, 60]
    assert state["poll"]["waited_seconds"] + waits[-1] > 300
    state["poll"]["outcome"] = "timed_out"  # what the ASL's MarkTimedOut does
    assert finish(state, pipeline.finish, pipeline.finish_settings)["outcome"] == "timed_out"
    (alert,) = pipeline.alerts.sent
    assert "Do not drop the file again" in alert.body


def test_poller_failure_is_recorded_and_alerted_once(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    state = _state(pipeline, submit_file(ref, pipeline.submit, pipeline.submit_settings))
    state["error"] = {
        "Error": "ProtocolError",
        "Cause": json.dumps({"errorMessage": "CAPSS answered HTML", "errorType": "ProtocolError"}),
    }
    assert finish(state, pipeline.finish, pipeline.finish_settings) == {
        "outcome": "failed",
        "alerted": True,
    }
    assert finish(state, pipeline.finish, pipeline.finish_settings)["alerted"] is False
    (alert,) = pipeline.alerts.sent
    assert "ProtocolError: CAPSS answered HTML" in alert.body


def test_metadata_overrides_and_a_bad_one_is_noted(pipeline: Pipeline) -> None:
    ref = pipeline.drop(
        "store-0300-clean.xml",
        CLEAN_KEY,
        metadata={"capss-on-dup": "cancel", "capss-on-error": "sometimes"},
    )
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert (record.on_dup, record.on_error) == ("cancel", "submit")
    (job,) = pipeline.sim.jobs
    assert (job.on_dup, job.on_error) == ("cancel", "submit")
    assert record.notes == [
        "Object metadata capss-on-error='sometimes' is not one of cancel, submit:"
        " sent with the stack's 'submit'."
    ]
