"""Each function loads only what it runs: cold starts pay for nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("httpx", "lxml", "boto3")


def _loaded_after_import(function: str) -> set[str]:
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'layers/capss')!r}, {str(ROOT / 'functions' / function)!r}]\n"
        "import app\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("function", ["submit", "status", "finish"])
def test_importing_a_handler_loads_no_sdk_or_parser(function: str) -> None:
    # boto3, httpx and lxml load on the first event, inside the function that needs them.
    assert _loaded_after_import(function) == set()


def test_finish_and_status_never_import_what_they_do_not_use() -> None:
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(ROOT / 'layers/capss')!r}]\n"
        "from capss import _finish, _poll\n"
        "print('lxml' in sys.modules, 'httpx' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    ).stdout.split()
    assert out == ["False", "False"]
