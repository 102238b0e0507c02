"""The register of expected stores: who must report, on which days, in which time zone.

Kept as items beside the records (editable with `capss stores`, no deploy needed). A store
that trades on a day owes a report of it; a day it does not trade (not one of its days, one
of its closures or a chain closure) owes nothing. The register has a history: a store is
expected from its first day (the day it was registered, unless told) to its last (set when
it is removed: the entry stays, so past reports do not change), and a store says "nothing to
report" for a day with a quiet-day marker (`QUIET#<license>#<YYYY-MM-DD>` items).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from capss.errors import NeedsPersonError
from capss.intake.report import DEFAULT_TIMEZONE
from capss.pipeline.uploaders import UploaderError, uploader_pattern

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_DAYS = frozenset(range(6))
"""Monday to Saturday."""
STORE_PREFIX = "STORE#"
QUIET_PREFIX = "QUIET#"
QUIET_DAYS_LIMIT = 31
"""Quiet days in a row a store not trading every open day may leave unsaid."""
CHAIN_UPLOADERS = "CHAIN#uploaders"
"""The register item naming the uploaders that may file for every license."""
UPLOADER_LIMIT = 50
"""Uploaders kept per store, and chain-wide."""
LICENSE_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,20}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
NAME_LIMIT = 100
CLOSURE_LIMIT = 400
"""Closure dates kept per store (about a year of daily closures)."""


class StoreError(NeedsPersonError):
    """A store's entry is malformed: the message names the field and what is allowed."""

    hint = "Correct the entry and run the command again."


@dataclass(frozen=True, slots=True)
class ExpectedStore:
    license: str
    name: str = ""
    days: frozenset[int] = DEFAULT_DAYS
    """Weekdays it trades, Monday = 0."""
    timezone: str = DEFAULT_TIMEZONE
    closures: frozenset[date] = frozenset()
    email: str | None = None
    """Where this store's own alerts also go (an SNS subscription filtered on its license)."""
    first_day: date | None = None
    """The first day a report is owed; None: every day (an entry older than the history)."""
    last_day: date | None = None
    """Set when the store is removed: no report is owed after it."""
    quiet_days: int = 0
    """For a store that does not trade every open day: open days in a row without a file
    that the monitor leaves unnamed (the record still shows them missing)."""
    uploaders: frozenset[str] = frozenset()
    """Principals that may file for this license (`capss.pipeline.uploaders`)."""

    def __post_init__(self) -> None:
        if not LICENSE_PATTERN.match(self.license):
            raise StoreError(f"license {self.license[:40]!r}: use the dealer license number")
        if len(self.name) > NAME_LIMIT:
            raise StoreError(f"name: at most {NAME_LIMIT} characters")
        if not self.days or not self.days <= set(range(7)):
            raise StoreError("days: at least one of Mon Tue Wed Thu Fri Sat Sun")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise StoreError(
                f"timezone {self.timezone[:60]!r}: use an IANA name, e.g. {DEFAULT_TIMEZONE}"
            ) from None
        if len(self.closures) > CLOSURE_LIMIT:
            raise StoreError(f"closures: at most {CLOSURE_LIMIT} dates")
        if self.email is not None and not EMAIL_PATTERN.match(self.email):
            raise StoreError(f"email {self.email[:80]!r} is not an email address")
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise StoreError(f"last day {self.last_day} is before the first, {self.first_day}")
        if not 0 <= self.quiet_days <= QUIET_DAYS_LIMIT:
            raise StoreError(f"quiet days: 0 to {QUIET_DAYS_LIMIT}")
        check_uploaders(self.uploaders)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def trades_on(self, day: date, chain_closures: frozenset[date] = frozenset()) -> bool:
        return day.weekday() in self.days and day not in self.closures | chain_closures

    def expects(self, day: date) -> bool:
        """Within the store's time on the register."""
        return (self.first_day is None or self.first_day <= day) and (
            self.last_day is None or day <= self.last_day
        )

    @property
    def days_text(self) -> str:
        return " ".join(DAY_NAMES[day] for day in sorted(self.days))

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": STORE_PREFIX + self.license,
            "license": self.license,
            "name": self.name,
            "days": self.days_text,
            "timezone": self.timezone,
        }
        if self.closures:
            item["closures"] = sorted(day.isoformat() for day in self.closures)
        if self.email:
            item["email"] = self.email
        for name in ("first_day", "last_day"):
            if value := getattr(self, name):
                item[name] = value.isoformat()
        if self.quiet_days:
            item["quiet_days"] = self.quiet_days
        if self.uploaders:
            item["uploaders"] = sorted(self.uploaders)
        return item

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ExpectedStore:
        return cls.parse(
            license_number=str(item["license"]),
            name=str(item.get("name") or ""),
            days=str(item.get("days") or ""),
            timezone=str(item.get("timezone") or ""),
            closures=[str(day) for day in item.get("closures") or []],
            email=item.get("email") or None,
            first_day=str(item.get("first_day") or ""),
            last_day=str(item.get("last_day") or ""),
            quiet_days=str(item.get("quiet_days") or ""),
            uploaders=[str(value) for value in item.get("uploaders") or []],
        )

    @classmethod
    def parse(
        cls,
        *,
        license_number: str,
        name: str = "",
        days: str = "",
        timezone: str = "",
        closures: Iterable[str] = (),
        email: str | None = None,
        first_day: str = "",
        last_day: str = "",
        quiet_days: str = "",
        uploaders: Iterable[str] = (),
    ) -> ExpectedStore:
        """From text as people write it (the CSV import, the command line)."""
        return cls(
            license=license_number.strip(),
            name=name.strip(),
            days=parse_days(days) if days.strip() else DEFAULT_DAYS,
            timezone=timezone.strip() or DEFAULT_TIMEZONE,
            closures=frozenset(parse_dates(closures, "closures")),
            email=(email or "").strip() or None,
            first_day=_one_date(first_day, "first day"),
            last_day=_one_date(last_day, "last day"),
            quiet_days=_count(quiet_days, "quiet days"),
            uploaders=parse_uploaders(uploaders),
        )


