"""Business days for the reporting deadline (Business and Professions Code 21630).

A report is due "no later than the next business day after the date of the transaction,
excluding weekends and holidays". Holidays come from the maintained `holidays` package,
subdivision CA, with its default `observed=True` (a Sunday holiday is observed the Monday
after). The package also lists days that close no state office (Susan B. Anthony Day,
Diwali): counting them would move a deadline a day later, so the default calendar leaves
them out (it errs toward alerting early; docs/design.md gives the reasoning). A chain adds a
day (`ExtraHolidays`, e.g. Native American Day) or removes one (`RemovedHolidays`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays

SATURDAY = 5
NOT_CLOSURE_DAYS = frozenset({"Susan B. Anthony Day", "Diwali"})
"""Names in the package's California calendar that are not state holidays closing offices
(Cal. Gov. Code 6700): they move no deadline unless a chain adds the date."""


class BusinessCalendar:
    def __init__(
        self, extra_holidays: Iterable[date] = (), removed_holidays: Iterable[date] = ()
    ) -> None:
        self._holidays = holidays.country_holidays("US", subdiv="CA")
        self._extra = frozenset(extra_holidays)
        self._removed = frozenset(removed_holidays)

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra:
            return "chain holiday"
        if day in self._removed:
            return None
        names = [name for name in self._holidays.get_list(day) if name not in NOT_CLOSURE_DAYS]
        return "; ".join(names) or None

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and self.holiday_name(day) is None

    def deadline(self, trading_day: date) -> date:
        """The last day a report of `trading_day`'s transactions is on time."""
        day = trading_day + timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day
