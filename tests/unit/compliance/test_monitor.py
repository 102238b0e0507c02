"""The monitor's judgements on plain records: which days a file reports, what is stuck."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from capss.compliance.calendar import BusinessCalendar
from capss.compliance.monitor import (
    CheckKind,
    CheckResult,
    DayState,
    compose_check_alert,
    day_items,
    store_day,
    stuck_files,
)
from capss.compliance.stores import ExpectedStore
from capss.outcome import Counts, Outcome
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


def days(*entries: tuple[str, int]) -> list[dict[str, object]]:
    return [{"day": day, "transactions": 1, "items": items} for day, items in entries]


def test_a_file_reports_the_days_its_transactions_hold_not_the_span_between() -> None:
    store = ExpectedStore(license="000000300")
    stray = record(
        "a.xml",
        received_at="2026-11-24T16:00:00+00:00",
        transaction_days=days(("2026-11-03", 1), ("2026-11-23", 2), ("2062-11-23", 1)),
        first_transaction_at="2026-11-03T09:00:00",
        last_transaction_at="2062-11-23T09:00:00",
    )
    held = {d: day_items(stray, date(2026, 11, d), store) for d in (3, 4, 22, 23, 24)}
    assert held == {3: 1, 4: None, 22: None, 23: 2, 24: None}
    # A date after the file arrived is a stray clock: it reports nothing.
    assert day_items(stray, date(2062, 11, 23), store) is None
    # A record from before the days were kept: its first and last dates only.
    legacy = record(
        "b.xml",
        items=4,
        first_transaction_at="2026-11-21T18:00:00",
        last_transaction_at="2026-11-23T09:00:00",
    )
    assert [day_items(legacy, date(2026, 11, d), store) for d in (21, 22, 23)] == [4, None, 4]
    update = record("u.xml", kind="item-updates", transaction_days=days(("2026-11-23", 1)))
    assert day_items(update, date(2026, 11, 23), store) is None


def test_what_capss_saved_decides_whether_a_day_is_reported_in_full_in_part_or_not() -> None:
    store, monday, calendar = (
        ExpectedStore(license="000000300"),
        date(2026, 11, 23),
        BusinessCalendar(),
    )

    def finished(counts: Counts, *held: tuple[str, int]) -> FileRecord:
        return record(
            "a.xml",
            outcome=Outcome.COMPLETE_WITH_ISSUES,
            submitted_at="2026-11-24T16:00:00+00:00",
            transaction_days=days(*held),
            items=sum(n for _, n in held),
            counts=counts,
        )

    all_errors = finished(Counts(saved=0, errors=3), ("2026-11-23", 3))
    assert store_day(store, monday, [all_errors], calendar).state is DayState.FAILED
    some = store_day(
        store, monday, [finished(Counts(saved=2, errors=1), ("2026-11-23", 3))], calendar
    )
    assert (some.state, some.items, some.saved) == (DayState.PARTLY, 3, 2)
    # CAPSS counts per file: over two days it cannot say which day lost the item.
    two_days = finished(Counts(saved=4, errors=1), ("2026-11-23", 3), ("2026-11-24", 2))
    spread = store_day(store, monday, [two_days], calendar)
    assert (spread.state, spread.items, spread.saved) == (DayState.PARTLY, 3, None)
    duplicates = finished(Counts(saved=1, errors=0, duplicates=2), ("2026-11-23", 3))
    assert store_day(store, monday, [duplicates], calendar).state is DayState.REPORTED


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


def test_a_missed_day_says_what_became_of_its_file() -> None:
    """A file CAPSS accepted and never finished did reach CAPSS: the alert says what happened."""
    store = ExpectedStore(license="000000300")
    monday, calendar = date(2026, 11, 23), BusinessCalendar()
    dates = {
        "first_transaction_at": "2026-11-23T10:00:00",
        "last_transaction_at": "2026-11-23T17:00:00",
    }
    unknown = record(
        "t.xml",
        outcome=Outcome.TIMED_OUT,
        error="CAPSS answered 'Error processing file', a status the bridge does not know",
        **dates,
    )
    rejected = record("r.xml", outcome=Outcome.REJECTED, **dates)
    never = record("f.xml", outcome=Outcome.FAILED, error="no secret capss/000000300", **dates)
    whys = [store_day(store, monday, [r], calendar).why for r in (unknown, rejected, never)]
    assert whys == [
        "CAPSS accepted the file covering it and did not finish it (CAPSS answered"
        " 'Error processing file', a status the bridge does not know)",
        "the file covering it was rejected by the bridge, not sent",
        "the file covering it failed (no secret capss/000000300)",
    ]
    day = store_day(store, monday, [unknown], calendar)
    assert day.state is DayState.FAILED
    alert = compose_check_alert(CheckResult(CheckKind.FINAL, NOW, (day,), (), 1))
    assert "did not reach CAPSS" not in alert.body
    assert "'Error processing file'" in alert.body


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
