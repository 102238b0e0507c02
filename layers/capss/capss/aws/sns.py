"""Alerts out through the SNS topic that emails ops, and the filters its subscriptions use."""

from __future__ import annotations

from typing import Any

from capss.pipeline.values import AUDIENCE_ATTRIBUTE, LICENSE_ATTRIBUTE, Alert
from capss.telemetry import Metric, measure

OPS_FILTER_POLICY: dict[str, Any] = {AUDIENCE_ATTRIBUTE: [{"exists": False}]}
"""Ops' subscription (the template's AlertEmailSubscription): all but the per-store copies."""


def store_filter_policy(license_number: str) -> dict[str, Any]:
    """A store's subscription: the alerts about its own files and its own copy of the
    monitor's and the digest's messages, nothing naming another store."""
    return {LICENSE_ATTRIBUTE: [license_number]}


class SnsAlertSender:
    """Publishes to the alert topic, with attributes for filtered subscriptions."""

    def __init__(self, topic_arn: str, client: Any) -> None:
        self._topic_arn = topic_arn
        self._client = client

    def send(self, alert: Alert) -> None:
        attributes = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in alert.attributes.items()
        }
        self._client.publish(
            TopicArn=self._topic_arn,
            Subject=alert.subject,
            Message=alert.body,
            MessageAttributes=attributes,
        )
        # Named by the alert's own kind (an outcome, early_warning, missed_report, digest).
        measure(Metric.ALERTS_SENT, 1, Alert=alert.attributes.get("outcome", "other"))
