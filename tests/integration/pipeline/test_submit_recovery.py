"""What a retry finds after each way an attempt can break: nothing lost, nothing sent twice."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from capss import Outcome, TransientError
from capss.pipeline.files import FileRef
from capss.pipeline.finish import finish
from capss.pipeline.records import Phase
from capss.pipeline.submit import (
    RELEASED,
    InProgressElsewhere,
    poller_input,
    queue_backoff,
    submit_file,
    submit_message,
)

from local.simulator import Fault
from tests.conftest import SAMPLE_FILES
from tests.integration.pipeline.conftest import BUCKET, CHAIN_UPLOADER, Pipeline

CLEAN_KEY = "incoming/transactions/000000300/store-0300-clean.xml"


def _message(pipeline: Pipeline, ref: FileRef, receive_count: int = 1) -> dict[str, Any]:
    """A real message on the intake queue, as Lambda's event source hands it over."""
    notification = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": CHAIN_UPLOADER.principal},
                "s3": {
                    "bucket": {"name": ref.bucket},
                    "object": {"key": ref.key, "versionId": ref.version_id, "size": ref.size},
                },
            }
        ]
    }
    pipeline.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=json.dumps(notification))
    (received,) = pipeline.sqs.receive_message(QueueUrl=pipeline.queue_url)["Messages"]
    arn = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    return {
        "messageId": received["MessageId"],
        "receiptHandle": received["ReceiptHandle"],
        "body": received["Body"],
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "eventSourceARN": arn,
    }


def _visible(pipeline: Pipeline) -> int:
    return len(pipeline.sqs.receive_message(QueueUrl=pipeline.queue_url).get("Messages", []))


def test_queue_backoff_grows_and_honours_retry_after() -> None:
    assert [queue_backoff(n) for n in range(1, 6)] == [120, 240, 480, 900, 900]
    assert queue_backoff(1, retry_after=600) == 600
    # SQS refuses a visibility past 12 h from the receipt: a day's Retry-After waits 12 h less
    # the function's run.
    assert queue_backoff(1, retry_after=86_400) == 42_600


def test_transient_failure_puts_the_message_back_later(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.error(503, "upload", times=10, headers={"Retry-After": "0"}))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    assert submit_message(_message(pipeline, ref), pipeline.submit, pipeline.submit_settings) is (
        False
    )
    # The queue itself would hand it back at once (visibility timeout 0): the code held it.
    assert _visible(pipeline) == 0
    assert pipeline.alerts.sent == []


def test_a_day_long_retry_after_holds_the_message_as_long_as_sqs_allows(
    pipeline: Pipeline,
) -> None:
    pipeline.sim.inject(Fault.error(503, "upload", times=10, headers={"Retry-After": "86400"}))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    # moto refuses a visibility past 12 h as SQS does: the call would raise, not hold.
    assert submit_message(_message(pipeline, ref), pipeline.submit, pipeline.submit_settings) is (
        False
    )
    assert _visible(pipeline) == 0
    assert pipeline.alerts.sent == []


def test_last_receive_records_the_failure_and_alerts(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.error(503, "upload", times=10, headers={"Retry-After": "0"}))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    last = pipeline.submit_settings.max_receives
    message = _message(pipeline, ref, receive_count=last)
    assert submit_message(message, pipeline.submit, pipeline.submit_settings) is False
    assert _visible(pipeline) == 1  # not held back: on to the dead-letter queue
    record = pipeline.submit.records.get(ref.pk)
    assert record is not None
    assert record.outcome is Outcome.FAILED
    assert f"after {last} tries" in (record.error or "")
    (alert,) = pipeline.alerts.sent
    assert "dead-letter queue" in alert.body
    assert record.completed_at is not None
    tags = pipeline.s3.get_object_tagging(Bucket=BUCKET, Key=ref.key, VersionId=ref.version_id)
    assert tags["TagSet"] == [{"Key": "capss-outcome", "Value": "failed"}]
    # A redrive once CAPSS is back takes the file over and sends it...
    pipeline.sim.clear_faults()
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    assert record.outcome is Outcome.PROCESSING
    assert pipeline.sim.count(endpoint="upload", status=202) == 1
    # ...and its own final outcome is alerted in turn.
    state = poller_input(record, pipeline.submit_settings)
    state["poll"]["outcome"] = "timed_out"
    assert finish(state, pipeline.finish, pipeline.finish_settings)["alerted"] is True
    assert [a.attributes["outcome"] for a in pipeline.alerts.sent] == ["failed", "timed_out"]


