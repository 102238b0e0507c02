"""The library's rooms and their import rules, which `make lint` enforces with import-linter."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

LIBRARY = ROOT / "layers" / "capss" / "capss"
LINT_IMPORTS = ROOT / ".venv" / "bin" / "lint-imports"


def _lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=package_parent,
        env={**os.environ, "PYTHONPATH": str(package_parent)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("pipeline/poll.py", "import boto3", "capss.pipeline.poll -> boto3"),
        ("pipeline/submit.py", "from capss.intake import validate", "capss.pipeline.submit ->"),
        ("client/status.py", "import lxml.etree", "capss.client.status -> lxml"),
        ("intake/rules.py", "import httpx", "capss.intake.rules -> httpx"),
        ("pipeline/alerts.py", "import capss.aws.sns", "capss.pipeline.alerts -> capss.aws.sns"),
        (
            "pipeline/finish.py",
            "import capss.compliance.monitor",
            "capss.pipeline.finish -> capss.compliance.monitor",
        ),
        ("compliance/digest.py", "import httpx", "capss.compliance.digest -> httpx"),
        ("cli/ops.py", "import botocore", "capss.cli.ops -> botocore"),
        (
            "pipeline/values.py",
            "import capss.pipeline.alerts",
            "No cycles are allowed in capss.pipeline",
        ),
        (
            "../local/stack/_resources.py",
            "import local.stack._account",
            "No cycles are allowed in local.stack",
        ),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    shutil.copytree(LIBRARY, tmp_path / "capss", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "local", tmp_path / "local", ignore=shutil.ignore_patterns("__pycache__")
    )
    target = tmp_path / "capss" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert broken in result.stdout


def test_the_top_level_holds_only_the_public_surface_and_shared_leaves() -> None:
    modules = sorted(path.name for path in LIBRARY.glob("*.py"))
    assert modules == [
        "__init__.py",
        "__main__.py",
        "bounds.py",
        "errors.py",
        "kinds.py",
        "outcome.py",
        "telemetry.py",
    ]
    rooms = sorted(path.name for path in LIBRARY.iterdir() if (path / "__init__.py").is_file())
    assert rooms == ["aws", "cli", "client", "compliance", "intake", "pipeline"]


def test_room_packages_import_nothing_on_their_own() -> None:
    # A room's __init__ is its description: importing capss.client must not load httpx.
    for init in LIBRARY.glob("*/__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1, f"{init.relative_to(ROOT)} holds more than its docstring"
        assert ast.get_docstring(ast.Module(body=body, type_ignores=[]))
