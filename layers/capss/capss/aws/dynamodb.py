"""`RecordStore` on one DynamoDB table (key `pk`; GSI `by-license` on license + received_at;
sparse GSI `alerts-pending` on alert_pending)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionExpressionBuilder, Key
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from capss.aws.wiring import aws_client
from capss.kinds import FileKind
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

FILE_PREFIX = "FILE#"
PENDING_INDEX = "alerts-pending"

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


class ClientTable:
    """The four calls of boto3's `Table` the store makes, on the low-level client.

    A `dynamodb` resource costs a cold start its resource model on top of the client's, for
    no more than this conversion of plain values to and from DynamoDB's typed ones.
    """

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self._name = name

    def get_item(self, **request: Any) -> dict[str, Any]:
        return self._call("get_item", request)

    def put_item(self, **request: Any) -> dict[str, Any]:
        return self._call("put_item", request)

    def update_item(self, **request: Any) -> dict[str, Any]:
        return self._call("update_item", request)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        return self._call("delete_item", request)

    def query(self, **request: Any) -> dict[str, Any]:
        return self._call("query", _built(request))

    def batch_get(self, pks: list[str], attributes: tuple[str, ...]) -> list[dict[str, Any]]:
        """The items' `pk` and `attributes`, BATCH_GET_LIMIT keys a call, unprocessed keys
        asked again."""
        projection = ", ".join(f"#a{n}" for n in range(len(attributes) + 1))
        names = {f"#a{n}": name for n, name in enumerate(("pk", *attributes))}
        found: list[dict[str, Any]] = []
        for start in range(0, len(pks), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._name: {
                    "Keys": [{"pk": {"S": pk}} for pk in pks[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                }
            }
            while request:
                answer = self._client.batch_get_item(RequestItems=request)
                found += [_plain(item) for item in answer["Responses"].get(self._name, [])]
                request = answer.get("UnprocessedKeys") or {}
        return found

    def scan(self, **request: Any) -> dict[str, Any]:
        return self._call("scan", _built(request))

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        for part in ("Key", "Item", "ExpressionAttributeValues", "ExclusiveStartKey"):
            if part in request:
                request[part] = {k: _SERIALIZER.serialize(v) for k, v in request[part].items()}
        answer: dict[str, Any] = getattr(self._client, operation)(TableName=self._name, **request)
        for part in ("Item", "Attributes"):
            if part in answer:
                answer[part] = _plain(answer[part])
        if "Items" in answer:
            answer["Items"] = [_plain(item) for item in answer["Items"]]
        if "LastEvaluatedKey" in answer:
            # Handed back as ExclusiveStartKey, which _call serialises again.
            answer["LastEvaluatedKey"] = _plain(answer["LastEvaluatedKey"])
        return answer


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}


def _built(request: dict[str, Any]) -> dict[str, Any]:
    """boto3's condition objects (Key, Attr) as the expressions the low-level client takes."""
    builder = ConditionExpressionBuilder()
    names = dict(request.pop("ExpressionAttributeNames", {}))
    values = dict(request.pop("ExpressionAttributeValues", {}))
    for parameter, is_key in (("KeyConditionExpression", True), ("FilterExpression", False)):
        condition = request.get(parameter)
        if condition is None or isinstance(condition, str):
            continue
        built = builder.build_expression(condition, is_key_condition=is_key)
        request[parameter] = built.condition_expression
        names.update(built.attribute_name_placeholders)
        values.update(built.attribute_value_placeholders)
    if names:
        request["ExpressionAttributeNames"] = names
    if values:
        request["ExpressionAttributeValues"] = values
    return request


BY_LICENSE_ATTRIBUTES = (
    "bucket",
    "key",
    "version_id",
    "kind",
    "phase",
    "outcome",
    "alerted",
    "submission_id",
    "status_url",
    "execution_arn",
    "transactions",
    "items",
    "first_transaction_at",
    "last_transaction_at",
    "submitted_at",
    "completed_at",
    "counts",
    "error",
)
"""What the `by-license` index holds besides its keys: what the monitor, `capss report` and
`capss submissions list --license` read. The days a file holds are read from the items
(`DAY_ATTRIBUTES`): a deployed index's projection cannot change without deleting and
recreating the index, which CloudFormation refuses in the update that adds another index.
A status check that only says "still processing" changes none of it, so it writes nothing
to the index (CAPSS's messages and raw answer stay on the item; `capss submissions show`
reads the item)."""


