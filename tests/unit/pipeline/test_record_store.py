"""The record port's contract: the two conditional writes that make 'exactly once' hold.

Every test runs on both stores, DynamoDB (moto) and memory, so the pipeline's unit tests
on the memory store stand for what it does on DynamoDB."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from capss import Counts, Outcome
from capss.aws.dynamodb import DynamoRecordStore
from capss.pipeline.files import FileRef
from capss.pipeline.memory import MemoryRecordStore
from capss.pipeline.ports import RecordStore
from capss.pipeline.records import FileRecord, Phase, RecordChanged

REF = FileRef("bucket", "incoming/transactions/000000300/day.xml", "v1", size=10)


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> RecordStore:
    if request.param == "memory":
        return MemoryRecordStore()
    request.getfixturevalue("aws")
    boto3.client("dynamodb").create_table(
        TableName="records",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    # As the functions open it: the low-level client, created at the first call.
    return DynamoRecordStore.for_table("records")


def test_first_claim_wins_and_a_duplicate_event_finds_it_taken(store: RecordStore) -> None:
    first = store.claim(REF, "transactions", timedelta(minutes=5))
    assert not first.taken
    assert first.record.phase is Phase.CLAIMED
    assert first.record.size == 10
    second = store.claim(REF, "transactions", timedelta(minutes=5))
    assert second.taken
    assert second.record.received_at == first.record.received_at


def test_an_expired_lease_is_taken_over_but_a_submitted_file_never(
    store: RecordStore,
) -> None:
    dead = store.claim(REF, "transactions", timedelta(seconds=-1))
    dead.record.phase = Phase.UPLOADING
    dead.record.lease_until = "2000-01-01T00:00:00+00:00"
    dead.record.upload_attempts = 1
    store.save(dead.record)
    again = store.claim(REF, "transactions", timedelta(minutes=5))
    assert not again.taken
    assert again.record.phase is Phase.UPLOADING
    assert again.record.upload_attempts == 1
    again.record.phase = Phase.SUBMITTED
    again.record.lease_until = "2000-01-01T00:00:00+00:00"
    store.save(again.record)
    assert store.claim(REF, "transactions", timedelta(minutes=5)).taken


def test_a_take_over_drops_an_alert_left_pending_by_the_attempt_it_takes_over(
    store: RecordStore,
) -> None:
    """A give-up killed mid-send, then redriven: the new story owes its own alert, and the
    sweep does not repeat the old one."""
    dead = store.claim(REF, "transactions", timedelta(seconds=-1))
    dead.record.outcome, dead.record.alerted = Outcome.FAILED, True
    dead.record.alert_pending = "2026-12-07T10:00:00+00:00"
    store.save(dead.record)
    again = store.claim(REF, "transactions", timedelta(minutes=5))
    assert not again.taken
    assert (again.record.alerted, again.record.alert_pending) == (False, None)
    saved = store.get(REF.pk)
    assert saved is not None
    assert saved.alert_pending is None


def test_content_is_claimed_once_per_license_and_kind(store: RecordStore) -> None:
    one = store.claim(REF, "transactions", timedelta(minutes=5)).record
    other_ref = FileRef(REF.bucket, REF.key, "v2")
    two = store.claim(other_ref, "transactions", timedelta(minutes=5)).record
    for record in (one, two):
        record.license, record.sha256 = "000000300", "ab" * 32
    assert store.claim_content(one) is None
    assert store.claim_content(one) is None  # asking again for the same file is fine
    assert store.claim_content(two) == one.pk
    store.release_content(one)
    assert store.claim_content(two) is None


def test_record_round_trip_keeps_counts_and_none(store: RecordStore) -> None:
    record = store.claim(REF, "transactions", timedelta(minutes=5)).record
    record.outcome = Outcome.COMPLETE_WITH_ISSUES
    record.counts = Counts(transactions=2, items=3, saved=2, errors=1, duplicates=None)
    record.messages = ["one"]
    store.save(record)
    loaded = store.get(REF.pk)
    assert isinstance(loaded, FileRecord)
    assert loaded.counts == Counts(transactions=2, items=3, saved=2, errors=1, duplicates=None)
    assert loaded.outcome is Outcome.COMPLETE_WITH_ISSUES
    assert loaded.messages == ["one"]
    assert loaded.updated_at is not None


def test_a_stale_copy_cannot_overwrite_a_newer_write(store: RecordStore) -> None:
    mine = store.claim(REF, "transactions", timedelta(minutes=5)).record
    theirs = store.get(REF.pk)
    assert theirs is not None
    theirs.phase = Phase.SUBMITTED
    store.save(theirs)
    mine.outcome = Outcome.FAILED
    with pytest.raises(RecordChanged):
        store.save(mine)
    current = store.get(REF.pk)
    assert current is not None
    assert current.phase is Phase.SUBMITTED
    assert current.outcome is Outcome.PROCESSING


def test_taking_over_a_dead_attempt_clears_its_outcome_and_alert(store: RecordStore) -> None:
    dead = store.claim(REF, "transactions", timedelta(minutes=5)).record
    dead.outcome, dead.alerted, dead.error, dead.hint = Outcome.FAILED, True, "503", "redrive"
    dead.lease_until = "1970-01-01T00:00:00+00:00"
    store.save(dead)
    again = store.claim(REF, "transactions", timedelta(minutes=5))
    assert not again.taken
    assert again.record.outcome is Outcome.PROCESSING
    assert again.record.alerted is False
    assert again.record.error is None
    assert again.record.hint is None


def test_releasing_a_content_claim_another_copy_released_first_is_a_no_op(
    store: RecordStore,
) -> None:
    """Defect 7: two later copies of a never-sent file both release its content claim."""
    earlier = store.claim(REF, "transactions", timedelta(minutes=5)).record
    earlier.license, earlier.sha256 = "000000300", "ab" * 32
    assert store.claim_content(earlier) is None
    store.release_content(earlier)
    store.release_content(earlier)  # the losing copy: must not raise
    later = FileRecord(
        pk="FILE#bucket/incoming/transactions/000000300/again.xml#v2",
        bucket="bucket",
        key="incoming/transactions/000000300/again.xml",
        version_id="v2",
        kind="transactions",
        license="000000300",
        sha256="ab" * 32,
    )
    assert store.claim_content(later) is None
    store.release_content(earlier)  # no longer the holder: the later claim stays
    assert store.claim_content(earlier) == later.pk
