"""Cold start as Lambda pays for it: the handler's import and its first event's set-up.

Laid out as Lambda runs it: boto3 from a runtime directory (with bytecode, as the runtime
ships it), the layer's requirements and `capss` in a layer directory, no site-packages, and
no bytecode written at run time (/opt is read-only). Each sample is a fresh interpreter
timing, inside itself, the import of the function's `app` module, its settings and the
AWS and CAPSS clients that path's first event builds before its first request. Side by side,
in turn: the same without the layer's bytecode (`sam build` alone), bare `import boto3`,
and the floor: `import boto3` plus the same AWS clients.

The interpreter is Lambda's, python3.13, when one runs here (`LAMBDA_PYTHON` names another),
else this one: the version changes what imports cost (3.13 builds dataclasses faster).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAMBDA = ROOT / "bench" / ".lambda"
RUNS = 11

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-west-2",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "TABLE_NAME": "records",
    "STORES_TABLE_NAME": "stores",
    "BUCKET_NAME": "intake",
    "TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:alerts",
    "STATE_MACHINE_ARN": "arn:aws:states:us-west-2:123456789012:stateMachine:poller",
    "INTAKE_DLQ_ARN": "arn:aws:sqs:us-west-2:123456789012:intake-dlq",
    "CAPSS_BASE_URL": "https://capss-sb.doj.ca.gov",
    "POWERTOOLS_SERVICE_NAME": "capss-bridge",
}

CAPSS_CLIENT = (
    "from capss.pipeline.values import LicenseCredentials\n"
    "deps.clients(LicenseCredentials('000000300', 'id', 'secret')).close()\n"
)
PATHS: dict[str, tuple[list[str], str]] = {
    # A clean file: record, read the object, the license's secret, CAPSS, start the poller.
    "submit": (
        ["dynamodb", "s3", "secretsmanager", "stepfunctions"],
        "deps.records._table._client.meta\ndeps.objects._client.meta\n"
        "deps.credentials._provider\ndeps.executions._client.meta\n" + CAPSS_CLIENT,
    ),
    # One check: the license's secret, CAPSS (the answer rides in the poller's state).
    "status": (["secretsmanager"], "deps.credentials._provider\n" + CAPSS_CLIENT),
    # A clean completion: the record and the object's tag, no alert.
    "finish": (["dynamodb", "s3"], "deps.records._table._client.meta\ndeps.objects._client.meta\n"),
    # A clean check: the stores and their files (one client for both tables) on the
    # business-day calendar; no unfinished file, no alert.
    "monitor": (
        ["dynamodb"],
        "deps.stores._table._client.meta\ndeps.history._table._client.meta\n"
        "from datetime import date\ndeps.calendar.is_business_day(date(2026, 12, 1))\n",
    ),
    # The caller's key binding (one item), then a URL signed for one key: both clients.
    "presign": (
        ["dynamodb", "s3"],
        "deps.keys._table._client.meta\ndeps.objects._client.meta\n",
    ),
}


def _interpreter(python: str) -> tuple[str, str] | None:
    """The interpreter's own path (past any pyenv shim) and its version, if it runs."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.executable, sys.version.split()[0])"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    executable, version = out.split()
    return executable, version


def lambda_python() -> tuple[str, str]:
    """The interpreter to measure with, and its version."""
    named = os.environ.get("LAMBDA_PYTHON")
    if named:
        found = _interpreter(named)
        if found is None:
            raise SystemExit(f"LAMBDA_PYTHON={named} does not run")
        return found
    # Run it, not just find it: a pyenv shim is on PATH even when 3.13 is not installed.
    found = _interpreter("python3.13")
    if found is not None and found[1].startswith("3.13."):
        return found
    return sys.executable, sys.version.split()[0]


def _pip(python: str, target: Path, *requirements: str) -> None:
    subprocess.run(
        [
            *(python, "-m", "pip", "install", "--quiet", "--no-compile"),
            *("--target", str(target), *requirements),
        ],
        check=True,
        timeout=900,
    )


