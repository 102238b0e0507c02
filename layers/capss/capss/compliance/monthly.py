"""The monthly page: last month's compliance report, written for ops on the first business day.

An optional schedule (`MonthlyPage`) runs each of the month's first seven mornings; only
the run on the first business day writes `reports/<YYYY-MM>.html` and emails where it is,
with the chain's figures. The email goes to the ops subscription only: it names every
store, so a store's own subscription (filtered on its license) does not receive it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from capss.compliance.digest import PACIFIC
from capss.compliance.monitor import LINES_LIMIT, MonitorDeps, alert_once, check_id
from capss.compliance.page import render_page
from capss.compliance.ports import PageShelf
from capss.compliance.report import (
    ComplianceReport,
    StoreRow,
    build_report,
    first_business_day,
    previous_month,
)
from capss.pipeline.values import Alert

REPORTS_PREFIX = "reports/"
"""Beside `incoming/`, never under it: a page is no file to report."""


def page_key(first: date) -> str:
    return f"{REPORTS_PREFIX}{first:%Y-%m}.html"


def run_month_page(
    now: datetime,
    deps: MonitorDeps,
    shelf: PageShelf,
    *,
    chain: str,
    extra_holidays: frozenset[date],
    chain_closures: frozenset[date],
) -> dict[str, Any]:
    today = now.astimezone(PACIFIC).date()
    if today != first_business_day(today.year, today.month, deps.calendar):
        return {"check": "month_page", "written": None, "alerted": False}
    first, last = previous_month(today)
    report = build_report(
        chain=chain,
        stores=deps.stores.stores(),
        history=deps.history,
        calendar=deps.calendar,
        extra_holidays=extra_holidays,
        chain_closures=chain_closures,
        quiet=deps.stores.quiet_days(first),
        since=first,
        until=last,
        now=now,
    )
    where = shelf.put_page(page_key(first), render_page(report))
    summary = {
        "check": "month_page",
        "month": f"{first:%Y-%m}",
        "written": where,
        # The rate as the page shows it: the check's record is an item, and DynamoDB takes
        # no float.
        "totals": {**report.totals.to_json(), "on_time_rate": report.totals.rate_text},
    }
    return alert_once(
        deps, check_id(now, "month_page"), summary, [compose_month_alert(report, where)]
    )


def compose_month_alert(report: ComplianceReport, where: str) -> Alert:
    totals = report.totals
    month = f"{report.since:%Y-%m}"
    subject = (
        f"CAPSS month page {month}: {totals.rate_text} on time,"
        f" {totals.missed} missed, {totals.late} late"
    )
    stores = [_store_line(row) for row in report.rows]
    more = len(stores) - LINES_LIMIT
    lines = [
        f"The month page of {month} ({report.since:%a %Y-%m-%d} to {report.until:%a %Y-%m-%d})"
        " is in the bucket:",
        f"  {where}",
        "Open it in a browser: `aws s3 presign <that location>` gives a link for an hour;"
        " `aws s3 cp <that location> .` keeps a copy. It prints on landscape pages.",
        "",
        f"The chain ({len(report.rows)} store(s)): {totals.due} store-days due, {totals.on_time}"
        f" on time ({totals.rate_text}), {totals.late} late, {totals.partly} partly reported,"
        f" {totals.missed} missed, {totals.processing} still processing.",
        "",
        *stores[:LINES_LIMIT],
        *([f"  ... and {more} more (the page lists them all)"] if more > 0 else []),
        "",
        f"Any period's page: capss report --since {report.since} --until {report.until}"
        " --format html --output FILE",
    ]
    return Alert(
        subject=subject[:100],
        body="\n".join(lines) + "\n",
        attributes={"outcome": "month_page", "kind": "month_page"},
    )


def _store_line(row: StoreRow) -> str:
    s = row.summary
    who = f"{row.store.license} {row.store.name}".rstrip()
    return (
        f"  - {who}: {s.due} due, {s.on_time} on time, {s.late} late,"
        f" {s.partly} partly reported, {s.missed} missed ({s.rate_text} on time)"
    )
