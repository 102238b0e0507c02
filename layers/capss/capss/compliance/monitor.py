"""The missed-report monitor and the stuck-file sweep: the net under every other path.

Each run (an EventBridge Scheduler schedule in Pacific time) looks at every expected store
and every day it traded whose deadline has come. A day counts as reported when a
transactions file whose transaction dates (read at intake, not its arrival time) cover it
reached `complete` or `complete_with_issues`. The early run, on the deadline day, warns
while there is still time; the final run, after it, names what was missed. Both name files
left unfinished long after they should be. One alert a run; the check is recorded, so a
retried run does not alert twice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from capss.compliance.calendar import BusinessCalendar
from capss.compliance.ports import StoreRegister
from capss.compliance.stores import ExpectedStore
from capss.kinds import FileKind
from capss.outcome import Outcome
from capss.pipeline import advice
from capss.pipeline.ports import AlertSender, FileHistory
from capss.pipeline.records import FileRecord, Phase, iso
from capss.pipeline.values import Alert

_PACIFIC = ZoneInfo("America/Los_Angeles")
"""The schedule's zone: a check is named by its Pacific date."""
REPORTED_OUTCOMES = frozenset({Outcome.COMPLETE, Outcome.COMPLETE_WITH_ISSUES})
LINES_LIMIT = 200
"""Lines per section of an alert (SNS takes 256 KB); the rest are counted."""


class DayState(enum.StrEnum):
    """What became of one store's report for one day: the monitor's, the report's and the
    month page's one vocabulary."""

    REPORTED = "reported"
    LATE = "reported_late"
    PARTLY = "partly_reported"
    """CAPSS saved some of the day's items, not all."""
    PROCESSING = "processing"
    FAILED = "failed"
    """Failed or rejected: the day's files reached no final report in CAPSS."""
    MISSING = "missing"
    NOTHING_TO_REPORT = "nothing_to_report"
    CLOSED = "closed"
    NOT_EXPECTED = "not_expected"
    """Before the store's first expected day, after its last, or not yet due."""


class CheckKind(enum.StrEnum):
    EARLY = "early"
    FINAL = "final"


@dataclass(frozen=True, slots=True)
class StoreDay:
    """One trading day of one store, and what became of its report."""

    license: str
    store: str
    day: date
    deadline: date
    state: DayState
    files: tuple[str, ...] = ()
    """The files covering the day (pk), best first."""
    reached_capss_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "license": self.license,
            "store": self.store,
            "day": self.day.isoformat(),
            "deadline": self.deadline.isoformat(),
            "state": self.state.value,
            "files": list(self.files),
            "reached_capss_at": self.reached_capss_at,
        }


def _day_of(moment: str | None) -> date | None:
    """The date of a transaction time as the file states it (the store's own clock)."""
    try:
        return date.fromisoformat(moment[:10]) if moment else None
    except ValueError:
        return None


def covers(record: FileRecord, day: date) -> bool:
    first, last = _day_of(record.first_transaction_at), _day_of(record.last_transaction_at)
    return (
        record.kind == FileKind.TRANSACTIONS.value
        and first is not None
        and last is not None
        and first <= day <= last
    )


def _local_date(moment: str | None, store: ExpectedStore) -> date | None:
    if not moment:
        return None
    return datetime.fromisoformat(moment).astimezone(store.zone).date()


def store_day(
    store: ExpectedStore, day: date, records: Iterable[FileRecord], calendar: BusinessCalendar
) -> StoreDay:
    deadline = calendar.deadline(day)
    covering = [record for record in records if covers(record, day)]
    reported = sorted(
        (r for r in covering if r.outcome in REPORTED_OUTCOMES),
        key=lambda r: r.submitted_at or r.received_at or "",
    )
    if reported:
        first = reported[0]
        reached = first.submitted_at or first.received_at
        on_time = (_local_date(reached, store) or deadline) <= deadline
        state = DayState.REPORTED if on_time else DayState.LATE
        files = reported
    elif any(r.outcome is Outcome.PROCESSING for r in covering):
        state, files, reached = DayState.PROCESSING, covering, None
    elif covering:
        state, files, reached = DayState.FAILED, covering, None
    else:
        state, files, reached = DayState.MISSING, [], None
    return StoreDay(
        license=store.license,
        store=store.name,
        day=day,
        deadline=deadline,
        state=state,
        files=tuple(r.pk for r in files),
        reached_capss_at=reached,
    )


def trading_days(
    store: ExpectedStore, first: date, last: date, chain_closures: frozenset[date]
) -> list[date]:
    days = []
    day = first
    while day <= last:
        if store.trades_on(day, chain_closures):
            days.append(day)
        day += timedelta(days=1)
    return days


