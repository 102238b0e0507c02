"""Status function: one check of a CAPSS job for the poller, and the wait before the next."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from capss.lambda_entry import logger, metrics, status_check


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return status_check(event)
