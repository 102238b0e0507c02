"""`RecordStore` in memory, with the same conditions as the DynamoDB table.

Unit tests run the pipeline on it, and one contract test holds it and
`capss.aws.dynamodb.DynamoRecordStore` to the same behaviour, so the port is the whole
story: the pipeline needs nothing a store does beyond it. Records are copied in and out,
as a table would, so a caller never shares an object with the store.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from datetime import timedelta

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


class MemoryRecordStore:
    def __init__(self) -> None:
        self._records: dict[str, FileRecord] = {}
        self._contents: dict[str, str] = {}
        self._lock = threading.Lock()

    def claim(self, ref: FileRef, kind: str, lease: timedelta) -> Claim:
        now = utcnow()
        with self._lock:
            current = self._records.get(ref.pk)
            expired = current is not None and (
                current.phase in (Phase.CLAIMED, Phase.UPLOADING)
                and (current.lease_until or "") < (iso(now) or "")
            )
            if current is not None and not expired:
                return Claim(record=copy.deepcopy(current), taken=True)
            claimed = current or FileRecord(
                pk=ref.pk,
                bucket=ref.bucket,
                key=ref.key,
                version_id=ref.version_id,
                kind=kind,
                size=ref.size,
                received_at=iso(now),
            )
            claimed = dataclasses.replace(
                claimed,
                kind=kind,
                lease_until=iso(now + lease),
                updated_at=iso(now),
                revision=claimed.revision + 1,
                # A taken-over attempt starts its story again: no outcome, nothing alerted.
                outcome=Outcome.PROCESSING,
                alerted=False,
                alert_pending=None,
                error=None,
                hint=None,
            )
            self._records[ref.pk] = claimed
            return Claim(record=copy.deepcopy(claimed), taken=False)

    def claim_content(self, record: FileRecord) -> str | None:
        with self._lock:
            holder = self._contents.setdefault(content_pk(record), record.pk)
        return None if holder == record.pk else holder

    def release_content(self, record: FileRecord) -> None:
        with self._lock:
            if self._contents.get(content_pk(record)) == record.pk:
                del self._contents[content_pk(record)]

    def get(self, pk: str) -> FileRecord | None:
        with self._lock:
            current = self._records.get(pk)
        return copy.deepcopy(current)

    def save(self, record: FileRecord) -> None:
        with self._lock:
            self._revise(record)
            self._records[record.pk] = copy.deepcopy(record)

    def _revise(self, record: FileRecord) -> None:
        """Bumps the caller's copy, once it is known to be the stored record's latest revision."""
        current = self._records.get(record.pk)
        if current is None or current.revision != record.revision:
            raise RecordChanged(f"{record.uri} was changed by another attempt")
        record.updated_at = iso(utcnow())
        record.revision += 1
