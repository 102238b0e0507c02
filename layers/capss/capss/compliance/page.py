"""The month page: a compliance report as one self-contained HTML file.

No script, no font, no image, no link: the page opens the same from disk, from an S3 link
and on paper. Colour is never the only cue: every cell carries a short label, explained in
the legend. The grid prints on one landscape page for about 30 stores; beyond that the
header row repeats on every page. Every problem cell names its files in a tooltip and again
in the list beneath the grid, which is what paper shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from capss.compliance.calendar import SATURDAY
from capss.compliance.monitor import DayState
from capss.compliance.report import ComplianceReport, ReportDay, StoreRow, Summary


@dataclass(frozen=True, slots=True)
class Look:
    label: str
    """What the cell shows (one or two characters)."""
    meaning: str
    background: str
    text: str


LOOKS = {
    DayState.REPORTED: Look("✓", "on time", "#c8e6c9", "#1b5e20"),
    DayState.LATE: Look("L", "after the deadline", "#ffe082", "#4e342e"),
    DayState.PARTLY: Look("P", "CAPSS saved some items, not all", "#ffb74d", "#3e2723"),
    DayState.PROCESSING: Look("…", "CAPSS has not finished the file", "#bbdefb", "#0d47a1"),
    DayState.FAILED: Look("F", "failed or rejected: nothing final in CAPSS", "#ef9a9a", "#7f0000"),
    DayState.MISSING: Look("✗", "no file covers the day", "#b71c1c", "#ffffff"),
    DayState.NOTHING_TO_REPORT: Look("0", "the store said it had none", "#e0f2f1", "#004d40"),
    DayState.CLOSED: Look("C", "not a trading day", "#eeeeee", "#616161"),
    DayState.NOT_EXPECTED: Look("-", "not expected, or not due yet", "#ffffff", "#9e9e9e"),
}
"""Every day state's label, meaning and colours (a test holds it to the vocabulary)."""

STYLE = """
@page { size: landscape; margin: 8mm; }
* { box-sizing: border-box; }
body { font: 11px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #212121; margin: 12px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 13px; margin: 14px 0 4px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 4px 0; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.totals { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
.totals div { border: 1px solid #bdbdbd; border-radius: 4px; padding: 3px 8px; }
.totals b { font-size: 15px; margin-right: 4px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin: 6px 0; }
.legend span.cell { display: inline-block; width: 18px; text-align: center; margin-right: 3px;
  border: 1px solid #9e9e9e; }
table { border-collapse: collapse; }
table.grid { width: 100%; table-layout: fixed; }
table.grid th, table.grid td { border: 1px solid #bdbdbd; padding: 1px 2px; text-align: center;
  overflow: hidden; white-space: nowrap; }
table.grid th.store { width: 150px; text-align: left; text-overflow: ellipsis; }
table.grid th.figure { width: 46px; white-space: normal; line-height: 1.1; }
table.grid td.figure { font-variant-numeric: tabular-nums; }
table.grid th.day { font-weight: 400; font-size: 9px; }
table.grid th.day.off { background: #f5f5f5; } table.grid th.day.holiday { background: #e1bee7; }
table.grid td.cell a { color: inherit; text-decoration: none; display: block; }
table.grid tfoot th, table.grid tfoot td { font-weight: 700; border-top: 2px solid #616161; }
thead { display: table-header-group; } tfoot { display: table-footer-group; }
tr { break-inside: avoid; }
table.problems th, table.problems td { border: 1px solid #e0e0e0; padding: 1px 6px;
  text-align: left; vertical-align: top; }
table.problems td.key { font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  word-break: break-all; }
footer { margin-top: 10px; color: #616161; }
@media print {
  body { font-size: 8.5px; line-height: 1.2; margin: 0; }
  h1 { font-size: 14px; } h2 { font-size: 11px; margin: 6px 0 2px; }
  .totals { margin: 4px 0; } .totals b { font-size: 12px; }
  table.grid th, table.grid td { padding: 0 1px; }
  table.grid th.store { width: 120px; } table.grid th.figure { width: 38px; }
  section.problems { break-before: page; }
}
"""


def render_page(report: ComplianceReport) -> str:
    title = f"CAPSS reporting {report.since.isoformat()} to {report.until.isoformat()}"
    if report.chain:
        title += f" · {report.chain}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}{_state_styles()}</style>",
        "</head><body>",
        f"<h1>{escape(title)}</h1>",
        _facts(report),
        _totals(report.totals),
        _legend(),
        _grid(report),
        _problems(report),
        "<footer>Made by the CAPSS bridge (<code>capss report --format html</code>)."
        " The same figures: <code>capss report --json</code>.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _state_styles() -> str:
    return "".join(
        f"\n.s-{state.value} {{ background: {look.background}; color: {look.text}; }}"
        for state, look in LOOKS.items()
    )


def _facts(report: ComplianceReport) -> str:
    facts = [
        ("Chain", report.chain or "-"),
        (
            "Period",
            f"{report.since:%a %Y-%m-%d} to {report.until:%a %Y-%m-%d}"
            f" ({len(report.dates)} days, {len(report.rows)} stores)",
        ),
        ("Calendar", report.calendar.text),
        ("Made", report.generated_text),
    ]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{rows}</dl>'


FIGURES = (
    ("due", "Due", "days due"),
    ("on-time", "On time", "on time"),
    ("late", "Late", "late"),
    ("partly", "Partly", "partly reported"),
    ("processing", "Proc.", "processing"),
    ("missed", "Missed", "missed"),
    ("rate", "On-time rate", "on time"),
)
"""Each figure's key (`data-figure`), column head and name in the totals."""


