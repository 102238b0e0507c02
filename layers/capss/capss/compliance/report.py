"""The compliance report of a period: every store's every day, per-store figures, chain totals.

One model for every way it is shown (`capss report` as a table, CSV, JSON or the HTML month
page, and the monthly page the monitor writes), so the page's numbers are the JSON's. A day
a store does not trade is in the grid as closed; a day whose deadline has not passed yet
and that no file covers is not yet expected, not missing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from capss.bounds import clip
from capss.compliance.calendar import BusinessCalendar
from capss.compliance.digest import PACIFIC
from capss.compliance.monitor import DayState, StoreDay, since_for, store_day
from capss.compliance.stores import ExpectedStore
from capss.errors import InputError
from capss.pipeline.ports import FileHistory
from capss.pipeline.records import FileRecord, iso

DAYS_LIMIT = 370
"""Days one report covers at most (a year and a few days of margin)."""
TRACE_LIMIT = 3
"""Files named per day (the best first); the rest are counted."""
KEY_LIMIT = 300
"""Characters of a file's key shown (an S3 key may have 1,024)."""

DUE = frozenset(
    {
        DayState.REPORTED,
        DayState.LATE,
        DayState.PARTLY,
        DayState.PROCESSING,
        DayState.FAILED,
        DayState.MISSING,
    }
)
"""The states of a day a store owed a report of by the time the report was made."""
MISSED = frozenset({DayState.FAILED, DayState.MISSING})
PROBLEMS = DUE - {DayState.REPORTED}
"""The states an auditor traces to a file (or to the lack of one)."""


class ReportError(InputError):
    """The period asked for cannot be reported: the message says why."""

    hint = f"Give --since and --until in order, at most {DAYS_LIMIT} days apart."


@dataclass(frozen=True, slots=True)
class FileTrace:
    """One file behind a day: where it is, what became of it, when it reached CAPSS."""

    file_id: str
    key: str
    outcome: str
    reached_capss_at: str | None

    @classmethod
    def of(cls, record: FileRecord) -> FileTrace:
        return cls(
            file_id=record.pk,
            key=clip(record.key, KEY_LIMIT),
            outcome=record.outcome.value,
            reached_capss_at=record.submitted_at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "key": self.key,
            "outcome": self.outcome,
            "reached_capss_at": self.reached_capss_at,
        }


@dataclass(frozen=True, slots=True)
class ReportDay:
    status: StoreDay
    trace: tuple[FileTrace, ...] = ()
    """The first TRACE_LIMIT of the day's files."""

    @property
    def problem(self) -> bool:
        return self.status.state in PROBLEMS

    @property
    def files_left_out(self) -> int:
        return max(len(self.status.files) - len(self.trace), 0)

    def to_json(self) -> dict[str, Any]:
        # The day's own fields as the monitor gives them, whatever it adds later.
        return {**self.status.to_json(), "trace": [t.to_json() for t in self.trace]}


@dataclass(frozen=True, slots=True)
class Summary:
    """A store's days (or the chain's) counted by state."""

    states: Mapping[DayState, int]

    @classmethod
    def of(cls, days: Iterable[ReportDay]) -> Summary:
        return cls(Counter(day.status.state for day in days))

    def count(self, *states: DayState) -> int:
        return sum(self.states.get(state, 0) for state in states)

    @property
    def due(self) -> int:
        return self.count(*DUE)

    @property
    def on_time(self) -> int:
        return self.count(DayState.REPORTED)

    @property
    def late(self) -> int:
        return self.count(DayState.LATE)

    @property
    def partly(self) -> int:
        return self.count(DayState.PARTLY)

    @property
    def processing(self) -> int:
        return self.count(DayState.PROCESSING)

    @property
    def missed(self) -> int:
        return self.count(*MISSED)

    @property
    def on_time_rate(self) -> float | None:
        """On-time days of the days due; a day still processing is not (yet) on time."""
        return self.on_time / self.due if self.due else None

    @property
    def rate_text(self) -> str:
        rate = self.on_time_rate
        return "-" if rate is None else f"{rate:.1%}"

    def to_json(self) -> dict[str, Any]:
        rate = self.on_time_rate
        return {
            "due": self.due,
            "on_time": self.on_time,
            "late": self.late,
            "partly_reported": self.partly,
            "processing": self.processing,
            "missed": self.missed,
            "on_time_rate": None if rate is None else round(rate, 4),
            "states": {state.value: self.count(state) for state in DayState},
        }


