"""The monitor's judgements on plain records: which day a file covers, what is stuck."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from capss.compliance.calendar import BusinessCalendar
from capss.compliance.monitor import DayState, covers, store_day, stuck_files
from capss.compliance.stores import ExpectedStore
from capss.outcome import Outcome
from capss.pipeline import advice
from capss.pipeline.records import FileRecord, Phase

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)
OLD = "2026-11-25T10:00:00+00:00"
"""Five hours before NOW."""


def record(name: str, **fields: object) -> FileRecord:
    values: dict[str, object] = {
        "pk": f"FILE#b/incoming/transactions/000000300/{name}#v1",
        "bucket": "b",
        "key": f"incoming/transactions/000000300/{name}",
        "version_id": "v1",
        "kind": "transactions",
        "license": "000000300",
        "updated_at": OLD,
        **fields,
    }
    return FileRecord(**values)  # type: ignore[arg-type]


def test_a_file_covers_the_days_its_transactions_span_and_item_updates_cover_none() -> None:
    span = record(
        "a.xml",
        first_transaction_at="2026-11-21T18:00:00",
        last_transaction_at="2026-11-23T09:00:00",
    )
    assert [covers(span, date(2026, 11, d)) for d in (20, 21, 22, 23, 24)] == [
        False,
        True,
        True,
        True,
        False,
    ]
    update = record(
        "u.xml",
        kind="item-updates",
        first_transaction_at="2026-11-23T09:00:00",
        last_transaction_at="2026-11-23T09:00:00",
    )
    assert not covers(update, date(2026, 11, 23))


def test_a_day_is_reported_on_time_by_the_first_file_to_reach_capss_in_the_stores_zone() -> None:
    store = ExpectedStore(license="000000300")
    monday, calendar = date(2026, 11, 23), BusinessCalendar()
    dates = {
        "first_transaction_at": "2026-11-23T10:00:00",
        "last_transaction_at": "2026-11-23T17:00:00",
    }
    # 07:59 UTC on Wednesday is still Tuesday in California: on time.
    on_time = record(
        "a.xml", outcome=Outcome.COMPLETE, submitted_at="2026-11-25T07:59:00+00:00", **dates
    )
    late = record(
        "b.xml", outcome=Outcome.COMPLETE, submitted_at="2026-11-25T08:01:00+00:00", **dates
    )
    failed = record("c.xml", outcome=Outcome.FAILED, **dates)
    assert store_day(store, monday, [on_time], calendar).state is DayState.REPORTED
    assert store_day(store, monday, [late], calendar).state is DayState.LATE
    assert store_day(store, monday, [failed, late], calendar).state is DayState.LATE
    assert store_day(store, monday, [failed], calendar).state is DayState.FAILED
    assert store_day(store, monday, [], calendar).state is DayState.MISSING


def test_the_sweep_names_each_kind_of_stuck_file_with_its_advice() -> None:
    records = [
        record("claimed.xml", phase=Phase.CLAIMED),
        record("uploading.xml", phase=Phase.UPLOADING),
        record("orphan.xml", phase=Phase.SUBMITTED, execution_arn="arn:stopped"),
        record("followed.xml", phase=Phase.SUBMITTED, execution_arn="arn:running"),
        record("owed.xml", phase=Phase.DONE, outcome=Outcome.REJECTED),
        record("sent.xml", phase=Phase.DONE, outcome=Outcome.FAILED, alerted=True),
        record("fresh.xml", phase=Phase.CLAIMED, updated_at="2026-11-25T14:30:00+00:00"),
        # The last try's give-up: final and alerted, its phase left open for a redrive.
        record("gave-up.xml", phase=Phase.CLAIMED, outcome=Outcome.FAILED, alerted=True),
    ]
    found = stuck_files(records, NOW, timedelta(hours=2), lambda arn: arn == "arn:running")
    assert {s.record.name: s.advice for s in found} == {
        "claimed.xml": advice.STUCK_CLAIMED,
        "uploading.xml": advice.STUCK_UPLOADING,
        "orphan.xml": advice.STUCK_SUBMITTED,
        "owed.xml": advice.STUCK_ALERT_OWED,
    }


def test_the_digest_bounds_what_it_lists_per_license() -> None:
    from capss.compliance.digest import NAMES_LIMIT, LicenseDay  # noqa: PLC0415

    day = LicenseDay("000000300", "Main St")
    for number in range(NAMES_LIMIT + 5):
        day.add(record(f"f{number}.xml", outcome=Outcome.PROCESSING))
    assert len(day.to_json()["processing"]) == NAMES_LIMIT
    (headline, processing) = day.lines()
    assert headline.startswith("000000300 Main St: 25 file(s) (25 processing)")
    assert processing.endswith(f"f{NAMES_LIMIT - 1}.xml and 5 more")


def test_the_digest_says_what_became_of_customer_data() -> None:
    from capss.compliance.digest import LicenseDay  # noqa: PLC0415

    day = LicenseDay("000000300", "Main St")
    day.add(record("a.xml", outcome=Outcome.COMPLETE, customer_data="on file"))
    day.add(record("b.xml", outcome=Outcome.COMPLETE, customer_data="sent"))
    day.add(record("c.xml", outcome=Outcome.COMPLETE))
    assert day.to_json()["customer_data"] == {"on file": ["a.xml"], "sent": ["b.xml"]}
    assert day.lines()[1:] == [
        '  seller\'s data in customer fields, a copy reading "on file" sent instead: a.xml',
        "  seller's data in customer fields, sent as it was (CustomerFields=send): b.xml",
    ]
