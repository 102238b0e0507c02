"""The missed-report monitor and the stuck-file sweep: the net under every other path.

Each run (an EventBridge Scheduler schedule in Pacific time) looks at every expected store
and every day it traded whose deadline has come. A day counts as reported when a
transactions file holding transactions of that day (read at intake, not its arrival time)
reached `complete`, or `complete_with_issues` with every item saved; partly reported when
CAPSS saved only some (see `DayState`). The early run, on the deadline day, warns
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

from capss.bounds import clip
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
WHY_LIMIT = 200
"""Characters of a file's error quoted beside its day."""


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
    items: int | None = None
    """The day's items in its files (read at intake)."""
    saved: int | None = None
    """Partly reported: the day's items CAPSS saved, when its counts tell."""

    @property
    def saved_text(self) -> str:
        if self.saved is None:
            return f"CAPSS saved some of the day's {self.items} item(s) (it counts per file)"
        return f"CAPSS saved {self.saved} of the day's {self.items} item(s)"

    why: str | None = None
    """For a failed day, what became of its newest file, in words."""

    def to_json(self) -> dict[str, Any]:
        return {
            "license": self.license,
            "store": self.store,
            "day": self.day.isoformat(),
            "deadline": self.deadline.isoformat(),
            "state": self.state.value,
            "files": list(self.files),
            "reached_capss_at": self.reached_capss_at,
            "items": self.items,
            "saved": self.saved,
        }


def _day_of(moment: str | None) -> date | None:
    """The date of a transaction time as the file states it (the store's own clock)."""
    try:
        return date.fromisoformat(moment[:10]) if moment else None
    except ValueError:
        return None


def _local_date(moment: str | None, store: ExpectedStore) -> date | None:
    if not moment:
        return None
    return datetime.fromisoformat(moment).astimezone(store.zone).date()


def day_items(record: FileRecord, day: date, store: ExpectedStore) -> int | None:
    """The items `record` holds for `day`, or None when it holds no transaction of that day.

    A day is reported by the transactions the file holds for it (read at intake), never by
    the span between its first and last: one mistyped date reports no other day. A date after
    the file arrived (the store's date) is a stray clock and reports nothing. A record from
    before the days were kept reports its first and last transaction dates only."""
    if record.kind != FileKind.TRANSACTIONS.value:
        return None
    received = _local_date(record.received_at, store)
    if received is not None and day > received:
        return None
    wanted = day.isoformat()
    if record.transaction_days:
        return next(
            (int(e["items"]) for e in record.transaction_days if e.get("day") == wanted), None
        )
    legacy = {_day_of(record.first_transaction_at), _day_of(record.last_transaction_at)}
    return (record.items or 0) if day in legacy else None


def saved_share(record: FileRecord, day_items_count: int) -> tuple[int | None, bool]:
    """(items CAPSS saved of the day, whether all were): from CAPSS's file totals.

    Duplicates are items CAPSS already holds; error items are the ones it did not save.
    CAPSS counts per file: a file whose items all errored reports no day, one with some
    errors leaves each of its days partly reported (the count is the day's own only when
    the file holds that day alone). When CAPSS says neither how many errored nor how many it
    saved, the day counts as reported: the file's own complete_with_issues alert tells ops."""
    counts = record.counts
    total = record.items or counts.items
    unsaved = counts.errors
    if unsaved is None and None not in (total, counts.saved, counts.duplicates):
        unsaved = (total or 0) - (counts.saved or 0) - (counts.duplicates or 0)
    if record.outcome is Outcome.COMPLETE or not unsaved or unsaved < 0:
        return day_items_count, True
    if total is not None and unsaved >= total:
        return 0, False
    one_day = len(record.transaction_days) <= 1 and not record.transactions_on_other_days
    return (max(day_items_count - unsaved, 0) if one_day else None), False