def since_for(first_day: date) -> datetime:
    """Records received from then on can cover `first_day` (a day's margin for time zones)."""
    return datetime.combine(first_day - timedelta(days=1), clock_time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class StuckFile:
    record: FileRecord
    why: str
    advice: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file_id": self.record.pk,
            "license": self.record.license,
            "phase": self.record.phase.value,
            "outcome": self.record.outcome.value,
            "why": self.why,
        }


def stuck_files(
    records: Iterable[FileRecord],
    now: datetime,
    after: timedelta,
    running: Callable[[str], bool],
) -> list[StuckFile]:
    """Unfinished records untouched for `after`, and final ones whose alert is owed."""
    stale = iso(now - after) or ""
    found = []
    for record in records:
        if (record.updated_at or "") > stale:
            continue
        since = record.updated_at or "an unknown time"
        if record.outcome is Outcome.PROCESSING and record.phase is Phase.CLAIMED:
            found.append(
                StuckFile(record, f"claimed at {since} and never sent", advice.STUCK_CLAIMED)
            )
        elif record.outcome is Outcome.PROCESSING and record.phase is Phase.UPLOADING:
            found.append(
                StuckFile(
                    record, f"an upload at {since} was never answered", advice.STUCK_UPLOADING
                )
            )
        elif record.outcome is Outcome.PROCESSING and record.phase is Phase.SUBMITTED:
            if not (record.execution_arn and running(record.execution_arn)):
                found.append(
                    StuckFile(
                        record,
                        f"submitted at {record.submitted_at or since} and no poller is running",
                        advice.STUCK_SUBMITTED,
                    )
                )
        elif record.outcome.needs_person and not record.alerted:
            found.append(
                StuckFile(
                    record,
                    f"{record.outcome.value} since {since} and its alert was never sent",
                    advice.STUCK_ALERT_OWED,
                )
            )
    return found


@dataclass(frozen=True, slots=True)
class CheckResult:
    kind: CheckKind
    run_at: datetime
    days: tuple[StoreDay, ...]
    """Only the days that need action."""
    stuck: tuple[StuckFile, ...]
    stores: int
    late: int = 0
    """The days due within the check's window that CAPSS got after their deadline."""

    @property
    def check_id(self) -> str:
        return check_id(self.run_at, self.kind.value)

    @property
    def clear(self) -> bool:
        return not self.days and not self.stuck

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.kind.value,
            "run_at": iso(self.run_at),
            "stores": self.stores,
            "counts": {"missed": len(self.days), "late": self.late, "stuck": len(self.stuck)},
            "days": [day.to_json() for day in self.days[:LINES_LIMIT]],
            "stuck": [stuck.to_json() for stuck in self.stuck[:LINES_LIMIT]],
        }


def check_days(
    kind: CheckKind,
    store: ExpectedStore,
    now: datetime,
    records: list[FileRecord],
    calendar: BusinessCalendar,
    *,
    chain_closures: frozenset[date],
    lookback_days: int,
) -> list[StoreDay]:
    """The store's days due within this check's window, reported or not: due today (early),
    or due before today within the lookback (final)."""
    today = now.astimezone(store.zone).date()
    if kind is CheckKind.EARLY:
        first_due, last_due = today, today
    else:
        first_due, last_due = today - timedelta(days=lookback_days), today - timedelta(days=1)
    # A deadline is at most a couple of weeks after its day (holidays in a row, weekends).
    candidates = trading_days(store, first_due - timedelta(days=14), last_due, chain_closures)
    return [
        store_day(store, day, records, calendar)
        for day in candidates
        if first_due <= calendar.deadline(day) <= last_due
    ]


def first_candidate(kind: CheckKind, now: datetime, lookback_days: int) -> date:
    today = now.astimezone(_PACIFIC).date()
    back = 1 if kind is CheckKind.EARLY else lookback_days
    return today - timedelta(days=back + 15)


def _section(title: str, lines: list[str]) -> list[str]:
    shown = lines[:LINES_LIMIT]
    more = len(lines) - len(shown)
    out = ["", f"{title} ({len(lines)}):", *shown]
    if more:
        out.append(f"  ... and {more} more (`capss report` lists them all)")
    return out


def _weekday(day: date) -> str:
    return f"{day:%a} {day.isoformat()}"


