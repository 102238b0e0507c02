"""`RecordStore` on one DynamoDB table (key `pk`; GSI `by-license` on license + received_at)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from capss.outcome import Outcome
from capss.pipeline.files import FileRef
from capss.pipeline.records import (
    Claim,
    FileRecord,
    Phase,
    RecordChanged,
    content_pk,
    iso,
    utcnow,
)


class DynamoRecordStore:
    """The record of each file version, one item a version, written conditionally."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @classmethod
    def for_table(cls, table_name: str, session: Any | None = None) -> DynamoRecordStore:
        resource = (session or boto3).resource("dynamodb")
        return cls(resource.Table(table_name))

    def claim(self, ref: FileRef, kind: str, lease: timedelta) -> Claim:
        now = utcnow()
        record = FileRecord(
            pk=ref.pk,
            bucket=ref.bucket,
            key=ref.key,
            version_id=ref.version_id,
            kind=kind,
            size=ref.size,
            received_at=iso(now),
            updated_at=iso(now),
            lease_until=iso(now + lease),
        )
        try:
            # A fresh version, or one whose earlier attempt died before it was submitted.
            answer = self._table.update_item(
                Key={"pk": ref.pk},
                # Every name goes through a placeholder: bucket, key and others are reserved words.
                UpdateExpression=(
                    "SET #bucket = :bucket, #key = :key, #version = :version, #kind = :kind,"
                    " #lease = :lease, #updated = :now,"
                    " #received = if_not_exists(#received, :now),"
                    " #size = if_not_exists(#size, :size),"
                    " #phase = if_not_exists(#phase, :claimed),"
                    " #revision = if_not_exists(#revision, :zero) + :one,"
                    # A taken-over attempt starts its story again: no outcome, nothing alerted.
                    " #outcome = :processing, #alerted = :false"
                    " REMOVE #error, #hint"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk)"
                    " OR (#phase IN (:claimed, :uploading) AND #lease < :now)"
                ),
                ExpressionAttributeNames={
                    "#bucket": "bucket",
                    "#key": "key",
                    "#version": "version_id",
                    "#kind": "kind",
                    "#lease": "lease_until",
                    "#updated": "updated_at",
                    "#received": "received_at",
                    "#size": "size",
                    "#phase": "phase",
                    "#outcome": "outcome",
                    "#revision": "revision",
                    "#alerted": "alerted",
                    "#error": "error",
                    "#hint": "hint",
                },
                ExpressionAttributeValues={
                    ":bucket": ref.bucket,
                    ":key": ref.key,
                    ":version": ref.version_id or "null",
                    ":kind": kind,
                    ":lease": record.lease_until,
                    ":now": record.updated_at,
                    ":size": ref.size,
                    ":claimed": Phase.CLAIMED.value,
                    ":uploading": Phase.UPLOADING.value,
                    ":processing": Outcome.PROCESSING.value,
                    ":zero": 0,
                    ":one": 1,
                    ":false": False,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self.get(ref.pk)
            return Claim(record=current or record, taken=True)
        claimed = FileRecord.from_item(answer["Attributes"])
        if ref.version_id is None:
            claimed.version_id = None
        return Claim(record=claimed, taken=False)

    def claim_content(self, record: FileRecord) -> str | None:
        key = content_pk(record)
        try:
            self._table.put_item(
                Item={"pk": key, "file_pk": record.pk, "claimed_at": iso(utcnow())},
                ConditionExpression="attribute_not_exists(pk) OR file_pk = :mine",
                ExpressionAttributeValues={":mine": record.pk},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            holder = self._table.get_item(Key={"pk": key}, ConsistentRead=True)
            return str(holder.get("Item", {}).get("file_pk", "unknown"))
        return None

    def release_content(self, record: FileRecord) -> None:
        try:
            self._table.delete_item(
                Key={"pk": content_pk(record)},
                ConditionExpression="file_pk = :mine",
                ExpressionAttributeValues={":mine": record.pk},
            )
        except ClientError as error:
            # Another later copy released it first (and may hold it now): nothing to undo.
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def get(self, pk: str) -> FileRecord | None:
        item = self._table.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
        return FileRecord.from_item(item) if item else None

    def save(self, record: FileRecord) -> None:
        record.updated_at = iso(utcnow())
        expected = record.revision
        record.revision += 1
        try:
            self._table.put_item(
                Item=record.to_item(),
                ConditionExpression="#revision = :expected",
                ExpressionAttributeNames={"#revision": "revision"},
                ExpressionAttributeValues={":expected": expected},
            )
        except ClientError as error:
            record.revision = expected
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise RecordChanged(f"{record.uri} was changed by another attempt") from None
