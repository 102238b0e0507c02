"""Each function loads what it runs and nothing else: cold starts pay for no other SDK."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("httpx", "lxml", "boto3")
USES = {
    "submit": {"boto3", "httpx", "lxml"},  # reads S3, posts to CAPSS, validates XML
    "status": {"boto3", "httpx"},
    "finish": {"boto3"},
    "monitor": {"boto3"},
    "presign": {"boto3"},
}


def _loaded_after(code: str, *paths: str) -> set[str]:
    program = (
        "import json, sys\n"
        f"sys.path[:0] = {[str(ROOT / 'layers/capss'), *paths]!r}\n"
        f"{code}\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("function", sorted(USES))
def test_a_handler_loads_exactly_the_sdks_its_function_uses(function: str) -> None:
    # At import, in the Lambda init phase: the first event then pays for nothing but its work.
    loaded = _loaded_after("import app", str(ROOT / "functions" / function))
    assert loaded == USES[function]


def test_the_pipeline_and_the_public_surface_load_no_sdk() -> None:
    code = "import capss, capss.pipeline.submit, capss.pipeline.poll, capss.pipeline.finish"
    assert _loaded_after(code) == set()
