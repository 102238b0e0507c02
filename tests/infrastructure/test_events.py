"""The sample events are what AWS delivers and what the contract says the poller carries."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3Event, SQSEvent
from capss.pipeline.files import FileRef, refs_from_s3_notification

from tests.conftest import load_event

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
FINAL_OUTCOMES = {"complete", "complete_with_issues", "failed", "timed_out"}


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


def _state(name: str) -> dict[str, Any]:
    state = load_event(name)
    assert set(state) >= STATE_KEYS
    assert set(state["poll"]) == POLL_KEYS
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
    state = _state("finish-input.json")
    assert set(state) == STATE_KEYS
    assert state["poll"]["outcome"] in FINAL_OUTCOMES


def test_finish_input_error_carries_a_caught_lambda_error() -> None:
    state = _state("finish-input-error.json")
    assert set(state) == STATE_KEYS | {"error"}
    assert set(state["error"]) == {"Error", "Cause"}
    cause = json.loads(state["error"]["Cause"])
    assert cause["errorType"] == state["error"]["Error"]