def _figures(summary: Summary) -> list[str]:
    counts = (summary.due, summary.on_time, summary.late, summary.partly, summary.processing)
    return [*map(str, counts), str(summary.missed), summary.rate_text]


def _figure_cells(summary: Summary) -> str:
    return "".join(
        f'<td class="figure" data-figure="{key}">{escape(value)}</td>'
        for (key, _, _), value in zip(FIGURES, _figures(summary), strict=True)
    )


def _totals(totals: Summary) -> str:
    boxes = "".join(
        f'<div data-total="{key}"><b>{escape(value)}</b>{escape(name)}</div>'
        for (key, _, name), value in zip(FIGURES, _figures(totals), strict=True)
    )
    return f'<h2>Chain totals</h2><div class="totals">{boxes}</div>'


def _legend() -> str:
    items = "".join(
        f'<span><span class="cell s-{state.value}">{escape(look.label)}</span>'
        f"{escape(state.value)}: {escape(look.meaning)}</span>"
        for state, look in LOOKS.items()
    )
    return f'<div class="legend">{items}</div>'


def _grid(report: ComplianceReport) -> str:
    holidays = dict(report.calendar.holidays)
    heads = []
    for day in report.dates:
        name = holidays.get(day)
        classes = (
            "day" + (" holiday" if name else "") + (" off" if day.weekday() >= SATURDAY else "")
        )
        hint = f"{day:%a %Y-%m-%d}" + (f": {name}" if name else "")
        weekday = f"{day:%a}"[:2]
        heads.append(f'<th class="{classes}" title="{escape(hint)}">{weekday}<br>{day.day}</th>')
    figures = "".join(f'<th class="figure">{escape(head)}</th>' for _, head, _ in FIGURES)
    head = f'<thead><tr><th class="store">Store</th>{"".join(heads)}{figures}</tr></thead>'
    body = "".join(_store_row(row) for row in report.rows)
    foot = (
        f'<tfoot><tr data-chain="totals"><th class="store">Chain ({len(report.rows)} stores)</th>'
        f'<td colspan="{len(report.dates)}"></td>{_figure_cells(report.totals)}</tr></tfoot>'
    )
    if not report.rows:
        width = len(report.dates) + 1 + len(FIGURES)
        body = f'<tr><td colspan="{width}">No stores registered.</td></tr>'
    return f'<h2>Stores by day</h2><table class="grid">{head}<tbody>{body}</tbody>{foot}</table>'


def _store_row(row: StoreRow) -> str:
    who = f"{row.store.license} {row.store.name}".rstrip()
    cells = "".join(_cell(day) for day in row.days)
    return (
        f'<tr data-license="{escape(row.store.license)}">'
        f'<th class="store" title="{escape(who)}">{escape(who)}</th>{cells}'
        f"{_figure_cells(row.summary)}</tr>"
    )


def _cell(day: ReportDay) -> str:
    status = day.status
    look = LOOKS[status.state]
    lines = [
        f"{status.license} {status.store}".rstrip(),
        f"{status.day:%a %Y-%m-%d}, due {status.deadline:%a %Y-%m-%d}",
        f"{status.state.value}: {look.meaning}",
        *(_trace_lines(day) if day.problem else ()),
    ]
    label = escape(look.label)
    if day.problem:
        label = f'<a href="#{_anchor(day)}">{label}</a>'
    return (
        f'<td class="cell s-{status.state.value}" data-day="{status.day.isoformat()}"'
        f' data-state="{status.state.value}" title="{escape(chr(10).join(lines))}">{label}</td>'
    )


def _trace_lines(day: ReportDay) -> list[str]:
    lines = [
        f"{t.key}: {t.outcome}, reached CAPSS {t.reached_capss_at or 'never'}" for t in day.trace
    ]
    if day.files_left_out:
        lines.append(f"… and {day.files_left_out} more file(s)")
    return lines or ["no file covers the day"]


def _anchor(day: ReportDay) -> str:
    return f"p-{day.status.license}-{day.status.day.isoformat()}"


def _problems(report: ComplianceReport) -> str:
    problems = report.problems
    heading = f"<h2>Days to trace ({len(problems)})</h2>"
    if not problems:
        return heading + "<p>None: every day due was reported on time.</p>"
    head = (
        "<thead><tr><th>Store</th><th>Day</th><th>Due</th><th>State</th><th>File</th>"
        "<th>Outcome</th><th>Reached CAPSS</th></tr></thead>"
    )
    rows = []
    for day in problems:
        status = day.status
        first = (
            f'<td id="{_anchor(day)}">{escape(f"{status.license} {status.store}".rstrip())}</td>'
            f"<td>{status.day:%a %Y-%m-%d}</td><td>{status.deadline:%a %Y-%m-%d}</td>"
            f'<td class="s-{status.state.value}">{escape(LOOKS[status.state].label)}'
            f" {escape(status.state.value)}</td>"
        )
        files = [
            (
                f'<td class="key">{escape(t.key)}</td><td>{escape(t.outcome)}</td>'
                f"<td>{escape(t.reached_capss_at or 'never')}</td>"
            )
            for t in day.trace
        ]
        if day.files_left_out:
            files.append(f'<td colspan="3">… and {day.files_left_out} more file(s)</td>')
        if not files:
            files = ['<td colspan="3">no file covers the day</td>']
        rows.append(f'<tr data-problem="{_anchor(day)}">{first}{files[0]}</tr>')
        blank = "<td></td>" * 4
        rows += [f"<tr>{blank}{more}</tr>" for more in files[1:]]
    # On paper the list starts its own page: the grid keeps the first one to itself.
    table = f'<table class="problems">{head}<tbody>{"".join(rows)}</tbody></table>'
    return f'<section class="problems">{heading}{table}</section>'
