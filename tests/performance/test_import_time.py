"""Cold-start import cost of each handler, as a ratio to `import boto3` measured in the same run.

Importing a handler loads every module its events use (its wiring imports them at init).

Run with `make bench`. Medians of fresh interpreters, side by side, so a slow or busy
machine moves both sides alike.
"""

from __future__ import annotations

import statistics
import subprocess
import sys

import pytest

from tests.conftest import ROOT

RUNS = 9
BUDGET_RATIO = {"submit": 2.0, "status": 2.0, "finish": 1.6, "monitor": 2.0}
"""Handler import (with its first-event modules) against plain `import boto3`, which every
Python Lambda that talks to AWS pays anyway."""


def _seconds(code: str) -> float:
    """The imports' own time, measured inside a fresh interpreter (process start excluded)."""
    timed = f"import time\n_t = time.perf_counter()\n{code}\nprint(time.perf_counter() - _t)"
    out = subprocess.run(
        [sys.executable, "-c", timed], check=True, timeout=60, capture_output=True, text=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def _median_ratio(code: str, baseline: str) -> tuple[float, float, float]:
    """Runs the two in turn, A B A B ..., and takes the median of the pairwise ratios."""
    _seconds(code), _seconds(baseline)  # warm the file cache for both
    pairs = [(_seconds(code), _seconds(baseline)) for _ in range(RUNS)]
    return (
        statistics.median(a / b for a, b in pairs),
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
    )


@pytest.mark.perf
@pytest.mark.parametrize("function", sorted(BUDGET_RATIO))
def test_handler_cold_import_within_budget(function: str) -> None:
    path = f"import sys; sys.path[:0] = [{str(ROOT / 'layers/capss')!r}, "
    path += f"{str(ROOT / 'functions' / function)!r}]\n"
    ratio, handler, baseline = _median_ratio(path + "import app\n", "import boto3")
    print(f"\n{function}: {handler * 1000:.0f} ms vs boto3 {baseline * 1000:.0f} ms: x{ratio:.2f}")
    assert ratio <= BUDGET_RATIO[function]
