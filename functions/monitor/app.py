"""Monitor function: the scheduled missed-report check and stuck-file sweep (one alert a run)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from capss.aws.monitor_function import monitor
from capss.telemetry import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return monitor(event)
