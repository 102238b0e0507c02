"""The sample events are what AWS delivers and what the contract says the poller carries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent, S3Event, SQSEvent
from capss.aws import wiring
from capss.aws.monitor_function import scheduled_time
from capss.aws.stores import DynamoStoreRegister, DynamoUploadKeys
from capss.compliance.stores import ExpectedStore
from capss.pipeline.files import FileRef, refs_from_s3_notification
from capss.pipeline.finish import EXECUTION_STATUS_CHANGE, FinishDeps, finish, poller_stopped
from capss.pipeline.memory import MemoryRecordStore
from capss.pipeline.poll import NOT_FOUND_LIMIT, next_wait
from capss.pipeline.records import Phase
from capss.pipeline.settings import PollSettings

from local.stack import FunctionHost, LocalFunction, LocalStack
from tests.conftest import EVENTS, ROOT, load_event
from tests.unit.pipeline.test_finish import SETTINGS as FINISH
from tests.unit.pipeline.test_finish import Outbox, Tags

KEY = "incoming/transactions/000000300/store-12-2026-11-23.xml"
STATE_KEYS = {
    "file_id",
    "bucket",
    "key",
    "version_id",
    "license",
    "kind",
    "submission_id",
    "status_url",
    "poll",
}
POLL_KEYS = {"outcome", "wait_seconds", "polls", "waited_seconds", "within_budget"}
"""The poll before the first check, as the submit function starts the poller."""
CHECKED_POLL_KEYS = POLL_KEYS | {"not_found", "unreachable"}
"""What every status check returns; `answer` too once CAPSS has answered one."""
FINAL_OUTCOMES = {"complete", "complete_with_issues", "failed", "timed_out"}
TABLE_SHAPE = ("AttributeDefinitions", "KeySchema", "BillingMode")


def test_s3_sqs_event_is_one_message_with_an_object_created_notification() -> None:
    event = SQSEvent(load_event("s3-sqs-event.json"))
    (message,) = list(event.records)
    assert message.event_source == "aws:sqs"
    (record,) = list(S3Event(json.loads(message.body)).records)
    assert record.event_name == "ObjectCreated:Put"
    assert record.s3.get_object.key == KEY
    assert record.s3.get_object.version_id


def test_the_library_reads_the_file_version_from_it() -> None:
    (message,) = load_event("s3-sqs-event.json")["Records"]
    (ref,) = refs_from_s3_notification(message["body"])
    notification = json.loads(message["body"])["Records"][0]["s3"]
    assert (ref.bucket, ref.key, ref.version_id) == (
        notification["bucket"]["name"],
        KEY,
        notification["object"]["versionId"],
    )


def _state(name: str, poll_keys: set[str] = POLL_KEYS) -> dict[str, Any]:
    state = load_event(name)
    assert set(state) >= STATE_KEYS
    assert set(state["poll"]) == poll_keys
    ref = FileRef(state["bucket"], state["key"], state["version_id"])
    assert state["file_id"] == ref.pk
    assert state["status_url"].startswith("https://")
    return state


def test_status_input_is_the_state_the_submit_function_starts() -> None:
    state = _state("status-input.json")
    assert set(state) == STATE_KEYS
    assert state["poll"] == {
        "outcome": "processing",
        "wait_seconds": 20,
        "polls": 0,
        "waited_seconds": 0,
        "within_budget": True,
    }


def test_finish_input_is_a_final_state() -> None:
    state = _state("finish-input.json", CHECKED_POLL_KEYS | {"answer"})
    assert set(state) == STATE_KEYS
    assert state["poll"]["outcome"] in FINAL_OUTCOMES
    assert set(state["poll"]["answer"]) == {"counts", "messages", "capss_status"}


def test_finish_input_error_carries_a_caught_lambda_error() -> None:
    state = _state("finish-input-error.json", CHECKED_POLL_KEYS)
    # JobNotFound goes up to the Catch only at the check that meets the limit.
    assert state["poll"]["not_found"] == NOT_FOUND_LIMIT - 1
    assert set(state) == STATE_KEYS | {"error"}
    assert set(state["error"]) == {"Error", "Cause"}
    cause = json.loads(state["error"]["Cause"])
    assert cause["errorType"] == state["error"]["Error"]


# -- every sample, and what the code does with it ------------------------------------------

SAMPLES = {
    "s3-sqs-event.json": "SubmitFunction",
    "status-input.json": "StatusFunction",
    "finish-input.json": "FinishFunction",
    "finish-input-error.json": "FinishFunction",
    "finish-execution-stopped.json": "FinishFunction",
    "monitor-early-event.json": "MonitorFunction",
    "monitor-final-event.json": "MonitorFunction",
    "digest-event.json": "MonitorFunction",
    "presign-api-event.json": "PresignFunction",
}
"""Every file in events/ and the function that receives it."""
SCHEDULES = {
    "monitor-early-event.json": ("EarlyWarning", "MonitorEarlyHour"),
    "monitor-final-event.json": ("FinalCheck", "MonitorFinalHour"),
    "digest-event.json": ("Digest", "DigestHour"),
}
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
PACIFIC = ZoneInfo("America/Los_Angeles")


def test_every_sample_is_in_the_events_table_with_its_function() -> None:
    assert {path.name for path in EVENTS.glob("*.json")} == set(SAMPLES)
    table = (EVENTS / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([^`]+\.json)` \| (\w+) \|", table, re.MULTILINE))
    assert rows == SAMPLES


def _poll_settings(template: dict[str, Any]) -> PollSettings:
    default = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    return PollSettings(
        first_wait_seconds=int(default["FirstPollWaitSeconds"]),
        max_wait_seconds=int(default["MaxPollWaitSeconds"]),
        wait_share=float(default["PollWaitShare"]),
        budget_seconds=int(default["PollBudgetSeconds"]),
    )


@pytest.mark.parametrize("name", ["finish-input.json", "finish-input-error.json"])
def test_a_checked_state_waits_as_the_stacks_default_schedule_says(
    template: dict[str, Any], name: str
) -> None:
    poll = load_event(name)["poll"]
    settings = _poll_settings(template)
    waited, wait = 0, settings.first_wait_seconds
    for _ in range(poll["polls"]):
        waited += wait
        wait = next_wait(waited, settings)
    assert (poll["waited_seconds"], poll["wait_seconds"]) == (waited, wait)


def test_finish_records_the_samples_answer_and_alerts_once() -> None:
    state = load_event("finish-input.json")
    records = MemoryRecordStore()
    ref = FileRef(state["bucket"], state["key"], state["version_id"])
    record = records.claim(ref, state["kind"], timedelta(minutes=5)).record
    record.phase, record.license = Phase.SUBMITTED, state["license"]
    record.submission_id, record.status_url = state["submission_id"], state["status_url"]
    records.save(record)
    deps = FinishDeps(records=records, objects=Tags(), alerts=Outbox())
    assert finish(state, deps, FINISH) == {"outcome": "complete_with_issues", "alerted": True}
    saved = records.get(state["file_id"])
    assert saved is not None
    answer = state["poll"]["answer"]
    assert saved.counts.to_json() == answer["counts"]
    assert list(saved.messages) == answer["messages"]
    assert saved.capss_status == answer["capss_status"]


def test_an_execution_stopped_event_is_what_the_template_routes_to_finish(
    resources: dict[str, dict[str, Any]],
) -> None:
    event = load_event("finish-execution-stopped.json")
    (rule,) = [
        spec["Properties"]["Pattern"]
        for spec in resources["FinishFunction"]["Properties"]["Events"].values()
        if spec["Type"] == "EventBridgeRule"
    ]
    assert event["source"] in rule["source"]
    assert event["detail-type"] in rule["detail-type"] == [EXECUTION_STATUS_CHANGE]
    assert event["detail"]["status"] in rule["detail"]["status"]
    state = poller_stopped(event)
    assert state.pop("stopped").startswith(
        f"The poller execution {event['detail']['name']} ended FAILED (Lambda.Unknown"
    )
    assert state == load_event("status-input.json")
    assert (
        FileRef(state["bucket"], state["key"], state["version_id"]).execution_name
        == (event["detail"]["name"])
    )


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_scheduled_sample_is_the_templates_input_as_scheduler_stamps_it(
    resources: dict[str, dict[str, Any]], template: dict[str, Any], name: str
) -> None:
    event = load_event(name)
    schedule_id, hour_parameter = SCHEDULES[name]
    schedule = resources["MonitorFunction"]["Properties"]["Events"][schedule_id]
    assert schedule["Type"] == "ScheduleV2"
    stamped = schedule["Properties"]["Input"].replace(SCHEDULED_TIME, event["time"])
    assert json.loads(stamped) == event
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:00:00Z", event["time"])
    local = scheduled_time(event).astimezone(PACIFIC)
    assert local.hour == int(template["Parameters"][hour_parameter]["Default"])


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """The template's account with the digest's schedule on and one store registered."""
    with LocalStack(parameters={"DailyDigest": "true"}) as running:
        register = DynamoStoreRegister.for_table(running.stores_table, running.session)
        register.put_store(ExpectedStore(license="000000300", name="Main St"))
        yield running


def _invoke(stack: LocalStack, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    function = stack.account.functions[logical_id]
    answer, error = stack.host.invoke(function.name, json.dumps(event))
    assert error is None, answer
    result: dict[str, Any] = json.loads(answer)
    return result


@pytest.mark.parametrize("name", ["monitor-early-event.json", "monitor-final-event.json"])
def test_the_monitor_runs_the_check_the_sample_names_at_its_time(
    stack: LocalStack, name: str
) -> None:
    event = load_event(name)
    result = _invoke(stack, "MonitorFunction", event)
    assert result["check"] == event["check"]
    assert datetime.fromisoformat(result["run_at"]) == scheduled_time(event)
    # Main St has sent nothing: both checks name it, each for a day its deadline covers.
    assert {day["license"] for day in result["days"]} == {"000000300"}
    assert result["alerted"] is True


def test_the_digest_sample_reports_the_day_before_its_time(stack: LocalStack) -> None:
    event = load_event("digest-event.json")
    result = _invoke(stack, "MonitorFunction", event)
    assert result["check"] == "digest"
    yesterday = scheduled_time(event).astimezone(PACIFIC).date() - timedelta(days=1)
    assert result["day"] == yesterday.isoformat()
    assert [day["license"] for day in result["licenses"]] == ["000000300"]


def test_the_presign_sample_is_the_templates_route_and_gets_an_upload_url(
    resources: dict[str, dict[str, Any]], aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = load_event("presign-api-event.json")
    event = APIGatewayProxyEvent(raw)
    route = resources["PresignFunction"]["Properties"]["Events"]["Upload"]["Properties"]
    assert (event.resource, event.http_method.lower()) == (route["Path"], route["Method"])
    assert event.request_context.stage == resources["UploadApi"]["Properties"]["StageName"]
    assert event.request_context.identity.api_key_id
    key = json.loads(event.body or "")["key"]

    monkeypatch.setenv("BUCKET_NAME", "capss-intake-123456789012-local")
    monkeypatch.setenv("UPLOAD_URL_SECONDS", "300")
    monkeypatch.setenv("STORES_TABLE_NAME", "capss-local-stores")
    boto3.client("dynamodb").create_table(
        TableName="capss-local-stores",
        **{k: v for k, v in resources["StoresTable"]["Properties"].items() if k in TABLE_SHAPE},
    )
    # The sample's key, bound to the license of the key it asks for (`capss stores key`).
    keys = DynamoUploadKeys(boto3.resource("dynamodb").Table("capss-local-stores"))
    keys.bind(event.request_context.identity.api_key_id, frozenset({key.split("/")[2]}))
    wiring.reset()
    function = LocalFunction(
        logical_id="PresignFunction",
        name="capss-local-PresignFunction",
        arn="arn:aws:lambda:us-east-1:123456789012:function:capss-local-PresignFunction",
        code_dir=ROOT / "functions" / "presign",
        handler="app.lambda_handler",
        timeout=int(resources["PresignFunction"]["Properties"]["Timeout"]),
        memory_mb=int(resources["PresignFunction"]["Properties"]["MemorySize"]),
        environment={},
    )
    answer, error = FunctionHost({"PresignFunction": function}).invoke(
        function.name, json.dumps(raw)
    )
    assert error is None, answer
    response = json.loads(answer)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert (body["key"], body["method"], body["expires_in"]) == (key, "PUT", 300)
    assert urlsplit(body["url"]).path.endswith(f"/{key}")
    assert body["headers"]["x-amz-meta-capss-license"] == "000000300"
