"""The finish function: the poller's last step records the outcome and alerts."""

from __future__ import annotations

from typing import Any

from capss.aws.dynamodb import DynamoRecordStore
from capss.aws.events import outcome_events
from capss.aws.s3 import S3ObjectStore
from capss.aws.sns import SnsAlertSender
from capss.aws.wiring import aws_client, cold_start
from capss.pipeline.finish import EXECUTION_STATUS_CHANGE, FinishDeps, finish, poller_stopped
from capss.pipeline.settings import FinishSettings


@cold_start
def runtime() -> tuple[FinishSettings, FinishDeps]:
    settings = FinishSettings.from_env()
    deps = FinishDeps(
        records=DynamoRecordStore.for_table(settings.table_name),
        objects=S3ObjectStore(aws_client("s3")),
        alerts=SnsAlertSender(settings.topic_arn, aws_client("sns")),
        events=outcome_events(settings.event_bus),
    )
    return settings, deps


def finish_file(event: dict[str, Any]) -> dict[str, Any]:
    """The poller's last step, or EventBridge telling that a poller stopped without it."""
    settings, deps = runtime()
    if event.get("detail-type") == EXECUTION_STATUS_CHANGE:
        return finish(poller_stopped(event), deps, settings)
    return finish(event, deps, settings)
