"""Submit one file version to CAPSS, exactly once.

The order matters:
1. claim the version (conditional write): a duplicate event finds it taken;
2. read and validate: an invalid file is `rejected` and alerted, never sent;
3. claim the content: the same bytes for the same license and kind are not sent twice;
4. record the attempt (phase `uploading`) *before* the POST, then upload;
5. record `processing` with CAPSS's submission id and status link, start the poller.

A crash between 4 and 5 leaves an attempt on record without a result. The retry that
takes the version over does not know whether CAPSS has the file, so it sends again with
a skip-duplicates onDup: CAPSS drops what it already saved, nothing is reported twice,
and the record says so. (Alerting instead would leave a legal deadline to a person for
a case CAPSS resolves by itself.)
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from capss.bounds import LIST_LIMIT, clip
from capss.errors import (
    CapssError,
    NeedsPersonError,
    ProtocolError,
    RequestRejected,
    TransientError,
)
from capss.intake.report import IntakeLimits, ValidationReport
from capss.kinds import ON_DUP_CHOICES, ON_ERROR_CHOICES, SKIP_CHOICES, SKIP_DUPLICATES, FileKind
from capss.outcome import Outcome
from capss.pipeline import advice
from capss.pipeline.alerts import tell
from capss.pipeline.converted import convert_export, upload_name
from capss.pipeline.credentials import with_credentials
from capss.pipeline.events import announce
from capss.pipeline.files import FileRef, quiet_marker, refs_from_s3_notification, route
from capss.pipeline.finish import count_outcome
from capss.pipeline.onfile import handle_customer_data
from capss.pipeline.ports import (
    AlertSender,
    ClientFactory,
    CredentialSource,
    CsvConverter,
    EventPublisher,
    ExecutionStarter,
    FileValidator,
    MessageQueue,
    ObjectStore,
    Outlets,
    RecordStore,
    StoreDesk,
    UploaderRegister,
)
from capss.pipeline.presign import METADATA_LICENSE
from capss.pipeline.records import FileRecord, Phase, RecordChanged, expiry, iso, utcnow
from capss.pipeline.settings import SubmitSettings
from capss.pipeline.values import LicenseCredentials, ObjectInfo
from capss.telemetry import Metric, about, logger, measure

LEASE = timedelta(minutes=10)
"""Longer than the submit function's timeout: an expired lease means that attempt died."""

RELEASED = "1970-01-01T00:00:00+00:00"
"""A lease that has run out: the queue's next delivery may take the file over at once."""
METADATA_ON_DUP = "capss-on-dup"
METADATA_ON_ERROR = "capss-on-error"
METADATA_RESEND = "capss-resend"


class InProgressElsewhere(TransientError):
    """Another attempt holds this file version right now; the queue brings it back later."""


@dataclass(slots=True)
class SubmitDeps:
    records: RecordStore
    objects: ObjectStore
    credentials: CredentialSource
    clients: ClientFactory
    executions: ExecutionStarter
    alerts: AlertSender
    queue: MessageQueue
    validate: FileValidator
    uploaders: UploaderRegister
    xsd: Callable[[], bytes | None] = field(default=lambda: None)
    events: EventPublisher | None = None
    convert: CsvConverter | None = None
    stores: StoreDesk | None = None
    """The register: a store's zone, and quiet-day markers (refused as outside the layout
    without it)."""


QUEUE_BACKOFF_FIRST = 120
QUEUE_BACKOFF_CAP = 900
"""Seconds before the queue brings a file back: 120, 240, 480, 900 (about 30 min in all
with five receives), or longer when CAPSS asked for it with Retry-After."""
SQS_MAX_VISIBILITY = 43_200 - 600
"""ChangeMessageVisibility refuses a message more than 12 h from its receipt: a longer
Retry-After is cut to that, less the submit function's longest run (300 s) with room to
spare, instead of being refused and falling back to the queue's 30 minutes."""


