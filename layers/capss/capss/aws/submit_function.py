"""The submit function: an SQS batch of S3 notifications, each new file version sent once."""

from __future__ import annotations

import functools
from datetime import tzinfo
from typing import Any, BinaryIO

from capss.aws.capss_clients import capss_clients, measured
from capss.aws.dynamodb import ClientTable, DynamoRecordStore
from capss.aws.events import outcome_events
from capss.aws.s3 import S3ObjectStore
from capss.aws.secrets import license_secrets
from capss.aws.sns import SnsAlertSender
from capss.aws.sqs import SqsMessages
from capss.aws.stepfunctions import StepFunctionsStarter
from capss.aws.stores import DynamoStoreRegister
from capss.aws.wiring import RemainingTime, aws_client, cold_start, invoked
from capss.intake.report import Conversion, IntakeLimits
from capss.intake.validate import validate_stream
from capss.pipeline.ports import CsvConverter
from capss.pipeline.settings import SubmitSettings
from capss.pipeline.submit import SubmitDeps, submit_message
from capss.telemetry import logger


class ShippedMapping:
    """The stack's CSV mapping, read at the first export: an XML file never pays for it.

    The template allows only shipped mappings, so one that fails to load is a broken build:
    each CSV export then fails unexpectedly and goes back to the queue, then to the
    dead-letter queue, whose alarm tells ops; XML files go on being sent.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    @functools.cached_property
    def _mapping(self) -> CsvConverter:
        from capss.intake.convert import load_mapping  # noqa: PLC0415 - CSV exports only

        return load_mapping(self.name)

    def convert(
        self,
        source: BinaryIO,
        target: BinaryIO,
        license_number: str,
        limits: IntakeLimits,
        zone: tzinfo | None = None,
    ) -> Conversion:
        return self._mapping.convert(source, target, license_number, limits, zone)


@cold_start
def runtime() -> tuple[SubmitSettings, SubmitDeps]:
    settings = SubmitSettings.from_env()
    objects = S3ObjectStore(aws_client("s3"))
    dynamodb = aws_client("dynamodb")  # one client for the records and the register
    xsd_uri = settings.xsd_uri

    @functools.cache
    def official_xsd() -> bytes | None:
        return objects.read_uri(xsd_uri) if xsd_uri else None

    dynamodb = aws_client("dynamodb")
    register = DynamoStoreRegister(ClientTable(dynamodb, settings.stores_table_name))
    deps = SubmitDeps(
        records=DynamoRecordStore(ClientTable(dynamodb, settings.table_name)),
        objects=objects,
        credentials=license_secrets(settings.capss),
        clients=capss_clients(settings.capss, on_request=measured),
        executions=StepFunctionsStarter(settings.state_machine_arn, aws_client("stepfunctions")),
        alerts=SnsAlertSender(settings.topic_arn, aws_client("sns")),
        queue=SqsMessages(aws_client("sqs")),
        validate=validate_stream,
        uploaders=register,
        xsd=official_xsd,
        events=outcome_events(settings.event_bus),
        convert=ShippedMapping(settings.csv_mapping),
        stores=register,
    )
    return settings, deps


def submit_batch(event: dict[str, Any], context: RemainingTime | None = None) -> dict[str, Any]:
    """An SQS batch of S3 notifications; the messages to try again are reported back.

    An unexpected error also sends its message back: after the last receive it lands in
    the dead-letter queue, whose alarm tells ops.
    """
    settings, deps = runtime()
    invoked(context)
    failures = []
    for message in event.get("Records", []):
        try:
            done = submit_message(message, deps, settings)
        except Exception:
            logger.exception("unexpected failure", extra={"message_id": message["messageId"]})
            done = False
        if not done:
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}
