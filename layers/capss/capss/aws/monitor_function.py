"""The monitor function: the scheduled missed-report check and stuck-file sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from capss.aws.dynamodb import ClientTable, DynamoRecordStore
from capss.aws.s3 import S3PageShelf
from capss.aws.sns import SnsAlertSender
from capss.aws.stepfunctions import execution_running
from capss.aws.stores import DynamoStoreRegister
from capss.aws.wiring import aws_client, cold_start, scheduled_time
from capss.compliance.calendar import BusinessCalendar
from capss.compliance.digest import run_digest
from capss.compliance.monitor import CheckKind, MonitorDeps, run_check
from capss.compliance.monthly import run_month_page
from capss.pipeline.settings import MonitorSettings, SettingsError
from capss.telemetry import Metric, measure


@cold_start
def runtime() -> tuple[MonitorSettings, MonitorDeps]:
    settings = MonitorSettings.from_env()
    # One client for both tables: a second one would cost the cold start its own set-up.
    dynamodb = aws_client("dynamodb")
    deps = MonitorDeps(
        stores=DynamoStoreRegister(ClientTable(dynamodb, settings.stores_table_name)),
        history=DynamoRecordStore(ClientTable(dynamodb, settings.table_name)),
        running=execution_running(aws_client("stepfunctions")),
        alerts=SnsAlertSender(settings.topic_arn, aws_client("sns")),
        calendar=BusinessCalendar(settings.extra_holidays, settings.removed_holidays),
    )
    return settings, deps


def monitor(event: dict[str, Any]) -> dict[str, Any]:
    settings, deps = runtime()
    if event.get("check") == "digest":
        return run_digest(scheduled_time(event), deps, chain_closures=settings.chain_closures)
    if event.get("check") == "month_page":
        if not settings.reports_bucket:
            raise SettingsError("environment variable REPORTS_BUCKET is not set")
        return run_month_page(
            scheduled_time(event),
            deps,
            S3PageShelf(aws_client("s3"), settings.reports_bucket),
            chain=settings.chain,
            extra_holidays=settings.extra_holidays,
            chain_closures=settings.chain_closures,
        )
    kind = CheckKind(str(event.get("check", ""))[:10])
    summary = run_check(
        kind,
        scheduled_time(event),
        deps,
        chain_closures=settings.chain_closures,
        lookback_days=settings.lookback_days,
        stuck_after=timedelta(minutes=settings.stuck_after_minutes),
    )
    counts = summary["counts"]
    measure(Metric.STORE_DAYS_MISSED, counts["missed"], Check=kind.value)
    if kind is CheckKind.FINAL:
        # The early check's window is the deadline day itself: nothing in it can be late.
        measure(Metric.STORE_DAYS_LATE, counts["late"], Check=kind.value)
    measure(Metric.STUCK_FILES, counts["stuck"])
    return summary
