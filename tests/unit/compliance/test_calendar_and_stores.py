"""Business days from the holidays package, and the register's entries as people write them."""

from __future__ import annotations

from datetime import date

import pytest
from capss.compliance.calendar import BusinessCalendar
from capss.compliance.stores import ExpectedStore, StoreError, parse_days
from capss.pipeline.settings import MonitorSettings, SettingsError


@pytest.mark.parametrize(
    ("trading_day", "deadline"),
    [
        (date(2026, 11, 30), date(2026, 12, 1)),  # Monday -> Tuesday
        (date(2026, 12, 4), date(2026, 12, 7)),  # Friday -> Monday
        (date(2026, 12, 5), date(2026, 12, 7)),  # Saturday -> Monday
        (date(2026, 11, 25), date(2026, 11, 30)),  # Thanksgiving and the day after
        (date(2027, 7, 2), date(2027, 7, 6)),  # July 4th on a Sunday: observed Monday the 5th
        (date(2026, 7, 2), date(2026, 7, 6)),  # July 4th on a Saturday: observed Friday the 3rd
        (date(2026, 3, 30), date(2026, 4, 1)),  # Cesar Chavez Day, a California holiday
    ],
)
def test_the_deadline_is_the_next_business_day(trading_day: date, deadline: date) -> None:
    assert BusinessCalendar().deadline(trading_day) == deadline


def test_extra_holidays_are_not_business_days() -> None:
    native_american_day = date(2026, 9, 25)  # the package lacks it
    assert BusinessCalendar().deadline(date(2026, 9, 24)) == native_american_day
    calendar = BusinessCalendar([native_american_day])
    assert calendar.deadline(date(2026, 9, 24)) == date(2026, 9, 28)
    assert calendar.holiday_name(native_american_day) == "chain holiday"


def test_a_store_entry_from_text() -> None:
    store = ExpectedStore.parse(
        license_number=" 000000300 ",
        name="Main St",
        days="Mon-Wed, Fri",
        timezone="",
        closures=["2026-12-24 2026-12-31"],
        email="main@example.com",
    )
    assert store.days == frozenset({0, 1, 2, 4})
    assert store.timezone == "America/Los_Angeles"
    assert store.trades_on(date(2026, 12, 21))
    assert not store.trades_on(date(2026, 12, 24))  # a closure
    assert not store.trades_on(date(2026, 12, 17))  # a Thursday
    assert not store.trades_on(date(2026, 12, 21), frozenset({date(2026, 12, 21)}))
    assert ExpectedStore.from_item(store.to_item()) == store
    assert parse_days("") == frozenset()
    assert ExpectedStore(license="1").days == frozenset(range(6))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"license_number": "bad license!"}, "license"),
        ({"license_number": "1", "days": "Mon-Funday"}, "days"),
        ({"license_number": "1", "days": "Sat-Mon"}, "backwards"),
        ({"license_number": "1", "timezone": "Pacific"}, "IANA"),
        ({"license_number": "1", "closures": ["12/24/2026"]}, "YYYY-MM-DD"),
        ({"license_number": "1", "email": "nobody"}, "email"),
    ],
)
def test_a_malformed_entry_names_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(StoreError, match=message):
        ExpectedStore.parse(**fields)  # type: ignore[arg-type]


def test_monitor_settings_read_dates_and_refuse_malformed_ones() -> None:
    env = {
        "TABLE_NAME": "t",
        "STORES_TABLE_NAME": "s",
        "TOPIC_ARN": "arn",
        "EXTRA_HOLIDAYS": "2026-09-25",
        "CHAIN_CLOSURES": "2026-12-24,2026-12-31",
    }
    settings = MonitorSettings.from_env(env)
    assert settings.extra_holidays == {date(2026, 9, 25)}
    assert settings.chain_closures == {date(2026, 12, 24), date(2026, 12, 31)}
    assert (settings.lookback_days, settings.stuck_after_minutes) == (7, 120)
    with pytest.raises(SettingsError, match="CHAIN_CLOSURES"):
        MonitorSettings.from_env({**env, "CHAIN_CLOSURES": "Christmas"})
