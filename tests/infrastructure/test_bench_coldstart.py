"""The cold-start bench measures every function, and what it times still runs.

Its first-event lines reach into each function's wiring (`deps.records._table._client`...):
a renamed attribute would otherwise surface only when someone runs `make bench`.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench import coldstart
from tests.conftest import ROOT

FUNCTIONS = sorted(path.name for path in (ROOT / "functions").iterdir() if path.is_dir())


def test_every_function_has_a_measured_path() -> None:
    assert sorted(coldstart.PATHS) == FUNCTIONS


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_timed_programs_run_in_the_source_layout(function: str) -> None:
    layer = ROOT / "layers" / "capss"
    dirs = {"compiled": layer, "plain": layer, "runtime": layer}
    for name, code in coldstart.programs(function, dirs).items():
        # The bench's own interpreter runs with -S from its Lambda layout; here site-packages
        # stands in for the runtime and the layer's requirements. No request is made.
        done = subprocess.run(
            [sys.executable, "-B", "-c", code],
            env=coldstart.ENVIRONMENT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-2000:]}"
