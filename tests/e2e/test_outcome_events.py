"""Outcome events on the stack's EventBridge bus, as a POS subscribed with a rule reads them."""

from __future__ import annotations

import json
from collections.abc import Callable

from capss.pipeline.events import DETAIL_TYPE, SOURCE

from .conftest import CLIENTS, Pipeline

Start = Callable[..., Pipeline]


def test_every_outcome_is_one_event_and_processing_comes_first(pipeline: Start) -> None:
    p = pipeline()
    clean = p.drop("store-0300-clean.xml")
    errors = p.drop("store-0300-error-items.xml")
    invalid = p.drop("store-0300-invalid.xml")
    results = {r.file: r for r in p.finish(clean, errors, invalid)}

    outcomes = {
        dropped: [e["detail"]["outcome"] for e in r.events] for dropped, r in results.items()
    }
    assert outcomes[clean] == ["processing", "complete"]
    assert outcomes[errors] == ["processing", "complete_with_issues"]
    assert outcomes[invalid] == ["rejected"]
    for result in results.values():
        for event in result.events:
            assert event["source"] == SOURCE
            assert event["detail-type"] == DETAIL_TYPE
    (done,) = [
        e["detail"] for e in results[errors].events if e["detail"]["outcome"] != "processing"
    ]
    record = results[errors].record
    assert done["license"] == "000000300"
    assert done["key"] == errors.key
    assert done["version_id"] == errors.version_id
    assert done["submission_id"] == record["submission_id"]
    assert done["counts"]["errors"] == 1
    assert done["needs_person"] is True
    assert done["what_to_do"].startswith("Error items were not saved")
    (rejected,) = [e["detail"] for e in results[invalid].events]
    assert rejected["problem_count"] == len(record_problems := results[invalid].record["problems"])
    assert rejected["problems"]
    assert rejected["submission_id"] is None
    assert len(rejected["problems"]) == min(len(record_problems), 10)


def test_no_event_carries_a_secret_or_a_token(pipeline: Start) -> None:
    p = pipeline()
    dropped = [p.drop("store-0300-clean.xml"), p.drop("store-0301-clean.xml", "000000301")]
    p.finish(*dropped)
    events = p.stack.events()
    assert len(events) == 4
    text = json.dumps(events)
    for client_id, secret, _api in CLIENTS.values():
        assert secret not in text
        assert client_id not in text
    tokens = p.sim.issued_tokens
    assert tokens
    assert all(token not in text for token in tokens)
    assert "Bearer" not in text
    assert "client_secret" not in text


def test_a_failed_file_names_the_secret_to_fix_not_its_value(pipeline: Start) -> None:
    p = pipeline()
    wrong = json.dumps({"client_id": "e2e-300", "client_secret": "wrong-secret-300"})
    p.stack.client("secretsmanager").put_secret_value(
        SecretId="capss/000000300", SecretString=wrong
    )
    (result,) = p.finish(p.drop("store-0300-clean.xml"))
    assert result.outcome == "failed"
    (event,) = result.events
    assert event["detail"]["outcome"] == "failed"
    assert "capss/000000300" in event["detail"]["what_to_do"]
    assert "wrong-secret-300" not in json.dumps(event)