def prepare(python: str, version: str) -> dict[str, Path]:
    """The runtime (boto3 as pinned) and the layer with and without bytecode; pip runs once."""
    import boto3  # noqa: PLC0415 - only for the version the project pins

    requirements = ROOT / "layers" / "capss" / "requirements.txt"
    stamp = hashlib.sha256(
        requirements.read_bytes() + f"{boto3.__version__} {version}".encode()
    ).hexdigest()
    built = LAMBDA / "stamp"
    runtime, plain, compiled = LAMBDA / "runtime", LAMBDA / "layer-plain", LAMBDA / "layer"
    if not built.is_file() or built.read_text() != stamp:
        shutil.rmtree(LAMBDA, ignore_errors=True)
        _pip(python, runtime, f"boto3=={boto3.__version__}")
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(runtime)], check=True)
        _pip(python, plain, "-r", str(requirements))
        built.write_text(stamp)
    for layer in (plain, compiled):
        shutil.rmtree(layer / "capss", ignore_errors=True)
    shutil.copytree(
        ROOT / "layers" / "capss" / "capss",
        plain / "capss",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.rmtree(compiled, ignore_errors=True)
    shutil.copytree(plain, compiled)
    subprocess.run(
        [
            "make",
            "-s",
            "compile-layer",
            f"LAYER_BUILD={compiled}",
            f"LAYER_PYTHON={python}",
        ],
        cwd=ROOT,
        check=True,
    )
    return {"runtime": runtime, "plain": plain, "compiled": compiled}


def _seconds(python: str, code: str) -> tuple[float, float]:
    """Wall and CPU seconds: CPU time moves less when other work shares the machine."""
    timed = (
        "import time\n_t, _c = time.perf_counter(), time.process_time()\n"
        f"{code}print(time.perf_counter() - _t, time.process_time() - _c)\n"
    )
    out = subprocess.run(
        # -S: no site-packages (the path is set below); -B: /opt is read-only.
        [python, "-S", "-B", "-c", timed],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
        env=ENVIRONMENT,
        cwd=LAMBDA,
    ).stdout
    wall, cpu = out.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def programs(function: str, dirs: dict[str, Path]) -> dict[str, str]:
    services, first_event = PATHS[function]
    task = str(ROOT / "functions" / function)

    def path(*entries: Path | str) -> str:
        return f"import sys; sys.path[:0] = {[str(e) for e in entries]!r}\n"

    handler = (
        f"import app\nfrom capss.aws.{function}_function import runtime\n"
        f"settings, deps, *_ = runtime()\n{first_event}"
    )
    clients = "".join(f"boto3.client({service!r})\n" for service in services)
    return {
        "handler": path(task, dirs["compiled"], dirs["runtime"]) + handler,
        "no_bytecode": path(task, dirs["plain"], dirs["runtime"]) + handler,
        "boto3": path(dirs["runtime"]) + "import boto3\n",
        "floor": path(dirs["runtime"]) + "import boto3\n" + clients,
    }


def measure(
    function: str, dirs: dict[str, Path], python: str, version: str, runs: int = RUNS
) -> dict[str, Any]:
    codes = programs(function, dirs)
    for code in codes.values():  # warm the file cache for every side
        _seconds(python, code)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            samples[name].append(_seconds(python, code))

    def ratio(a: str, b: str, clock: int = 0) -> float:
        pairs = zip(samples[a], samples[b], strict=True)
        return round(statistics.median(x[clock] / y[clock] for x, y in pairs), 2)

    def ms(name: str, clock: int = 0) -> int:
        return round(statistics.median(sample[clock] for sample in samples[name]) * 1000)

    return {
        "function": function,
        "clients": PATHS[function][0],
        "python": version,
        "runs": runs,
        **{f"{name}_ms": ms(name) for name in samples},
        "vs_boto3": ratio("handler", "boto3"),
        "vs_floor": ratio("handler", "floor"),
        "no_bytecode_vs_floor": ratio("no_bytecode", "floor"),
        **{f"{name}_cpu_ms": ms(name, 1) for name in ("handler", "boto3", "floor")},
        "cpu_vs_boto3": ratio("handler", "boto3", 1),
        "cpu_vs_floor": ratio("handler", "floor", 1),
    }


def run(runs: int = RUNS) -> list[dict[str, Any]]:
    python, version = lambda_python()
    dirs = prepare(python, version)
    return [measure(function, dirs, python, version, runs) for function in PATHS]