def queue_backoff(attempt: int, retry_after: float | None = None) -> int:
    wait = min(QUEUE_BACKOFF_FIRST * 2 ** max(attempt - 1, 0), QUEUE_BACKOFF_CAP)
    return int(min(max(wait, retry_after or 0), SQS_MAX_VISIBILITY))


def submit_message(message: dict[str, Any], deps: SubmitDeps, settings: SubmitSettings) -> bool:
    """One SQS message of S3 notifications; False when the queue should bring it back.

    A transient failure comes back later, each time later than before. The last receive
    records the file as failed and alerts (the message then waits in the dead-letter
    queue, from where a redrive sends the file once CAPSS is back): never silently.
    """
    attempt = int(message.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        for ref in refs_from_s3_notification(message["body"]):
            marker = quiet_marker(ref.key)
            if marker is not None and deps.stores is not None:
                # A statement for the register, not a file for CAPSS.
                deps.stores.record_quiet(marker.license_number, marker.day, ref.uri)
                logger.info("quiet day recorded", extra={"day": marker.day.isoformat()})
                continue
            try:
                submit_file(ref, deps, settings)
            except Exception as error:
                # Any error, not only a transient one: a DynamoDB error after boto's own
                # retries or a full /tmp would otherwise reach the dead-letter queue untold.
                if attempt >= settings.max_receives:
                    _give_up(ref, deps, error, attempt, settings)
                raise
    except TransientError as error:
        logger.warning("will retry", extra={"error": error.own_words(), "attempt": attempt})
        if attempt < settings.max_receives:
            deps.queue.delay(
                message["eventSourceARN"],
                message["receiptHandle"],
                queue_backoff(attempt, error.retry_after),
            )
        return False
    return True


def _give_up(
    ref: FileRef, deps: SubmitDeps, error: Exception, attempts: int, settings: SubmitSettings
) -> None:
    """The last try: the file gets an outcome and ops an alert, unless another attempt has it.

    A file CAPSS accepted whose poller never started (StartExecution throttled on every
    receive) is told too: its phase stays `submitted`, so a redrive starts the poller, whose
    finish records and alerts the real outcome.
    """
    record = deps.records.get(ref.pk)
    if record is None or record.phase is Phase.DONE or record.alerted or record.held():
        return
    hint = advice.give_up(maybe_in_capss=record.maybe_in_capss, where=settings.deployment)
    give_up(record, deps, f"{error} (after {attempts} tries)", hint, where=settings.deployment)


DEAD_LETTER = (
    "Its S3 event reached the intake dead-letter queue with no outcome recorded: the submit"
    " function stopped on every try before it could say why."
)


def dead_letter(ref: FileRef, outlets: Outlets, *, where: advice.Deployment) -> bool:
    """A file whose event lies in the dead-letter queue, however it got there: recorded
    `failed` and alerted unless that was done (by the last receive) or an attempt holds it;
    True when an alert went now. The message stays for `capss redrive`.

    A file with no record at all (the function timed out before any code ran) gets one, with
    its claim let go at once so a redrive takes it over."""
    place = route(ref.key)
    record = outlets.records.get(ref.pk)
    if record is None:
        claim = outlets.records.claim(
            ref, (place.kind if place else FileKind.TRANSACTIONS).value, LEASE
        )
        if claim.taken:
            return False
        record = claim.record
        record.lease_until = RELEASED
    elif record.phase is Phase.DONE:
        return tell(record, outlets, where=where, alert_on_complete=False)
    elif record.alerted or record.held():
        return False
    if record.license is None and place is not None:
        # Stopped before its license was read: filed under its folder's, for the store's
        # filtered subscription and ops filters.
        record.license = place.license_number
    hint = advice.dead_letter(maybe_in_capss=record.maybe_in_capss, where=where)
    return give_up(record, outlets, DEAD_LETTER, hint, where=where)


def give_up(
    record: FileRecord, outlets: Outlets, error: str, hint: str, *, where: advice.Deployment
) -> bool:
    """`failed`, recorded and alerted; the phase is left as it was, so a redrive takes the
    file over (or starts the poller of a file CAPSS accepted, whose advice says so). False
    when another attempt moved the file on."""
    record.outcome = Outcome.FAILED
    record.error = clip(error)
    record.hint = advice.POLLER_NOT_STARTED if record.phase is Phase.SUBMITTED else hint
    record.completed_at = iso(utcnow())
    try:
        outlets.records.save(record)
    except RecordChanged:
        return False  # another attempt moved the file on: its story, not this one's
    count_outcome(record)
    return tell(record, outlets, where=where, alert_on_complete=False)


def submit_file(ref: FileRef, deps: SubmitDeps, settings: SubmitSettings) -> FileRecord:
    """Take one S3 object version through the submit steps; returns its record.

    Raises TransientError when the queue should bring the file back later; every
    other failure a person must fix ends in a recorded outcome and an alert.
    """
    place = route(ref.key)
    kind = place.kind if place else FileKind.TRANSACTIONS
    claim = deps.records.claim(ref, kind.value, LEASE)
    record = claim.record
    about(file=ref.uri)
    if claim.taken:
        return _already_taken(ref, record, deps, settings)
    if ref.uploader is not None:
        record.uploaded_by = ref.uploader.principal
        record.uploaded_from = ref.uploader.source_ip
        record.uploaded_at = ref.uploader.time
    # Saved with the record's next write, which every path below makes.
    record.expires_at = record.expires_at or expiry(record.received_at, settings.retention_days)
    if place is None or (place.csv and deps.convert is None):
        return _reject(
            record,
            deps,
            settings,
            problems=[
                {
                    "severity": "error",
                    "code": "key-layout",
                    "message": clip(
                        f"{ref.key} is not incoming/transactions/<license>/<name>,"
                        " incoming/item-updates/<license>/<name> or incoming/csv/<license>/<name>"
                        " (one license folder, nothing deeper), so the bridge cannot tell what"
                        " it is or whose it is"
                    ),
                }
            ],
        )
    if record.phase is Phase.UPLOADING:
        record.maybe_in_capss = True  # an attempt died after its POST went out
    try:
        info = deps.objects.head(ref)
        refusal = _uploader_refusal(record, place.license_number, info, deps, settings)
        if refusal is not None:
            record.license = place.license_number
            record.hint = advice.uploader_not_allowed(record, settings.deployment)
            return _reject(record, deps, settings, problems=[refusal])
        return _validate_and_send(
            ref,
            record,
            info,
            deps,
            settings,
            key_license=place.license_number,
            blind_resend=record.maybe_in_capss,
            from_csv=place.csv,
        )
    except (NeedsPersonError, ProtocolError) as error:
        return _fail(record, deps, error, settings)
    except Exception:
        # Hand the file back at once, whatever went wrong: the queue's next delivery (or the
        # last receive's give-up), not a lease, decides what happens next.
        record.lease_until = RELEASED
        with contextlib.suppress(RecordChanged):
            deps.records.save(record)
        raise


def _already_taken(
    ref: FileRef, record: FileRecord, deps: SubmitDeps, settings: SubmitSettings
) -> FileRecord:
    """A duplicate event, a redelivery or a retry: finish what an earlier attempt left undone."""
    if record.phase in (Phase.CLAIMED, Phase.UPLOADING):
        raise InProgressElsewhere(f"{ref.uri} is being submitted by another attempt")
    logger.info("file version already handled", extra={"phase": record.phase})
    if record.phase is Phase.SUBMITTED:
        # The attempt may have died between recording the submission and starting the
        # poller; starting it again under the same name and input is a no-op otherwise.
        announce(record, deps.records, deps.events, where=settings.deployment)
        deps.executions.start(ref.execution_name, poller_input(record, settings))
    else:
        tell(record, deps, where=settings.deployment, alert_on_complete=settings.alert_on_complete)
    return record


def _uploader_refusal(
    record: FileRecord,
    key_license: str | None,
    info: ObjectInfo,
    deps: SubmitDeps,
    settings: SubmitSettings,
) -> dict[str, Any] | None:
    """The problem that keeps a file from being sent because of who uploaded it, if any.

    Checked before the file is read: a foreign upload is never validated, converted or sent.
    """
    allowed = deps.uploaders.allowed(key_license)
    if settings.presign_role_id:
        allowed = replace(allowed, presign_role=settings.presign_role_id)
    signed = info.metadata.get(METADATA_LICENSE)
    if allowed.permits(record.uploaded_by, key_license, signed):
        return None
    who = record.uploaded_by or "an unknown principal (the S3 event named none)"
    where = f" from {record.uploaded_from}" if record.uploaded_from else ""
    if key_license is None:
        why = (
            f"{who}{where} may not drop a key without a license folder: only a chain-wide"
            " uploader may, and it is not one"
        )
    elif (
        allowed.presign_role
        and record.uploaded_by
        and allowed.permits(record.uploaded_by, key_license, key_license)
    ):
        why = (
            f"this presigned upload{where} was signed for license {clip(signed or 'none', 40)},"
            f" not {key_license}"
        )
    else:
        why = f"{who}{where} is not registered to file for license {key_license}"
    measure(Metric.FOREIGN_UPLOADS, 1)
    logger.warning(
        "uploader not allowed",
        extra={"uploader": record.uploaded_by, "source_ip": record.uploaded_from},
    )
    return {"severity": "error", "code": "uploader-not-allowed", "message": f"{why}: not sent"}


def _validate_and_send(
    ref: FileRef,
    record: FileRecord,
    info: ObjectInfo,
    deps: SubmitDeps,
    settings: SubmitSettings,
    *,
    key_license: str | None,
    blind_resend: bool,
    from_csv: bool = False,
) -> FileRecord:
    record.size = info.size
    kind = FileKind(record.kind)
    limits = IntakeLimits(max_bytes=settings.max_file_bytes)
    zone = _store_zone(deps, key_license)
    with tempfile.TemporaryFile() as local_copy:
        # One bounded copy in /tmp serves the validator and the upload; the size limit is
        # enforced on the object's size before a byte is copied.
        if info.size <= settings.max_file_bytes:
            deps.objects.download(ref, local_copy)
        size: int | None = info.size
        if from_csv and info.size <= settings.max_file_bytes and deps.convert is not None:
            converted = convert_export(
                ref,
                record,
                local_copy,
                converter=deps.convert,
                objects=deps.objects,
                license_number=key_license or "",
                limits=limits,
                zone=zone,
            )
            if not converted:
                return _reject(record, deps, settings)
            size = None  # the converted file's: the validator measures it

        def validate(stream: BinaryIO, size: int | None = None) -> ValidationReport:
            stream.seek(0)
            return deps.validate(
                stream,
                kind,
                size=size,
                limits=limits,
                expected_license=key_license,
                xsd=deps.xsd(),
                zone=zone,
            )

        report = validate(local_copy, size)
        _note_report(record, report, key_license)
        if not report.ok:
            return _reject(record, deps, settings)
        if report.customer_data and not handle_customer_data(
            ref,
            record,
            report,
            local_copy,
            mode=settings.customer_fields,
            objects=deps.objects,
            revalidate=validate,
        ):
            return _reject(record, deps, settings)
        resend = info.metadata.get(METADATA_RESEND, "").lower() == "true"
        if not blind_resend and not resend:
            holder = _claim_content(record, deps)
            if holder is not None:
                return _reject_identical(record, deps, settings, holder)
        on_dup, on_error = _options(record, info.metadata, settings)
        if blind_resend:
            # The operator's spelling of "skip duplicates" when it is one, else the generation's.
            on_dup = settings.on_dup if settings.on_dup in SKIP_CHOICES else SKIP_DUPLICATES
            record.resent = True
            record.notes.append(
                "An earlier upload attempt ended without an answer; sent again with"
                f" onDup={on_dup} so CAPSS skips anything it already saved."
            )
        local_copy.seek(0)
        receipt = with_credentials(
            deps.credentials,
            report.license_number or "",
            lambda c: _upload(record, deps, c, local_copy, on_dup=on_dup, on_error=on_error),
        )
    record.upload_attempts += receipt.attempts - 1
    record.on_dup = receipt.on_dup
    record.maybe_in_capss = True
    if receipt.status_url is None:
        # An item update CAPSS finished at once, with no job to follow.
        record.submission_id = receipt.submission_id
        record.submitted_at = iso(utcnow())
        record.outcome = Outcome.COMPLETE
        return _finish_early(record, deps, settings, alert_on_complete=settings.alert_on_complete)
    record.phase = Phase.SUBMITTED
    record.submission_id = receipt.submission_id
    record.status_url = receipt.status_url
    record.submitted_at = iso(utcnow())
    name = ref.execution_name
    record.execution_arn = deps.executions.execution_arn(name)
    deps.records.save(record)
    # Before the poller starts: its steps write the record too, and would race this save.
    announce(record, deps.records, deps.events, where=settings.deployment)
    deps.executions.start(name, poller_input(record, settings))
    measure(Metric.FILES_SUBMITTED, 1)
    logger.info("submitted to CAPSS", extra={"submission": record.submission_id})
    return record


def _upload(
    record: FileRecord,
    deps: SubmitDeps,
    credentials: LicenseCredentials,
    fileobj: Any,
    *,
    on_dup: str,
    on_error: str,
) -> Any:
    with deps.clients(credentials) as client:
        client.check_license(record.license)  # the token comes first: no upload is at stake
        record.phase = Phase.UPLOADING
        record.upload_attempts += 1
        record.on_dup, record.on_error = on_dup, on_error
        record.lease_until = iso(utcnow() + LEASE)
        deps.records.save(record)
        try:
            name = upload_name(record)
            return client.upload(fileobj, name, FileKind(record.kind), on_dup, on_error)
        except TransientError as error:
            record.error = clip(str(error))
            record.upload_attempts += max(error.attempts - 1, 0)
            record.maybe_in_capss = record.maybe_in_capss or error.maybe_accepted
            if not record.maybe_in_capss:
                record.phase = Phase.CLAIMED  # CAPSS certainly has nothing: a retry sends as new
            raise
        except ProtocolError as error:
            record.maybe_in_capss = True
            raise NeedsPersonError(
                str(error), hint=advice.UNREADABLE_UPLOAD_ANSWER, quoted=error.quoted
            ) from error


def poller_input(record: FileRecord, settings: SubmitSettings) -> dict[str, Any]:
    """The state machine's input: keys and ids only, never a token, a secret or the file."""
    return {
        "file_id": record.pk,
        "bucket": record.bucket,
        "key": record.key,
        "version_id": record.version_id,
        "license": record.license,
        "kind": record.kind,
        "submission_id": record.submission_id,
        "status_url": record.status_url,
        "poll": {
            "outcome": Outcome.PROCESSING.value,
            "wait_seconds": settings.poll.first_wait_seconds,
            "polls": 0,
            "waited_seconds": 0,
            "within_budget": True,
        },
    }


def _store_zone(deps: SubmitDeps, license_number: str | None) -> ZoneInfo | None:
    """The registered store's zone, which dates transaction times given with an offset; None
    (California's) for a store the register does not know or a key that names no license."""
    if deps.stores is None or not license_number:
        return None
    name = deps.stores.zone(license_number)
    return ZoneInfo(name) if name else None


def _options(
    record: FileRecord, metadata: dict[str, str], settings: SubmitSettings
) -> tuple[str, str]:
    """Per-file onDup/onError from object metadata; an unknown value keeps the stack's, noted."""
    chosen = []
    for name, default, choices in (
        (METADATA_ON_DUP, settings.on_dup, ON_DUP_CHOICES),
        (METADATA_ON_ERROR, settings.on_error, ON_ERROR_CHOICES),
    ):
        value = metadata.get(name, default)
        if value not in choices:
            record.notes.append(
                f"Object metadata {name}={value!r} is not one of {', '.join(choices)}:"
                f" sent with the stack's {default!r}."
            )
            value = default
        chosen.append(value)
    return chosen[0], chosen[1]


def _note_report(record: FileRecord, report: ValidationReport, key_license: str | None) -> None:
    # A file too broken to name its license is still filed under its folder's, for ops filters.
    record.license = report.license_number or key_license
    record.sha256 = report.sha256
    record.note_facts(report)
    # The validator keeps up to 200 problems; the record keeps the first ones, each clipped.
    problems = report.to_json()["problems"]
    record.problems = [
        {name: clip(value) if isinstance(value, str) else value for name, value in problem.items()}
        for problem in problems[:LIST_LIMIT]
    ]
    if len(problems) > LIST_LIMIT:
        record.notes.append(
            f"{len(problems) - LIST_LIMIT} more problems are not kept here: run"
            " `capss validate` on the file for the full list."
        )


def _claim_content(record: FileRecord, deps: SubmitDeps) -> str | None:
    """The pk of an earlier file with these bytes that stands in the way, if any.

    An earlier file that CAPSS certainly does not have (never sent, or refused for good)
    gives its claim up; one being sent right now makes this file wait its turn.
    """
    holder = deps.records.claim_content(record)
    if holder is None:
        return None
    earlier = deps.records.get(holder)
    if earlier is not None and earlier.held():
        raise InProgressElsewhere(f"an identical file, {earlier.uri}, is being sent right now")
    never_sent = earlier is None or (
        not earlier.maybe_in_capss
        and (earlier.phase is Phase.CLAIMED or earlier.outcome is Outcome.FAILED)
    )
    if not never_sent:
        return holder
    if earlier is not None:
        deps.records.release_content(earlier)
    return deps.records.claim_content(record)


def _reject(
    record: FileRecord,
    deps: SubmitDeps,
    settings: SubmitSettings,
    problems: list[dict[str, Any]] | None = None,
) -> FileRecord:
    if problems is not None:
        record.problems = problems
    if any(problem.get("code") == "xsd-unusable" for problem in record.problems):
        record.hint = advice.xsd_unusable(settings.deployment)
    record.outcome = Outcome.REJECTED
    return _finish_early(record, deps, settings)


def _reject_identical(
    record: FileRecord, deps: SubmitDeps, settings: SubmitSettings, holder: str
) -> FileRecord:
    earlier = deps.records.get(holder)
    where = earlier.uri if earlier else holder
    record.duplicate_of = holder
    record.notes.append(
        f"Identical to {where}, already sent for license {record.license}: not sent again."
    )
    record.hint = advice.identical_file(record)
    return _reject(record, deps, settings)


def _fail(
    record: FileRecord, deps: SubmitDeps, error: CapssError, settings: SubmitSettings
) -> FileRecord:
    record.outcome = Outcome.FAILED
    record.error = clip(str(error))
    record.capss_refused = isinstance(error, RequestRejected)
    record.hint = advice.for_error(error, record, settings.deployment)
    logger.warning(
        "file failed", extra={"error": error.own_words(), "error_type": type(error).__name__}
    )
    return _finish_early(record, deps, settings)


def _finish_early(
    record: FileRecord,
    deps: SubmitDeps,
    settings: SubmitSettings,
    *,
    alert_on_complete: bool = False,
) -> FileRecord:
    record.phase = Phase.DONE
    record.completed_at = iso(utcnow())
    deps.records.save(record)
    count_outcome(record)
    tell(record, deps, where=settings.deployment, alert_on_complete=alert_on_complete)
    logger.info("file finished before CAPSS", extra={"outcome": record.outcome.value})
    return record
