"""The records table's indexes, as the template defines them (moto): what the sweep, the
listings and `submissions list --license` read, counted call by call."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from capss import Outcome
from capss.aws.dynamodb import INDEX, OPEN, ClientTable, DynamoRecordStore
from capss.compliance.monitor import stuck_files
from capss.pipeline.files import FileRef
from capss.pipeline.records import FileRecord, Phase, iso

from local.stack import TEMPLATE, table_definition

LEASE = timedelta(minutes=5)


class CountingClient:
    """The DynamoDB client, counting each read by operation and index."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.reads: Counter[tuple[str, str]] = Counter()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)
        if name not in ("query", "scan"):
            return call

        def counted(**request: Any) -> Any:
            self.reads[(name, request.get("IndexName", "table"))] += 1
            return call(**request)

        return counted


@pytest.fixture
def client(aws: None) -> CountingClient:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(**table_definition(TEMPLATE, "SubmissionsTable", "records"))
    return CountingClient(dynamodb)


def store(client: CountingClient) -> DynamoRecordStore:
    return DynamoRecordStore(ClientTable(client, "records"))


def received(records: DynamoRecordStore, name: str, license_number: str = "000000300") -> Any:
    ref = FileRef("bucket", f"incoming/transactions/{license_number}/{name}", "v1", size=10)
    record = records.claim(ref, "transactions", LEASE).record
    record.license = license_number
    records.save(record)
    return record


def listed_under(client: CountingClient, record: FileRecord) -> str | None:
    item = client.get_item(TableName="records", Key={"pk": {"S": record.pk}})["Item"]
    return item.get("open_or_month", {}).get("S")


def test_a_record_leaves_the_open_files_once_final_and_alerted(client: CountingClient) -> None:
    records = store(client)
    records.fill_index()
    record = received(records, "day.xml")
    assert listed_under(client, record) == OPEN
    record.phase, record.outcome = Phase.DONE, Outcome.FAILED
    records.save(record)
    # Final, but its alert is owed: the sweep must still see it.
    assert listed_under(client, record) == OPEN
    assert [r.pk for r in records.unfinished()] == [record.pk]
    record.alerted = True
    records.save(record)
    assert listed_under(client, record) == (record.received_at or "")[:7]
    assert records.unfinished() == []
    # Listed under its month: a listing still finds it.
    assert [r.pk for r in records.files_since(datetime.now(UTC) - timedelta(days=1))] == [record.pk]


def test_the_sweep_finds_a_stuck_file_through_the_index_alone(client: CountingClient) -> None:
    records = store(client)
    records.fill_index()
    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        stuck = received(records, "stuck.xml")
    with time_machine.travel(datetime(2026, 11, 3, 9, tzinfo=UTC), tick=False):
        done = received(records, "done.xml")
        done.phase, done.outcome = Phase.DONE, Outcome.COMPLETE
        records.save(done)
    client.reads.clear()
    now = datetime(2026, 11, 3, 12, tzinfo=UTC)
    found = stuck_files(records.unfinished(), now, timedelta(hours=2), lambda _arn: False)
    assert [(f.record.pk, f.why) for f in found] == [
        (stuck.pk, "claimed at 2026-11-02T09:00:00+00:00 and never sent")
    ]
    assert client.reads == {("query", INDEX): 1}


def test_listings_query_the_indexes_and_never_scan(client: CountingClient) -> None:
    records = store(client)
    records.fill_index()
    with time_machine.travel(datetime(2026, 10, 30, 9, tzinfo=UTC), tick=False):
        october = received(records, "oct.xml")
        october.phase, october.outcome, october.alerted = Phase.DONE, Outcome.REJECTED, True
        records.save(october)
    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        november = received(records, "nov.xml", "000000301")
        client.reads.clear()
        since = datetime(2026, 10, 1, tzinfo=UTC)
        assert [r.pk for r in records.files_since(since)] == [october.pk, november.pk]
        # The open files, then October's and November's closed ones.
        assert client.reads == {("query", INDEX): 3}
        client.reads.clear()
        assert [r.pk for r in records.files_for_license("000000301", since)] == [november.pk]
        assert client.reads == {("query", "by-license"): 1}


def test_records_from_before_the_index_are_scanned_until_filled(client: CountingClient) -> None:
    records = store(client)
    stuck = received(records, "old.xml")
    # As an older version wrote it: no open_or_month.
    client.update_item(
        TableName="records", Key={"pk": {"S": stuck.pk}}, UpdateExpression="REMOVE open_or_month"
    )
    assert [r.pk for r in records.unfinished()] == [stuck.pk]
    assert ("scan", "table") in client.reads
    filled = store(client).fill_index()
    assert filled == {"records": 1, "placed": 1, "changed_meanwhile": 0}
    client.reads.clear()
    reader = store(client)
    assert [r.pk for r in reader.unfinished()] == [stuck.pk]
    assert client.reads == {("query", INDEX): 1}


def test_an_alert_left_pending_keeps_its_record_open_until_the_mark_is_cleared(
    client: CountingClient,
) -> None:
    records = store(client)
    with time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        record = received(records, "late.xml")
        record.phase, record.outcome = Phase.DONE, Outcome.TIMED_OUT
        # Marked and alerted before the send; the function stopped before clearing the mark.
        record.alerted, record.alert_pending = True, "2026-11-02T09:00:00+00:00"
        records.save(record)
    assert listed_under(client, record) == OPEN
    client.reads.clear()
    # Not yet older than the wait: left alone; then found through the open files alone, even
    # before the index was filled (every write that sets a mark places its record).
    assert records.pending_alerts(datetime(2026, 11, 2, 9, tzinfo=UTC)) == []
    (pending,) = records.pending_alerts(datetime(2026, 11, 2, 9, 5, tzinfo=UTC))
    assert pending.pk == record.pk
    assert client.reads == {("query", INDEX): 2}
    pending.alert_pending = None
    records.save(pending)
    assert listed_under(client, pending) == "2026-11"
    assert records.pending_alerts(datetime(2026, 11, 2, 9, 5, tzinfo=UTC)) == []


def test_filling_the_index_keeps_an_alert_left_pending_open(client: CountingClient) -> None:
    records = store(client)
    record = received(records, "old.xml")
    record.phase, record.outcome = Phase.DONE, Outcome.COMPLETE
    record.alert_pending = iso(datetime.now(UTC) - timedelta(hours=1))
    record.alerted = True
    records.save(record)
    # As a version without the index wrote it.
    client.update_item(
        TableName="records", Key={"pk": {"S": record.pk}}, UpdateExpression="REMOVE open_or_month"
    )
    # Out of the open files until `capss submissions reindex` places it there.
    assert records.pending_alerts(datetime.now(UTC)) == []
    records.fill_index()
    assert [r.pk for r in records.pending_alerts(datetime.now(UTC))] == [record.pk]
