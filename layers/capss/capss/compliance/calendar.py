"""Business days for the reporting deadline (Business and Professions Code 21630).

A report is due by the business day after the transaction; weekends and holidays are not
business days. Holidays come from the maintained `holidays` package, subdivision CA, with
its default `observed=True`: when a holiday falls on a Sunday the Monday after counts as a
holiday too (and the package's own rules for Saturday observances apply), so the deadline
moves past an observed day rather than alerting on it. The chain adds what the package
lacks (e.g. Native American Day) as extra holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays

SATURDAY = 5


class BusinessCalendar:
    def __init__(self, extra_holidays: Iterable[date] = ()) -> None:
        self._holidays = holidays.country_holidays("US", subdiv="CA")
        self._extra = frozenset(extra_holidays)

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra:
            return "chain holiday"
        name = self._holidays.get(day)
        return str(name) if name else None

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and self.holiday_name(day) is None

    def deadline(self, trading_day: date) -> date:
        """The last day a report of `trading_day`'s transactions is on time."""
        day = trading_day + timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day
