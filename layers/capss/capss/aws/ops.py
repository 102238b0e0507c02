"""What the `capss` ops commands do to a deployed stack (or the local one), through boto3.

A stack is found by its CloudFormation outputs (`--stack NAME`) or by the file
`python -m local serve` writes (`--local FILE`: the emulated account's endpoint, outputs
and parameters).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import BotoCoreError, ClientError

from capss.aws.dynamodb import FILE_PREFIX, ClientTable, DynamoRecordStore, all_pages
from capss.aws.sns import store_filter_policy
from capss.aws.stores import DynamoStoreRegister, DynamoUploadKeys
from capss.errors import InputError
from capss.outcome import Outcome
from capss.pipeline.files import refs_from_s3_notification
from capss.pipeline.records import FileRecord, Phase, RecordChanged, iso, utcnow
from capss.pipeline.submit import METADATA_ON_DUP, METADATA_RESEND

REDRIVE_BATCH = 10
"""SQS's most messages a receive."""


class OpsError(InputError):
    """An ops command could not do what was asked: the message says why."""

    hint = "see `capss COMMAND --help`"


@contextlib.contextmanager
def aws_refusals() -> Iterator[None]:
    """AWS's own errors as an ops command's one-line failure (botocore stays in this room)."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise OpsError(f"AWS refused: {error}") from None


@dataclass(frozen=True)
class Stack:
    name: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    session: Any
    endpoint_url: str | None = None
    capss: dict[str, str] | None = None
    """For the local stack: the CAPSS simulator's base URL and CA bundle."""

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def output(self, name: str) -> str:
        if name not in self.outputs:
            raise OpsError(f"stack {self.name} has no output {name}: deploy the current template")
        return self.outputs[name]

    @property
    def records(self) -> DynamoRecordStore:
        return DynamoRecordStore(
            ClientTable(self.client("dynamodb"), self.output("SubmissionsTableName"))
        )

    @property
    def register(self) -> DynamoStoreRegister:
        resource = self.session.resource("dynamodb", endpoint_url=self.endpoint_url)
        return DynamoStoreRegister(resource.Table(self.output("StoresTableName")))

    @property
    def upload_keys(self) -> DynamoUploadKeys:
        resource = self.session.resource("dynamodb", endpoint_url=self.endpoint_url)
        return DynamoUploadKeys(resource.Table(self.output("StoresTableName")))


def deployed(name: str, region: str | None = None) -> Stack:
    session = boto3.session.Session(region_name=region)
    try:
        (found,) = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        raise OpsError(f"cannot read the stack {name}: {error}") from None
    return Stack(
        name=name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])},
        parameters={
            p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters", [])
        },
        session=session,
    )


