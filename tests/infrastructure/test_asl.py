"""The poller's ASL: valid, wired to the template, retrying exactly the transient errors."""

from __future__ import annotations

import re
from typing import Any

from capss.errors import TransientError

from tests.infrastructure.cfn import ASL

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def _subclass_names(cls: type) -> set[str]:
    """The CAPSS client's transient errors: those the status function can raise.

    (The submit function's own transient errors go back to the queue, not to ASL.)
    """
    names = set()
    for sub in cls.__subclasses__():
        if sub.__module__ == "capss.errors":
            names |= {sub.__name__}
        names |= _subclass_names(sub)
    return names


def _retry(state: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    (retrier,) = [r for r in state["Retry"] if r["ErrorEquals"] == errors]
    return retrier


def test_capss_retries_name_exactly_the_transient_errors(asl: dict[str, Any]) -> None:
    check = asl["States"]["CheckStatus"]
    capss_retriers = [r for r in check["Retry"] if r["ErrorEquals"] != LAMBDA_SERVICE_ERRORS]
    (retrier,) = capss_retriers
    # Lambda reports a raised exception's class name as the error ASL matches on.
    assert set(retrier["ErrorEquals"]) == _subclass_names(TransientError)
    assert retrier == {
        "ErrorEquals": retrier["ErrorEquals"],
        "IntervalSeconds": 30,
        "MaxAttempts": 5,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 600,
        "JitterStrategy": "FULL",
    }


def test_every_task_retries_lambda_service_errors_and_catches_the_rest(
    asl: dict[str, Any],
) -> None:
    tasks = {name: s for name, s in asl["States"].items() if s["Type"] == "Task"}
    assert set(tasks) == {"CheckStatus", "RecordOutcome"}
    for name, task in tasks.items():
        retrier = _retry(task, LAMBDA_SERVICE_ERRORS)
        assert (retrier["IntervalSeconds"], retrier["MaxAttempts"], retrier["BackoffRate"]) == (
            2,
            6,
            2.0,
        ), name
        (catcher,) = task["Catch"]
        assert catcher["ErrorEquals"] == ["States.ALL"], name
        assert catcher["ResultPath"] == "$.error", name
    assert tasks["CheckStatus"]["Catch"][0]["Next"] == "RecordOutcome"
    assert tasks["RecordOutcome"]["Catch"][0]["Next"] == "FinishFailed"


def test_every_choice_has_a_default(asl: dict[str, Any]) -> None:
    choices = [s for s in asl["States"].values() if s["Type"] == "Choice"]
    assert choices
    for choice in choices:
        assert choice.get("Default") in asl["States"]


def test_the_poll_loop(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert asl["StartAt"] == "WaitForCapss"
    assert states["WaitForCapss"] == {
        "Type": "Wait",
        "SecondsPath": "$.poll.wait_seconds",
        "Next": "CheckStatus",
    }
    check = states["CheckStatus"]
    assert (check["Resource"], check["ResultPath"], check["Next"]) == (
        "${StatusFunctionArn}",
        "$.poll",
        "IsFinished",
    )
    still, timed_out = states["IsFinished"]["Choices"]
    assert still == {
        "And": [
            {"Variable": "$.poll.outcome", "StringEquals": "processing"},
            {"Variable": "$.poll.within_budget", "BooleanEquals": True},
        ],
        "Next": "WaitForCapss",
    }
    assert timed_out == {
        "Variable": "$.poll.outcome",
        "StringEquals": "processing",
        "Next": "MarkTimedOut",
    }
    assert states["IsFinished"]["Default"] == "RecordOutcome"
    assert states["MarkTimedOut"] == {
        "Type": "Pass",
        "Comment": states["MarkTimedOut"]["Comment"],
        "Result": "timed_out",
        "ResultPath": "$.poll.outcome",
        "Next": "RecordOutcome",
    }
    record = states["RecordOutcome"]
    assert (record["Resource"], record["ResultPath"], record.get("End")) == (
        "${FinishFunctionArn}",
        "$.finish",
        True,
    )
    failed = states["FinishFailed"]
    assert failed["Type"] == "Fail"
    assert failed["Error"] == "RecordOutcomeFailed"
    assert "record" in failed["Cause"]


def test_substitutions_and_placeholders_match(resources: dict[str, dict[str, Any]]) -> None:
    placeholders = set(re.findall(r"\$\{([^}]+)\}", ASL.read_text(encoding="utf-8")))
    substitutions = resources["PollerStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert placeholders == set(substitutions)


def test_no_path_reaches_for_the_file_or_a_secret() -> None:
    paths = set(re.findall(r'"(\$\.[^"]*)"', ASL.read_text(encoding="utf-8")))
    assert "$.poll.wait_seconds" in paths
    for word in ("token", "secret", "password", "body", "content"):
        assert not [path for path in paths if word in path.lower()], word


def test_recording_the_outcome_is_retried_on_any_task_failure(asl: dict[str, Any]) -> None:
    # The finish function is idempotent and owes the file's alert: an SNS or DynamoDB
    # hiccup must not turn into a lost alert.
    record = asl["States"]["RecordOutcome"]
    (retrier,) = [r for r in record["Retry"] if r["ErrorEquals"] == ["States.TaskFailed"]]
    assert retrier["MaxAttempts"] >= 3


def _matches(rule: dict[str, Any], state: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_matches(part, state) for part in rule["And"])
    value = state["poll"][rule["Variable"].removeprefix("$.poll.")]
    return bool(value == rule.get("StringEquals", rule.get("BooleanEquals")))


def _states_entered(asl: dict[str, Any], outcomes: list[str]) -> list[str]:
    """Walks the happy path: each CheckStatus answers the next outcome, within budget."""
    answers = iter(outcomes)
    state: dict[str, Any] = {"poll": {}}
    entered, name = [], asl["StartAt"]
    while True:
        entered.append(name)
        spec = asl["States"][name]
        if name == "CheckStatus":
            state["poll"] = {"outcome": next(answers), "within_budget": True}
        if spec.get("End"):
            return entered
        if spec["Type"] == "Choice":
            chosen = [c["Next"] for c in spec["Choices"] if _matches(c, state)]
            name = chosen[0] if chosen else spec["Default"]
        else:
            name = spec["Next"]


def test_a_job_done_at_the_first_check_costs_four_transitions(asl: dict[str, Any]) -> None:
    assert _states_entered(asl, ["complete"]) == [
        "WaitForCapss",
        "CheckStatus",
        "IsFinished",
        "RecordOutcome",
    ]
    # Each further check adds its wait, its check and its choice, nothing else.
    assert len(_states_entered(asl, ["processing", "processing", "complete"])) == 4 + 2 * 3
