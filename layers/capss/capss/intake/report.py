"""What validating one file found: problems a store manager can act on, and the file's facts."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, NotRequired, TypedDict
from zoneinfo import ZoneInfo

from capss.kinds import FileKind


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_depth: int = 64
    max_problems: int = 200
    """Problems kept in a report; the rest are counted in one closing warning."""
    max_prologue_bytes: int = 64 * 1024
    """Bytes before the root element that the byte check reads; lxml's own check covers the rest."""
    max_kept_elements: int = 10_000
    """Nodes inside one element the rules read whole (an item, a customer), and comments or PIs
    beside the root: what memory holds beyond the path from the root and the current chunk."""


DEFAULT_TIMEZONE = "America/Los_Angeles"
"""A store's zone unless the register names another (California's)."""
DAYS_LIMIT = 100
"""Distinct transaction dates kept per file; transactions on further dates are only counted."""


class Severity(enum.StrEnum):
    ERROR = "error"
    """The file is rejected: nothing is sent to CAPSS."""
    WARNING = "warning"
    """The file is sent anyway; the warning is reported beside the outcome."""


class ProblemJson(TypedDict):
    severity: str
    code: str
    message: str
    line: int | None
    transaction: int | None
    item: int | None
    column: NotRequired[str]


class DayJson(TypedDict):
    day: str
    transactions: int
    items: int


class ReportJson(TypedDict):
    file: NotRequired[str]
    kind: str
    ok: bool
    license_number: str | None
    transactions: int
    items: int
    first_transaction_at: str | None
    last_transaction_at: str | None
    days: list[DayJson]
    transactions_on_other_days: int
    sha256: str
    size: int
    problems: list[ProblemJson]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. `code` is stable (tests and alerts match on it); `message` is for people."""

    severity: Severity
    code: str
    message: str
    line: int | None = None
    transaction: int | None = None
    """1-based position of the propertyTransaction in the file."""
    item: int | None = None
    """1-based position of the item within its transaction."""
    column: str | None = None
    """The CSV column, for a file converted from a POS export (`capss.intake.convert`)."""

    @property
    def where(self) -> str:
        parts = [f"column {self.column}"] if self.column is not None else []
        if self.transaction is not None:
            parts.append(f"transaction {self.transaction}")
        if self.item is not None:
            parts.append(f"item {self.item}")
        return ", ".join(parts)

    def to_json(self) -> ProblemJson:
        data: ProblemJson = {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "transaction": self.transaction,
            "item": self.item,
        }
        if self.column is not None:
            data["column"] = self.column
        return data


@dataclass(frozen=True, slots=True)
class TransactionDay:
    """The transactions a file holds for one date, dated in the store's zone."""

    day: date
    transactions: int
    items: int

    def to_json(self) -> DayJson:
        return {"day": self.day.isoformat(), "transactions": self.transactions, "items": self.items}


class DayTally:
    """Transactions and items per transaction date: the days a file reports.

    A time without a zone is the store's own clock and is dated as written; one with `Z` or an
    offset is dated by the store's zone (an evening sale stamped in UTC stays on its day). The
    first `limit` distinct dates are kept; transactions on further dates are counted."""

    def __init__(self, zone: tzinfo | None = None, limit: int = DAYS_LIMIT) -> None:
        self._zone = zone or ZoneInfo(DEFAULT_TIMEZONE)
        self._limit = limit
        self._days: dict[date, list[int]] = {}
        self.beyond = 0

    def add(self, when: datetime, items: int) -> None:
        day = when.astimezone(self._zone).date() if when.tzinfo else when.date()
        counts = self._days.get(day)
        if counts is None:
            if len(self._days) >= self._limit:
                self.beyond += 1
                return
            counts = self._days[day] = [0, 0]
        counts[0] += 1
        counts[1] += items

    def days(self) -> tuple[TransactionDay, ...]:
        return tuple(TransactionDay(day, *counts) for day, counts in sorted(self._days.items()))


@dataclass(frozen=True, slots=True)
class ValidationReport:
    kind: FileKind
    problems: tuple[Problem, ...]
    sha256: str
    """Hex digest of the exact bytes; empty when the file was refused before it was read in full."""
    size: int
    license_number: str | None = None
    transactions: int = 0
    items: int = 0
    first_transaction_at: datetime | None = None
    last_transaction_at: datetime | None = None
    days: tuple[TransactionDay, ...] = ()
    transactions_on_other_days: int = 0
    """Transactions on dates beyond the `DAYS_LIMIT` kept in `days`."""
    customer_data: int = 0
    """Transactions whose customer fields hold data (the `customer-not-on-file` warnings)."""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    def format_text(self, name: str) -> str:
        lines = []
        for problem in self.problems:
            place = f"{name}:{problem.line}" if problem.line is not None else name
            where = f" ({problem.where})" if problem.where else ""
            lines.append(f"{place}: {problem.severity.value}: {problem.message}{where}")
        lines.append(f"{name}: {self._summary()}")
        return "\n".join(lines)

    def _summary(self) -> str:
        verdict = "valid" if self.ok else "INVALID"
        counts = f"{_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')}"
        facts = [
            f"license {self.license_number or '?'}",
            _plural(self.transactions, "transaction"),
            _plural(self.items, "item"),
        ]
        if self.first_transaction_at and self.last_transaction_at:
            facts.append(
                f"{self.first_transaction_at.isoformat()} to {self.last_transaction_at.isoformat()}"
            )
        return f"{verdict}, {counts} ({', '.join(facts)})"

    def to_json(self, name: str | None = None) -> ReportJson:
        data: ReportJson = {
            "kind": self.kind.value,
            "ok": self.ok,
            "license_number": self.license_number,
            "transactions": self.transactions,
            "items": self.items,
            "first_transaction_at": _iso(self.first_transaction_at),
            "last_transaction_at": _iso(self.last_transaction_at),
            "days": [day.to_json() for day in self.days],
            "transactions_on_other_days": self.transactions_on_other_days,
            "sha256": self.sha256,
            "size": self.size,
            "problems": [p.to_json() for p in self.problems],
        }
        if name is not None:
            data = {"file": name, **data}
        return data


@dataclass(frozen=True, slots=True)
class Conversion:
    """A POS export read by a mapping (`capss.intake.convert`)."""

    report: ValidationReport
    """What reading the CSV found, each problem with its line and column."""
    written: bool
    """Whether the CAPSS transactions file was written: only when no row has an error."""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class ProblemLog:
    """Collects problems in file order, keeping at most `limit` so a huge bad file stays small."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._kept: list[Problem] = []
        self._dropped = 0

    def add(self, problem: Problem) -> None:
        if len(self._kept) < self._limit:
            self._kept.append(problem)
        else:
            self._dropped += 1

    def problems(self) -> tuple[Problem, ...]:
        if not self._dropped:
            return tuple(self._kept)
        more = Problem(
            Severity.WARNING,
            "too-many-problems",
            f"{self._dropped} more problems are not listed; fix the ones above and check again.",
        )
        return (*self._kept, more)


def problem_text(problem: Mapping[str, Any]) -> str:
    """One validation problem as a line: where it is, then what is wrong."""
    where = [
        f"{name} {problem[name]}"
        for name in ("line", "column", "transaction", "item")
        if problem.get(name)
    ]
    place = f" ({', '.join(where)})" if where else ""
    return f"{problem.get('severity', 'error')}{place}: {problem.get('message', '')}"
