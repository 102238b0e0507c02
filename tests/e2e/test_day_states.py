"""What became of each store's day, on the local stack with the clock travelled: the days a
file's transactions hold, what CAPSS saved of them, quiet days, the register's history and
the business calendar."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from capss.aws.ops import Stack
from capss.cli.ops import month_report
from capss.compliance.monitor import DayState, StoreDay
from capss.compliance.stores import ExpectedStore
from capss.pipeline.files import quiet_marker

from tests.e2e.conftest import Pipeline, variant
from tests.e2e.test_monitor import Start, _until, at, clock, drop, monitor_alerts, named, start
from tests.e2e.test_ops_commands import Ops

ERROR = "[sim:error]"
"""In an item's description: the simulator records the item as an error, not saved."""


def times_file(license_number: str, times: tuple[str, str], tag: str, errors: int = 0) -> bytes:
    """The clean sample (two transactions: two items, then one) with these transaction times
    and its first `errors` items marked as errors."""
    text = variant("store-0300-clean.xml", tag).decode()
    text = text.replace('licenseNumber="000000300"', f'licenseNumber="{license_number}"')
    given = iter(times)
    text = re.sub(r"<transactionTime>[^<]+<", lambda _: f"<transactionTime>{next(given)}<", text)
    if errors:  # count=0 would mark every one
        text = re.sub(r"<description>", f"<description>{ERROR} ", text, count=errors)
    return text.encode()


def ops_stack(p: Pipeline) -> Stack:
    """What `capss --local` reads, in this process (moto intercepts boto3 itself)."""
    state = p.stack.connection()
    return Stack(
        name="local",
        outputs=state["outputs"],
        parameters=state["parameters"],
        session=p.stack.session,
    )


def report_days(p: Pipeline, since: date, until: date) -> list[StoreDay]:
    """`capss report`'s days, every store's."""
    report = month_report(ops_stack(p), since, until)
    return [d.status for row in report.rows for d in row.days]


def states(p: Pipeline, license_number: str, since: date, until: date) -> dict[int, str]:
    """`capss report`'s states for one store, by day of the month."""
    return {
        d.day.day: d.state.value
        for d in report_days(p, since, until)
        if d.license == license_number
    }


def test_a_stray_future_date_reports_no_day_and_a_past_one_only_its_own(pipeline: Start) -> None:
    p, register = start(pipeline, parameters={"MonitorLookbackDays": "7"})
    register.put_store(ExpectedStore(license="000000300", first_day=date(2026, 11, 30)))
    register.put_store(ExpectedStore(license="000000302", first_day=date(2026, 11, 2)))
    # One mistyped year: 2062 for 2026.
    stray = times_file("000000300", ("2026-12-01T10:15:00", "2062-12-01T16:40:30"), "FUT")
    drop(p, at(2026, 12, 2, 8), "000000300", stray, "stray.xml")
    # A transaction of a month ago, sent with yesterday's.
    old = times_file("000000302", ("2026-11-03T10:15:00", "2026-12-01T16:40:30"), "PAST")
    drop(p, at(2026, 12, 2, 8), "000000302", old, "catch-up.xml")

    final = p.stack.run_schedule("FinalCheck", at(2026, 12, 10, 7))
    week = {"2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-07", "2026-12-08"}
    assert named(final) == {
        (lic, day, "missing") for lic in ("000000300", "000000302") for day in week
    }
    with clock(at(2026, 12, 3, 9)):
        past = states(p, "000000302", date(2026, 11, 2), date(2026, 12, 1))
    assert (past[3], past[4], past[30]) == ("reported_late", "missing", "missing")
    assert past[1] == "reported"  # 2026-12-01
    assert "reported" not in {past[day] for day in range(4, 31)}


def test_what_capss_saved_decides_the_day(pipeline: Start) -> None:
    p, register = start(pipeline, parameters={"MonitorLookbackDays": "1"})
    for number in ("000000300", "000000302", "000000303"):
        register.put_store(ExpectedStore(license=number, first_day=date(2026, 11, 2)))
    monday = ("2026-11-23T10:15:00", "2026-11-23T16:40:30")
    every_item = times_file("000000300", monday, "ERR3", errors=3)
    one_item = times_file("000000302", monday, "ERR1", errors=1)
    clean = times_file("000000303", monday, "CLEAN")
    for number, data in (("000000300", every_item), ("000000302", one_item), ("000000303", clean)):
        dropped = drop(p, at(2026, 11, 24, 9), number, data, f"{number}.xml")
        assert p.stack.record(dropped)["outcome"] in ("complete", "complete_with_issues")  # type: ignore[index]

    final = p.stack.run_schedule("FinalCheck", at(2026, 11, 25, 7))
    assert named(final) == {
        ("000000300", "2026-11-23", "failed"),
        ("000000302", "2026-11-23", "partly_reported"),
    }
    partly = next(d for d in final["days"] if d["license"] == "000000302")
    assert (partly["items"], partly["saved"]) == (3, 2)
    body = monitor_alerts(p)[-1].body
    assert "partly reported: CAPSS saved 2 of the day's 3 item(s)" in body
    assert "What to do (partly_reported): CAPSS saved only some of the day's items" in body


