"""Jobs: what CAPSS decides about an accepted file, and the status bodies it answers."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from local.simulator._upload import Item, UploadFile

Kind = Literal["transactions", "item-updates"]
Outcome = Literal["clean", "with_issues", "not_uploaded", "failed"]

ON_DUP = {"cancel": "cancel", "submitDups": "submitDups", "submitWithoutDup": "submitWithoutDup"}
ON_DUP["submitWithoutDups"] = "submitWithoutDup"  # a public client's spelling; CAPSS's is unknown
ON_ERROR = {"cancel", "submit"}

# CAPSS answers in Pacific time, Java style.
_PACIFIC = dt.timezone(dt.timedelta(hours=-8), "PST")

STATUS_PATHS = {
    ("current", "transactions"): "/api/bulkimport/status/",
    ("current", "item-updates"): "/api/itemupdate/status/",
    ("legacy", "transactions"): "/api/bulkupload/show/",
    ("legacy", "item-updates"): "/api/itemupdate/show/",
}
NEW_PATHS = {
    ("current", "transactions"): "/api/bulkimport/save",
    ("current", "item-updates"): "/api/itemupdate/updateItem",
    ("legacy", "transactions"): "/api/bulkupload/save",
    ("legacy", "item-updates"): "/api/itemupdate/updateItem",
}


@dataclass
class Job:
    """One accepted file. Counts are fixed when the file is accepted; polls move the status."""

    id: int
    submission_id: str
    license_number: str
    client_id: str
    generation: str
    kind: Kind
    file_name: str
    on_dup: str
    on_error: str
    total_transactions: int
    total_items: int
    saved_transactions: int
    saved_items: int
    error_items: int
    duplicate_items: int
    outcome: Outcome
    messages: list[str] = field(default_factory=list)
    polls: int = 0
    status: Literal["new", "complete", "failed"] = "new"
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(_PACIFIC))
    completed_at: dt.datetime | None = None
    data: bytes = b""
    """The file as CAPSS received it."""

    @property
    def status_path(self) -> str:
        return f"{STATUS_PATHS[self.generation, self.kind]}{self.id}"


class JobBook:
    """Every job, and the items already saved per license (for duplicate detection)."""

    def __init__(self, polls_to_complete: int) -> None:
        self.polls_to_complete = max(1, polls_to_complete)
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
        self._saved: set[tuple[str, ...]] = set()
        self._next_id = 512679

    def create(
        self,
        upload: UploadFile,
        *,
        client_id: str,
        generation: str,
        kind: Kind,
        file_name: str,
        on_dup: str,
        on_error: str,
        data: bytes = b"",
    ) -> Job:
        with self._lock:
            job_id = self._next_id
            self._next_id += 1
            job = _decide(
                self._saved,
                upload,
                Job(
                    id=job_id,
                    submission_id=str(uuid.uuid4()),
                    license_number=upload.license_number,
                    client_id=client_id,
                    generation=generation,
                    kind=kind,
                    file_name=file_name,
                    on_dup=on_dup,
                    on_error=on_error,
                    total_transactions=upload.transactions,
                    total_items=len(upload.items),
                    saved_transactions=0,
                    saved_items=0,
                    error_items=0,
                    duplicate_items=0,
                    outcome="clean",
                    data=data,
                ),
            )
            self._jobs[job_id] = job
            return replace(job)

    def poll(self, job_id: int, license_number: str, generation: str, kind: Kind) -> Job | None:
        """Counts one status call and returns the job as it now stands, or None if not visible."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or (job.license_number, job.generation, job.kind) != (
                license_number,
                generation,
                kind,
            ):
                return None
            job.polls += 1
            if job.status == "new" and job.polls >= self.polls_to_complete:
                job.status = "failed" if job.outcome == "failed" else "complete"
                job.completed_at = dt.datetime.now(_PACIFIC)
            return replace(job, messages=list(job.messages))

    def snapshot(self) -> list[Job]:
        with self._lock:
            return [replace(job, messages=list(job.messages)) for job in self._jobs.values()]


def _decide(saved: set[tuple[str, ...]], upload: UploadFile, job: Job) -> Job:
    """Applies CAPSS's rules to the file's items; records what was saved (caller holds the lock)."""
    if upload.rejected or any(item.fail for item in upload.items):
        job.outcome = "failed"
        job.messages.append(f"Error processing file {job.file_name}. Please contact CAPSS support.")
        return job
    errors = [item for item in upload.items if item.error]
    seen: set[tuple[str, ...]] = set()
    duplicates = []
    if job.kind == "transactions":
        for item in upload.items:
            key = (upload.license_number, *item.key)
            if key in saved or key in seen:
                duplicates.append(item)
            seen.add(key)
    job.error_items = len(errors)
    job.duplicate_items = len(duplicates)
    job.messages.extend(
        f"{_where(item)}: customer {item.quote!r} does not match the seller on record"
        if item.quote
        else f"{_where(item)}: item has errors and was not saved"
        for item in errors
    )
    job.messages.extend(
        f"{_where(item)}: duplicate of an item already in CAPSS" for item in duplicates
    )
    if (duplicates and job.on_dup == "cancel") or (errors and job.on_error == "cancel"):
        job.outcome = "not_uploaded"
        reason = "duplicates" if duplicates and job.on_dup == "cancel" else "errors"
        job.messages.append(f"File {job.file_name} was not uploaded: it contains {reason}.")
        return job
    skipped = {id(item) for item in errors}
    if job.on_dup != "submitDups":
        skipped |= {id(item) for item in duplicates}
    kept = [item for item in upload.items if id(item) not in skipped]
    saved.update((upload.license_number, *item.key) for item in kept)
    job.saved_items = len(kept)
    job.saved_transactions = (
        len({item.transaction for item in kept}) if job.kind == "transactions" else len(kept)
    )
    job.outcome = "with_issues" if errors or duplicates else "clean"
    return job