DAY_ATTRIBUTES = ("transaction_days", "transactions_on_other_days")
"""What a transactions file's item says of its days, read beside the `by-license` index."""
BATCH_GET_LIMIT = 100
"""DynamoDB's most keys a BatchGetItem."""


class DynamoRecordStore:
    """The record of each file version, one item a version, written conditionally; read back
    by license (the `by-license` index) for the monitor and the ops commands."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @classmethod
    def for_table(cls, table_name: str) -> DynamoRecordStore:
        return cls(ClientTable(aws_client("dynamodb"), table_name))

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
                    " REMOVE #error, #hint, #pending"
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
                    "#pending": "alert_pending",
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
                Item={
                    "pk": key,
                    "file_pk": record.pk,
                    "claimed_at": iso(utcnow()),
                    # Goes with the file's record: after that, the same bytes may be sent again.
                    **({"expires_at": record.expires_at} if record.expires_at else {}),
                },
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
        with self._revised(record) as expected:
            self._table.put_item(
                Item=record.to_item(),
                ConditionExpression="#revision = :expected",
                ExpressionAttributeNames={"#revision": "revision"},
                ExpressionAttributeValues={":expected": expected},
            )

    @contextlib.contextmanager
    def _revised(self, record: FileRecord) -> Iterator[int]:
        """Bumps the record's revision for a write conditional on the one it was read at."""
        record.updated_at = iso(utcnow())
        expected = record.revision
        record.revision += 1
        try:
            yield expected
        except ClientError as error:
            record.revision = expected
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise RecordChanged(f"{record.uri} was changed by another attempt") from None

    def files_for_license(self, license_number: str, since: datetime) -> list[FileRecord]:
        items = all_pages(
            self._table.query,
            IndexName="by-license",
            KeyConditionExpression=Key("license").eq(license_number)
            & Key("received_at").gte(iso(since)),
        )
        wanted = [item["pk"] for item in items if item.get("kind") == FileKind.TRANSACTIONS]
        days = {found["pk"]: found for found in self._table.batch_get(wanted, DAY_ATTRIBUTES)}
        return [FileRecord.from_item({**item, **days.get(item["pk"], {})}) for item in items]

    def files_since(self, since: datetime) -> list[FileRecord]:
        items = all_pages(
            self._table.scan,
            FilterExpression=Attr("pk").begins_with(FILE_PREFIX)
            & Attr("received_at").gte(iso(since)),
        )
        records = (FileRecord.from_item(item) for item in items)
        return sorted(records, key=lambda r: r.received_at or "")

    def unfinished(self) -> list[FileRecord]:
        # A scan, filtered: the table holds a few hundred thousand small items at most, read
        # a couple of times a day (cents); an index of open files would be written on every step.
        needs_person = [o.value for o in Outcome if o.needs_person]
        items = all_pages(
            self._table.scan,
            FilterExpression=Attr("phase").exists()
            & (
                Attr("outcome").eq(Outcome.PROCESSING.value)
                | (Attr("outcome").is_in(needs_person) & Attr("alerted").ne(True))
            ),
        )
        return [FileRecord.from_item(item) for item in items]

    def pending_alerts(self, before: datetime) -> list[FileRecord]:
        # The `alerts-pending` index is sparse: it holds only the records whose mark is set, for
        # the seconds between marking and sending, so the sweep's scan reads next to nothing.
        keys = all_pages(
            self._table.scan,
            IndexName=PENDING_INDEX,
            FilterExpression=Attr("alert_pending").lt(iso(before)),
        )
        records = (self.get(str(key["pk"])) for key in keys)
        return [r for r in records if r is not None and r.alert_pending and r.alerted]


def all_pages(operation: Any, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        answer = operation(**kwargs)
        items += answer.get("Items", [])
        if "LastEvaluatedKey" not in answer:
            return items
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