def compose_check_alert(result: CheckResult) -> Alert:
    when = result.run_at.astimezone(_PACIFIC)
    stores = sorted({day.license for day in result.days})
    if result.kind is CheckKind.EARLY:
        title = "early warning"
        headline = f"no file yet from {len(stores)} store(s)"
    else:
        title = "missed report"
        headline = f"{len(stores)} store(s) missed"
    parts = []
    if result.days:
        parts.append(headline)
    if result.stuck:
        parts.append(f"{len(result.stuck)} stuck file(s)")
    subject = f"CAPSS {title}: {', '.join(parts)}"
    lines = [
        f"The {result.kind.value} check of {when:%a %Y-%m-%d %H:%M %Z} looked at"
        f" {result.stores} expected store(s). A report is due by the business day after"
        " the transactions (weekends and California holidays excluded).",
    ]
    if result.days:
        day_lines = []
        for day in result.days:
            who = f"{day.license} {day.store}".rstrip()
            if result.kind is CheckKind.EARLY:
                what = "no file yet"
            else:
                what = {
                    DayState.MISSING: "missed: no file covers that day",
                    DayState.FAILED: "missed: the file covering it did not reach CAPSS",
                    DayState.PROCESSING: "overdue: CAPSS has not finished the file",
                }[day.state]
            day_lines.append(
                f"  - {who}: {_weekday(day.day)}, due {_weekday(day.deadline)}: {what}"
            )
            day_lines += [f"      file: {pk}" for pk in day.files[:3]]
        heading = "No file yet, due today" if result.kind is CheckKind.EARLY else "Missed reports"
        lines += _section(heading, day_lines)
        lines.append("")
        if result.kind is CheckKind.EARLY:
            lines.append(f"What to do: {advice.EARLY_WARNING}")
        else:
            states = [state for state in DayState if any(d.state is state for d in result.days)]
            lines += [
                f"What to do ({state.value}): {advice.MISSED[state.value]}" for state in states
            ]
    if result.stuck:
        stuck_lines = []
        for stuck in result.stuck:
            license_number = stuck.record.license or "unknown"
            stuck_lines += [
                f"  - {stuck.record.uri} (license {license_number}): {stuck.why}",
                f"      file id: {stuck.record.pk}",
                f"      what to do: {stuck.advice}",
            ]
        lines += _section("Stuck files", stuck_lines)
    return Alert(
        subject=subject[:100],
        body="\n".join(lines) + "\n",
        attributes={
            "outcome": "early_warning" if result.kind is CheckKind.EARLY else "missed_report",
            "kind": "monitor",
        },
    )


def check_alerts(result: CheckResult) -> list[Alert]:
    """Ops' alert naming every store, then each store's copy naming only its own days and
    stuck files: a store's subscription never reads about another store."""
    if result.clear:
        return []
    licenses = {day.license for day in result.days}
    licenses |= {stuck.record.license for stuck in result.stuck if stuck.record.license}
    alerts = [compose_check_alert(result)]
    for number in sorted(licenses):
        own = CheckResult(
            result.kind,
            result.run_at,
            tuple(day for day in result.days if day.license == number),
            tuple(stuck for stuck in result.stuck if stuck.record.license == number),
            stores=1,
        )
        alerts.append(compose_check_alert(own).for_store(number))
    return alerts


@dataclass(frozen=True, slots=True)
class MonitorDeps:
    stores: StoreRegister
    history: FileHistory
    running: Callable[[str], bool]
    """Whether a poller execution (by ARN) still runs."""
    alerts: AlertSender
    calendar: BusinessCalendar


def run_check(
    kind: CheckKind,
    now: datetime,
    deps: MonitorDeps,
    *,
    chain_closures: frozenset[date],
    lookback_days: int,
    stuck_after: timedelta,
) -> dict[str, Any]:
    """One scheduled run: find, alert once, record."""
    stores = deps.stores.stores()
    since = since_for(first_candidate(kind, now, lookback_days))
    due: list[StoreDay] = []
    for store in stores:
        records = deps.history.files_for_license(store.license, since)
        due += check_days(
            kind,
            store,
            now,
            records,
            deps.calendar,
            chain_closures=chain_closures,
            lookback_days=lookback_days,
        )
    days = [day for day in due if day.state not in (DayState.REPORTED, DayState.LATE)]
    late = sum(1 for day in due if day.state is DayState.LATE)
    stuck = stuck_files(deps.history.unfinished(), now, stuck_after, deps.running)
    result = CheckResult(kind, now, tuple(days), tuple(stuck), len(stores), late)
    return alert_once(deps, result.check_id, result.to_json(), check_alerts(result))


def check_id(now: datetime, name: str) -> str:
    """A run's record is named by its Pacific date: a retried run finds it."""
    return f"CHECK#{now.astimezone(_PACIFIC).date().isoformat()}#{name}"


def alert_once(
    deps: MonitorDeps, check: str, summary: dict[str, Any], alerts: list[Alert]
) -> dict[str, Any]:
    """Sends the run's alerts unless a retry of the same run already did; records the run.
    A run that fails part-way sends them all again on its retry: twice rather than never."""
    earlier = deps.stores.get_check(check)
    if not alerts or (earlier and earlier.get("alerted")):
        summary["alerted"] = bool(earlier and earlier.get("alerted"))
    else:
        for alert in alerts:
            deps.alerts.send(alert)
        summary["alerted"] = True
    deps.stores.put_check(check, summary)
    return summary
