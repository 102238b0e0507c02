"""The functions' metrics as Lambda would hand them to CloudWatch: embedded-metric-format
lines in the handlers' log, for the demo's files and a final check of the monitor."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from capss.aws.stores import DynamoStoreRegister
from capss.compliance.stores import ExpectedStore
from capss.telemetry import DIMENSIONS, NAMESPACE, SERVICE, Metric

from local.simulator import Fault
from tests.e2e.conftest import Pipeline, variant

Start = Callable[..., Pipeline]
PT = ZoneInfo("America/Los_Angeles")


def emf_points(log: str) -> list[tuple[str, dict[str, str], float]]:
    """(metric, dimensions, value) of every embedded-metric-format line, checked as
    CloudWatch reads them: each metric's dimensions are declared and present."""
    points = []
    for line in log.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        blob: dict[str, Any] = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            (names,) = directive["Dimensions"]
            dimensions = {name: blob[name] for name in names}
            for metric in directive["Metrics"]:
                for value in blob[metric["Name"]]:
                    points.append((metric["Name"], dimensions, value))
    return points


def test_the_demos_files_and_a_final_check_publish_every_metric(pipeline: Start) -> None:
    p = pipeline(parameters={"MonitorLookbackDays": "1"})
    monday = date(2026, 11, 23)
    # Reaches CAPSS on Wednesday for Monday's trade, due Tuesday: reported late.
    late = variant("store-0300-clean.xml", "LATE1").decode()
    late = re.sub(r"<transactionTime>\d{4}-\d{2}-\d{2}T", f"<transactionTime>{monday}T", late)
    with time_machine.travel(datetime(2026, 11, 25, 6, tzinfo=PT), tick=True):
        files = [
            p.drop_bytes(late.encode(), "main-1123.xml"),
            p.drop("store-0301-clean.xml", "000000301"),
            p.drop("store-0300-error-items.xml"),
            p.drop("store-0300-invalid.xml"),
            p.drop("store-0300-item-update.xml", update=True),
        ]
        outcomes = sorted(result.outcome for result in p.finish(*files))
    assert outcomes == [
        "complete",
        "complete",
        "complete",
        "complete_with_issues",
        "rejected",
    ]
    register = DynamoStoreRegister.for_table(p.stack.stores_table, p.stack.session)
    register.put_store(ExpectedStore(license="000000300", name="Main St"))
    register.put_store(ExpectedStore(license="000000302", name="Oak Ave"))  # never reports
    p.stack.run_schedule("FinalCheck", datetime(2026, 11, 25, 7, tzinfo=PT))

    points = emf_points(p.stack.log.getvalue())
    for metric, dimensions, _ in points:
        assert set(dimensions) == {*DIMENSIONS.get(Metric(metric), ()), "service"}, metric
        assert dimensions["service"] == SERVICE
    counted = Counter(
        (metric, tuple(sorted(d.items()))) for metric, d, _ in points if metric == Metric.FILES
    )
    files = {
        (dict(dims)["Outcome"], dict(dims)["Kind"]): count for (_, dims), count in counted.items()
    }
    assert files == {
        ("complete", "transactions"): 2,
        ("complete", "item-updates"): 1,
        ("complete_with_issues", "transactions"): 1,
        ("rejected", "transactions"): 1,
    }
    requests = {d["Request"] for m, d, _ in points if m == Metric.CAPSS_LATENCY}
    assert requests == {"token", "upload", "status"}
    assert all(v >= 0 for m, _, v in points if m == Metric.CAPSS_LATENCY)
    alerts = Counter(d["Alert"] for m, d, _ in points if m == Metric.ALERTS_SENT)
    # The missed report twice: ops' message and Oak Ave's own copy, each one publish.
    assert alerts == {"rejected": 1, "complete_with_issues": 1, "missed_report": 2}
    monitor = {(m, d.get("Check")): v for m, d, v in points if m in MONITOR_METRICS}
    assert monitor == {
        (Metric.STORE_DAYS_MISSED, "final"): 1,  # Oak Ave's Monday
        (Metric.STORE_DAYS_LATE, "final"): 1,  # Main St's Monday
        (Metric.STUCK_FILES, None): 0,
    }
    published = {metric for metric, _, _ in points}
    # CAPSS refused no request and found no duplicate item here: the next test refuses one.
    # The demo's uploader is registered: the tenancy suite counts a foreign upload.
    assert published == {m.value for m in Metric} - {
        Metric.CAPSS_ERRORS,
        Metric.DUPLICATE_ITEMS,
        Metric.FOREIGN_UPLOADS,
    }


MONITOR_METRICS = {Metric.STORE_DAYS_MISSED, Metric.STORE_DAYS_LATE, Metric.STUCK_FILES}


def test_a_refused_request_is_counted_as_an_error_by_its_kind(pipeline: Start) -> None:
    p = pipeline()
    p.sim.inject(Fault.error(503, "upload", times=1, headers={"Retry-After": "0"}))
    (result,) = p.finish(p.drop("store-0300-clean.xml"))
    assert result.outcome == "complete"
    points = emf_points(p.stack.log.getvalue())
    errors = [d["Request"] for m, d, _ in points if m == Metric.CAPSS_ERRORS]
    assert errors == ["upload"]
    uploads = [v for m, d, v in points if m == Metric.CAPSS_LATENCY and d["Request"] == "upload"]
    assert len(uploads) == 2  # the refused attempt and the one CAPSS took