def store_day(
    store: ExpectedStore,
    day: date,
    records: Iterable[FileRecord],
    calendar: BusinessCalendar,
    *,
    chain_closures: frozenset[date] = frozenset(),
    quiet: frozenset[date] = frozenset(),
    as_of: date | None = None,
) -> StoreDay:
    """What became of the store's report of `day`. `as_of`: a day with nothing yet whose
    deadline has not passed by then is not yet expected (the early check gives none)."""
    deadline = calendar.deadline(day)
    holding = [(r, n) for r in records if (n := day_items(r, day, store)) is not None]
    covering = [r for r, _ in holding]
    items = sum(n for _, n in holding) if holding else None
    reported = []
    saved_total: int | None = 0
    whole = False
    for record, count in holding:
        if record.outcome not in REPORTED_OUTCOMES:
            continue
        saved, complete = saved_share(record, count)
        if saved == 0 and not complete:
            continue  # CAPSS saved none of its items: the file reports no day
        reported.append(record)
        whole |= complete
        saved_total = None if saved is None or saved_total is None else saved_total + saved
    reported.sort(key=lambda r: r.submitted_at or r.received_at or "")
    reached = None
    files = covering
    if reported:
        first = reported[0]
        reached = first.submitted_at or first.received_at
        on_time = (_local_date(reached, store) or deadline) <= deadline
        state = (DayState.REPORTED if on_time else DayState.LATE) if whole else DayState.PARTLY
        files = reported
    elif not store.expects(day):
        state = DayState.NOT_EXPECTED
    elif not store.trades_on(day, chain_closures):
        state = DayState.CLOSED
    elif day in quiet:
        state = DayState.NOTHING_TO_REPORT
    elif any(r.outcome is Outcome.PROCESSING for r in covering):
        state = DayState.PROCESSING
    elif covering:
        state = DayState.FAILED
    elif as_of is not None and deadline >= as_of:
        state = DayState.NOT_EXPECTED
    else:
        state = DayState.MISSING
    newest = max(covering, key=lambda r: r.received_at or "", default=None)
    return StoreDay(
        license=store.license,
        store=store.name,
        day=day,
        deadline=deadline,
        state=state,
        files=tuple(r.pk for r in files),
        reached_capss_at=reached,
        items=items,
        saved=saved_total if state is DayState.PARTLY else None,
        why=failed_why(newest) if state is DayState.FAILED and newest else None,
    )


def failed_why(record: FileRecord) -> str:
    """What became of a file that reached no report: not every one failed to reach CAPSS."""
    error = f" ({clip(record.error, WHY_LIMIT)})" if record.error else ""
    if record.outcome is Outcome.TIMED_OUT:
        return f"CAPSS accepted the file covering it and did not finish it{error}"
    if record.outcome is Outcome.REJECTED:
        return "the file covering it was rejected by the bridge, not sent"
    if record.outcome in REPORTED_OUTCOMES:
        return "CAPSS saved none of the items of the file holding it"
    return f"the file covering it failed{error}"


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


NAMED_STATES = frozenset({DayState.MISSING, DayState.FAILED, DayState.PROCESSING, DayState.PARTLY})
"""The days a check names: a person has something to do."""


def check_days(
    kind: CheckKind,
    store: ExpectedStore,
    now: datetime,
    records: list[FileRecord],
    calendar: BusinessCalendar,
    *,
    chain_closures: frozenset[date],
    lookback_days: int,
    quiet: frozenset[date] = frozenset(),
) -> list[StoreDay]:
    """The store's days due within this check's window, reported or not: due today (early),
    or due before today within the lookback (final). A silent day of a store that may stay
    quiet is left out until the run of them passes its allowance."""
    today = now.astimezone(store.zone).date()
    if kind is CheckKind.EARLY:
        first_due, last_due = today, today
    else:
        first_due, last_due = today - timedelta(days=lookback_days), today - timedelta(days=1)
    # A deadline is at most a couple of weeks after its day (holidays in a row, weekends).
    candidates = trading_days(store, first_due - timedelta(days=14), last_due, chain_closures)
    due = []
    for day in candidates:
        if not first_due <= calendar.deadline(day) <= last_due:
            continue
        status = store_day(
            store, day, records, calendar, chain_closures=chain_closures, quiet=quiet
        )
        if status.state is DayState.MISSING and store.quiet_days:
            run = _silent_run(
                store,
                day,
                records=records,
                calendar=calendar,
                chain_closures=chain_closures,
                quiet=quiet,
            )
            if run <= store.quiet_days:
                continue
        due.append(status)
    return due


def _silent_run(
    store: ExpectedStore,
    day: date,
    *,
    records: list[FileRecord],
    calendar: BusinessCalendar,
    chain_closures: frozenset[date],
    quiet: frozenset[date],
) -> int:
    """Open days in a row, ending with `day`, with no file and no quiet-day statement
    (counted up to one more than the store's allowance)."""
    run = 0
    while run <= store.quiet_days and store.expects(day):
        if store.trades_on(day, chain_closures):
            state = store_day(
                store, day, records, calendar, chain_closures=chain_closures, quiet=quiet
            ).state
            if state is not DayState.MISSING:
                break
            run += 1
        day -= timedelta(days=1)
    return run


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
                    DayState.MISSING: "missed: no file holds that day's transactions",
                    DayState.FAILED: f"missed: {day.why}",
                    DayState.PROCESSING: "overdue: CAPSS has not finished the file",
                    DayState.PARTLY: f"partly reported: {day.saved_text}",
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
    first = first_candidate(kind, now, lookback_days)
    # A store that may stay quiet looks further back for the run of silent days.
    back = timedelta(days=2 * max((s.quiet_days for s in stores), default=0))
    since = since_for(first - back)
    quiet = deps.stores.quiet_days(first - back)
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
            quiet=frozenset(day for number, day in quiet if number == store.license),
        )
    days = [day for day in due if day.state in NAMED_STATES]
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
