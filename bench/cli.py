"""`capss submit --wait` end to end against the DOJ's three curl calls, on the simulator.

The curl side is the documented manual flow scripted: token, upload, one status GET (the
simulator completes a job at its first check, so one GET is the whole wait for both).
Fresh processes, alternating, wall time measured from outside. Every run sends its own copy
of the sample file with fresh loan numbers, so CAPSS saves every item each time (no run is
cheaper for finding duplicates) and only a clean completion counts.
"""

from __future__ import annotations

import compileall
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.simulator import CapssSimulator

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "layers" / "capss" / "capss"
SAMPLE = ROOT / "events" / "files" / "store-0300-clean.xml"
RUNS = 11
SUBMIT_IMPORTS = "import capss.cli.main, capss.client.client, capss.intake.validate, httpcore"
"""What `capss submit` imports (httpx loads httpcore when it makes its first client)."""
PHASES = """
import json, os, sys, time
from pathlib import Path
from capss.client.client import CapssClient, ClientConfig
from capss.intake.validate import validate_path
from capss.kinds import FileKind

path = Path(sys.argv[1])
started = time.perf_counter()
assert validate_path(path, FileKind.TRANSACTIONS).ok
validated = time.perf_counter()
config = ClientConfig(
    base_url=os.environ["BASE"],
    client_id=os.environ["ID"],
    client_secret=os.environ["SECRET"],
    ca_bundle=os.environ["CA"],
)
with CapssClient(config) as client, path.open("rb") as file:
    client.token()
    receipt = client.upload(file, path.name, FileKind.TRANSACTIONS, "submitWithoutDup", "submit")
    assert receipt.status_url and client.status(receipt.status_url).outcome.value == "complete"
done = time.perf_counter()
print(json.dumps({"validate": validated - started, "requests": done - validated}))
"""
"""What submit does after its imports, timed inside one process: validating the file, then the
TLS set-up (context, one handshake) and the token, upload and status requests."""

CURL = """
set -e
token=$(curl -sS --cacert "$CA" -u "$ID:$SECRET" -d grant_type=client_credentials -d scope=api \
  "$BASE/oauth2/token" | sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p')
link=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $token" \
  -F "bulkUploadFile=@$1" "$BASE/api/bulkimport/save?onDup=submitWithoutDup&onError=submit" \
  | sed -n 's/.*"href" *: *"\\([^"]*\\)".*/\\1/p')
answer=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $token" "$link")
echo "$answer" | grep -q '"statusMessage" *: *"complete"'
echo "$answer" | grep -q '"hasDuplicates" *: *false'
"""


class FreshFiles:
    """Copies of the sample whose loan numbers no earlier run used."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sample = SAMPLE.read_text(encoding="utf-8")
        self._numbers = itertools.count(1)

    def __call__(self) -> str:
        run = next(self._numbers)
        path = self._directory / f"run-{run}.xml"
        path.write_text(
            self._sample.replace("<loanBuyNumber>", f"<loanBuyNumber>R{run}-"), encoding="utf-8"
        )
        return str(path)


def _wall(command: list[str], env: dict[str, str]) -> tuple[float, float, bytes]:
    """Seconds from outside, CPU seconds of the command and its children, and what it
    printed; only exit 0 counts."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, check=False, env=env, capture_output=True, timeout=120)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(
            f"{command[:2]} exited {done.returncode}: {done.stdout[-500:]!r} {done.stderr[-500:]!r}"
        )
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, cpu, done.stdout


def run(runs: int = RUNS) -> dict[str, Any]:
    # pip compiles an installed package's bytecode; an editable install run with
    # PYTHONDONTWRITEBYTECODE (as here) would compile every capss module on every run instead.
    compileall.compile_dir(LIBRARY, quiet=1)
    with CapssSimulator(polls_to_complete=1) as sim, tempfile.TemporaryDirectory() as scratch:
        sim.add_client("bench", "bench-secret", license_number="000000300")
        env = {
            **os.environ,
            "CAPSS_BASE_URL": sim.base_url,
            "CAPSS_CA_BUNDLE": str(sim.ca_pem_path),
            "CAPSS_CLIENT_ID": "bench",
            "CAPSS_CLIENT_SECRET": "bench-secret",
            "BASE": sim.base_url,
            "CA": str(sim.ca_pem_path),
            "ID": "bench",
            "SECRET": "bench-secret",
        }
        capss = str(Path(sys.executable).parent / "capss")
        fresh = FreshFiles(Path(scratch))
        commands: dict[str, Callable[[], list[str]]] = {
            "capss": lambda: [capss, "submit", fresh(), "--wait", "--json", "--poll-interval", "0"],
            "curl": lambda: ["sh", "-c", CURL, "curl", fresh()],
            "help": lambda: [capss, "--help"],
            # The breakdown: the interpreter alone, then with what submit imports; the rest of
            # capss_s is its work (validation, TLS set-up, the three requests, the result).
            "python": lambda: [sys.executable, "-c", "pass"],
            "imports": lambda: [sys.executable, "-c", SUBMIT_IMPORTS],
            "phases": lambda: [sys.executable, "-c", PHASES, fresh()],
        }
        for command in commands.values():
            _wall(command(), env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        # CPU time varies less with the machine's load than wall time does.
        samples |= {"validate": [], "requests": [], "capss_cpu": [], "curl_cpu": []}
        for _ in range(runs):
            for name, command in commands.items():
                seconds, cpu, printed = _wall(command(), env)
                samples[name].append(seconds)
                if name in ("capss", "curl"):
                    samples[f"{name}_cpu"].append(cpu)
                if name == "phases":
                    for phase, inside in json.loads(printed).items():
                        samples[phase].append(inside)
        del samples["phases"]
    return {
        "runs": runs,
        **{f"{name}_s": round(statistics.median(s), 3) for name, s in samples.items()},
        "capss_vs_curl": round(
            statistics.median(
                a / b for a, b in zip(samples["capss"], samples["curl"], strict=True)
            ),
            2,
        ),
    }
