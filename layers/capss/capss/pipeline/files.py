"""Which file an S3 notification names, and what its key says about it.

Key layout (docs/pos.md documents it):
    incoming/transactions/<license>/<name>.xml    property transactions (bulk upload)
    incoming/item-updates/<license>/<name>.xml    corrections (item update)
    incoming/csv/<license>/<name>.csv             a POS's CSV export, converted to transactions
    incoming/quiet/<license>/<YYYY-MM-DD>         an empty marker: nothing to report that day
                                                  (recorded in the register, never sent)
The license segment is optional for XML (only a chain-wide uploader may leave it out); when
present the file's own license must match it. A CSV names no license of its own: its segment is
required. A key deeper than `<kind>/<license>/<name>` is outside the layout: the license is the
segment right after the kind, never one further down.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import unquote_plus

from capss.kinds import FileKind
from capss.pipeline.uploaders import Uploader

INCOMING_PREFIX = "incoming/"
CSV_SEGMENT = "csv"
QUIET_SEGMENT = "quiet"
_EXECUTION_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_EXECUTION_NAME_MAX = 80


@dataclass(frozen=True, slots=True)
class FileRef:
    """One version of one object: the unit the bridge sends exactly once."""

    bucket: str
    key: str
    version_id: str | None
    size: int | None = None
    uploader: Uploader | None = field(default=None, compare=False)
    """Who put this version, from its S3 event (None where no event is at hand)."""

    @property
    def pk(self) -> str:
        return f"FILE#{self.bucket}/{self.key}#{self.version_id or 'null'}"

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def uri(self) -> str:
        version = f" (version {self.version_id})" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{version}"

    @property
    def execution_name(self) -> str:
        """A Step Functions execution name that is the same for every event of this version.

        AWS allows 80 characters of [A-Za-z0-9-_]; the digest keeps names unique when
        the readable stem is cut short.
        """
        digest = hashlib.sha256(self.pk.encode()).hexdigest()[:32]
        stem = _EXECUTION_NAME_UNSAFE.sub("-", self.name.rsplit(".", 1)[0]).strip("-")
        stem = stem[: _EXECUTION_NAME_MAX - len(digest) - 1] or "file"
        return f"{stem}-{digest}"


@dataclass(frozen=True, slots=True)
class Route:
    kind: FileKind
    license_number: str | None
    csv: bool = False
    """A POS export the stack's mapping converts to a transactions file before sending."""


def route(key: str) -> Route | None:
    """The kind (and license, if given) a key's place says; None for keys outside the layout."""
    parts = key.split("/")
    if len(parts) not in (3, 4) or f"{parts[0]}/" != INCOMING_PREFIX or not all(parts[1:]):
        return None
    if parts[1] == CSV_SEGMENT:
        if len(parts) != 4:
            return None
        return Route(kind=FileKind.TRANSACTIONS, license_number=parts[2], csv=True)
    try:
        kind = FileKind(parts[1])
    except ValueError:
        return None
    return Route(kind=kind, license_number=parts[2] if len(parts) == 4 else None)


@dataclass(frozen=True, slots=True)
class QuietMarker:
    license_number: str
    day: date


def quiet_marker(key: str) -> QuietMarker | None:
    """`incoming/quiet/<license>/<YYYY-MM-DD>`; None for any other key (a malformed marker is
    then refused as outside the layout)."""
    parts = key.split("/")
    if len(parts) != 4 or parts[:2] != ["incoming", QUIET_SEGMENT] or not parts[2]:
        return None
    try:
        return QuietMarker(parts[2], date.fromisoformat(parts[3]))
    except ValueError:
        return None


def refs_from_s3_notification(body: str | dict[str, Any]) -> list[FileRef]:
    """The object versions an S3 event notification names (S3's test event names none)."""
    message = json.loads(body) if isinstance(body, str) else body
    refs = []
    for record in message.get("Records", []):
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        refs.append(
            FileRef(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),
                version_id=obj.get("versionId"),
                size=obj.get("size"),
                uploader=Uploader.from_event_record(record),
            )
        )
    return refs
