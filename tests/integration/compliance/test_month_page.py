"""The month page in a real browser: what headless Chromium renders is what the JSON says."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lxml.html
from capss.compliance.page import render_page
from capss.compliance.report import ComplianceReport

from tests.integration.compliance.month import dump_dom, month_report, print_pdf, screenshot

FIGURES = {
    "due": "due",
    "on-time": "on_time",
    "late": "late",
    "partly": "partly_reported",
    "processing": "processing",
    "missed": "missed",
}


def write(report: ComplianceReport, path: Path) -> Path:
    path.write_text(render_page(report), encoding="utf-8")
    return path


def shown(figures: dict[str, Any]) -> dict[str, str]:
    """A JSON summary as the page shows it."""
    rate = figures["on_time_rate"]
    return {
        **{key: str(figures[name]) for key, name in FIGURES.items()},
        "rate": "-" if rate is None else f"{rate:.1%}",
    }


def figures_of(element: Any) -> dict[str, str]:
    return {td.get("data-figure"): td.text_content() for td in element.xpath("td[@data-figure]")}


def test_the_rendered_page_shows_every_store_day_and_the_jsons_figures(tmp_path: Path) -> None:
    report = month_report(6)
    expected = report.to_json()
    dom = lxml.html.fromstring(dump_dom(write(report, tmp_path / "month.html")).output)

    cells = dom.xpath("//table[@class='grid']/tbody/tr/td[@data-state]")
    assert len(cells) == 6 * 30
    # Every cell's state (and so its colour class and label) is the model's.
    states = {
        (cell.getparent().get("data-license"), cell.get("data-day")): cell.get("data-state")
        for cell in cells
    }
    assert states == {(d["license"], d["day"]): d["state"] for d in expected["days"]}
    assert all(cell.text_content().strip() for cell in cells)
    # Known cells: Oak Ave is closed on Thanksgiving, Bay Blvd trades Mon-Sat and Main St
    # every day of the week.
    assert states["000000301", "2026-11-26"] == "closed"
    assert states["000000302", "2026-11-08"] == "closed"
    assert states["000000300", "2026-11-08"] != "closed"
    gap = next(d for d in expected["days"] if d["state"] == "missing")
    (missing,) = dom.xpath(f"//tr[@data-license='{gap['license']}']/td[@data-day='{gap['day']}']")
    assert missing.text_content() == "✗"
    assert "no file covers the day" in missing.get("title")

    # Per store and the chain: the JSON's figures.
    rows = dom.xpath("//table[@class='grid']/tbody/tr[@data-license]")
    assert {row.get("data-license"): figures_of(row) for row in rows} == {
        store["license"]: shown(store) for store in expected["stores"]
    }
    (chain,) = dom.xpath("//tr[@data-chain='totals']")
    assert figures_of(chain) == shown(expected["totals"])
    boxes = {
        div.get("data-total"): div.xpath("b")[0].text_content()
        for div in dom.xpath("//div[@data-total]")
    }
    assert boxes == shown(expected["totals"])

    # Each problem day is listed beneath the grid (print shows it), traced to its file.
    problems = [
        d
        for d in expected["days"]
        if d["state"] in ("reported_late", "failed", "missing", "partly_reported", "processing")
    ]
    assert len(dom.xpath("//tr[@data-problem]")) == len(problems) > 0
    failed = next(d for d in problems if d["state"] == "failed" and d["trace"])
    (trace, *_) = failed["trace"]
    anchor = f"p-{failed['license']}-{failed['day']}"
    (listed,) = dom.xpath(f"//tr[@data-problem='{anchor}']")
    assert trace["key"] in listed.text_content()
    assert trace["outcome"] in listed.text_content()
    (cell,) = dom.xpath(
        f"//tr[@data-license='{failed['license']}']/td[@data-day='{failed['day']}']"
    )
    reached = trace["reached_capss_at"] or "never"
    assert f"{trace['key']}: {trace['outcome']}, reached CAPSS {reached}" in cell.get("title")
    assert cell.xpath("a")[0].get("href") == f"#{anchor}"

    # The facts an auditor needs first.
    facts = dom.xpath("//dl[@class='facts']")[0].text_content()
    assert "capss-bridge" in facts
    assert "2026-11-01" in facts
    assert "2026-11-30" in facts
    assert "2026-11-26 Thanksgiving" in facts
    assert "2026-12-01 07:30 PST" in facts


def test_a_screenshot_for_a_person_to_look_at(tmp_path: Path) -> None:
    """The image in docs/month-page.png (`pytest -s` prints where it is)."""
    page = write(month_report(12), tmp_path / "month.html")
    png = screenshot(page, tmp_path / "month.png", size="1400,900")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {png}")


def test_thirty_stores_render_in_under_two_seconds_and_print_on_one_page(tmp_path: Path) -> None:
    month_report(1)  # the first report pays for loading the holidays tables
    started = time.monotonic()
    report = month_report(30)
    page = write(report, tmp_path / "month.html")
    made = time.monotonic() - started
    # The browser's own start is the same for any page: a blank page measures it. The
    # quickest of three runs of each, as other work on the machine only ever slows one down.
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><title>blank</title>", encoding="utf-8")
    start_up = min(dump_dom(blank).seconds for _ in range(3))
    rendered = min((dump_dom(page) for _ in range(3)), key=lambda r: r.seconds)
    assert len(lxml.html.fromstring(rendered.output).xpath("//td[@data-state]")) == 30 * 30
    print(f"30 stores: made in {made:.2f} s, rendered in {rendered.seconds - start_up:.2f} s")
    assert made < 2
    assert rendered.seconds - start_up < 2

    # On paper: a month of 30 stores with nothing to trace is one landscape page; the grid
    # of 60 goes on over more pages (with its header row on each).
    clean = _all_on_time(report)
    assert print_pdf(write(clean, tmp_path / "clean.html"), tmp_path / "clean.pdf") == 1
    bigger = _all_on_time(month_report(60))
    assert print_pdf(write(bigger, tmp_path / "bigger.html"), tmp_path / "bigger.pdf") > 1


def _all_on_time(report: ComplianceReport) -> ComplianceReport:
    from dataclasses import replace  # noqa: PLC0415

    from capss.compliance.monitor import DayState  # noqa: PLC0415
    from capss.compliance.report import ReportDay, StoreRow  # noqa: PLC0415

    def fixed(day: ReportDay) -> ReportDay:
        if not day.problem:
            return day
        return ReportDay(replace(day.status, state=DayState.REPORTED))

    rows = tuple(StoreRow(r.store, tuple(fixed(d) for d in r.days)) for r in report.rows)
    return replace(report, rows=rows)
