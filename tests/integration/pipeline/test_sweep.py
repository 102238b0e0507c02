"""The sweep: a file whose event reached the dead-letter queue untold, and an alert left
pending, each told within minutes, on moto's SQS and DynamoDB (its sparse index)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from capss import Outcome
from capss.aws.sqs import SqsDeadLetters
from capss.pipeline.alerts import REPEAT_SUBJECT
from capss.pipeline.files import FileRef
from capss.pipeline.records import Phase, iso
from capss.pipeline.submit import DEAD_LETTER, submit_file
from capss.pipeline.sweep import PENDING_AFTER, SweepDeps, sweep

from tests.integration.pipeline.conftest import Pipeline

KEY = "incoming/transactions/000000300/store-0300-clean.xml"
CSV_KEY = "incoming/csv/000000300/export.csv"


def _notification(ref: FileRef) -> str:
    obj = {"key": ref.key, "versionId": ref.version_id, "size": ref.size}
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": ref.bucket}, "object": obj},
    }
    return json.dumps({"Records": [record]})


class Swept:
    def __init__(self, pipeline: Pipeline) -> None:
        sqs = boto3.client("sqs")
        self.sqs = sqs
        self.url = sqs.create_queue(QueueName="intake-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        self.deps = SweepDeps(
            records=pipeline.finish.records,
            objects=pipeline.finish.objects,
            alerts=pipeline.alerts,
            history=pipeline.submit.records,  # type: ignore[arg-type]
            dead_letters=SqsDeadLetters(sqs, arn["Attributes"]["QueueArn"]),
        )
        self.where = pipeline.submit_settings.deployment

    def dead(self, ref: FileRef) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=_notification(ref))

    def run(self, at: datetime | None = None) -> dict[str, object]:
        return sweep(self.deps, self.where, at or datetime.now(UTC))

    def waiting(self) -> int:
        answer = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(answer["Attributes"]["ApproximateNumberOfMessages"])


@pytest.fixture
def swept(pipeline: Pipeline) -> Swept:
    return Swept(pipeline)


def test_a_file_killed_on_every_try_is_told_from_the_dead_letter_queue(
    pipeline: Pipeline, swept: Swept
) -> None:
    """Killed for memory converting a large export: no try recorded why, the last receive's
    give-up never ran. The sweep records `failed`, alerts once, and leaves the message."""
    ref = pipeline.drop("store-0300-aimsi-export.csv", CSV_KEY)
    # What each killed attempt left: its claim, its lease run out.
    pipeline.submit.records.claim(ref, "transactions", timedelta(seconds=-1))
    swept.dead(ref)
    assert swept.run()["dead_letters_told"] == 1
    record = pipeline.submit.records.get(ref.pk)
    assert record is not None
    assert record.outcome is Outcome.FAILED
    assert record.error == DEAD_LETTER
    assert record.alerted is True
    (alert,) = pipeline.alerts.sent
    assert alert.subject == "Not reported to CAPSS, failed: 000000300 export.csv"
    assert "reached the intake dead-letter queue" in alert.body
    assert "Max Memory Used" in alert.body  # what to look for in the function's log
    assert "capss redrive" in alert.body
    assert swept.waiting() == 1  # left for the redrive
    assert swept.run()["dead_letters_told"] == 0  # told once
    assert len(pipeline.alerts.sent) == 1


def test_a_file_whose_function_timed_out_before_any_code_gets_a_record_a_redrive_can_take(
    pipeline: Pipeline, swept: Swept
) -> None:
    ref = pipeline.drop("store-0300-clean.xml", KEY)
    swept.dead(ref)
    swept.run()
    record = pipeline.submit.records.get(ref.pk)
    assert record is not None
    assert (record.outcome, record.phase) == (Outcome.FAILED, Phase.CLAIMED)
    assert [a.attributes["outcome"] for a in pipeline.alerts.sent] == ["failed"]
    # The redrive (`capss redrive`) brings the event back: the file is taken over and sent.
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.phase is Phase.SUBMITTED
    assert pipeline.sim.count(endpoint="upload", status=202) == 1


def test_a_file_the_last_receive_told_is_not_told_again(pipeline: Pipeline, swept: Swept) -> None:
    ref = pipeline.drop("store-0300-clean.xml", KEY)
    record = pipeline.submit.records.claim(ref, "transactions", timedelta(seconds=-1)).record
    record.outcome, record.alerted = Outcome.FAILED, True
    pipeline.submit.records.save(record)
    swept.dead(ref)
    swept.dead(ref)  # the same event twice (S3 delivers at least once)
    swept.sqs.send_message(QueueUrl=swept.url, MessageBody="not a notification")
    assert swept.run() == {"dead_letters_told": 0, "alerts_repeated": 0, "failures": 0}
    assert pipeline.alerts.sent == []
    assert swept.waiting() == 3


def test_an_alert_left_pending_is_sent_again_marked_as_a_possible_repeat(
    pipeline: Pipeline, swept: Swept
) -> None:
    ref = pipeline.drop("store-0300-clean.xml", KEY)
    record = pipeline.submit.records.claim(ref, "transactions", timedelta(minutes=5)).record
    # A function stopped between marking the alert and sending it.
    record.phase, record.outcome, record.license = Phase.DONE, Outcome.TIMED_OUT, "000000300"
    record.alerted, record.alert_pending = True, iso(datetime.now(UTC))
    pipeline.submit.records.save(record)
    # Within the few minutes a send may take, it is left alone.
    assert swept.run()["alerts_repeated"] == 0
    later = datetime.now(UTC) + PENDING_AFTER + timedelta(seconds=1)
    assert swept.run(later)["alerts_repeated"] == 1
    (alert,) = pipeline.alerts.sent
    assert alert.subject.startswith(REPEAT_SUBJECT + "CAPSS did not finish, timed out")
    assert alert.body.startswith("This alert may have been sent once already")
    assert f"File:        {ref.uri}\n" in alert.body
    saved = pipeline.submit.records.get(ref.pk)
    assert saved is not None
    assert (saved.alerted, saved.alert_pending) == (True, None)
    assert swept.run(later)["alerts_repeated"] == 0
