"""Issue 13 on the whole local stack: every file ends in a recorded outcome and an alert."""

from __future__ import annotations

import time
from collections.abc import Callable

from capss.pipeline import advice

from tests.e2e.conftest import Pipeline

Start = Callable[..., Pipeline]


def test_an_aborted_poller_still_ends_in_failed_and_an_alert(pipeline: Start) -> None:
    """Defect 3a: an execution stopped by hand (or failed, or timed out) before its last step
    is caught by the EventBridge rule: the finish function records `failed` and alerts."""
    p = pipeline(simulator={"polls_to_complete": 10_000})
    clean = p.drop("store-0300-clean.xml")
    sfn = p.stack.client("stepfunctions")
    deadline = time.monotonic() + 30
    running: list[dict[str, str]] = []
    # Stopped once it is checking CAPSS: moto cannot stop an execution still starting.
    while not (running and p.sim.count(endpoint="status")) and time.monotonic() < deadline:
        running = sfn.list_executions(
            stateMachineArn=p.stack.state_machine_arn, statusFilter="RUNNING"
        )["executions"]
        time.sleep(0.05)
    (execution,) = running
    sfn.stop_execution(executionArn=execution["executionArn"], cause="stopped by an operator")
    (result,) = p.finish(clean)
    assert result.outcome == "failed"
    assert "ended ABORTED" in result.record["error"]
    (alert,) = result.alerts
    assert alert.subject == "Failed after reaching CAPSS: 000000300 store-0300-clean.xml"
    # Not "could not be reported": CAPSS took the file, only its verdict is unknown.
    assert alert.body.startswith(
        "The file store-0300-clean.xml may be in CAPSS, but what CAPSS did with it is unknown."
    )
    assert advice.POLLER_STOPPED in alert.body
    assert p.stack.watcher is not None
    assert [e["detail"]["status"] for e in p.stack.watcher.stats.events] == ["ABORTED"]
    assert p.uploads("store-0300-clean.xml") == 1