def local(path: Path) -> Stack:
    """The stack `python -m local serve` keeps alive (its file names the endpoint)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise OpsError(
            f"cannot read {path}: {error} (is `python -m local serve` running?)"
        ) from None
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulated account's fixed key
        region_name=state["region"],
    )
    return Stack(
        name=state.get("stack", "local"),
        outputs=dict(state["outputs"]),
        parameters=dict(state.get("parameters", {})),
        session=session,
        endpoint_url=state.get("endpoint_url"),
        capss={k: str(state[k]) for k in ("capss_base_url", "capss_ca_bundle") if k in state},
    )


def records_since(stack: Stack, since: datetime, license_number: str | None) -> list[FileRecord]:
    if license_number:
        return stack.records.files_for_license(license_number, since)
    return stack.records.files_since(since)


def find_record(stack: Stack, file_id_or_key: str) -> FileRecord:
    """By file id (the record's pk) or by S3 key (its newest version)."""
    if file_id_or_key.startswith(FILE_PREFIX):
        record = stack.records.get(file_id_or_key)
        if record is None:
            raise OpsError(f"no record {file_id_or_key[:300]}")
        return record
    table = stack.session.resource("dynamodb", endpoint_url=stack.endpoint_url).Table(
        stack.output("SubmissionsTableName")
    )
    items = all_pages(table.scan, FilterExpression=Attr("key").eq(file_id_or_key))
    if not items:
        raise OpsError(f"no record of a file with the key {file_id_or_key[:300]}")
    newest = max(items, key=lambda item: str(item.get("received_at", "")))
    return FileRecord.from_item(newest)


def execution(stack: Stack, arn: str | None) -> dict[str, Any] | None:
    if not arn:
        return None
    try:
        answer = stack.client("stepfunctions").describe_execution(executionArn=arn)
    except ClientError as error:
        return {"arn": arn, "status": error.response["Error"]["Code"]}
    return {
        "arn": arn,
        "status": answer["status"],
        "started": iso(answer.get("startDate")),
        "stopped": iso(answer.get("stopDate")),
    }


def resend(stack: Stack, record: FileRecord, on_dup: str | None) -> str:
    """Copies the file version onto its key as a new version marked to be sent again: the
    bridge records it as a new file (the original version stays as it was). Its version id."""
    metadata = {METADATA_RESEND: "true"}
    if on_dup:
        metadata[METADATA_ON_DUP] = on_dup
    source = {"Bucket": record.bucket, "Key": record.key}
    if record.version_id:
        source["VersionId"] = record.version_id
    answer = stack.client("s3").copy_object(
        Bucket=record.bucket,
        Key=record.key,
        CopySource=source,
        Metadata=metadata,
        MetadataDirective="REPLACE",
    )
    return str(answer.get("VersionId") or "null")


def close_stuck(stack: Stack, record: FileRecord) -> None:
    """Ends a file left claimed or mid-upload before it is sent again as a new version:
    `failed`, with a note, and no alert owed (a person is acting on it), so the monitor stops
    naming it."""
    phase = record.phase.value
    record.phase, record.outcome = Phase.DONE, Outcome.FAILED
    record.alerted = True
    record.completed_at = iso(utcnow())
    record.notes.append(
        f"Left {phase} by the bridge; sent again as a new version by `capss resubmit` at"
        f" {record.completed_at}."
    )
    try:
        stack.records.save(record)
    except RecordChanged:
        raise OpsError(
            f"{record.name} changed while this ran: look again with `capss submissions show`"
        ) from None


def dead_letters(stack: Stack, *, move: bool) -> list[dict[str, Any]]:
    """Every message in the intake dead-letter queue: moved back to the intake queue, or
    (a dry run) only looked at and left where it was."""
    sqs = stack.client("sqs")
    source = stack.output("IntakeDeadLetterQueueUrl")
    target = stack.output("IntakeQueueUrl")
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=source, MaxNumberOfMessages=REDRIVE_BATCH, VisibilityTimeout=60
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen[message["MessageId"]] = {
                "message_id": message["MessageId"],
                "files": _files_named(message["Body"]),
            }
            if move:
                sqs.send_message(QueueUrl=target, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
            else:
                handles.append(message["ReceiptHandle"])
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=source, ReceiptHandle=handle, VisibilityTimeout=0)
    return list(seen.values())


def _files_named(body: str) -> list[str]:
    try:
        return [ref.uri[:1200] for ref in refs_from_s3_notification(body)]
    except (ValueError, KeyError, TypeError, AttributeError):
        return ["(not an S3 notification)"]


def subscribe_store(stack: Stack, license_number: str, email: str) -> None:
    """The store's own alerts by email: a subscription filtered on the alerts' license, so it
    gets alerts about its own files and its own copy of the monitor's and digest's messages."""
    stack.client("sns").subscribe(
        TopicArn=stack.output("AlertTopicArn"),
        Protocol="email",
        Endpoint=email,
        Attributes={"FilterPolicy": json.dumps(store_filter_policy(license_number))},
    )


def run_monitor(stack: Stack, event: dict[str, str]) -> dict[str, Any]:
    """Invokes the monitor function as its schedule does; its answer."""
    answer = stack.client("lambda").invoke(
        FunctionName=stack.output("MonitorFunctionName"), Payload=json.dumps(event).encode()
    )
    body = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        raise OpsError(f"the monitor failed: {str(body.get('errorMessage', body))[:500]}")
    return dict(body)


def capss_status(stack: Stack, record: FileRecord) -> Any:
    """One status check of the record's CAPSS job with its license's stored client."""
    from capss.aws.capss_clients import STATUS_TIMEOUT, capss_clients  # noqa: PLC0415
    from capss.aws.secrets import SecretsManagerCredentials  # noqa: PLC0415
    from capss.pipeline.settings import CapssSettings  # noqa: PLC0415

    local_capss = stack.capss or {}
    if not record.status_url or not record.license:
        raise OpsError(f"{record.name} has no status link: CAPSS never accepted it")
    settings = CapssSettings(
        base_url=local_capss.get("capss_base_url") or stack.output("CapssBaseUrl"),
        api=stack.parameters.get("CapssApi", "current"),
        secret_prefix=stack.parameters.get("SecretPrefix", "capss/"),
        tls_ciphers=stack.parameters.get("TlsCiphers", "DEFAULT"),
        ca_bundle=local_capss.get("capss_ca_bundle"),
    )
    secrets = SecretsManagerCredentials(settings.secret_prefix, stack.client("secretsmanager"))
    credentials = secrets.for_license(record.license)
    with capss_clients(settings, STATUS_TIMEOUT)(credentials) as client:
        return client.status(record.status_url)
