"""A large valid file keeps memory flat: the parse streams and drops what it has checked."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from capss.intake.reader import SafeXmlReader
from capss.intake.report import IntakeLimits, ProblemLog
from capss.intake.rules import TransactionRules
from capss.intake.validate import validate_path
from lxml import etree

from bench.exports import write_export

FILES = Path(__file__).parents[3] / "events" / "files"
TARGET_BYTES = 40 * 1024 * 1024

MEASURE = """
import json, resource, sys
from pathlib import Path
from capss.intake.validate import validate_path
report = validate_path(Path(sys.argv[1])) if len(sys.argv) > 1 else None
print(json.dumps({
    "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "ok": report is None or report.ok,
    "transactions": report and report.transactions,
}))
"""


def _write_large_file(path: Path) -> int:
    """Streams the week sample's transactions over and over into one ~40 MB file."""
    week = (FILES / "store-0300-week.xml").read_text()
    head, _, rest = week.partition("<propertyTransaction>")
    body, _, tail = rest.rpartition("</propertyTransaction>")
    block = f"<propertyTransaction>{body}</propertyTransaction>"
    per_block = block.count("<propertyTransaction>")
    blocks = 0
    with path.open("w") as out:
        out.write(head)
        while out.tell() < TARGET_BYTES:
            out.write(block)
            blocks += 1
        out.write(tail)
    return blocks * per_block


def _measure(*args: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *args], capture_output=True, check=True, text=True
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_large_file_keeps_memory_flat(tmp_path: Path) -> None:
    path = tmp_path / "large.xml"
    transactions = _write_large_file(path)

    tracemalloc.start()
    try:
        report = validate_path(path)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok, report.format_text(path.name)
    assert report.transactions == transactions
    # Measured: 0.5 MB peak of Python allocations for the 40 MB file (0.27 MB for the 30 KB week
    # sample): small chunks and one element path at a time. 8 MB leaves room for noise.
    assert python_peak < 8 * 1024 * 1024

    baseline = _measure()
    loaded = _measure(str(path))
    assert loaded["ok"]
    assert loaded["transactions"] == transactions
    # Whole-process peak RSS, lxml's C allocations included. Measured: no growth at all (34.7 MB
    # peak both with and without validating the 40 MB file), where parsing it into a full lxml
    # tree peaks near 420 MB.
    grown_mib = (loaded["max_rss_kib"] - baseline["max_rss_kib"]) / 1024
    assert grown_mib < 60, f"peak memory grew by {grown_mib:.1f} MiB"


@pytest.mark.slow
def test_comments_keep_memory_flat(tmp_path: Path) -> None:
    """Comments get no element events: a reader that waited for one to drop them held them all."""
    path = tmp_path / "comments.xml"
    week = (FILES / "store-0300-week.xml").read_text()
    path.write_text(week.replace("</bulkUploadData>", "<!---->" * 1_500_000 + "</bulkUploadData>"))

    baseline = _measure()
    loaded = _measure(str(path))
    assert loaded["ok"]
    assert loaded["transactions"] == 20
    # Measured: no growth (24 MB both); holding the 10 MB of comments peaks near 260 MB.
    grown_mib = (loaded["max_rss_kib"] - baseline["max_rss_kib"]) / 1024
    assert grown_mib < 60, f"peak memory grew by {grown_mib:.1f} MiB"


CONVERT = """
import json, resource, sys
from pathlib import Path
from capss.intake.convert import convert, load_mapping
from capss.intake.report import IntakeLimits
mapping = load_mapping("aimsi-report-wizard")
if len(sys.argv) > 1:
    with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as target:
        conversion = convert(
            source, target, mapping, "000000300", limits=IntakeLimits(max_bytes=1 << 30)
        )
print(json.dumps({
    "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "written": len(sys.argv) == 1 or conversion.written,
    "items": len(sys.argv) > 1 and conversion.report.items,
}))
"""


@pytest.mark.slow
def test_a_large_csv_export_converts_in_flat_memory(tmp_path: Path) -> None:
    export, xml = tmp_path / "export.csv", tmp_path / "export.xml"
    items = write_export(export, 12_000_000)

    def measure(*args: str) -> dict[str, int]:
        done = subprocess.run(
            [sys.executable, "-c", CONVERT, *args], capture_output=True, check=True, text=True
        )
        result: dict[str, int] = json.loads(done.stdout)
        return result

    baseline = measure()
    converted = measure(str(export), str(xml))
    assert converted["written"]
    assert converted["items"] == items
    assert xml.stat().st_size > 170_000_000  # about 14 times the export
    # Measured 2026-12-08: 28 MB peak for 1 and 10 MB exports alike (`python -m bench --only
    # conversion`), where reading the whole export and building the tree peaked at 163 MB and
    # 1.4 GB. The rows of every 50th transaction are scattered: they wait on disk too.
    grown_mib = (converted["max_rss_kib"] - baseline["max_rss_kib"]) / 1024
    assert grown_mib < 64, f"peak memory grew by {grown_mib:.1f} MiB"


def _held_before(element: etree._Element) -> int:
    """The nodes before `element` in the document, its ancestors left out."""
    return sum(
        sum(1 for _ in sibling.iter())
        for ancestor in (element, *element.iterancestors())
        for sibling in ancestor.itersiblings(preceding=True)
    )


class _TreeWatch(TransactionRules):
    """The real rules, counting at each transaction's start the elements read before it that are
    still in the document (those after it are the parser's current chunk, not yet handled)."""

    def __init__(self) -> None:
        super().__init__(ProblemLog(200), None)
        self.live: list[int] = []

    def start(self, element: etree._Element, path: list[str]) -> bool:
        if len(path) == 3:
            self.live.append(_held_before(element))
        return super().start(element, path)


def test_the_tree_in_memory_never_outgrows_one_transaction(tmp_path: Path) -> None:
    """Deterministic where peak RSS is not: a reader that kept the tree would fail this."""
    path = tmp_path / "month.xml"
    week = (FILES / "store-0300-week.xml").read_text()
    head, _, rest = week.partition("<propertyTransaction>")
    body, _, tail = rest.rpartition("</propertyTransaction>")
    path.write_text(head + f"<propertyTransaction>{body}</propertyTransaction>" * 10 + tail)
    per_transaction = max(
        sum(1 for _ in transaction.iter())
        for transaction in etree.parse(path).getroot().iter("propertyTransaction")
    )
    rules = _TreeWatch()
    with path.open("rb") as stream:
        SafeXmlReader(stream, IntakeLimits()).read(rules)
    rules.finish()

    assert rules.log.problems() == ()
    assert rules.transactions == len(rules.live) == 200
    # What was read is dropped as it goes: never more than one transaction's worth is held.
    assert max(rules.live) <= per_transaction
