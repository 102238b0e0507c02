"""The status function: one status check of a CAPSS job per call of the poller."""

from __future__ import annotations

from typing import Any

from capss.aws.capss_clients import STATUS_TIMEOUT, capss_clients, measured
from capss.aws.secrets import license_secrets
from capss.aws.sns import SnsAlertSender
from capss.aws.wiring import RemainingTime, aws_client, cold_start, invoked
from capss.pipeline.poll import StatusDeps, check_status
from capss.pipeline.settings import StatusSettings


@cold_start
def runtime() -> tuple[StatusSettings, StatusDeps]:
    settings = StatusSettings.from_env()
    deps = StatusDeps(
        credentials=license_secrets(settings.capss),
        clients=capss_clients(settings.capss, STATUS_TIMEOUT, on_request=measured),
        alerts=SnsAlertSender(settings.topic_arn, aws_client("sns"))
        if settings.topic_arn
        else None,
    )
    return settings, deps


def status_check(state: dict[str, Any], context: RemainingTime | None = None) -> dict[str, Any]:
    settings, deps = runtime()
    invoked(context)
    return check_status(state, deps, settings)
