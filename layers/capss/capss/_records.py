"""The record of each file version: its whole story, one DynamoDB item.

`RecordStore` is the interface the pipeline uses; `DynamoRecordStore` is the only
implementation that ships (tests run it against moto). Two conditional writes make
"exactly once" hold: `claim` takes a file version (a duplicate S3 event, an SQS
redelivery or a Lambda retry finds it taken), and `claim_content` takes the bytes
for a license and kind (the same export dropped twice is not sent twice).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from capss._errors import TransientError
from capss._files import FileRef
from capss._outcome import Counts, FileResult, Outcome

RAW_BODY_LIMIT = 16_000
"""Characters of CAPSS's last answer kept on the record (DynamoDB items stop at 400 KB)."""


class Phase(enum.StrEnum):
    """Where the submit step stands; decides what a redelivered event may do."""

    CLAIMED = "claimed"
    """Taken, nothing sent: a retry may send."""
    UPLOADING = "uploading"
    """An upload was attempted and its answer was not recorded: CAPSS may have the file."""
    SUBMITTED = "submitted"
    """CAPSS took it; the poller follows it."""
    DONE = "done"
    """The outcome is final."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """Timestamps on records: UTC, seconds, ISO 8601."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


@dataclass(slots=True)
class FileRecord:
    pk: str
    bucket: str
    key: str
    version_id: str | None
    kind: str
    phase: Phase = Phase.CLAIMED
    outcome: Outcome = Outcome.PROCESSING
    license: str | None = None
    size: int | None = None
    sha256: str | None = None
    received_at: str | None = None
    submitted_at: str | None = None
    completed_at: str | None = None
    updated_at: str | None = None
    lease_until: str | None = None
    submission_id: str | None = None
    status_url: str | None = None
    on_dup: str | None = None
    on_error: str | None = None
    counts: Counts = field(default_factory=Counts)
    messages: list[str] = field(default_factory=list)
    """What CAPSS said."""
    notes: list[str] = field(default_factory=list)
    """What the bridge itself has to say about the file (a repeat, a resend, a time-out)."""
    problems: list[dict[str, Any]] = field(default_factory=list)
    transactions: int | None = None
    items: int | None = None
    first_transaction_at: str | None = None
    last_transaction_at: str | None = None
    capss_status: str | None = None
    hint: str | None = None
    error: str | None = None
    polls: int = 0
    upload_attempts: int = 0
    execution_arn: str | None = None
    duplicate_of: str | None = None
    maybe_in_capss: bool = False
    """An upload may have reached CAPSS: the same bytes must not go again unasked."""
    alerted: bool = False
    """The alert for the final outcome went out (a failed send is retried, a sent one never)."""
    revision: int = 0
    """Bumped by every write; a save of an older revision is refused (RecordChanged)."""

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def uri(self) -> str:
        return FileRef(self.bucket, self.key, self.version_id).uri

    def result(self) -> FileResult:
        """The documented JSON view: CAPSS's messages, then the file's problems and any error."""
        messages = list(self.messages) + list(self.notes)
        messages += [problem_text(problem) for problem in self.problems]
        if self.error:
            messages.append(self.error)
        return FileResult(
            file=self.name,
            outcome=self.outcome,
            submission_id=self.submission_id,
            status_url=self.status_url,
            counts=self.counts,
            messages=tuple(messages),
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, Counts):
                value = {k: v for k, v in value.to_json().items() if v is not None}
            elif isinstance(value, enum.Enum):
                value = value.value
            if value is None or value in ([], {}):
                continue
            item[spec.name] = value
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FileRecord:
        known = {spec.name for spec in fields(cls)}
        values: dict[str, Any] = {k: _plain(v) for k, v in item.items() if k in known}
        values["phase"] = Phase(values.get("phase", Phase.CLAIMED))
        values["outcome"] = Outcome(values.get("outcome", Outcome.PROCESSING))
        values["counts"] = Counts.from_json(values.get("counts"))
        return cls(**values)


def problem_text(problem: Mapping[str, Any]) -> str:
    """One validation problem as a line: where it is, then what is wrong."""
    where = [
        f"{name} {problem[name]}" for name in ("line", "transaction", "item") if problem.get(name)
    ]
    place = f" ({', '.join(where)})" if where else ""
    return f"{problem.get('severity', 'error')}{place}: {problem.get('message', '')}"


def _plain(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal; records hold ints."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


def raw_excerpt(body: Mapping[str, Any] | None) -> str | None:
    if body is None:
        return None
    return json.dumps(body, sort_keys=True, default=str)[:RAW_BODY_LIMIT]


class RecordChanged(TransientError):
    """Another attempt wrote the record since this one read it: this one stops and retries."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to `claim`: ours to work on (with the record as it was), or taken."""

    record: FileRecord
    taken: bool


class RecordStore(Protocol):
    def claim(self, ref: FileRef, kind: str, lease: timedelta) -> Claim:
        """Take a file version. Taken (not ours) while another attempt holds an unexpired
        lease or once it was submitted; an expired claim is taken over."""
        ...

    def claim_content(self, record: FileRecord) -> str | None:
        """Take the record's bytes for its license and kind; the holder's pk when taken."""
        ...

    def release_content(self, record: FileRecord) -> None: ...

    def get(self, pk: str) -> FileRecord | None: ...

    def save(self, record: FileRecord) -> None:
        """Writes the record unless another attempt wrote it since it was read (RecordChanged)."""
        ...


class DynamoRecordStore:
    """`RecordStore` on one DynamoDB table (key `pk`; GSI `by-license` on license + received_at)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    @classmethod
    def for_table(cls, table_name: str, session: Any | None = None) -> DynamoRecordStore:
        import boto3  # noqa: PLC0415 - only the deployed path needs it; tests pass a table

        resource = (session or boto3).resource("dynamodb")
        return cls(resource.Table(table_name))

    def claim(self, ref: FileRef, kind: str, lease: timedelta) -> Claim:
        from botocore.exceptions import ClientError  # noqa: PLC0415

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
        from botocore.exceptions import ClientError  # noqa: PLC0415

        content_pk = _content_pk(record)
        try:
            self._table.put_item(
                Item={"pk": content_pk, "file_pk": record.pk, "claimed_at": iso(utcnow())},
                ConditionExpression="attribute_not_exists(pk) OR file_pk = :mine",
                ExpressionAttributeValues={":mine": record.pk},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            holder = self._table.get_item(Key={"pk": content_pk}, ConsistentRead=True)
            return str(holder.get("Item", {}).get("file_pk", "unknown"))
        return None

    def release_content(self, record: FileRecord) -> None:
        self._table.delete_item(
            Key={"pk": _content_pk(record)},
            ConditionExpression="file_pk = :mine",
            ExpressionAttributeValues={":mine": record.pk},
        )

    def get(self, pk: str) -> FileRecord | None:
        item = self._table.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
        return FileRecord.from_item(item) if item else None

    def save(self, record: FileRecord) -> None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

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


def _content_pk(record: FileRecord) -> str:
    return f"CONTENT#{record.license}#{record.kind}#{record.sha256}"