def test_a_retry_after_an_unanswered_upload_never_sends_as_new(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.dropped("upload", after_accept=True))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY, metadata={"capss-on-dup": "submitDups"})
    with pytest.raises(TransientError):
        submit_file(ref, pipeline.submit, pipeline.submit_settings)
    # The blind resend meets an outage CAPSS certainly took nothing from...
    pipeline.sim.inject(Fault.error(503, "upload", times=4, headers={"Retry-After": "0"}))
    with pytest.raises(TransientError):
        submit_file(ref, pipeline.submit, pipeline.submit_settings)
    held = pipeline.submit.records.get(ref.pk)
    assert held is not None
    assert held.maybe_in_capss
    # ...and the next try still skips what CAPSS may already have.
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    assert [job.on_dup for job in pipeline.sim.jobs] == ["submitDups", "submitWithoutDup"]


def test_waiting_for_an_identical_file_hands_the_lease_back(pipeline: Pipeline) -> None:
    first = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    held = pipeline.submit.records.claim(first, "transactions", timedelta(minutes=5)).record
    held.license, held.sha256 = (
        "000000300",
        hashlib.sha256((SAMPLE_FILES / "store-0300-clean.xml").read_bytes()).hexdigest(),
    )
    assert pipeline.submit.records.claim_content(held) is None
    held.phase = Phase.UPLOADING
    pipeline.submit.records.save(held)
    second = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    with pytest.raises(InProgressElsewhere, match="identical file"):
        submit_file(second, pipeline.submit, pipeline.submit_settings)
    waiting = pipeline.submit.records.get(second.pk)
    assert waiting is not None
    assert waiting.lease_until == RELEASED
    assert pipeline.sim.count(endpoint="upload") == 0


def test_poller_that_failed_to_start_is_started_by_the_retry(pipeline: Pipeline) -> None:
    arn = pipeline.submit_settings.state_machine_arn
    definition = pipeline.sfn.describe_state_machine(stateMachineArn=arn)
    pipeline.sfn.delete_state_machine(stateMachineArn=arn)
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    with pytest.raises(Exception, match=r"StateMachineDoesNotExist|does not exist"):
        submit_file(ref, pipeline.submit, pipeline.submit_settings)
    pipeline.sfn.create_state_machine(
        name="poller", roleArn=definition["roleArn"], definition=definition["definition"]
    )
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    executions = pipeline.sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == [ref.execution_name]
    assert pipeline.sim.count(endpoint="upload") == 1


def test_alert_that_failed_to_send_is_sent_by_the_retry(pipeline: Pipeline) -> None:
    sns = pipeline.alerts._sender._client  # type: ignore[attr-defined]
    topic = pipeline.submit_settings.topic_arn
    sns.delete_topic(TopicArn=topic)
    ref = pipeline.drop(
        "store-0300-invalid.xml", "incoming/transactions/000000300/store-0300-invalid.xml"
    )
    with pytest.raises(Exception, match=r"NotFound|does not exist"):
        submit_file(ref, pipeline.submit, pipeline.submit_settings)
    sns.create_topic(Name="alerts")
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.REJECTED
    assert [a.subject for a in pipeline.alerts.sent] == [
        "Rejected by the bridge, not sent: 000000300 store-0300-invalid.xml"
    ]
    submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert len(pipeline.alerts.sent) == 1


def test_unreadable_answer_after_upload_fails_once_and_blocks_a_resend(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.malformed("upload"))
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.FAILED
    assert record.maybe_in_capss
    assert "may have taken the file" in (record.hint or "")
    assert len(pipeline.sim.jobs) == 1
    submit_file(ref, pipeline.submit, pipeline.submit_settings)
    again = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    assert submit_file(again, pipeline.submit, pipeline.submit_settings).outcome is (
        Outcome.REJECTED
    )
    assert len(pipeline.sim.jobs) == 1
    assert len(pipeline.alerts.sent) == 2


