"""Alerts out through the SNS topic that emails ops."""

from __future__ import annotations

import json
from typing import Any

from capss.pipeline.values import Alert
from capss.telemetry import Metric, measure


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
        attributes.update(
            {
                name: {"DataType": "String.Array", "StringValue": json.dumps(list(values))}
                for name, values in alert.lists.items()
            }
        )
        self._client.publish(
            TopicArn=self._topic_arn,
            Subject=alert.subject,
            Message=alert.body,
            MessageAttributes=attributes,
        )
        # Named by the alert's own kind (an outcome, early_warning, missed_report, digest).
        measure(Metric.ALERTS_SENT, 1, Alert=alert.attributes.get("outcome", "other"))
