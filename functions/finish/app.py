"""Finish function: the poller's last step records the outcome and alerts ops when needed."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from capss.aws.finish_function import finish_file
from capss.telemetry import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return finish_file(event)