def test_identical_file_goes_when_the_first_was_never_sent(pipeline: Pipeline) -> None:
    pipeline.sim.inject(Fault.error(503, "upload", times=4, headers={"Retry-After": "0"}))
    first = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    with pytest.raises(TransientError):
        submit_file(first, pipeline.submit, pipeline.submit_settings)
    second = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    assert submit_file(second, pipeline.submit, pipeline.submit_settings).phase is (Phase.SUBMITTED)
    late = submit_file(first, pipeline.submit, pipeline.submit_settings)
    assert late.outcome is Outcome.REJECTED
    assert late.duplicate_of == second.pk
    assert pipeline.sim.count(endpoint="upload", status=202) == 1


def test_item_update_completed_at_once_without_a_link_is_final(pipeline: Pipeline) -> None:
    pipeline.sim.inject(
        Fault(
            endpoint="update",
            status=202,
            after_accept=True,
            body={
                "licenseNumber": "000000300",
                "status": "complete",
                "submission": {"submissionId": "abc-123"},
            },
        )
    )
    ref = pipeline.drop(
        "store-0300-item-update.xml", "incoming/item-updates/000000300/store-0300-item-update.xml"
    )
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.COMPLETE
    assert record.phase is Phase.DONE
    assert record.submission_id == "abc-123"
    assert (
        pipeline.sfn.list_executions(stateMachineArn=pipeline.submit_settings.state_machine_arn)[
            "executions"
        ]
        == []
    )


def test_deleted_version_fails_with_an_alert(pipeline: Pipeline) -> None:
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    pipeline.s3.delete_object(Bucket=BUCKET, Key=ref.key, VersionId=ref.version_id)
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.FAILED
    assert "cannot be read" in (record.error or "")
    assert len(pipeline.alerts.sent) == 1
    assert pipeline.sim.count(endpoint="upload") == 0


def test_the_last_receive_gives_up_on_any_error(pipeline: Pipeline) -> None:
    """Defect 3b: a full /tmp (or a DynamoDB error after boto's retries) is not a
    TransientError, yet the last receive must still record the file and tell someone."""

    def no_space(ref: FileRef, dest: Any) -> None:
        raise OSError(28, "No space left on device")

    pipeline.submit.objects.download = no_space  # type: ignore[method-assign]
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    last = pipeline.submit_settings.max_receives
    with pytest.raises(OSError, match="No space left"):
        submit_message(_message(pipeline, ref, last), pipeline.submit, pipeline.submit_settings)
    record = pipeline.submit.records.get(ref.pk)
    assert record is not None
    assert record.outcome is Outcome.FAILED
    assert "No space left on device" in (record.error or "")
    (alert,) = pipeline.alerts.sent
    assert "Nothing reached CAPSS" in alert.body
    assert pipeline.sim.count(endpoint="upload") == 0


def test_a_poller_that_never_starts_still_gets_an_outcome(pipeline: Pipeline) -> None:
    """Defect 3c: StartExecution refused on every receive: the file CAPSS holds is told
    `failed` with what to do, and a redrive's poller records and alerts its real outcome."""
    arn = pipeline.submit_settings.state_machine_arn
    definition = pipeline.sfn.describe_state_machine(stateMachineArn=arn)
    pipeline.sfn.delete_state_machine(stateMachineArn=arn)
    ref = pipeline.drop("store-0300-clean.xml", CLEAN_KEY)
    last = pipeline.submit_settings.max_receives
    for attempt in range(1, last + 1):
        with pytest.raises(Exception, match=r"StateMachineDoesNotExist|does not exist"):
            submit_message(
                _message(pipeline, ref, attempt), pipeline.submit, pipeline.submit_settings
            )
    record = pipeline.submit.records.get(ref.pk)
    assert record is not None
    assert record.phase is Phase.SUBMITTED
    assert record.outcome is Outcome.FAILED
    (alert,) = pipeline.alerts.sent
    assert "could not start following its job" in alert.body
    assert pipeline.sim.count(endpoint="upload") == 1
    pipeline.sfn.create_state_machine(
        name="poller", roleArn=definition["roleArn"], definition=definition["definition"]
    )
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)  # the redrive
    state = poller_input(record, pipeline.submit_settings)
    state["poll"]["outcome"] = "complete_with_issues"
    assert finish(state, pipeline.finish, pipeline.finish_settings)["alerted"] is True
    assert [a.attributes["outcome"] for a in pipeline.alerts.sent] == [
        "failed",
        "complete_with_issues",
    ]
    assert pipeline.sim.count(endpoint="upload") == 1
