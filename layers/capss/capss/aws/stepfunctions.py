"""Starts the poller state machine for a submitted file."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from capss.errors import TransientError


class StepFunctionsStarter:
    """Starts the poller; a second start of the same name and input is a no-op in AWS."""

    def __init__(self, state_machine_arn: str, client: Any) -> None:
        self._arn = state_machine_arn
        self._client = client

    def execution_arn(self, name: str) -> str:
        prefix, _, machine = self._arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"

    def start(self, name: str, payload: dict[str, Any]) -> None:
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload)
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ExecutionAlreadyExists":
                return
            if code in ("ThrottlingException", "ServiceUnavailable", "InternalFailure"):
                raise TransientError(f"Step Functions answered {code}") from error
            raise


def execution_running(client: Any) -> Callable[[str], bool]:
    """Whether a poller execution still runs (an unknown one does not)."""

    def running(execution_arn: str) -> bool:
        try:
            answer = client.describe_execution(executionArn=execution_arn)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return False
            raise
        return bool(answer["status"] == "RUNNING")

    return running