def _where(item: Item) -> str:
    if item.transaction:
        return f"Transaction {item.transaction}, item {item.position} ({item.loan_buy_number})"
    return f"Item {item.position} ({item.loan_buy_number})"


def accepted_body(job: Job, base_url: str) -> dict[str, Any]:
    """The 202 answer to a save or updateItem."""
    # The sandbox's item update answered "complete" at once, though the job still has a status.
    immediate = job.generation == "current" and job.kind == "item-updates"
    return {
        "licenseNumber": job.license_number,
        "status": "complete" if immediate else "new",
        "submission": {"submissionId": job.submission_id},
        "links": {
            "href": base_url + job.status_path,
            "rel": "rel" if job.generation == "current" else "show",
        },
    }


def status_body(job: Job, base_url: str) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of a status call, in the job's generation's shape."""
    if job.generation == "current":
        return _current(job)
    return _legacy(job, base_url)


def _current(job: Job) -> tuple[int, dict[str, Any]]:
    code = {"new": 202, "complete": 200, "failed": 500}[job.status]
    done = job.status == "complete"
    uploaded = done and job.outcome in ("clean", "with_issues")
    success: list[str] = []
    if uploaded:
        success.append(_success_message(job))
    when = job.completed_at
    statistics = []
    if done and job.kind == "transactions":
        statistics = [
            "Bulk Uploads: 1",
            f"Total Transations: {job.total_transactions}",
            f"Saved Transactions: {job.saved_transactions}",
            f"Total Items: {job.total_items}",
            f"Saved Items: {job.saved_items}",
            f"Error Items: {job.error_items}",
        ]
    issues = job.error_items > 0 or job.duplicate_items > 0
    return code, {
        "fileName": job.file_name,
        "status": code,
        "successMessages": success,
        "errorMessages": list(job.messages) if job.status != "new" else [],
        "savedCount": job.saved_transactions if uploaded else 0,
        "hasDuplicates": job.status != "new" and job.duplicate_items > 0,
        "isUploaded": uploaded,
        "hasErrors": job.status == "failed" or (done and job.error_items > 0),
        "completedAt": (
            _java_local_datetime(when) if when is not None and job.kind == "transactions" else None
        ),
        "statusMessage": {"new": "processing", "complete": "complete", "failed": "error"}[
            job.status
        ],
        "notifyDupsOrErrors": job.status == "failed" or (done and issues),
        "jobStatisticsMessageList": statistics,
    }


def _legacy(job: Job, base_url: str) -> tuple[int, dict[str, Any]]:
    if job.status == "new":
        # While it runs the answer keeps pointing at the status; once done, at a new upload.
        return 202, {
            "licenseNumber": job.license_number,
            "status": "new",
            "stores": [],
            "links": {"href": base_url + job.status_path, "rel": "show"},
        }
    again = {"href": base_url + NEW_PATHS[job.generation, job.kind], "rel": "new"}
    message = (
        _success_message(job)
        if job.outcome in ("clean", "with_issues")
        else " ".join(job.messages[-1:])
    )
    if job.status == "failed":
        return 500, {
            "licenseNumber": job.license_number,
            "status": "error",
            "stores": [_store(job, "error", message)],
            "links": again,
            "statusMessage": message,
        }
    if job.kind == "item-updates":
        return 200, {
            "licenseNumber": job.license_number,
            "status": "complete",
            "statistics": {
                "totalItems": job.total_items,
                "savedItems": job.saved_items,
                "errorItems": job.error_items,
                "duplicateItems": job.duplicate_items,
            },
            "links": again,
            "statusMessage": message,
        }
    statistics = {
        "totalBulks": 1,
        "totalTransactions": job.total_transactions,
        "totalItems": job.total_items,
        "savedTransactions": job.saved_transactions,
        "savedItems": job.saved_items,
        "errorItems": job.error_items,
    }
    if job.duplicate_items:
        statistics["duplicateItems"] = job.duplicate_items
    return 200, {
        "licenseNumber": job.license_number,
        "status": "complete",
        "statistics": statistics,
        "stores": [_store(job, "complete", message)] if job.messages else [],
        "links": again,
        "statusMessage": message,
    }


def _store(job: Job, status: str, message: str) -> dict[str, Any]:
    return {
        "errors": list(job.messages),
        "licenseNumber": job.license_number,
        "status": status,
        "statusMessage": message,
    }


def _success_message(job: Job) -> str:
    when = job.completed_at or job.created_at
    if job.generation == "legacy":
        stamp = when.strftime("%a %b %d %H:%M:%S %Z %Y")
        if job.kind == "item-updates":
            return (
                "Successfully updated Property Transaction Items. "
                f"File {job.file_name} uploaded {job.saved_items} record(s) at {stamp}."
            )
        return (
            f"Successfully uploaded file. File {job.file_name} uploaded "
            f"{job.saved_transactions} record(s) at {stamp}."
        )
    if job.kind == "item-updates":
        stamp = when.replace(tzinfo=None).isoformat(timespec="microseconds")
        return (
            f"Successfully updated Property Transaction Items File {job.file_name} "
            f"uploaded {job.saved_items} record(s) at {stamp}."
        )
    return (
        f"Successfully uploaded file. File {job.file_name} uploaded "
        f"{job.saved_transactions} record(s) at {when.date().isoformat()}."
    )


def _java_local_datetime(when: dt.datetime) -> list[int]:
    """Jackson's array form of a LocalDateTime: year, month, day, hour, minute, second, nanos."""
    return [
        when.year,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second,
        when.microsecond * 1000,
    ]
