"""Powertools logger and metrics shared by the library; handlers own the logger's decorator.

Every metric the bridge publishes is named here, with its dimensions: the template's
dashboard and alarm are checked against this catalogue (tests/infrastructure), and
docs/metrics.md describes it.
"""

from __future__ import annotations

import enum
import os
from types import MappingProxyType

from aws_lambda_powertools import Logger, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "capss-bridge"
SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE)
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CapssBridge")

logger = Logger(service=SERVICE_NAME)

FILE_KEYS = ("file", "license", "submission")


class Metric(enum.StrEnum):
    """The custom metrics (namespace CapssBridge), each published with `service` and the
    dimensions DIMENSIONS gives it."""

    FILES = "Files"
    """A file version reached its outcome (rejected, complete, failed...)."""
    FILES_SUBMITTED = "FilesSubmitted"
    """CAPSS accepted a file and gave a job to follow: the poller starts."""
    ITEMS_SAVED = "ItemsSaved"
    ERROR_ITEMS = "ErrorItems"
    DUPLICATE_ITEMS = "DuplicateItems"
    POLLS_PER_JOB = "PollsPerJob"
    SECONDS_TO_COMPLETION = "SecondsToCompletion"
    CAPSS_LATENCY = "CapssRequestLatency"
    """One HTTP request to CAPSS, answered or not, in milliseconds."""
    CAPSS_ERRORS = "CapssRequestErrors"
    """A request to CAPSS that failed: no answer, or an answer refusing it."""
    STORE_DAYS_MISSED = "StoreDaysMissed"
    """The store-days a monitor check names: without a report by their deadline."""
    STORE_DAYS_LATE = "StoreDaysLate"
    """The store-days within the final check's lookback that CAPSS got after their deadline."""
    STUCK_FILES = "StuckFiles"
    ALERTS_SENT = "AlertsSent"
    FOREIGN_UPLOADS = "ForeignUploads"
    """A file whose uploader the register does not let file for its license: rejected, not sent."""


UNITS = MappingProxyType(
    {
        Metric.CAPSS_LATENCY: MetricUnit.Milliseconds,
        Metric.SECONDS_TO_COMPLETION: MetricUnit.Seconds,
    }
)
"""Each metric's unit; the rest count."""

DIMENSIONS = MappingProxyType(
    {
        Metric.FILES: ("Outcome", "Kind"),
        Metric.CAPSS_LATENCY: ("Request",),
        Metric.CAPSS_ERRORS: ("Request",),
        Metric.STORE_DAYS_MISSED: ("Check",),
        Metric.STORE_DAYS_LATE: ("Check",),
        Metric.ALERTS_SENT: ("Alert",),
    }
)
"""Each metric's dimensions besides `service`; the rest have none. CloudWatch bills each
metric name and set of dimension values a month, so every value here comes from a short
fixed list (outcomes, file kinds, request kinds, checks, alert kinds): never a license."""


def measure(metric: Metric, value: float, **dimensions: str) -> None:
    """One data point, printed at once as an embedded-metric-format line of its own.

    Its own line, not Powertools' per-invocation buffer: files in one batch end in different
    outcomes, and the local stack runs handlers side by side in threads, where a shared
    buffer would mix (or lose) their points.
    """
    if is_metrics_disabled():
        return
    with single_metric(
        name=metric.value,
        unit=UNITS.get(metric, MetricUnit.Count),
        value=value,
        namespace=NAMESPACE,
        default_dimensions={**dimensions, "service": SERVICE_NAME},
    ):
        pass


def about(**keys: object) -> None:
    """Names the file this thread works on in its log lines, replacing the previous file's keys.

    Kept per thread, not on the shared logger: the local stack runs handlers side by side in
    threads, and a shared key would put one file's name on another's lines.
    """
    logger.thread_safe_remove_keys(FILE_KEYS)
    logger.thread_safe_append_keys(**keys)
