"""cfn-lint and `sam validate --lint` accept the template (statelint runs in test_asl.py)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.infrastructure.cfn import ROOT, TEMPLATE

SAM = ROOT / ".venv-tools" / "bin" / "sam"


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=env
    )


def test_cfn_lint_accepts_the_template() -> None:
    result = _run(str(ROOT / ".venv" / "bin" / "cfn-lint"), str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_accepts_the_template() -> None:
    if not SAM.exists():
        pytest.skip(f"{SAM} is missing: `make lint` (or `make build`) creates the tools virtualenv")
    # --lint works offline: no region or credentials needed; it fails on warnings too.
    result = _run(str(SAM), "validate", "--lint", "--template", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout
