"""EventBridge reports a refused entry in its answer, not as an error: the publisher raises."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from capss.aws.events import EventBridgePublisher, EventsNotAccepted
from capss.errors import TransientError
from capss.pipeline.events import DETAIL_TYPE, SOURCE


def test_a_refused_entry_raises_so_the_step_is_retried() -> None:
    client = boto3.client(
        "events", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    detail = {"outcome": "complete", "key": "incoming/transactions/000000300/day.xml"}
    entry = {
        "EventBusName": "capss-outcomes",
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail, sort_keys=True),
    }
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
            },
            {"Entries": [entry]},
        )
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]},
            {"Entries": [entry]},
        )
        publisher = EventBridgePublisher("capss-outcomes", client)
        with pytest.raises(EventsNotAccepted, match="ThrottlingException slow down") as raised:
            publisher.publish(DETAIL_TYPE, detail)
        assert isinstance(raised.value, TransientError)
        publisher.publish(DETAIL_TYPE, detail)
        stub.assert_no_pending_responses()