@dataclass(frozen=True, slots=True)
class StoreRow:
    store: ExpectedStore
    days: tuple[ReportDay, ...]
    """One a calendar day of the period, in order."""

    @property
    def summary(self) -> Summary:
        return Summary.of(self.days)

    def to_json(self) -> dict[str, Any]:
        return {"license": self.store.license, "store": self.store.name, **self.summary.to_json()}


@dataclass(frozen=True, slots=True)
class CalendarUsed:
    """What decided the deadlines and the closed days, as the page states it."""

    holidays: tuple[tuple[date, str], ...]
    """The period's holidays (and the days after it up to the last deadline)."""
    extra_holidays: tuple[date, ...]
    chain_closures: tuple[date, ...]

    @property
    def text(self) -> str:
        named = ", ".join(f"{day.isoformat()} {name}" for day, name in self.holidays) or "none"
        closures = ", ".join(day.isoformat() for day in self.chain_closures) or "none"
        return (
            "due the business day after the transactions; weekends and California holidays"
            f" (US-CA, observed) are not business days. Holidays: {named}."
            f" Chain closures: {closures}."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "holidays": [{"day": d.isoformat(), "name": n} for d, n in self.holidays],
            "extra_holidays": [d.isoformat() for d in self.extra_holidays],
            "chain_closures": [d.isoformat() for d in self.chain_closures],
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    chain: str
    since: date
    until: date
    generated_at: datetime
    calendar: CalendarUsed
    rows: tuple[StoreRow, ...]

    @property
    def dates(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]

    @property
    def totals(self) -> Summary:
        return Summary.of(day for row in self.rows for day in row.days)

    @property
    def problems(self) -> list[ReportDay]:
        return [day for row in self.rows for day in row.days if day.problem]

    @property
    def generated_text(self) -> str:
        return f"{self.generated_at.astimezone(PACIFIC):%Y-%m-%d %H:%M %Z}"

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "generated_at": iso(self.generated_at),
            "calendar": self.calendar.to_json(),
            "days": [day.to_json() for row in self.rows for day in row.days],
            "stores": [row.to_json() for row in self.rows],
            "totals": self.totals.to_json(),
        }


def build_report(
    *,
    chain: str,
    stores: Iterable[ExpectedStore],
    history: FileHistory,
    calendar: BusinessCalendar,
    extra_holidays: Iterable[date] = (),
    chain_closures: frozenset[date] = frozenset(),
    quiet: Iterable[tuple[str, date]] = (),
    since: date,
    until: date,
    now: datetime,
) -> ComplianceReport:
    """`quiet`: (license, day) of the days stores said they had nothing to report."""
    if until < since or (until - since).days >= DAYS_LIMIT:
        raise ReportError(f"the period {since} to {until} is not one of 1 to {DAYS_LIMIT} days")
    said = set(quiet)
    rows = []
    for store in sorted(stores, key=lambda s: s.license):
        records = history.files_for_license(store.license, since_for(since))
        by_id = {record.pk: record for record in records}
        today = now.astimezone(store.zone).date()
        days = []
        day = since
        while day <= until:
            status = store_day(
                store,
                day,
                records,
                calendar,
                chain_closures=chain_closures,
                quiet=frozenset(d for number, d in said if number == store.license),
                as_of=today,
            )
            traced = [by_id[pk] for pk in status.files[:TRACE_LIMIT] if pk in by_id]
            days.append(ReportDay(status, tuple(FileTrace.of(r) for r in traced)))
            day += timedelta(days=1)
        rows.append(StoreRow(store, tuple(days)))
    last_deadline = calendar.deadline(until)
    holidays = []
    day = since
    while day <= last_deadline:
        if (name := calendar.holiday_name(day)) is not None:
            holidays.append((day, name))
        day += timedelta(days=1)
    used = CalendarUsed(
        holidays=tuple(holidays),
        extra_holidays=tuple(sorted(extra_holidays)),
        chain_closures=tuple(sorted(d for d in chain_closures if since <= d <= until)),
    )
    return ComplianceReport(chain, since, until, now, used, tuple(rows))


def first_business_day(year: int, month: int, calendar: BusinessCalendar) -> date:
    day = date(year, month, 1)
    while not calendar.is_business_day(day):
        day += timedelta(days=1)
    return day


def previous_month(day: date) -> tuple[date, date]:
    """The first and last day of the month before `day`'s."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last
