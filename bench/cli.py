"""`capss submit --wait` end to end against the DOJ's three curl calls, on the simulator.

The curl side is the documented manual flow scripted: token, upload, one status GET (the
simulator completes a job at its first check, so one GET is the whole wait for both).
Fresh processes, alternating, wall time measured from outside.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from local.simulator import CapssSimulator

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "events" / "files" / "store-0300-clean.xml"
RUNS = 11

CURL = """
set -e
token=$(curl -sS --cacert "$CA" -u "$ID:$SECRET" -d grant_type=client_credentials -d scope=api \
  "$BASE/oauth2/token" | sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p')
link=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $token" \
  -F "bulkUploadFile=@$FILE" "$BASE/api/bulkimport/save?onDup=submitWithoutDup&onError=submit" \
  | sed -n 's/.*"href" *: *"\\([^"]*\\)".*/\\1/p')
curl -sS --cacert "$CA" -H "Authorization: Bearer $token" "$link" | grep -q complete
"""


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, check=False, env=env, capture_output=True, timeout=120)
    seconds = time.perf_counter() - started
    # From the second run on the simulator reports the items as duplicates: exit 1, same work.
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[:2]} failed: {done.stderr[-500:]!r}")
    return seconds


def run(runs: int = RUNS) -> dict[str, Any]:
    with CapssSimulator(polls_to_complete=1) as sim:
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
            "FILE": str(FILE),
        }
        capss = [
            str(Path(sys.executable).parent / "capss"),
            "submit",
            str(FILE),
            "--wait",
            "--json",
            "--poll-interval",
            "0",
        ]
        commands = {
            "capss": capss,
            "curl": ["sh", "-c", CURL],
            "help": [capss[0], "--help"],
        }
        for command in commands.values():
            _wall(command, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                samples[name].append(_wall(command, env))
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
