"""The register of expected stores: who must report, on which days, in which time zone.

Kept as items beside the records (editable with `capss stores`, no deploy needed). A store
that trades on a day owes a report of it; a day it does not trade (not one of its days, one
of its closures or a chain closure) owes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from capss.errors import InputError
from capss.pipeline.uploaders import UploaderError, uploader_pattern

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_DAYS = frozenset(range(6))
"""Monday to Saturday."""
DEFAULT_TIMEZONE = "America/Los_Angeles"
STORE_PREFIX = "STORE#"
CHAIN_UPLOADERS = "CHAIN#uploaders"
"""The register item naming the uploaders that may file for every license."""
UPLOADER_LIMIT = 50
"""Uploaders kept per store, and chain-wide."""
LICENSE_PATTERN = re.compile(r"^[0-9A-Za-z-]{1,20}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")
NAME_LIMIT = 100
CLOSURE_LIMIT = 400
"""Closure dates kept per store (about a year of daily closures)."""


class StoreError(InputError):
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
        check_uploaders(self.uploaders)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def trades_on(self, day: date, chain_closures: frozenset[date] = frozenset()) -> bool:
        return day.weekday() in self.days and day not in self.closures | chain_closures

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
