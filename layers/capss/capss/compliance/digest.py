"""The daily digest: yesterday in one email, per license, readable in a minute.

Per license: the files received yesterday (Pacific date) and their outcomes, items saved,
error and duplicate items, files still processing, whether a registered store has not yet
sent yesterday's file, files that completed although validation warned, and files whose
customer fields held the seller's data, with what was done (an "on file" copy sent, sent as
is, or not sent).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from capss.compliance.monitor import (
    REPORTED_OUTCOMES,
    DayState,
    MonitorDeps,
    alert_once,
    check_id,
    since_for,
    store_day,
)
from capss.outcome import Outcome
from capss.pipeline.records import FileRecord
from capss.pipeline.values import Alert

PACIFIC = ZoneInfo("America/Los_Angeles")
NAMES_LIMIT = 20
"""File names shown per list and license; the rest are counted (SNS and DynamoDB bound sizes)."""
UNKNOWN_LICENSE = "unknown"
"""Files naming no license: in ops' digest, no store's."""


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_LIMIT])
    more = len(names) - NAMES_LIMIT
    return f"{shown} and {more} more" if more > 0 else shown


@dataclass
class LicenseDay:
    license: str
    store: str = ""
    files: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    saved: int = 0
    errors: int = 0
    duplicates: int = 0
    duplicates_unknown: bool = False
    """CAPSS's current API says only that there were duplicates."""
    processing: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    customer_data: dict[str, list[str]] = field(default_factory=dict)
    """Files whose customer fields held data, by what was done (`FileRecord.customer_data`)."""
    missing_due: date | None = None
    """Set when a registered store has no file for yesterday yet: its deadline."""

    def add(self, record: FileRecord) -> None:
        self.files += 1
        self.outcomes[record.outcome.value] += 1
        counts = record.counts
        self.saved += counts.saved or 0
        self.errors += counts.errors or 0
        self.duplicates += counts.duplicates or 0
        self.duplicates_unknown |= (
            record.outcome is Outcome.COMPLETE_WITH_ISSUES and counts.duplicates is None
        )
        if record.outcome is Outcome.PROCESSING:
            self.processing.append(record.name)
        warnings = [p for p in record.problems if p.get("severity") == "warning"]
        if warnings and record.outcome in REPORTED_OUTCOMES:
            self.warned.append(f"{record.name} ({len(warnings)} warning(s))")
        if record.customer_data:
            self.customer_data.setdefault(record.customer_data, []).append(record.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "license": self.license,
            "store": self.store,
            "files": self.files,
            "outcomes": dict(sorted(self.outcomes.items())),
            "saved": self.saved,
            "errors": self.errors,
            "duplicates": None if self.duplicates_unknown else self.duplicates,
            "processing": self.processing[:NAMES_LIMIT],
            "completed_with_warnings": self.warned[:NAMES_LIMIT],
            "customer_data": {
                done: names[:NAMES_LIMIT] for done, names in self.customer_data.items()
            },
            "missing_due": self.missing_due.isoformat() if self.missing_due else None,
        }

    def lines(self) -> list[str]:
        who = f"{self.license} {self.store}".rstrip()
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(self.outcomes.items())) or "none"
        duplicates = f"{self.duplicates}{' or more' if self.duplicates_unknown else ''}"
        out = [
            f"{who}: {self.files} file(s) ({outcomes}); items saved {self.saved},"
            f" error items {self.errors}, duplicates {duplicates}"
        ]
        if self.missing_due:
            out.append(
                f"  no file yet for yesterday: due by the end of {self.missing_due:%a %Y-%m-%d}"
            )
        if self.processing:
            out.append(f"  still processing: {_names(self.processing)}")
        if self.warned:
            out.append(f"  completed with validation warnings: {_names(self.warned)}")
        for done, names in sorted(self.customer_data.items()):
            done_text = _CUSTOMER_DATA.get(done, done)
            out.append(f"  seller's data in customer fields, {done_text}: {_names(names)}")
        return out


_CUSTOMER_DATA = {
    "on file": 'a copy reading "on file" sent instead',
    "sent": "sent as it was (CustomerFields=send)",
    "rejected": "not sent (CustomerFields=reject)",
}
"""What `FileRecord.customer_data` says was done, as the digest reads."""


def run_digest(
    now: datetime, deps: MonitorDeps, *, chain_closures: frozenset[date]
) -> dict[str, Any]:
    yesterday = now.astimezone(PACIFIC).date() - timedelta(days=1)
    stores = {store.license: store for store in deps.stores.stores()}
    start = datetime.combine(yesterday, datetime.min.time(), tzinfo=PACIFIC)
    end = start + timedelta(days=1)
    received = [
        r
        for r in deps.history.files_since(start)
        if r.received_at and datetime.fromisoformat(r.received_at) < end
    ]
    days: dict[str, LicenseDay] = {}
    for record in received:
        number = record.license or UNKNOWN_LICENSE
        days.setdefault(number, LicenseDay(number)).add(record)
    quiet = deps.stores.quiet_days(yesterday)
    for number, store in stores.items():
        if not store.expects(yesterday) and number not in days:
            continue  # removed, or not yet expected
        day = days.setdefault(number, LicenseDay(number))
        day.store = store.name
        if store.trades_on(yesterday, chain_closures):
            records = deps.history.files_for_license(number, since_for(yesterday))
            status = store_day(
                store,
                yesterday,
                records,
                deps.calendar,
                chain_closures=chain_closures,
                quiet=frozenset(d for n, d in quiet if n == number),
            )
            if status.state in (DayState.MISSING, DayState.FAILED):
                day.missing_due = status.deadline
    ordered = [days[number] for number in sorted(days)]
    # Ops reads every license; each store its own lines only.
    alerts = [compose_digest(yesterday, ordered)]
    alerts += [
        compose_digest(yesterday, [day]).for_store(day.license)
        for day in ordered
        if day.license != UNKNOWN_LICENSE
    ]
    summary = {
        "check": "digest",
        "day": yesterday.isoformat(),
        "licenses": [d.to_json() for d in ordered],
    }
    return alert_once(deps, check_id(now, "digest"), summary, alerts)


def compose_digest(yesterday: date, ordered: list[LicenseDay]) -> Alert:
    lines = [
        f"What the bridge did on {yesterday:%a %Y-%m-%d} (Pacific time), per license:",
        "",
    ]
    for day in ordered:
        lines += day.lines()
    if not ordered:
        lines.append("No files, and no stores registered.")
    files = sum(day.files for day in ordered)
    missing = sum(day.missing_due is not None for day in ordered)
    issues = sum(day.outcomes[o.value] for day in ordered for o in Outcome if o.needs_person)
    subject = (
        f"CAPSS daily digest {yesterday.isoformat()}: {files} file(s),"
        f" {issues} needing action, {missing} store(s) without a file yet"
    )
    return Alert(
        subject=subject[:100],
        body="\n".join(lines) + "\n",
        attributes={"outcome": "digest", "kind": "digest"},
    )
