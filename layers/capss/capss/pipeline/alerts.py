"""Telling people what became of a file: the alert email, once, and the tag beside the file.

An alert is composed from the file's record alone, so every path (rejected at intake,
refused by CAPSS, finished with issues, timed out) reads the same way: what happened,
the counts, what CAPSS said, and what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from capss.bounds import clip, clip_list
from capss.intake.report import problem_text
from capss.outcome import Counts, Outcome
from capss.pipeline import advice
from capss.pipeline.events import announce
from capss.pipeline.files import FileRef
from capss.pipeline.ports import AlertSender, ObjectStore, Outlets, RecordStore
from capss.pipeline.records import FileRecord, RecordChanged, iso, utcnow
from capss.pipeline.values import ATTRIBUTE_LIMIT, LICENSE_ATTRIBUTE, Alert
from capss.telemetry import logger

SUBJECT_LIMIT = 100
"""SNS refuses longer subjects."""

_SUBJECTS = {
    Outcome.REJECTED: "Rejected by the bridge, not sent",
    Outcome.PROCESSING: "Processing at CAPSS",
    Outcome.COMPLETE: "CAPSS complete",
    Outcome.COMPLETE_WITH_ISSUES: "CAPSS complete with issues",
    Outcome.FAILED: "Not reported to CAPSS, failed",
    Outcome.TIMED_OUT: "CAPSS did not finish, timed out",
}
"""Who acted comes first: the bridge refusing a file needs a fix in the export, CAPSS refusing
it a look at CAPSS's message; filters can still use the `outcome` message attribute."""
CAPSS_REFUSED = "CAPSS refused"
FAILED_AFTER_SENDING = (
    "Failed after reaching CAPSS",
    "may be in CAPSS, but what CAPSS did with it is unknown",
)
"""Subject and headline for a file CAPSS may hold (accepted, or an upload without an
answer): not "not reported"."""

_HEADLINES = {
    Outcome.REJECTED: "was rejected before sending: nothing reached CAPSS",
    Outcome.PROCESSING: "is being processed by CAPSS",
    Outcome.COMPLETE: "was processed by CAPSS with no errors or duplicates",
    Outcome.COMPLETE_WITH_ISSUES: "was processed by CAPSS, which reported error or duplicate items",
    Outcome.FAILED: "could not be reported to CAPSS",
    Outcome.TIMED_OUT: "was accepted by CAPSS, which did not finish within the poll budget",
}


def compose_alert(record: FileRecord, where: advice.Deployment) -> Alert:
    outcome = record.outcome
    license_number = record.license or "unknown license"
    said, headline = _SUBJECTS[outcome], _HEADLINES[outcome]
    if record.capss_refused:
        said, headline = CAPSS_REFUSED, "was refused by CAPSS"
    elif outcome is Outcome.FAILED and record.maybe_in_capss:
        said, headline = FAILED_AFTER_SENDING
    subject = _subject(f"{said}: {license_number} {record.name}")
    lines = [
        f"The file {record.name} {headline}.",
        "",
        f"File:        {record.uri}",
        f"License:     {license_number}",
        f"Kind:        {record.kind}",
        f"Outcome:     {outcome.value}",
    ]
    if record.submission_id:
        lines.append(f"Submission:  {record.submission_id}")
    if record.status_url:
        lines.append(f"Status link: {record.status_url}")
    lines.append(f"Received:    {record.received_at or 'unknown'}")
    if record.uploaded_by or record.uploaded_from:
        lines.append(f"Uploaded by: {uploader_text(record)}")
    if record.completed_at:
        lines.append(f"Finished:    {record.completed_at}")
    if any(value is not None for value in record.counts.to_json().values()):
        lines += ["", "Counts from CAPSS:", *_counts(record.counts)]
    # Every list is bounded: an alert over SNS's 256 KB would never be sent at all.
    if record.problems:
        lines += ["", "Problems found in the file:"]
        lines += [f"  - {text}" for text in clip_list(map(problem_text, record.problems))]
    if record.messages:
        lines += ["", "CAPSS said:"]
        lines += [f"  - {message}" for message in clip_list(record.messages)]
    if record.notes:
        lines += ["", "Notes from the bridge:"]
        lines += [f"  - {note}" for note in clip_list(record.notes)]
    if record.error:
        lines += ["", f"What went wrong: {clip(record.error)}"]
    lines += ["", f"What to do: {advice.next_step(record, where)}"]
    return Alert(
        subject=subject,
        body="\n".join(lines) + "\n",
        attributes={
            "outcome": outcome.value,
            LICENSE_ATTRIBUTE: clip(license_number, ATTRIBUTE_LIMIT),
            "kind": record.kind,
        },
    )


def uploader_text(record: FileRecord) -> str:
    """Who put the file into the bucket, from where and when, as the S3 event said."""
    text = record.uploaded_by or "an unknown principal"
    if record.uploaded_from:
        text += f" from {record.uploaded_from}"
    if record.uploaded_at:
        text += f" at {record.uploaded_at}"
    return text


UNKNOWN_STATUS = "unknown_status"
"""The `outcome` attribute of the alert about a status word the bridge does not know."""


