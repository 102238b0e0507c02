"""Routing S3 keys and naming executions."""

from __future__ import annotations

import json
import re

from capss import FileKind
from capss.pipeline.files import FileRef, Route, refs_from_s3_notification, route
from hypothesis import given
from hypothesis import strategies as st

EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def test_route_reads_kind_and_license() -> None:
    assert route("incoming/transactions/000000300/day.xml") == Route(
        FileKind.TRANSACTIONS, "000000300"
    )
    place = route("incoming/item-updates/000000300/fix.xml")
    assert place is not None
    assert place.kind is FileKind.ITEM_UPDATES
    assert place.license_number == "000000300"
    bare = route("incoming/transactions/day.xml")
    assert bare is not None
    assert bare.license_number is None


def test_route_refuses_keys_outside_the_layout() -> None:
    for key in ("incoming/other/1/a.xml", "outgoing/transactions/1/a.xml", "incoming/", "a.xml"):
        assert route(key) is None, key


def test_notification_keys_are_url_decoded_and_test_events_skipped() -> None:
    body = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "b"},
                    "object": {"key": "incoming/transactions/1/store+12%2B.xml", "size": 5},
                },
            }
        ]
    }
    (ref,) = refs_from_s3_notification(json.dumps(body))
    assert ref.key == "incoming/transactions/1/store 12+.xml"
    assert ref.version_id is None
    assert ref.pk == "FILE#b/incoming/transactions/1/store 12+.xml#null"
    assert refs_from_s3_notification({"Event": "s3:TestEvent", "Service": "Amazon S3"}) == []


@given(
    key=st.text(min_size=1, max_size=300),
    version=st.one_of(st.none(), st.text(min_size=1, max_size=40)),
)
def test_execution_names_are_valid_and_stable(key: str, version: str | None) -> None:
    ref = FileRef("bucket", key, version)
    name = ref.execution_name
    assert EXECUTION_NAME.match(name), name
    assert name == FileRef("bucket", key, version).execution_name


def test_execution_names_differ_per_version() -> None:
    one = FileRef("b", "incoming/transactions/1/a.xml", "v1").execution_name
    two = FileRef("b", "incoming/transactions/1/a.xml", "v2").execution_name
    assert one != two
    assert one.startswith("a-")