def parse_uploaders(values: Iterable[str]) -> frozenset[str]:
    """Principal ids, given one by one or separated by spaces, commas or semicolons."""
    found = set()
    for value in values:
        for part in re.split(r"[\s,;]+", value.strip()):
            if part:
                try:
                    found.add(uploader_pattern(part))
                except UploaderError as error:
                    raise StoreError(str(error)) from None
    return frozenset(found)


def check_uploaders(uploaders: frozenset[str]) -> None:
    if len(uploaders) > UPLOADER_LIMIT:
        raise StoreError(f"uploaders: at most {UPLOADER_LIMIT}")
    parse_uploaders(uploaders)


def parse_days(text: str) -> frozenset[int]:
    """ "Mon-Sat", "Mon Tue Thu", "Mon,Wed-Fri" -> weekday numbers."""
    days: set[int] = set()
    for part in re.split(r"[\s,;]+", text.strip()):
        if not part:
            continue
        first, _, last = part.partition("-")
        start, end = _day(first), _day(last or first)
        if end < start:
            raise StoreError(f"days: {part!r} runs backwards")
        days.update(range(start, end + 1))
    return frozenset(days)


def _day(text: str) -> int:
    key = text.strip()[:3].title()
    if key not in DAY_NAMES:
        raise StoreError(f"days: {text[:20]!r} is not one of {' '.join(DAY_NAMES)}")
    return DAY_NAMES.index(key)


def parse_dates(values: Iterable[str], what: str) -> list[date]:
    """ISO dates, given one by one or separated by spaces, commas or semicolons."""
    days = []
    for value in values:
        for part in re.split(r"[\s,;]+", value.strip()):
            if not part:
                continue
            try:
                days.append(date.fromisoformat(part))
            except ValueError:
                raise StoreError(f"{what}: {part[:20]!r} is not a date (YYYY-MM-DD)") from None
    return days


def _one_date(text: str, what: str) -> date | None:
    days = parse_dates([text], what)
    if len(days) > 1:
        raise StoreError(f"{what}: one date (YYYY-MM-DD)")
    return days[0] if days else None


def _count(text: str, what: str) -> int:
    try:
        return int(text.strip() or 0)
    except ValueError:
        raise StoreError(f"{what}: {text[:20]!r} is not a whole number") from None


def quiet_pk(license_number: str, day: date) -> str:
    return f"{QUIET_PREFIX}{license_number}#{day.isoformat()}"
