"""The finish function: the poller's last step records the outcome and alerts; its schedule
runs the sweep (dead letters, alerts left pending)."""

from __future__ import annotations

from typing import Any

from capss.aws.dynamodb import DynamoRecordStore
from capss.aws.events import outcome_events
from capss.aws.s3 import S3ObjectStore
from capss.aws.sns import SnsAlertSender
from capss.aws.sqs import SqsDeadLetters
from capss.aws.wiring import aws_client, cold_start, scheduled_time
from capss.pipeline.finish import EXECUTION_STATUS_CHANGE, FinishDeps, finish, poller_stopped
from capss.pipeline.settings import FinishSettings
from capss.pipeline.sweep import SWEEP, SweepDeps, sweep


@cold_start
def runtime() -> tuple[FinishSettings, FinishDeps, SweepDeps]:
    settings = FinishSettings.from_env()
    records = DynamoRecordStore.for_table(settings.table_name)
    deps = FinishDeps(
        records=records,
        objects=S3ObjectStore(aws_client("s3")),
        alerts=SnsAlertSender(settings.topic_arn, aws_client("sns")),
        events=outcome_events(settings.event_bus),
    )
    sweeping = SweepDeps(
        records=records,
        objects=deps.objects,
        alerts=deps.alerts,
        history=records,
        dead_letters=SqsDeadLetters(aws_client("sqs"), settings.intake_dlq_arn),
        events=deps.events,
    )
    return settings, deps, sweeping


def finish_file(event: dict[str, Any]) -> dict[str, Any]:
    """The poller's last step, EventBridge telling that a poller stopped without it, or the
    sweep's schedule."""
    settings, deps, sweeping = runtime()
    if event.get(SWEEP):
        return sweep(sweeping, settings.deployment, scheduled_time(event))
    if event.get("detail-type") == EXECUTION_STATUS_CHANGE:
        return finish(poller_stopped(event), deps, settings)
    return finish(event, deps, settings)
