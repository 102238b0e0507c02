"""EventBridge's execution status events, played by a watcher of the state machines.

moto's Step Functions emits no events. A function with an `EventBridgeRule` event on
`Step Functions Execution Status Change` gets, for each execution of the watched state
machine that ends in one of the rule's statuses, the event AWS would send (with the
execution's input, error and cause), invoked asynchronously with Lambda's two retries.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from local.stack._resources import EXECUTION_STATUS_CHANGE as DETAIL_TYPE
from local.stack._resources import ExecutionWatch
from local.stack._template import ACCOUNT_ID, REGION

if TYPE_CHECKING:
    from local.stack._invoke import FunctionHost

ASYNC_ATTEMPTS = 3
"""Lambda's asynchronous invoke: the first try and two retries."""
PAUSE = 0.02


@dataclass
class WatcherStats:
    events: list[dict[str, Any]] = field(default_factory=list)
    failed_deliveries: int = 0


class ExecutionWatcher:
    def __init__(
        self, sfn: Any, host: FunctionHost, watches: list[tuple[str, str, ExecutionWatch]]
    ) -> None:
        """`watches`: (function name, state machine ARN, rule)."""
        self._sfn = sfn
        self._host = host
        self._watches = watches
        self._seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eventbridge", daemon=True)
        self._pending = 0
        self._lock = threading.Lock()
        self.stats = WatcherStats()

    def start(self) -> None:
        if self._watches:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    @property
    def pending(self) -> int:
        """Events found and not yet handled (their invokes still running)."""
        return self._pending

    def _run(self) -> None:
        while not self._stop.is_set():
            for function_name, machine_arn, watch in self._watches:
                for status in watch.statuses:
                    try:
                        self._scan(function_name, machine_arn, status)
                    except AttributeError:
                        # moto lists an execution it is still creating (no status yet): the
                        # next round sees it whole.
                        continue
            self._stop.wait(PAUSE)

    def _scan(self, function_name: str, machine_arn: str, status: str) -> None:
        pages = self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine_arn, statusFilter=status
        )
        for page in pages:
            for execution in page["executions"]:
                arn = execution["executionArn"]
                if arn in self._seen:
                    continue
                self._seen.add(arn)
                event = self._event(arn, machine_arn)
                with self._lock:
                    self._pending += 1
                    self.stats.events.append(event)
                threading.Thread(
                    target=self._deliver, args=(function_name, event), daemon=True
                ).start()

    def _event(self, execution_arn: str, machine_arn: str) -> dict[str, Any]:
        described = self._sfn.describe_execution(executionArn=execution_arn)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE,
            "source": "aws.states",
            "account": ACCOUNT_ID,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "region": REGION,
            "resources": [execution_arn],
            "detail": {
                "executionArn": execution_arn,
                "stateMachineArn": machine_arn,
                "name": described.get("name"),
                "status": described["status"],
                "input": described.get("input"),
                "output": described.get("output"),
                "error": described.get("error"),
                "cause": described.get("cause"),
            },
        }

    def _deliver(self, function_name: str, event: dict[str, Any]) -> None:
        try:
            for _ in range(ASYNC_ATTEMPTS):
                _, error = self._host.invoke(function_name, json.dumps(event))
                if error is None:
                    return
            with self._lock:
                self.stats.failed_deliveries += 1
        finally:
            with self._lock:
                self._pending -= 1
