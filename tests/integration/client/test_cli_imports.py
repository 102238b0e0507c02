"""`capss submit` and `capss status` load what they run and nothing else: each is a fresh
process that a person waits for, so an import it does not need is time on every command."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.simulator import CapssSimulator
from tests.conftest import ROOT
from tests.integration.client.simclient import CLIENT_ID, SECRET, transactions

WATCHED = (
    "httpx",
    "lxml",
    "capss.intake",
    "capss.pipeline.settings",  # the stack's settings: the command reads its own options
    "capss.pipeline.records",
    "capss.compliance.stores",
    "capss.aws",
    "boto3",
    "botocore",
    "importlib.metadata",  # only `capss --version` looks itself up
    "click",  # these three: httpx's own command line, when installed
    "rich",
    "pygments",
)
USES = {
    "submit": {"httpx", "lxml", "capss.intake"},  # validates, then talks to CAPSS
    "status": {"httpx"},
    "validate": {"lxml", "capss.intake"},
    "--help": set(),
}


def _run(sim: CapssSimulator, *args: str) -> tuple[str, set[str]]:
    """The command in a fresh interpreter: its output, and which watched modules it loaded."""
    program = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'layers/capss')!r}]\n"
        "from capss.cli.main import main\n"
        "try:\n"
        f"    code = main({list(args)!r})\n"
        "except SystemExit as done:\n"
        "    code = done.code\n"
        f"loaded = sorted(m for m in {WATCHED!r} if m in sys.modules)\n"
        "print(json.dumps(loaded), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAPSS_")},
        "CAPSS_BASE_URL": sim.base_url,
        "CAPSS_CLIENT_ID": CLIENT_ID,
        "CAPSS_CLIENT_SECRET": SECRET,
        "CAPSS_CA_BUNDLE": str(sim.ca_pem_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", program],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(json.loads(done.stderr.splitlines()[-1]))


def test_each_command_loads_only_what_it_uses(sim: CapssSimulator, tmp_path: Path) -> None:
    path = str(transactions(tmp_path))
    out, loaded = _run(sim, "submit", path, "--wait", "--poll-interval", "0", "--json")
    result = json.loads(out)
    assert result["outcome"] == "complete"
    assert loaded == USES["submit"]
    out, loaded = _run(sim, "status", result["status_url"], "--json")
    assert json.loads(out)["outcome"] == "complete"
    assert loaded == USES["status"]
    out, loaded = _run(sim, "validate", path, "--json")
    assert json.loads(out)["files"][0]["validation"]["ok"] is True
    assert loaded == USES["validate"]
    out, loaded = _run(sim, "--help")
    assert "submit" in out
    assert loaded == USES["--help"]


def test_without_the_guard_httpx_would_load_its_command_line() -> None:
    # What keeps click, rich and pygments out above is capss.cli, not httpx or the venv.
    for name in ("click", "rich", "pygments"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed: httpx cannot load its command line")
    program = "import sys, httpx; print('httpx._main' in sys.modules, 'rich' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert out.split() == ["True", "True"]
