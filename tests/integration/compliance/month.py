"""A realistic month of records for the report and the page, and a real browser to read it.

The records are what the pipeline writes (FileRecord), read back through the FileHistory
port the monitor uses; the browser is Debian's headless Chromium, as a person's would be.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from capss.compliance.calendar import BusinessCalendar
from capss.compliance.report import ComplianceReport, build_report
from capss.compliance.stores import ExpectedStore
from capss.outcome import Counts, Outcome
from capss.pipeline.records import FileRecord, Phase

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
MADE_AT = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
"""07:30 Pacific on the first business day of December."""
STREETS = (
    "Main St", "Oak Ave", "Bay Blvd", "Elm St", "Pine Rd", "Harbor Way", "Mission St",
    "Sunset Blvd", "Valley Rd", "Broadway", "Cedar Ln", "Market St", "Fremont Ave",
    "Lincoln Way", "Ocean Ave", "Park Pl",
)  # fmt: skip


@dataclass
class History:
    """The FileHistory port over a list of records (what DynamoDB would answer)."""

    records: list[FileRecord] = field(default_factory=list)

    def files_for_license(self, license_number: str, since: datetime) -> list[FileRecord]:
        return [
            r
            for r in self.records
            if r.license == license_number and (r.received_at or "") >= since.isoformat()
        ]

    def files_since(self, since: datetime) -> list[FileRecord]:
        return [r for r in self.records if (r.received_at or "") >= since.isoformat()]

    def unfinished(self) -> list[FileRecord]:
        return [r for r in self.records if r.phase is not Phase.DONE]


def day_record(
    license_number: str,
    day: date,
    outcome: Outcome,
    sent: datetime,
    *,
    name: str | None = None,
) -> FileRecord:
    key = f"incoming/transactions/{license_number}/{name or f'{day}.xml'}"
    moment = sent.astimezone(UTC).isoformat(timespec="seconds")
    return FileRecord(
        pk=f"FILE#capss-intake/{key}#v{sent.timestamp():.0f}",
        bucket="capss-intake",
        key=key,
        version_id=f"v{sent.timestamp():.0f}",
        kind="transactions",
        phase=Phase.SUBMITTED if outcome is Outcome.PROCESSING else Phase.DONE,
        outcome=outcome,
        license=license_number,
        received_at=moment,
        submitted_at=None if outcome is Outcome.REJECTED else moment,
        updated_at=moment,
        counts=Counts(saved=12) if outcome in (Outcome.COMPLETE,) else Counts(),
        first_transaction_at=f"{day}T09:12:00",
        last_transaction_at=f"{day}T18:40:00",
    )


def chain_month(stores: int, seed: int = 2026) -> tuple[list[ExpectedStore], History]:
    """`stores` stores and their November: mostly on time, with the usual trouble."""
    rng = random.Random(seed)
    calendar = BusinessCalendar()
    register, history = [], History()
    first, last = NOVEMBER
    for n in range(stores):
        number = f"{300 + n:09d}"
        closures = frozenset({date(2026, 11, 26)}) if n % 3 == 1 else frozenset()
        store = ExpectedStore(
            license=number,
            name=STREETS[n % len(STREETS)] + ("" if n < len(STREETS) else f" {n}"),
            days=frozenset(range(6)) if n % 4 else frozenset(range(7)),
            closures=closures,
        )
        register.append(store)
        day = first
        while day <= last:
            if store.trades_on(day):
                history.records += _day_files(store, day, calendar.deadline(day), rng)
            day += timedelta(days=1)
    return register, history


def _day_files(
    store: ExpectedStore, day: date, deadline: date, rng: random.Random
) -> list[FileRecord]:
    morning = datetime.combine(day + timedelta(days=1), datetime.min.time(), store.zone)
    sent = morning + timedelta(hours=7, minutes=rng.randrange(90))
    roll = rng.random()
    if day == date(2026, 11, 30) and roll < 0.15:
        return [day_record(store.license, day, Outcome.PROCESSING, sent)]
    if roll < 0.05:
        return []  # missing
    if roll < 0.08:
        return [day_record(store.license, day, Outcome.REJECTED, sent)]
    if roll < 0.11:
        return [day_record(store.license, day, Outcome.FAILED, sent)]
    if roll < 0.13:
        # Rejected, then the correction reached CAPSS in time.
        fixed = sent + timedelta(hours=1)
        return [
            day_record(store.license, day, Outcome.REJECTED, sent),
            day_record(store.license, day, Outcome.COMPLETE, fixed, name=f"{day}-fixed.xml"),
        ]
    if roll < 0.19:
        late = datetime.combine(deadline + timedelta(days=1), datetime.min.time(), store.zone)
        return [day_record(store.license, day, Outcome.COMPLETE, late + timedelta(hours=10))]
    if roll < 0.22:
        return [day_record(store.license, day, Outcome.COMPLETE_WITH_ISSUES, sent)]
    return [day_record(store.license, day, Outcome.COMPLETE, sent)]


def month_report(stores: int, seed: int = 2026) -> ComplianceReport:
    register, history = chain_month(stores, seed)
    return build_report(
        chain="capss-bridge",
        stores=register,
        history=history,
        calendar=BusinessCalendar(),
        since=NOVEMBER[0],
        until=NOVEMBER[1],
        now=MADE_AT,
    )


def browser() -> list[str]:
    """Headless Chromium's command line (Debian: chromium-headless-shell; or chromium)."""
    for name in ("chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell"):
        if found := shutil.which(name):
            command = [found]
            break
    else:
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if not found:
            if os.environ.get("CAPSS_REQUIRE_BROWSER"):
                pytest.fail("no headless Chromium: apt-get install chromium-headless-shell")
            pytest.skip("no headless Chromium (apt-get install chromium-headless-shell)")
        command = [found, "--headless"]
    # Chromium's own process sandbox refuses to start as root (a CI container); the page
    # is our own file, opened from disk with no network.
    if os.geteuid() == 0:
        command.append("--no-sandbox")
    return [*command, "--disable-gpu", "--no-first-run", "--hide-scrollbars"]


@dataclass(frozen=True)
class Rendered:
    output: str
    seconds: float


def run_browser(*args: str, timeout: float = 60) -> Rendered:
    started = time.monotonic()
    done = subprocess.run(
        [*browser(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    return Rendered(done.stdout, seconds)


def dump_dom(page: Path) -> Rendered:
    return run_browser("--dump-dom", page.resolve().as_uri())


def screenshot(page: Path, png: Path, size: str = "1600,1000") -> Path:
    run_browser(f"--screenshot={png}", f"--window-size={size}", page.resolve().as_uri())
    assert png.stat().st_size > 0
    return png


def print_pdf(page: Path, pdf: Path) -> int:
    """Pages the page prints on (its own @page rule: landscape)."""
    run_browser(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.resolve().as_uri())
    return pdf.read_bytes().count(b"/Type /Page\n") + pdf.read_bytes().count(b"/Type /Page>>")
