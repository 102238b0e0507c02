"""Status function: one check of a CAPSS job for the poller, and the wait before the next."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from capss.aws.status_function import status_check
from capss.telemetry import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return status_check(event, context)
