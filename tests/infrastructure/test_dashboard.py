"""The dashboard and the missed-store-days alarm watch only metrics the code publishes.

The custom metrics' names and dimensions come from capss.telemetry, their dimension values
from the vocabularies the code emits (outcomes, file kinds, request kinds, checks): a
renamed metric or dimension fails here instead of leaving a widget silently empty.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from capss.client.client import Request
from capss.compliance.monitor import CheckKind
from capss.kinds import FileKind
from capss.outcome import Outcome
from capss.telemetry import DIMENSIONS, NAMESPACE, SERVICE, Metric

Resources = dict[str, dict[str, Any]]

VALUES = {
    "Outcome": {outcome.value for outcome in Outcome},
    "Kind": {kind.value for kind in FileKind},
    "Request": {request.value for request in Request},
    "Check": {check.value for check in CheckKind},
    "service": {SERVICE},
}
"""What the code puts in each dimension (AlertsSent's Alert is shown through a search)."""
SEARCH = re.compile(r"""^SEARCH\('\{([^}]*)\} MetricName="(\w+)"', '\w+', \d+\)$""")
SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def _body(resources: Resources) -> tuple[dict[str, Any], set[str]]:
    """The dashboard's JSON, with each ${...} standing for itself, and the names it uses."""
    text = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(SUBSTITUTION.findall(text))
    body: dict[str, Any] = json.loads(SUBSTITUTION.sub(lambda m: f"<{m.group(1)}>", text))
    return body, names


def _graphs(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        widget["properties"]["title"]: widget["properties"]["metrics"]
        for widget in body["widgets"]
        if widget["type"] == "metric"
    }


def _custom(row: list[Any]) -> tuple[str, dict[str, str]] | None:
    """(metric, dimensions) of a row in the bridge's namespace; a search gives its schema."""
    if isinstance(row[0], dict):
        found = SEARCH.match(row[0]["expression"])
        assert found, row[0]["expression"]
        namespace, *dimensions = found.group(1).split(",")
        return (found.group(2), dict.fromkeys(dimensions, "*")) if namespace == NAMESPACE else None
    namespace, metric, *rest = row
    pairs = [item for item in rest if not isinstance(item, dict)]
    dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return (metric, dimensions) if namespace == NAMESPACE else None


def _check(metric: str, dimensions: dict[str, str]) -> None:
    assert metric in {m.value for m in Metric}, f"{metric}: no code publishes it"
    expected = {*DIMENSIONS.get(Metric(metric), ()), "service"}
    assert set(dimensions) == expected, metric
    for name, value in dimensions.items():
        if value != "*":
            assert value in VALUES[name], (metric, name, value)


def test_the_functions_publish_where_the_dashboard_looks(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE
    assert variables["POWERTOOLS_SERVICE_NAME"] == SERVICE


def test_every_widget_shows_a_metric_the_code_publishes(resources: Resources) -> None:
    body, _ = _body(resources)
    shown = set()
    for title, rows in _graphs(body).items():
        for row in rows:
            custom = _custom(row)
            if custom is not None:
                _check(*custom)
                shown.add(custom[0])
            else:
                assert row[0].startswith("AWS/"), (title, row)
    assert {
        Metric.FILES,
        Metric.FILES_SUBMITTED,
        Metric.CAPSS_LATENCY,
        Metric.CAPSS_ERRORS,
        Metric.STORE_DAYS_MISSED,
        Metric.STORE_DAYS_LATE,
        Metric.STUCK_FILES,
        Metric.ALERTS_SENT,
    } <= shown


def test_the_dashboard_shows_the_stacks_own_queues_poller_and_alarms(
    resources: Resources,
) -> None:
    body, names = _body(resources)
    for name in names - {"AWS::Region", "AWS::StackName"}:
        assert name.split(".")[0] in resources, f"${{{name}}} names no resource"
    aws = {
        (row[0], row[1], row[3])
        for rows in _graphs(body).values()
        for row in rows
        if isinstance(row[0], str) and row[0].startswith("AWS/")
    }
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "<IntakeQueue.QueueName>"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "<IntakeDeadLetterQueue.QueueName>"),
        ("AWS/States", "ExecutionsFailed", "<PollerStateMachine>"),
        ("AWS/States", "ExecutionsTimedOut", "<PollerStateMachine>"),
    } <= aws
    (alarms,) = [w["properties"]["alarms"] for w in body["widgets"] if w["type"] == "alarm"]
    unconditional = {
        name
        for name, spec in resources.items()
        if spec["Type"] == "AWS::CloudWatch::Alarm" and "Condition" not in spec
    }
    # A conditional alarm (the presign function's) cannot be named: its ARN may not exist.
    assert {alarm.removeprefix("<").removesuffix(".Arn>") for alarm in alarms} == unconditional


def test_widgets_fit_the_grid(resources: Resources) -> None:
    body, _ = _body(resources)
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24, widget


def test_the_missed_store_days_alarm_shows_without_email(resources: Resources) -> None:
    spec = resources["MissedStoreDaysAlarm"]
    props = spec["Properties"]
    assert props["Namespace"] == NAMESPACE
    dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
    _check(props["MetricName"], dimensions)
    assert props["MetricName"] == Metric.STORE_DAYS_MISSED
    assert dimensions["Check"] == CheckKind.FINAL
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)
    # The final check runs once a day: between two checks the last one's verdict stands.
    assert props["Period"] == 86400
    assert props["TreatMissingData"] == "ignore"
    optional = {
        "Fn::If": [
            "HasMissedReportAlarmAction",
            [{"Ref": "MissedReportAlarmAction"}],
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert props["AlarmActions"] == props["OKActions"] == optional


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("arn:aws:sns:us-west-2:123456789012:pager", True),
        ("arn:aws-us-gov:sns:us-gov-west-1:123456789012:pager", True),
        ("ops@example.com", False),
        ("arn:aws:sns:us-west-2:12345:pager", False),
    ],
)
def test_the_alarm_action_is_an_arn_or_nothing(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    pattern = template["Parameters"]["MissedReportAlarmAction"]["AllowedPattern"]
    assert bool(re.match(pattern, value)) is accepted
