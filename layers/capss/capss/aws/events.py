"""Outcome events out through the stack's EventBridge bus."""

from __future__ import annotations

import json
from typing import Any

from capss.aws.wiring import aws_client
from capss.errors import TransientError
from capss.pipeline.events import SOURCE


class EventsNotAccepted(TransientError):
    """EventBridge answered but refused the entry (it reports that in the body, not by raising)."""


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any) -> None:
        self._bus_name = bus_name
        self._client = client

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, sort_keys=True),
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            entry = answer["Entries"][0]
            raise EventsNotAccepted(
                f"EventBridge refused the outcome event: {entry.get('ErrorCode')}"
                f" {entry.get('ErrorMessage', '')}".strip()
            )


def outcome_events(bus_name: str | None) -> EventBridgePublisher | None:
    return EventBridgePublisher(bus_name, aws_client("events")) if bus_name else None
