"""Every path a file can take, through the real template, handlers and state machine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from local.simulator import Fault

from .conftest import CLIENTS, ROOT, Pipeline, variant

Start = Callable[..., Pipeline]


def test_demo_paths(pipeline: Start) -> None:
    p = pipeline()
    clean = p.drop("store-0300-clean.xml")
    legacy = p.drop("store-0301-clean.xml", "000000301")
    errors = p.drop("store-0300-error-items.xml")
    p.finish(clean)
    repeat = p.drop("store-0300-repeat.xml")
    invalid = p.drop("store-0300-invalid.xml")
    update = p.drop("store-0300-item-update.xml", update=True)
    again = p.drop("store-0300-clean.xml")
    results = {r.file: r for r in p.finish(clean, legacy, errors, repeat, invalid, update, again)}

    assert results[clean].outcome == "complete"
    assert results[clean].record["status_url"].startswith(p.sim.base_url + "/api/bulkimport/")
    assert results[clean].alerts == []
    assert results[legacy].outcome == "complete"
    assert "/api/bulkupload/show/" in results[legacy].record["status_url"]
    assert results[errors].outcome == "complete_with_issues", results[errors].record
    assert results[errors].record["counts"]["errors"] == 1
    assert results[repeat].outcome == "complete_with_issues"
    assert any("duplicate" in m for m in results[repeat].record["messages"])
    assert results[invalid].outcome == "rejected"
    assert results[invalid].record.get("submission_id") is None
    assert results[update].outcome == "complete"
    assert "/api/itemupdate/" in results[update].record["status_url"]
    assert results[again].outcome == "rejected"
    assert again.version_id != clean.version_id
    assert results[again].record["notes"][0].startswith("Identical to")
    # Alerts for everything that needs a person, none for clean files.
    subjects = {f: [a.subject for a in r.alerts] for f, r in results.items()}
    assert subjects[errors] == ["CAPSS complete with issues: 000000300 store-0300-error-items.xml"]
    assert subjects[invalid] == [
        "Rejected by the bridge, not sent: 000000300 store-0300-invalid.xml"
    ]
    assert subjects[legacy] == subjects[update] == []
    assert p.uploads("store-0300-clean.xml") == 1
    assert p.uploads("store-0300-invalid.xml", status=None) == 0
    # Two polls per job, each after the first (and shortest) wait the template sets.
    assert set(p.stack.clock.waits) == {20.0}
    assert p.stack.host.failures() == []


def test_the_same_s3_event_twice_uploads_once(pipeline: Start) -> None:
    p = pipeline()
    clean = p.drop("store-0300-clean.xml")
    p.finish(clean)
    p.stack.redeliver(clean)
    poller = p.stack.poller
    assert poller is not None
    deadline = time.monotonic() + 20
    while (poller.stats.deleted < 2 or poller.busy) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert poller.stats.deleted == 2
    (result,) = p.finish(clean)
    assert result.outcome == "complete"
    assert result.record["upload_attempts"] == 1
    assert p.uploads("store-0300-clean.xml") == 1
    assert p.sim.count(endpoint="upload") == 1


def test_capss_outage_during_submission_ends_in_retries_then_success(pipeline: Start) -> None:
    p = pipeline()
    # Retry-After longer than the client waits inline: the queue brings the message back.
    p.sim.inject(Fault.error(503, "upload", times=3, headers={"Retry-After": "120"}))
    clean = p.drop("store-0300-clean.xml")
    (result,) = p.finish(clean)
    assert result.outcome == "complete"
    assert p.sim.count(endpoint="upload", status=503) == 3
    assert p.sim.count(endpoint="upload", status=202) == 1
    # The submit function backs off: 120, 240, 480 s, never under CAPSS's Retry-After.
    assert p.stack.clock.redeliveries == [120.0, 240.0, 480.0]
    record = p.stack.record(clean)
    assert record["upload_attempts"] == 4
    assert result.alerts == []


def test_status_outage_waits_within_the_poll_budget(pipeline: Start) -> None:
    p = pipeline()
    p.sim.inject(Fault.error(503, "status", times=3, headers={"Retry-After": "300"}))
    clean = p.drop("store-0300-clean.xml")
    (result,) = p.finish(clean)
    assert result.outcome == "complete", result.record
    assert result.alerts == []
    # CAPSS has the file: an outage costs time, not the job. Each failed check waits at
    # least CAPSS's Retry-After; no Lambda failed, so the state machine retried nothing.
    # First wait, three failed checks (half the time waited: 10, 160, 310, the first two
    # raised to 300), then 465 before the check that finds the job complete.
    assert p.stack.clock.waits == [20.0, 300.0, 300.0, 310.0, 465.0]
    assert p.stack.clock.retries == []
    assert p.stack.host.failures() == []


def test_poll_budget_runs_out(pipeline: Start) -> None:
    p = pipeline(
        simulator={"polls_to_complete": 10_000},
        parameters={"PollBudgetSeconds": "600", "MaxPollWaitSeconds": "120"},
    )
    clean = p.drop("store-0300-clean.xml")
    (result,) = p.finish(clean)
    assert result.outcome == "timed_out"
    assert [a.subject for a in result.alerts] == [
        "CAPSS did not finish, timed out: 000000300 store-0300-clean.xml"
    ]
    assert "Do not drop the file again" in result.alerts[0].body
    # Half the time waited, at least the first wait, capped at MaxPollWaitSeconds; the wait
    # that would end past the budget (545 + 120 s) is not taken.
    assert p.stack.clock.waits == [20.0, 20.0, 20.0, 30.0, 45.0, 68.0, 102.0, 120.0, 120.0]


def test_capss_failing_the_job(pipeline: Start) -> None:
    p = pipeline()
    data = variant("store-0300-clean.xml", "F", description="Ring [sim:fail]")
    failing = p.drop_bytes(data, "store-0300-fail.xml")
    (result,) = p.finish(failing)
    assert result.outcome == "failed"
    assert [a.subject for a in result.alerts] == ["CAPSS refused: 000000300 store-0300-fail.xml"]


@pytest.mark.slow
def test_many_files_at_once_stay_within_the_bound(pipeline: Start) -> None:
    p = pipeline(simulator={"upload_delay": 0.02}, parameters={"MaxFilesInFlight": "4"})
    started = time.monotonic()
    files = [
        p.drop_bytes(variant("store-0300-clean.xml", f"{n:04d}"), f"bulk-{n:04d}.xml")
        for n in range(200)
    ]
    results = p.finish(*files, timeout=150)
    took = time.monotonic() - started
    outcomes = {r.outcome for r in results}
    assert outcomes == {"complete"}, outcomes
    assert 1 < p.sim.max_in_flight <= 4
    assert p.sim.count(endpoint="upload", status=202) == 200
    print(f"200 files: {took:.1f} s, max in flight {p.sim.max_in_flight}")


def test_demo_command() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'capss'}"}
    answer = subprocess.run(
        [sys.executable, "-m", "local", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "Every file reached the outcome the demo expects." in answer.stdout
    assert (
        "Subject: Rejected by the bridge, not sent: 000000300 store-0300-invalid.xml"
        in answer.stdout
    )
    assert "Requests CAPSS received:" in answer.stdout
    page = re.search(r"^Month page of the demo's stores: (.+)$", answer.stdout, re.MULTILINE)
    assert page is not None
    assert Path(page[1]).read_text(encoding="utf-8").count('data-state="') == 3 * 30
    assert "The monitor named the store that did not report, and only that one." in answer.stdout
    assert "  - 000000302 Oak Ave: Mon 2026-11-02, due Tue 2026-11-03: no file yet\n" in (
        answer.stdout
    )
    assert "complete_with_issues" in answer.stderr


def test_the_real_template_builds_the_contracted_account(pipeline: Start) -> None:
    p = pipeline()
    account = p.stack.account
    assert set(account.functions) == {
        "SubmitFunction",
        "StatusFunction",
        "FinishFunction",
        "MonitorFunction",
    }
    assert {s.event_id for s in account.functions["MonitorFunction"].schedules} == {
        "EarlyWarning",
        "FinalCheck",
        "Digest",
        "MonthPage",
    }
    submit = account.functions["SubmitFunction"]
    assert submit.timeout == 300
    assert {
        "TABLE_NAME",
        "STATE_MACHINE_ARN",
        "TOPIC_ARN",
        "CAPSS_ON_DUP",
        "CAPSS_ON_ERROR",
        "MAX_FILE_BYTES",
        "POLL_FIRST_WAIT_SECONDS",
    } <= set(submit.environment)
    (trigger,) = submit.sqs_triggers
    assert trigger.batch_size == 1
    assert trigger.report_batch_item_failures
    assert p.stack.poller is not None
    assert p.stack.poller.workers == 5
    queue = account.queues["IntakeQueue"]
    assert queue.visibility_timeout >= 6 * submit.timeout
    assert queue.max_receive_count == 5
    table = p.stack.client("dynamodb").describe_table(TableName=p.stack.table)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == [
        "by-license",
        "open-or-month",
    ]


def test_no_secret_or_token_reaches_logs_records_alerts_or_state(pipeline: Start) -> None:
    p = pipeline()
    p.sim.inject(Fault.error(503, "status", times=1))
    files = [
        p.drop("store-0300-clean.xml"),
        p.drop("store-0301-clean.xml", "000000301"),
        p.drop("store-0300-error-items.xml"),
        p.drop("store-0300-invalid.xml"),
    ]
    p.finish(*files)
    secrets = [secret for _, secret, _ in CLIENTS.values()]
    tokens = p.sim.issued_tokens
    assert len(tokens) >= 2
    seen = [p.stack.log.getvalue()]
    assert "submitted to CAPSS" in seen[0]  # the handlers' logs are really in there
    dynamodb = p.stack.client("dynamodb")
    seen += [json.dumps(item) for item in dynamodb.scan(TableName=p.stack.table)["Items"]]
    seen += [f"{a.subject}\n{a.body}" for a in p.stack.alerts()]
    sfn = p.stack.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=p.stack.state_machine_arn)["executions"]:
        history = sfn.get_execution_history(executionArn=execution["executionArn"])
        seen.append(json.dumps(history["events"], default=str))
    everything = "\n".join(seen)
    assert "store-0300-clean.xml" in everything  # the places searched are the real ones
    for text in secrets + tokens:
        assert text not in everything


def test_a_lasting_outage_ends_in_a_failed_record_an_alert_and_the_dead_letter_queue(
    pipeline: Start,
) -> None:
    p = pipeline()
    p.sim.inject(Fault.error(503, "upload", times=1000, headers={"Retry-After": "0"}))
    clean = p.drop("store-0300-clean.xml")
    (result,) = p.finish(clean)
    assert result.outcome == "failed"
    assert "after 5 tries" in result.record["error"]
    (alert,) = result.alerts
    assert alert.subject == "Not reported to CAPSS, failed: 000000300 store-0300-clean.xml"
    assert "dead-letter queue" in alert.body
    # Backoff between the five receives, then the redrive policy moves the event aside.
    assert p.stack.clock.redeliveries[:4] == [120.0, 240.0, 480.0, 900.0]
    dlq = p.stack.account.queues["IntakeDeadLetterQueue"].url
    sqs = p.stack.client("sqs")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if attributes["ApproximateNumberOfMessages"] == "1":
            break
        time.sleep(0.05)
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert p.sim.count(endpoint="upload", status=202) == 0
