"""`sam build` makes a layer Lambda's python3.13 on arm64 can load (no container needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infrastructure.cfn import ROOT, TEMPLATE

SAM = ROOT / ".venv-tools" / "bin" / "sam"
# The runtime's Python must be on PATH for a build without a container; pyenv provides it here.
PYENV_VERSION = os.environ.get("PYENV_VERSION", "3.11.7:3.13.0")


def _python313(env: dict[str, str]) -> str | None:
    found = shutil.which("python3.13", path=env.get("PATH"))
    if found is None:
        return None
    probe = subprocess.run(
        [found, "-m", "pip", "--version"], env=env, capture_output=True, timeout=60, check=False
    )
    return found if probe.returncode == 0 else None


@pytest.mark.slow
def test_sam_build_makes_an_arm64_python313_layer(tmp_path: Path) -> None:
    if not SAM.exists():
        pytest.skip(f"{SAM} is missing: `make build` creates the tools virtualenv")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYENV_VERSION": PYENV_VERSION}
    if _python313(env) is None:
        pytest.skip("python3.13 with pip is not on PATH: sam build needs the runtime's Python")
    build = tmp_path / "build"
    result = subprocess.run(
        [str(SAM), "build", "--template", str(TEMPLATE), "--build-dir", str(build)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    for function in ("SubmitFunction", "StatusFunction", "FinishFunction"):
        assert (build / function / "app.py").is_file()
    layer = build / "CapssLayer" / "python"
    assert (layer / "capss" / "__init__.py").is_file()
    (wheel,) = layer.glob("lxml-*.dist-info/WHEEL")
    tags = [
        line.split(": ", 1)[1]
        for line in wheel.read_text().splitlines()
        if line.startswith("Tag: ")
    ]
    assert tags
    assert all(tag.startswith("cp313-cp313-") and tag.endswith("_aarch64") for tag in tags), tags
    extensions = list((layer / "lxml").glob("*.so"))
    assert extensions
    assert all("cpython-313-aarch64-linux-gnu" in so.name for so in extensions)
    # boto3 comes with the Lambda runtime; bundling it would only grow the layer.
    assert not list(layer.glob("boto3*"))

    # `make build`'s second step: bytecode for the runtime, used without checking sources.
    compiled = subprocess.run(
        ["make", "-s", "compile-layer", f"LAYER_BUILD={layer}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    sources = list((layer / "capss").rglob("*.py")) + list((layer / "httpx").rglob("*.py"))
    assert sources
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        # PEP 552 flags: hash-based (bit 0) without checking the source (bit 1 clear).
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 1, pyc


def test_make_build_refuses_a_python313_that_does_not_run(tmp_path: Path) -> None:
    # What pyenv puts on PATH for a version that is not installed: a shim that fails.
    shim = tmp_path / "python3.13"
    shim.write_text('#!/bin/sh\necho "pyenv: python3.13: command not found" >&2\nexit 127\n')
    shim.chmod(0o755)
    if not (ROOT / ".venv-tools" / ".installed").exists():
        pytest.skip("`make build` would first create the tools virtualenv")
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    done = subprocess.run(
        ["make", "--no-print-directory", "build"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "needs a working python3.13" in done.stdout
    assert "pyenv install 3.13" in done.stdout
    assert "Building" not in done.stdout + done.stderr
