"""Validation speed and memory against a bare lxml `iterparse` of the same file.

Files are the sample week's transactions repeated to size. Each sample is a fresh
interpreter reading the file once (timed inside itself) and reporting its peak RSS (VmHWM).
Bare: `for _, element in etree.iterparse(path): element.clear()`, the usual streaming loop,
with no checks. The speed ratio is of CPU time, pair by pair: on a shared machine the wall
clock also counts the time other work held the cores (its ratio is given beside it).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEEK = ROOT / "events" / "files" / "store-0300-week.xml"
SIZES = {"100 KB": 100_000, "10 MB": 10_000_000, "45 MB": 45_000_000}
RUNS = 5

_PROGRAM = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {layer!r})
from lxml import etree
from capss.intake.validate import validate_path
path = Path(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
if sys.argv[2] == "bridge":
    report = validate_path(path)
    assert not report.errors, report.problems[:3]
else:
    for _, element in etree.iterparse(str(path)):
        element.clear()
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
# VmHWM, not ru_maxrss: on Linux the latter carries the forking parent's peak over exec.
status = Path("/proc/self/status").read_text()
peak_kb = int(status.split("VmHWM:")[1].split()[0])
print(json.dumps([seconds, cpu, peak_kb / 1024]))
"""


def sized_file(directory: Path, size: int) -> Path:
    """The sample's transactions repeated until the file is about `size` bytes."""
    data = WEEK.read_bytes()
    start = data.index(b"<propertyTransaction>")
    end = data.rindex(b"</propertyTransaction>") + len(b"</propertyTransaction>")
    head, body, tail = data[:start], data[start:end], data[end:]
    path = directory / f"{size}.xml"
    with path.open("wb") as out:
        out.write(head)
        for _ in range(max(1, -(-(size - len(head) - len(tail)) // len(body)))):
            out.write(body)
        out.write(tail)
    return path


def _sample(path: Path, reader: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS in MB of one fresh read."""
    program = _PROGRAM.format(layer=str(ROOT / "layers" / "capss"))
    out = subprocess.run(
        [sys.executable, "-c", program, str(path), reader],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    seconds, cpu, peak_mb = json.loads(out)
    return float(seconds), float(cpu), float(peak_mb)


def run(runs: int = RUNS) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="capss-bench-") as directory:
        for label, size in SIZES.items():
            path = sized_file(Path(directory), size)
            megabytes = path.stat().st_size / 1e6
            samples: dict[str, list[tuple[float, float, float]]] = {"bridge": [], "iterparse": []}
            for _ in range(runs):
                for reader, found in samples.items():
                    found.append(_sample(path, reader))
            bridge, bare = samples["bridge"], samples["iterparse"]
            rows.append(
                {
                    "file": label,
                    "megabytes": round(megabytes, 2),
                    "runs": runs,
                    "bridge_mb_s": round(megabytes / statistics.median(s[0] for s in bridge), 1),
                    "iterparse_mb_s": round(megabytes / statistics.median(s[0] for s in bare), 1),
                    # Speed ratios pair by pair: iterparse's time over the bridge's.
                    "speed_vs_iterparse": _ratio(bridge, bare, 1),
                    "wall_speed_vs_iterparse": _ratio(bridge, bare, 0),
                    "bridge_peak_rss_mb": round(statistics.median(s[2] for s in bridge)),
                    "iterparse_peak_rss_mb": round(statistics.median(s[2] for s in bare)),
                }
            )
    return rows


def _ratio(
    bridge: list[tuple[float, float, float]], bare: list[tuple[float, float, float]], at: int
) -> float:
    return round(statistics.median(b[at] / a[at] for a, b in zip(bridge, bare, strict=True)), 2)
