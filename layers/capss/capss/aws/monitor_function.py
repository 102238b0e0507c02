"""The monitor function: the scheduled missed-report check and stuck-file sweep."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from capss.aws.dynamodb import INDEX_NOT_FILLED, ClientTable, DynamoRecordStore
from capss.aws.sns import SnsAlertSender
from capss.aws.stepfunctions import execution_running
from capss.aws.stores import DynamoStoreRegister
from capss.aws.wiring import aws_client, cold_start
from capss.compliance.calendar import BusinessCalendar
from capss.compliance.digest import run_digest
from capss.compliance.monitor import CheckKind, MonitorDeps, run_check
from capss.pipeline.records import utcnow
from capss.pipeline.settings import MonitorSettings
from capss.telemetry import logger


@cold_start
def runtime() -> tuple[MonitorSettings, MonitorDeps, DynamoRecordStore]:
    settings = MonitorSettings.from_env()
    # One client for both tables: a second one would cost the cold start its own set-up.
    dynamodb = aws_client("dynamodb")
    records = DynamoRecordStore(ClientTable(dynamodb, settings.table_name))
    deps = MonitorDeps(
        stores=DynamoStoreRegister(ClientTable(dynamodb, settings.stores_table_name)),
        history=records,
        running=execution_running(aws_client("stepfunctions")),
        alerts=SnsAlertSender(settings.topic_arn, aws_client("sns")),
        calendar=BusinessCalendar(settings.extra_holidays),
    )
    return settings, deps, records


def scheduled_time(event: dict[str, Any]) -> datetime:
    """The schedule's own time (`<aws.scheduler.scheduled-time>`), so a retried or late
    invocation checks the run it belongs to; now when invoked by hand without one."""
    given = event.get("time")
    if not given:
        return utcnow()
    moment = datetime.fromisoformat(str(given)[:40].replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {given!r} carries no zone")
    return moment


def monitor(event: dict[str, Any]) -> dict[str, Any]:
    settings, deps, records = runtime()
    if event.get("check") == "digest":
        return run_digest(scheduled_time(event), deps, chain_closures=settings.chain_closures)
    result = run_check(
        CheckKind(str(event.get("check", ""))[:10]),
        scheduled_time(event),
        deps,
        chain_closures=settings.chain_closures,
        lookback_days=settings.lookback_days,
        stuck_after=timedelta(minutes=settings.stuck_after_minutes),
    )
    if not records.index_filled():
        # Found all the same, at a cost that grows with the table: say so until it is filled.
        logger.warning(INDEX_NOT_FILLED)
        result["notes"] = [INDEX_NOT_FILLED]
    return result