def test_a_utc_stamped_evening_transaction_stays_on_its_day(pipeline: Start) -> None:
    p, register = start(pipeline, parameters={"MonitorLookbackDays": "1"})
    register.put_store(ExpectedStore(license="000000300", first_day=date(2026, 11, 2)))
    # Monday 19:30 and 19:40 in California, stamped in UTC (Tuesday there).
    evening = times_file("000000300", ("2026-11-24T03:30:00Z", "2026-11-24T03:40:00+00:00"), "UTC")
    drop(p, at(2026, 11, 24, 8), "000000300", evening, "evening.xml")
    assert named(p.stack.run_schedule("EarlyWarning", at(2026, 11, 24, 10))) == set()
    # Tuesday itself has no file: named on its deadline, Wednesday.
    wednesday = named(p.stack.run_schedule("EarlyWarning", at(2026, 11, 25, 10)))
    assert wednesday == {("000000300", "2026-11-24", "missing")}


def test_nothing_to_report_is_said_by_the_pos_or_by_ops_and_a_quiet_store_is_named_late(
    pipeline: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p, register = start(pipeline, parameters={"MonitorLookbackDays": "1"})
    for number in ("000000300", "000000302", "000000303"):
        register.put_store(ExpectedStore(license=number, first_day=date(2026, 11, 2)))
    register.put_store(
        ExpectedStore(license="000000304", first_day=date(2026, 12, 1), quiet_days=2)
    )
    key = "incoming/quiet/000000300/2026-11-23"
    assert quiet_marker(key) is not None
    with clock(at(2026, 11, 23, 20)):
        p.stack.drop(b"", key)
        _until(lambda: ("000000300", date(2026, 11, 23)) in register.quiet_days(date(2026, 11, 1)))
        ops = Ops(p, tmp_path, capsys)
        code, out, _ = ops.run("stores", "quiet", "000000302", "2026-11-23")
    assert (code, out) == (0, "capss: 000000302: nothing to report on 2026-11-23\n")
    assert p.sim.requests == []  # a marker is never sent to CAPSS

    early = p.stack.run_schedule("EarlyWarning", at(2026, 11, 24, 10))
    assert named(early) == {("000000303", "2026-11-23", "missing")}
    with clock(at(2026, 11, 24, 11)):
        monday = {
            d.license: d.state for d in report_days(p, date(2026, 11, 23), date(2026, 11, 23))
        }
    assert monday["000000300"] is DayState.NOTHING_TO_REPORT
    assert monday["000000302"] is DayState.NOTHING_TO_REPORT

    # A store that does not trade every open day: two silent days pass, the third is named.
    quiet_store = []
    for day in (2, 3, 4):
        found = named(p.stack.run_schedule("EarlyWarning", at(2026, 12, day, 10)))
        quiet_store.append({d for lic, d, _ in found if lic == "000000304"})
    assert quiet_store == [set(), set(), {"2026-12-03"}]


def test_the_register_keeps_its_history(
    pipeline: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p, _ = start(pipeline, parameters={"MonitorLookbackDays": "7"})
    ops = Ops(p, tmp_path, capsys)
    with clock(at(2026, 11, 18, 12)):
        assert ops.run("stores", "add", "000000300", "--name", "Main St")[0] == 0
        assert ops.run("stores", "add", "000000302", "--name", "Oak Ave")[0] == 0
    # Registered on Wednesday: the days before owe nothing.
    assert named(p.stack.run_schedule("FinalCheck", at(2026, 11, 19, 7))) == set()
    with clock(at(2026, 11, 20, 18)):
        code, out, _ = ops.run("stores", "remove", "000000302")
    assert (code, out) == (0, "capss: 000000302 removed: no report is owed after 2026-11-20\n")
    drop(
        p,
        at(2026, 11, 24, 9),
        "000000300",
        times_file("000000300", ("2026-11-23T10:00:00", "2026-11-23T11:00:00"), "HIST"),
        "h.xml",
    )

    with clock(at(2026, 12, 1, 9)):
        code, text, _ = ops.run(
            "report", "--since", "2026-11-16", "--until", "2026-11-30", "--format", "csv"
        )
    assert code == 0
    rows = [line.split(",") for line in text.splitlines()[1:]]
    by_store: dict[str, dict[int, str]] = {}
    for row in rows:
        by_store.setdefault(row[0], {})[int(row[2][-2:])] = row[4]
    main, oak = by_store["000000300"], by_store["000000302"]
    assert (main[16], main[17], main[18], main[22], main[23]) == (
        "not_expected",
        "not_expected",
        "missing",
        "closed",
        "reported",
    )
    # The removed store keeps last month's days; after its last day it owes nothing.
    assert (oak[17], oak[18], oak[20], oak[21], oak[23]) == (
        "not_expected",
        "missing",
        "missing",
        "not_expected",
        "not_expected",
    )
    later = named(p.stack.run_schedule("FinalCheck", at(2026, 11, 25, 7)))
    assert {day for lic, day, _ in later if lic == "000000302"} == {
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    }


@pytest.mark.parametrize(
    ("parameters", "check_at", "expected"),
    [
        # Diwali (Fri 2027-10-29) closes no state office: Thursday's report is due Friday.
        ({}, (2027, 10, 29), {"2027-10-28"}),
        # Cesar Chavez Day (Wed 2027-03-31) removed by the chain: Tuesday's is due Wednesday.
        ({"RemovedHolidays": "2027-03-31"}, (2027, 3, 31), {"2027-03-30"}),
        ({}, (2027, 3, 31), set()),
    ],
)
def test_which_days_move_a_deadline(
    pipeline: Start, parameters: dict[str, str], check_at: tuple[int, int, int], expected: set[str]
) -> None:
    p, register = start(pipeline, parameters=parameters)
    register.put_store(ExpectedStore(license="000000300"))
    found = named(p.stack.run_schedule("EarlyWarning", at(*check_at, 10)))
    assert {day for _, day, _ in found} == expected
