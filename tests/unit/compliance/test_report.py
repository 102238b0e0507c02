"""The compliance report's model, its page and the monthly page, on plain records."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from capss.compliance.calendar import BusinessCalendar
from capss.compliance.monitor import DayState
from capss.compliance.monthly import compose_month_alert, page_key
from capss.compliance.page import LOOKS, render_page
from capss.compliance.report import (
    ComplianceReport,
    ReportError,
    build_report,
    first_business_day,
    previous_month,
)
from capss.compliance.stores import ExpectedStore
from capss.outcome import Outcome

from tests.integration.compliance.month import History, day_record

PT_MORNING = "T10:00:00-08:00"


def sent(day: str) -> datetime:
    return datetime.fromisoformat(day + PT_MORNING)


def week(now: datetime = datetime(2026, 11, 30, 18, tzinfo=UTC)) -> ComplianceReport:
    """Main St, Mon 2026-11-16 .. Sun 2026-11-22 (Mon-Sat), one of each kind of day."""
    main = ExpectedStore(
        license="000000300", name="Main St", closures=frozenset({date(2026, 11, 21)})
    )
    number = main.license
    history = History(
        [
            day_record(number, date(2026, 11, 16), Outcome.COMPLETE, sent("2026-11-17")),
            day_record(
                number, date(2026, 11, 17), Outcome.COMPLETE_WITH_ISSUES, sent("2026-11-18")
            ),
            day_record(number, date(2026, 11, 18), Outcome.COMPLETE, sent("2026-11-20")),
            day_record(number, date(2026, 11, 19), Outcome.REJECTED, sent("2026-11-20")),
            # 2026-11-20: no file.
        ]
    )
    return build_report(
        chain="capss-bridge",
        stores=[main],
        history=history,
        calendar=BusinessCalendar(),
        since=date(2026, 11, 16),
        until=date(2026, 11, 22),
        now=now,
    )


def test_every_day_of_the_period_has_its_state_and_the_figures_count_them() -> None:
    report = week()
    ((row),) = report.rows
    assert [d.status.state for d in row.days] == [
        DayState.REPORTED,
        DayState.REPORTED,  # complete_with_issues reached CAPSS on time
        DayState.LATE,
        DayState.FAILED,
        DayState.MISSING,
        DayState.CLOSED,  # its closure
        DayState.CLOSED,  # Sunday: not one of its days
    ]
    figures = report.to_json()["stores"][0]
    assert figures == {
        "license": "000000300",
        "store": "Main St",
        "due": 5,
        "on_time": 2,
        "late": 1,
        "partly_reported": 0,
        "processing": 0,
        "missed": 2,
        "on_time_rate": 0.4,
        "states": {
            "reported": 2,
            "reported_late": 1,
            "partly_reported": 0,
            "processing": 0,
            "failed": 1,
            "missing": 1,
            "nothing_to_report": 0,
            "closed": 2,
            "not_expected": 0,
        },
    }
    assert report.to_json()["totals"] == {
        k: v for k, v in figures.items() if k not in ("license", "store")
    }
    # The problem days name their files, outcome and when they reached CAPSS.
    problems = {d.status.day.isoformat(): d for d in report.problems}
    assert list(problems) == ["2026-11-18", "2026-11-19", "2026-11-20"]
    (rejected,) = problems["2026-11-19"].trace
    assert (rejected.key, rejected.outcome, rejected.reached_capss_at) == (
        "incoming/transactions/000000300/2026-11-19.xml",
        "rejected",
        None,
    )
    assert problems["2026-11-20"].trace == ()


def test_a_day_still_within_its_deadline_is_not_yet_expected_not_missing() -> None:
    # Friday the 20th is due Monday the 23rd: on the 23rd itself no file yet is not missing.
    report = week(now=datetime(2026, 11, 23, 18, tzinfo=UTC))
    friday = report.rows[0].days[4]
    assert friday.status.state is DayState.NOT_EXPECTED
    assert report.totals.due == 4


def test_a_period_runs_forwards_and_at_most_a_year() -> None:
    with pytest.raises(ReportError, match="not one of 1 to 370 days"):
        build_report(
            chain="c",
            stores=[],
            history=History(),
            calendar=BusinessCalendar(),
            since=date(2026, 11, 2),
            until=date(2026, 11, 1),
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )


def test_every_day_state_has_a_label_a_meaning_and_its_own_colour() -> None:
    assert set(LOOKS) == set(DayState)
    assert len({look.label for look in LOOKS.values()}) == len(DayState)
    assert len({look.background for look in LOOKS.values()}) == len(DayState)
    assert all(look.label.strip() and look.meaning for look in LOOKS.values())


def test_the_page_is_self_contained_and_escapes_what_it_shows() -> None:
    report = week()
    shady = ExpectedStore(license="000000301", name='<script>alert("x")</script> & Co')
    page = render_page(
        build_report(
            chain="<b>chain</b>",
            stores=[shady, *(row.store for row in report.rows)],
            history=History(),
            calendar=BusinessCalendar(),
            since=report.since,
            until=report.until,
            now=report.generated_at,
        )
    )
    assert "<script" not in page
    assert "<b>chain" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    # Nothing the page could fetch: no scripts, links, images, fonts or imports.
    assert not re.search(r"<(script|link|img|iframe|object)|src=|url\(|@import|https?:", page)
    assert set(re.findall(r'href="([^"]*)"', page)) <= {
        f"#p-{n}-{d}" for n in ("000000300", "000000301") for d in _dates(report)
    }
    assert "@page { size: landscape" in page


def test_a_long_key_is_shown_cut() -> None:
    number = "000000300"
    name = "x" * 900 + ".xml"
    history = History(
        [day_record(number, date(2026, 11, 19), Outcome.REJECTED, sent("2026-11-20"), name=name)]
    )
    report = build_report(
        chain="c",
        stores=[ExpectedStore(license=number)],
        history=history,
        calendar=BusinessCalendar(),
        since=date(2026, 11, 19),
        until=date(2026, 11, 19),
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    (trace,) = report.problems[0].trace
    assert len(trace.key) == 300
    assert trace.key.endswith("…")


def test_the_monthly_page_runs_on_the_first_business_day_for_the_month_before() -> None:
    calendar = BusinessCalendar()
    # New Year's Day 2027 is a Friday: the first business day is Monday the 4th.
    assert first_business_day(2027, 1, calendar) == date(2027, 1, 4)
    assert first_business_day(2026, 12, calendar) == date(2026, 12, 1)
    assert previous_month(date(2027, 1, 4)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert page_key(date(2026, 11, 1)) == "reports/2026-11.html"


def test_the_monthly_email_says_where_the_page_is_and_the_figures() -> None:
    alert = compose_month_alert(week(), "s3://bucket/reports/2026-11.html")
    assert alert.subject == "CAPSS month page 2026-11: 40.0% on time, 2 missed, 1 late"
    assert "  s3://bucket/reports/2026-11.html\n" in alert.body
    assert (
        "  - 000000300 Main St: 5 due, 2 on time, 1 late, 0 partly reported, 2 missed"
        " (40.0% on time)\n" in alert.body
    )
    # It names every store: no license, so only ops' subscription gets it, not a store's.
    assert alert.attributes == {"outcome": "month_page", "kind": "month_page"}


def _dates(report: ComplianceReport) -> list[str]:
    return [day.isoformat() for day in report.dates]