def unknown_status_alert(
    state: Mapping[str, Any], word: str, checks: int, where: advice.Deployment
) -> Alert:
    """A poller's file whose CAPSS answers the bridge cannot classify: told while it polls on.

    Composed from the poller's state (the status step reads no record)."""
    record = FileRecord(
        pk=str(state["file_id"]),
        bucket=str(state["bucket"]),
        key=str(state["key"]),
        version_id=state.get("version_id"),
        kind=str(state.get("kind", "")),
        license=state.get("license"),
        submission_id=state.get("submission_id"),
        status_url=state.get("status_url"),
    )
    license_number = record.license or "unknown license"
    said = advice.said(word)
    subject = _subject(f"CAPSS status not understood: {license_number} {record.name}")
    lines = [
        f"CAPSS answered {said}, which the bridge does not know, to {checks} status checks in a"
        f" row of the file {record.name}.",
        "",
        f"File:        {record.uri}",
        f"License:     {license_number}",
        f"Kind:        {record.kind}",
        f"Submission:  {record.submission_id}",
        f"Status link: {record.status_url}",
        "",
        f"What to do: {advice.unknown_status(record, word, where)}",
    ]
    return Alert(
        subject=subject,
        body="\n".join(lines) + "\n",
        attributes={
            "outcome": UNKNOWN_STATUS,
            LICENSE_ATTRIBUTE: clip(license_number, ATTRIBUTE_LIMIT),
            "kind": record.kind,
        },
    )


def _subject(text: str) -> str:
    # SNS takes printable ASCII on one line only.
    subject = "".join(c if " " <= c <= "~" else "?" for c in text)
    return subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 3] + "..."


def _counts(counts: Counts) -> list[str]:
    """One line a count; what CAPSS did not report says so, and items add up where they can."""
    unknown = "not reported by CAPSS"
    items, saved, errors, duplicates = counts.items, counts.saved, counts.errors, counts.duplicates
    lines = [f"  transactions: {unknown if counts.transactions is None else counts.transactions}"]
    lines.append(f"  items:        {unknown if items is None else items}")
    of_items = f" of {items} items" if items is not None and saved is not None else ""
    lines.append(f"  saved:        {unknown if saved is None else f'{saved}{of_items}'}")
    lines.append(f"  errors:       {unknown if errors is None else errors}")
    if duplicates is None:
        rest = (items or 0) - (saved or 0) - (errors or 0)
        known = None not in (items, saved, errors)
        left = f"; {rest} of {items} items neither saved nor an error" if known and rest else ""
        lines.append(f"  duplicates:   {unknown}{left}")
    else:
        lines.append(f"  duplicates:   {duplicates}")
    return lines


def should_alert(record: FileRecord, *, alert_on_complete: bool = False) -> bool:
    return record.outcome.needs_person or (alert_on_complete and record.outcome is Outcome.COMPLETE)


def notify(
    record: FileRecord,
    records: RecordStore,
    alerts: AlertSender,
    *,
    where: advice.Deployment,
    alert_on_complete: bool = False,
) -> bool:
    """Sends a final record's alert at least once, and once where nothing stops halfway; True
    when it was sent now.

    The alert is marked pending (and `alerted`, conditionally on the revision read) *before*
    the send: of two attempts racing to alert (a late duplicate event during the finish step),
    only the one whose save wins sends. A send that fails takes the marks back, so the retried
    step (queue redelivery, ASL Retry) sends it then; a send that returned clears the pending
    mark. A function stopped between the two leaves the mark: the sweep (`resend_pending`)
    sends the alert again, as a possible repeat.
    """
    if record.alerted or not should_alert(record, alert_on_complete=alert_on_complete):
        return False
    alert = compose_alert(record, where)
    record.alerted = True
    record.alert_pending = iso(utcnow())
    try:
        records.save(record)
    except RecordChanged:
        current = records.get(record.pk)
        if current is not None and current.alerted:
            return False  # the other attempt sends it
        raise
    _send(record, records, alerts, alert)
    return True


def _send(record: FileRecord, records: RecordStore, alerts: AlertSender, alert: Alert) -> None:
    try:
        alerts.send(alert)
    except Exception:
        record.alerted = False
        record.alert_pending = None
        records.save(record)
        raise
    record.alert_pending = None
    records.save(record)


REPEAT_SUBJECT = "Possible repeat: "
REPEAT_NOTE = (
    "This alert may have been sent once already: the bridge stopped between sending it and"
    " noting that it went out."
)


def resend_pending(
    record: FileRecord, records: RecordStore, alerts: AlertSender, *, where: advice.Deployment
) -> None:
    """An alert left pending by a function stopped mid-send: sent again, marked as a possible
    repeat (the first may have gone out), then the mark cleared. A send that fails leaves the
    mark for the next sweep."""
    alert = compose_alert(record, where)
    alerts.send(
        replace(
            alert,
            subject=_subject(REPEAT_SUBJECT + alert.subject),
            body=f"{REPEAT_NOTE}\n\n{alert.body}",
        )
    )
    record.alert_pending = None
    records.save(record)


def tell(
    record: FileRecord, outlets: Outlets, *, where: advice.Deployment, alert_on_complete: bool
) -> bool:
    """A final record's alert and event, each once, and its tag; True when the alert went now.

    Every path that ends a file (and every retry of one) comes here: what a first attempt
    left unsent, a retry sends, and nothing goes twice."""
    alerted = notify(
        record, outlets.records, outlets.alerts, where=where, alert_on_complete=alert_on_complete
    )
    tag_outcome(record, outlets.objects)
    announce(record, outlets.records, outlets.events, where=where)
    return alerted


def tag_outcome(record: FileRecord, objects: ObjectStore) -> None:
    """The outcome beside the file, for people browsing the bucket; the record is what counts."""
    try:
        objects.tag(
            FileRef(record.bucket, record.key, record.version_id),
            {"capss-outcome": record.outcome.value},
        )
    except Exception:
        logger.exception("could not tag the file with its outcome")
