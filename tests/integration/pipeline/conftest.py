"""The pipeline's real parts: moto for AWS, the simulator over HTTPS for CAPSS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from capss.aws.capss_clients import capss_clients
from capss.aws.dynamodb import PENDING_INDEX, ClientTable, DynamoRecordStore
from capss.aws.s3 import S3ObjectStore
from capss.aws.secrets import SecretsManagerCredentials
from capss.aws.sns import SnsAlertSender
from capss.aws.sqs import SqsMessages
from capss.aws.stepfunctions import StepFunctionsStarter
from capss.aws.stores import DynamoStoreRegister
from capss.intake.validate import validate_stream
from capss.pipeline.files import FileRef
from capss.pipeline.finish import FinishDeps, finish
from capss.pipeline.poll import StatusDeps, check_status
from capss.pipeline.settings import (
    CapssSettings,
    FinishSettings,
    PollSettings,
    StatusSettings,
    SubmitSettings,
)
from capss.pipeline.submit import SubmitDeps
from capss.pipeline.uploaders import Uploader
from capss.pipeline.values import Alert

from local.simulator import CapssSimulator
from tests.conftest import SAMPLE_FILES

LICENSES = {
    "000000300": ("store300", "secret-300-xyz"),
    "000000301": ("store301", "secret-301-xyz"),
}
BUCKET = "intake"
CHAIN_UPLOADER = Uploader("AWS:AIDACHAINEXPORTJOB", "192.0.2.10", "2026-11-03T06:00:00.000Z")
"""Registered for every license: the chain's own export job."""


class RecordingAlerts:
    """The real SNS sender, plus what was sent, so tests read the alerts as ops would."""

    def __init__(self, sender: SnsAlertSender) -> None:
        self._sender = sender
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self._sender.send(alert)
        self.sent.append(alert)


@dataclass
class Pipeline:
    sim: CapssSimulator
    s3: Any
    sqs: Any
    queue_url: str
    submit_settings: SubmitSettings
    submit: SubmitDeps
    status_settings: StatusSettings
    status: StatusDeps
    finish_settings: FinishSettings
    finish: FinishDeps
    alerts: RecordingAlerts
    sfn: Any
    register: DynamoStoreRegister
    versions: list[str] = field(default_factory=list)

    def drop(self, sample: str | Path, key: str, metadata: dict[str, str] | None = None) -> Any:
        body = Path(SAMPLE_FILES / sample if isinstance(sample, str) else sample).read_bytes()
        answer = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, Metadata=metadata or {})
        return FileRef(BUCKET, key, answer["VersionId"], size=len(body), uploader=CHAIN_UPLOADER)

    def uploads(self) -> int:
        return self.sim.count(method="POST", path_prefix="/api/")


@pytest.fixture
def sim() -> Iterator[CapssSimulator]:
    simulator = CapssSimulator(tls=True, polls_to_complete=2)
    for license_number, (client_id, secret) in LICENSES.items():
        simulator.add_client(client_id, secret, license_number=license_number)
    with simulator:
        yield simulator
    assert simulator.errors == []


@pytest.fixture
def pipeline(aws: None, sim: CapssSimulator) -> Pipeline:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    boto3.client("dynamodb").create_table(
        TableName="records",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "alert_pending", "AttributeType": "S"},
        ],
        # The template's sparse index of alerts left pending, which the sweep reads.
        GlobalSecondaryIndexes=[
            {
                "IndexName": PENDING_INDEX,
                "KeySchema": [{"AttributeName": "alert_pending", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    boto3.client("dynamodb").create_table(
        TableName="stores",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    register = DynamoStoreRegister(ClientTable(boto3.client("dynamodb"), "stores"))
    register.put_chain_uploaders(frozenset({"AIDACHAINEXPORTJOB"}))
    secrets = boto3.client("secretsmanager")
    for license_number, (client_id, secret) in LICENSES.items():
        secrets.create_secret(
            Name=f"capss/{license_number}",
            SecretString=json.dumps({"client_id": client_id, "client_secret": secret}),
        )
    topic = boto3.client("sns").create_topic(Name="alerts")["TopicArn"]
    sqs = boto3.client("sqs")
    # No visibility timeout of its own: a message stays away only as long as the code asks.
    queue_url = sqs.create_queue(QueueName="intake", Attributes={"VisibilityTimeout": "0"})[
        "QueueUrl"
    ]
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="poller",
        roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    capss = CapssSettings(
        base_url=sim.base_url,
        api="current",
        secret_prefix="capss/",
        tls_ciphers="DEFAULT",
        ca_bundle=sim.ca_pem_path,
    )
    poll = PollSettings(
        first_wait_seconds=10, max_wait_seconds=60, wait_share=0.5, budget_seconds=300
    )
    records = DynamoRecordStore.for_table("records")
    credentials = SecretsManagerCredentials("capss/", secrets)
    objects = S3ObjectStore(s3)
    alerts = RecordingAlerts(SnsAlertSender(topic, boto3.client("sns")))
    clients = capss_clients(capss)
    submit_settings = SubmitSettings(
        table_name="records",
        topic_arn=topic,
        state_machine_arn=machine,
        capss=capss,
        poll=poll,
        on_dup="submitWithoutDup",
        on_error="submit",
        xsd_uri=None,
        max_file_bytes=5 * 1024 * 1024,
        max_receives=3,
        alert_on_complete=False,
    )
    return Pipeline(
        sim=sim,
        s3=s3,
        sqs=sqs,
        queue_url=queue_url,
        submit_settings=submit_settings,
        submit=SubmitDeps(
            records=records,
            objects=objects,
            credentials=credentials,
            clients=clients,
            executions=StepFunctionsStarter(machine, sfn),
            alerts=alerts,
            queue=SqsMessages(sqs),
            validate=validate_stream,
            uploaders=register,
        ),
        status_settings=StatusSettings(capss=capss, poll=poll),
        status=StatusDeps(credentials=credentials, clients=clients),
        finish_settings=FinishSettings(
            table_name="records", topic_arn=topic, alert_on_complete=False
        ),
        finish=FinishDeps(records=records, objects=objects, alerts=alerts),
        alerts=alerts,
        sfn=sfn,
        register=register,
    )


def follow(pipeline: Pipeline, state: dict[str, Any]) -> dict[str, Any]:
    """What the state machine does, step by step: poll until final, then finish."""
    for _ in range(10):
        state["poll"] = check_status(state, pipeline.status, pipeline.status_settings)
        if state["poll"]["outcome"] != "processing":
            break
    return finish(state, pipeline.finish, pipeline.finish_settings)
