"""The record of each file version: its whole story, kept as one item.

`RecordStore` is the port the pipeline uses: `capss.aws.dynamodb.DynamoRecordStore` is
the one that ships, `capss.pipeline.memory.MemoryRecordStore` the one unit tests use. Two
conditional writes make "exactly once" hold: `claim` takes a file version (a duplicate S3
event, an SQS redelivery or a Lambda retry finds it taken), and `claim_content` takes the bytes
for a license and kind (the same export dropped twice is not sent twice).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from capss.errors import TransientError
from capss.intake.report import ValidationReport, problem_text
from capss.outcome import Counts, FileResult, Outcome
from capss.pipeline.files import FileRef

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
    transaction_days: list[dict[str, Any]] = field(default_factory=list)
    """The dates the file's transactions carry, in the store's zone, with the transactions
    and items on each (`capss.intake.report.DayJson`): the days the file reports."""
    transactions_on_other_days: int | None = None
    """Transactions on dates beyond those kept in `transaction_days` (bounded)."""
    capss_status: str | None = None
    hint: str | None = None
    error: str | None = None
    polls: int = 0
    upload_attempts: int = 0
    execution_arn: str | None = None
    duplicate_of: str | None = None
    uploaded_by: str | None = None
    """The S3 event's principal id: who put this version into the bucket."""
    uploaded_from: str | None = None
    """The S3 event's source address."""
    uploaded_at: str | None = None
    """The S3 event's time."""
    maybe_in_capss: bool = False
    capss_refused: bool = False
    """CAPSS itself said no (a 400 to the upload, or a job it failed), not the bridge."""
    """An upload may have reached CAPSS: the same bytes must not go again unasked."""
    resent: bool = False
    """Sent again with skip-duplicates after an upload whose answer was lost."""
    alerted: bool = False
    """The alert for the final outcome went out (a failed send is retried, a sent one never)."""
    alert_pending: str | None = None
    """When the alert was marked to be sent; cleared once the send returned. One left set (the
    function stopped between the two) is sent again by the sweep, marked a possible repeat."""
    announced: str | None = None
    """The outcome last published as an event (`capss.pipeline.events`)."""
    customer_data: str | None = None
    """What became of customer fields holding data: "on file" (a copy sent), "sent", "rejected"."""
    expires_at: int | None = None
    """When the table's TTL deletes the record (epoch seconds): received_at + RetentionDays."""
    revision: int = 0
    """Bumped by every write; a save of an older revision is refused (RecordChanged)."""

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def uri(self) -> str:
        return FileRef(self.bucket, self.key, self.version_id).uri

    def held(self) -> bool:
        """An attempt is working on the file now: claimed or mid-upload, its lease not run out."""
        in_hand = self.phase in (Phase.CLAIMED, Phase.UPLOADING)
        return in_hand and (self.lease_until or "") > (iso(utcnow()) or "")

    def unattended(self) -> bool:
        """Claimed or mid-upload, and no attempt holds it: only a person moves it on."""
        return self.phase in (Phase.CLAIMED, Phase.UPLOADING) and not self.held()

    def note_facts(self, report: ValidationReport) -> None:
        """What reading the file found: its counts and the days its transactions carry."""
        self.transactions = report.transactions
        self.items = report.items
        first, last = report.first_transaction_at, report.last_transaction_at
        self.first_transaction_at = first.isoformat() if first else None
        self.last_transaction_at = last.isoformat() if last else None
        self.transaction_days = [dict(day.to_json()) for day in report.days]
        self.transactions_on_other_days = report.transactions_on_other_days or None

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
        item = {spec.name: self.item_value(spec.name) for spec in fields(self)}
        return {name: value for name, value in item.items() if value is not None}

    def item_value(self, name: str) -> Any:
        """One attribute as the table holds it; None for one the item leaves out (empty)."""
        value = getattr(self, name)
        if isinstance(value, Counts):
            value = {k: v for k, v in value.to_json().items() if v is not None}
        elif isinstance(value, enum.Enum):
            value = value.value
        return None if value is None or value in ([], {}) else value

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> FileRecord:
        known = {spec.name for spec in fields(cls)}
        values: dict[str, Any] = {k: plain_value(v) for k, v in item.items() if k in known}
        values["phase"] = Phase(values.get("phase", Phase.CLAIMED))
        values["outcome"] = Outcome(values.get("outcome", Outcome.PROCESSING))
        values["counts"] = Counts.from_json(values.get("counts"))
        return cls(**values)


def plain_value(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal; records hold ints."""
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


RETENTION_DAYS = 1127
"""Days a record, a copy the bridge made and a replaced file version are kept: three years
(B&P 21628's record-keeping duty, on its common reading) of 365.25 days, plus 31 days so a
file that arrived late, or a question asked at the boundary, still finds its record
(docs/design.md, retention)."""


def expiry(received_at: str | None, retention_days: int) -> int | None:
    """The record's `expires_at` for a retention of `retention_days` (none when 0 or unknown)."""
    if not retention_days or not received_at:
        return None
    return int((datetime.fromisoformat(received_at) + timedelta(days=retention_days)).timestamp())


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


def content_pk(record: FileRecord) -> str:
    """The key that claims a file's bytes for its license and kind."""
    return f"CONTENT#{record.license}#{record.kind}#{record.sha256}"
