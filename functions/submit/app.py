"""Submit function: an SQS batch of S3 notifications -> each new file version sent to CAPSS once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from capss.aws.submit_function import submit_batch
from capss.telemetry import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return submit_batch(event, context)
