"""Telling people what became of a file: the alert email, once, and the tag beside the file.

An alert is composed from the file's record alone, so every path (rejected at intake,
refused by CAPSS, finished with issues, timed out) reads the same way: what happened,
the counts, what CAPSS said, and what to do next.
"""

from __future__ import annotations

from capss.bounds import clip, clip_list
from capss.intake.report import problem_text
from capss.outcome import Counts, Outcome
from capss.pipeline import advice
from capss.pipeline.events import announce
from capss.pipeline.files import FileRef
from capss.pipeline.ports import AlertSender, ObjectStore, Outlets, RecordStore
from capss.pipeline.records import FileRecord, RecordChanged
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
    subject = f"{said}: {license_number} {record.name}"
    # SNS takes printable ASCII on one line only.
    subject = "".join(c if " " <= c <= "~" else "?" for c in subject)
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 3] + "..."
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
    """Sends a final record's alert once; True when it was sent now.

    The flag is saved (conditionally on the revision read) *before* the send: of two attempts
    racing to alert (a late duplicate event during the finish step), only the one whose save
    wins sends. A send that fails takes the flag back, so the retried step (queue
    redelivery, ASL Retry) sends it then.
    """
    if record.alerted or not should_alert(record, alert_on_complete=alert_on_complete):
        return False
    alert = compose_alert(record, where)
    record.alerted = True
    try:
        records.save(record)
    except RecordChanged:
        current = records.get(record.pk)
        if current is not None and current.alerted:
            return False  # the other attempt sends it
        raise
    try:
        alerts.send(alert)
    except Exception:
        record.alerted = False
        records.save(record)
        raise
    return True


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
