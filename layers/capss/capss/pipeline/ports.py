"""What the pipeline needs from the world, as Protocols: it imports no SDK.

`capss.aws` implements the AWS ports, `capss.client` the CAPSS ones, `capss.intake` the
validator; `capss.aws` wires them together once per cold start, and tests plug in moto,
the simulator or `capss.pipeline.memory`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from capss.intake.report import Conversion, IntakeLimits, ValidationReport
from capss.kinds import FileKind
from capss.pipeline.files import FileRef
from capss.pipeline.uploaders import Allowed
from capss.pipeline.values import Alert, LicenseCredentials, ObjectInfo

if TYPE_CHECKING:
    from capss.pipeline.records import Claim, FileRecord


class RecordStore(Protocol):
    def claim(self, ref: FileRef, kind: str, lease: timedelta) -> Claim:
        """Take a file version. Taken (not ours) while another attempt holds an unexpired
        lease or once it was submitted; an expired claim is taken over."""
        ...

    def claim_content(self, record: FileRecord) -> str | None:
        """Take the record's bytes for its license and kind; the holder's pk when taken."""
        ...

    def release_content(self, record: FileRecord) -> None:
        """Gives the record's content claim up; a no-op when it no longer holds it."""
        ...

    def get(self, pk: str) -> FileRecord | None: ...

    def save(self, record: FileRecord) -> None:
        """Writes the record unless another attempt wrote it since it was read (RecordChanged)."""
        ...


class FileHistory(Protocol):
    """The records read back, for the monitor, the digest and the ops commands."""

    def files_for_license(self, license_number: str, since: datetime) -> list[FileRecord]:
        """The license's file records received at or after `since`, oldest first."""
        ...

    def files_since(self, since: datetime) -> list[FileRecord]:
        """Every license's file records received at or after `since`, oldest first."""
        ...

    def unfinished(self) -> list[FileRecord]:
        """Records not final, or final with an alert owed."""
        ...

    def pending_alerts(self, before: datetime) -> list[FileRecord]:
        """Records whose alert was marked to be sent before `before` and never noted sent."""
        ...


class DeadLetters(Protocol):
    def bodies(self, limit: int) -> list[str]:
        """The bodies of up to `limit` messages in the dead-letter queue, each left there."""
        ...


class UploaderRegister(Protocol):
    def allowed(self, license_number: str | None) -> Allowed:
        """Who may file for the license (None: a license-less key, chain-wide uploaders only),
        read afresh each time: a removed uploader loses its right at once."""
        ...


class ObjectStore(Protocol):
    def head(self, ref: FileRef) -> ObjectInfo: ...

    def download(self, ref: FileRef, dest: BinaryIO) -> None: ...

    def tag(self, ref: FileRef, tags: dict[str, str]) -> None: ...

    def read_uri(self, uri: str) -> bytes: ...

    def put(
        self, bucket: str, key: str, body: bytes | BinaryIO, metadata: dict[str, str]
    ) -> str | None:
        """Writes a new object (a seekable file is streamed); its version id."""
        ...


class UploadPresigner(Protocol):
    def presign_put(self, bucket: str, key: str, seconds: int, metadata: dict[str, str]) -> str:
        """A URL that PUTs one object at `key` for `seconds`, with exactly this metadata."""
        ...


class UploadKeys(Protocol):
    """Which licenses each API key of the upload endpoint may upload for (the register)."""

    def licenses_for_key(self, key_id: str) -> frozenset[str]:
        """Empty for a key bound to no license."""
        ...


class CsvConverter(Protocol):
    """The stack's mapping of a POS's CSV export (`capss.intake.convert.CsvMapping`)."""

    @property
    def name(self) -> str: ...

    def convert(
        self,
        source: BinaryIO,
        target: BinaryIO,
        license_number: str,
        limits: IntakeLimits,
        zone: tzinfo | None = None,
    ) -> Conversion:
        """Reads the export in `source` and writes the CAPSS file to `target`, only when it is
        clean; memory stays flat whatever the export's size."""
        ...


class StoreDesk(Protocol):
    """What the submit path reads and writes in the compliance register."""

    def zone(self, license_number: str) -> str | None:
        """The registered store's IANA zone; None when it is not registered."""
        ...

    def record_quiet(self, license_number: str, day: date, source: str) -> None:
        """The store says it has nothing to report for `day` (`source`: who said so)."""
        ...


class MessageQueue(Protocol):
    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None: ...


class ExecutionStarter(Protocol):
    def execution_arn(self, name: str) -> str: ...

    def start(self, name: str, payload: dict[str, Any]) -> None: ...


class AlertSender(Protocol):
    def send(self, alert: Alert) -> None: ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        """One event on the outcome bus; raises when it was not accepted."""
        ...


class Outlets(Protocol):
    """Where a final outcome goes: the record, the alert, the file's tag and the event."""

    @property
    def records(self) -> RecordStore: ...

    @property
    def alerts(self) -> AlertSender: ...

    @property
    def objects(self) -> ObjectStore: ...

    @property
    def events(self) -> EventPublisher | None: ...


class CredentialSource(Protocol):
    def for_license(
        self, license_number: str, stale: LicenseCredentials | None = None
    ) -> LicenseCredentials:
        """The license's client; with `stale`, the one CAPSS refused, read again from the
        store (past any cache) unless another caller already replaced it."""
        ...


class UploadClient(Protocol):
    def upload(
        self, fileobj: Any, filename: str, kind: FileKind, on_dup: str, on_error: str
    ) -> Any: ...

    def check_license(self, license_number: str | None) -> None: ...

    def __enter__(self) -> UploadClient: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class StatusClient(Protocol):
    def status(self, url: str) -> Any: ...

    def __enter__(self) -> StatusClient: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


ClientFactory = Callable[[LicenseCredentials], UploadClient]
StatusClientFactory = Callable[[LicenseCredentials], StatusClient]


class FileValidator(Protocol):
    """`capss.intake.validate_stream`'s shape."""

    def __call__(
        self,
        stream: BinaryIO,
        kind: FileKind = ...,
        *,
        size: int | None = ...,
        limits: IntakeLimits | None = ...,
        expected_license: str | None = ...,
        xsd: bytes | None = ...,
        zone: tzinfo | None = ...,
    ) -> ValidationReport: ...
