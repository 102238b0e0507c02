"""`python -m local demo` (`make demo`): every path a file can take, on the emulated account.

The real template, handlers and state machine run against the CAPSS simulator; the
expected outcomes below are the demo's data, easy to adjust when the product changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from capss.aws.stores import DynamoStoreRegister
from capss.compliance.stores import ExpectedStore

from local.stack._run import (
    open_log,
    parameters,
    progress_line,
    progress_text,
    requests_by_kind,
)
from local.stack._stack import ROOT, DroppedFile, FileOutcome, LocalStack

SAMPLES = ROOT / "events" / "files"


@dataclass(frozen=True)
class Drop:
    shows: str
    file: str
    license: str
    expected: str
    update: bool = False
    after_first: bool = False
    """Dropped once the first file is final (duplicates and re-drops need it in CAPSS)."""
    message_prefix: str | None = None
    """A message the record must carry, by its start."""


DROPS = (
    Drop("clean file, current API", "store-0300-clean.xml", "000000300", "complete"),
    Drop("clean file, legacy API", "store-0301-clean.xml", "000000301", "complete"),
    Drop("error items", "store-0300-error-items.xml", "000000300", "complete_with_issues"),
    Drop("POS CSV export, converted", "store-0300-aimsi-export.csv", "000000300", "complete"),
    Drop(
        "duplicates of the first file",
        "store-0300-repeat.xml",
        "000000300",
        "complete_with_issues",
        after_first=True,
    ),
    Drop("invalid file", "store-0300-invalid.xml", "000000300", "rejected", after_first=True),
    Drop(
        "item update",
        "store-0300-item-update.xml",
        "000000300",
        "complete",
        update=True,
        after_first=True,
    ),
    Drop(
        "same bytes dropped again",
        "store-0300-clean.xml",
        "000000300",
        "rejected",
        after_first=True,
        message_prefix="Identical to",
    ),
)
"""In drop order; the first is also delivered twice as the same S3 event."""

LICENSES = {"000000300": None, "000000301": "legacy"}
"""License -> API generation override in its secret (None: the stack's default)."""

COUNT_NAMES = ("transactions", "items", "saved", "errors", "duplicates")

STORES = (
    ExpectedStore(license="000000300", name="Main St"),
    # Closed for inventory on the day its neighbour traded: it owes nothing for that day.
    ExpectedStore(license="000000301", name="Bay Blvd", closures=frozenset({date(2026, 11, 2)})),
    ExpectedStore(license="000000302", name="Oak Ave"),
)
"""The register the monitor checks; Oak Ave never sends a file."""
MONITOR_AT = datetime(2026, 11, 3, 10, tzinfo=ZoneInfo("America/Los_Angeles"))
"""The early warning on the deadline day of the sample files' Monday, 2026-11-02."""
MONITOR_EXPECTS = {("000000302", "2026-11-02")}
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
"""The month of the sample files' transactions."""
MONTH_PAGE = Path(tempfile.gettempdir()) / "capss-demo-month-2026-11.html"
"""Replaced by each run, like the handlers' log."""


@dataclass
class Row:
    drop: Drop
    result: FileOutcome
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(drop: Drop, result: FileOutcome) -> list[str]:
    problems = []
    if result.outcome != drop.expected:
        problems.append(f"expected {drop.expected}, got {result.outcome}")
    if drop.message_prefix:
        messages = result.record.get("notes") or []
        if not any(str(m).startswith(drop.message_prefix) for m in messages):
            problems.append(f"no message starting {drop.message_prefix!r} (got {messages})")
    return problems


def uploads_of(sim: Any, file_name: str) -> int:
    return sum(
        1
        for request in sim.requests
        if request.endpoint in ("upload", "update")
        and request.filename == file_name
        and request.status == 202
    )


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def count_cells(record: dict[str, Any]) -> list[str]:
    """One cell per count; '-' where CAPSS gave none (or nothing was sent)."""
    counts = record.get("counts") or {}
    return [str(counts.get(name, "-")) for name in COUNT_NAMES]


def _print_emails(emails: list[Any], out: Any) -> None:
    """Each email as ops would read it, between rules."""
    for email in emails:
        print("\n" + "=" * 78, file=out)
        print(f"Subject: {email.subject}\n", file=out)
        print(email.body.rstrip(), file=out)
    print("=" * 78, file=out)


def month_page(stack: LocalStack) -> bool:
    """Writes MONTH_PAGE with the ops command, as ops would after `local serve`."""
    from capss.cli.main import main  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / "local.json"
        # In this process moto intercepts boto3 itself: the file needs no endpoint.
        state.write_text(json.dumps(stack.connection()), encoding="utf-8")
        since, until = (day.isoformat() for day in MONTH)
        command = ["report", "--since", since, "--until", until, "--format", "html"]
        code = main([*command, "--output", str(MONTH_PAGE), "--local", str(state)])
    return code == 0 and MONTH_PAGE.is_file()


def demo(args: argparse.Namespace) -> int:
    from local.simulator import CapssSimulator  # noqa: PLC0415

    started = time.monotonic()
    out = sys.stdout
    sim = CapssSimulator(tls=True, polls_to_complete=2)
    for number in LICENSES:
        sim.add_client(f"demo-{number}", f"demo-secret-{number}", license_number=number)
    log = open_log(args)
    show = progress_line(sys.stderr, started)
    say = progress_text(sys.stderr, started)
    say("CAPSS bridge demo: template.yaml on an emulated AWS account, CAPSS simulator")
    try:
        with (
            sim,
            LocalStack(
                Path(args.template),
                parameters=parameters(args.param),
                environment={
                    "CAPSS_BASE_URL": sim.base_url,
                    "CAPSS_CA_BUNDLE": str(sim.ca_pem_path),
                },
                clock_scale=args.clock_scale,
                log=log,
            ) as stack,
        ):
            for number, api in LICENSES.items():
                stack.put_secret(number, f"demo-{number}", f"demo-secret-{number}", api=api)
            dropped: list[DroppedFile] = []

            def put(drop: Drop) -> None:
                dropped.append(
                    stack.drop_file(SAMPLES / drop.file, drop.license, update=drop.update)
                )
                say(f"dropped {dropped[-1].key}")

            first_wave = [drop for drop in DROPS if not drop.after_first]
            for drop in first_wave:
                put(drop)
            stack.wait(dropped[:1], timeout=args.timeout, progress=show)
            say("the first file's S3 event delivered again")
            stack.redeliver(dropped[0])
            for drop in DROPS[len(first_wave) :]:
                put(drop)
            results = stack.wait(dropped, timeout=args.timeout, progress=show)
            # The redelivered event must have been handled too before counting uploads.
            poller = stack.poller
            assert poller is not None
            deadline = time.monotonic() + args.timeout
            while poller.stats.messages < len(dropped) + 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            rows = [
                Row(drop, result, check(drop, result))
                for drop, result in zip(DROPS, results, strict=True)
            ]
            first_uploads = uploads_of(sim, DROPS[0].file)
            alerts = stack.alerts()
            events = stack.events()
            requests = requests_by_kind(sim)
            register = DynamoStoreRegister.for_table(stack.stores_table, stack.session)
            for store in STORES:
                register.put_store(store)
            say(f"the monitor's early warning, as of {MONITOR_AT:%a %Y-%m-%d %H:%M %Z}")
            monitor_run = stack.run_schedule("EarlyWarning", MONITOR_AT)
            monitor_alerts = stack.alerts()[len(alerts) :]
            say(f"the month page of {MONTH[0]:%Y-%m}, as ops make it: capss report --format html")
            page_written = month_page(stack)
    finally:
        if log is not sys.stderr:
            log.close()
    elapsed = time.monotonic() - started

    cells = [["file", "shows", "expected", "outcome", *COUNT_NAMES, ""]]
    for row in rows:
        cells.append(
            [
                row.result.file.key.removeprefix("incoming/"),
                row.drop.shows,
                row.drop.expected,
                row.result.outcome,
                *count_cells(row.result.record),
                "ok" if row.ok else "UNEXPECTED",
            ]
        )
    redelivery_ok = first_uploads == 1
    cells.append(
        [
            dropped[0].key.removeprefix("incoming/"),
            "same S3 event twice",
            "1 upload",
            f"{first_uploads} upload(s)",
            *[""] * len(COUNT_NAMES),
            "ok" if redelivery_ok else "UNEXPECTED",
        ]
    )
    print("\nFiles\n", file=out)
    print(table(cells), file=out)
    print(f"\nAlert emails ({len(alerts)})", file=out)
    _print_emails(alerts, out)
    print(f"\nOutcome events a POS's EventBridge rule received ({len(events)})\n", file=out)
    for event in events:
        detail = event["detail"]
        print(f"  {detail['outcome']:<21} {detail['key']}", file=out)
    needing_person = [e for e in events if e["detail"]["needs_person"]]
    if needing_person:
        print("\nOne of them as the POS receives it:\n", file=out)
        print(json.dumps(needing_person[0], indent=2), file=out)
    named = {(day["license"], day["day"]) for day in monitor_run["days"]}
    print(f"\nMissed-report monitor ({len(STORES)} stores registered)", file=out)
    _print_emails(monitor_alerts, out)
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(requests.items()))
    print(f"\nRequests CAPSS received: {sum(requests.values())} ({kinds})", file=out)
    print(f"\nMonth page of the demo's stores: {MONTH_PAGE}", file=out)
    print(f"Elapsed: {elapsed:.1f} s", file=out)
    if log is not sys.stderr:
        print(f"Handler logs: {log.name}", file=out)
    failures = [f"{row.result.file.key}: {'; '.join(row.problems)}" for row in rows if not row.ok]
    if not redelivery_ok:
        failures.append(f"{dropped[0].key}: uploaded {first_uploads} times for one version")
    if named != MONITOR_EXPECTS or len(monitor_alerts) != 1:
        failures.append(
            f"the monitor named {sorted(named)} in {len(monitor_alerts)} alert(s),"
            f" expected {sorted(MONITOR_EXPECTS)} in one"
        )
    if not page_written:
        failures.append(f"capss report --format html did not write {MONTH_PAGE}")
    if failures:
        print("\nNOT as expected:\n  " + "\n  ".join(failures), file=out)
        return 1
    print("\nEvery file reached the outcome the demo expects.", file=out)
    print("The monitor named the store that did not report, and only that one.", file=out)
    return 0
