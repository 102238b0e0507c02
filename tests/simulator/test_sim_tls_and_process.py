"""The TLS profiles, checked with plain ssl, and the stand-alone process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.simulator import CapssSimulator
from tests.simulator.simhttp import get_token

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def legacy_rsa() -> Iterator[CapssSimulator]:
    sim = CapssSimulator(tls_profile="legacy-rsa")
    sim.add_client("apitest", "Password1", license_number="000000300")
    with sim:
        yield sim


def _handshake(sim: CapssSimulator, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    return context.wrap_socket(raw, server_hostname="localhost")


def test_legacy_rsa_refuses_pythons_default_client_ciphers(legacy_rsa: CapssSimulator) -> None:
    assert legacy_rsa.ca_pem_path is not None
    context = ssl.create_default_context(cafile=legacy_rsa.ca_pem_path)
    with pytest.raises(ssl.SSLError, match=r"HANDSHAKE_FAILURE|handshake failure"):
        _handshake(legacy_rsa, context)
    with httpx.Client(verify=context) as client, pytest.raises(httpx.ConnectError):
        client.post(legacy_rsa.base_url + "/oauth2/token")


def test_legacy_rsa_accepts_openssl_default_ciphers_with_rsa_key_exchange(
    legacy_rsa: CapssSimulator,
) -> None:
    assert legacy_rsa.ca_pem_path is not None
    context = ssl.create_default_context(cafile=legacy_rsa.ca_pem_path)
    context.set_ciphers("DEFAULT")
    with _handshake(legacy_rsa, context) as tls:
        assert tls.version() == "TLSv1.2"
        cipher = tls.cipher()
        assert cipher is not None
        name = cipher[0]
        assert "ECDHE" not in name
        assert "DHE" not in name
        certificate = tls.getpeercert()
        assert certificate
    with httpx.Client(base_url=legacy_rsa.base_url, verify=context) as client:
        assert get_token(client, "current")


def test_modern_profile_serves_pythons_defaults_and_checks_certificates(
    sim: CapssSimulator,
) -> None:
    assert sim.ca_pem_path is not None
    context = ssl.create_default_context(cafile=sim.ca_pem_path)
    with _handshake(sim, context) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with httpx.Client(base_url=sim.base_url) as untrusting, pytest.raises(httpx.ConnectError):
        untrusting.post("/oauth2/token")
    # The certificate also names 127.0.0.1.
    with httpx.Client(verify=context) as client:
        url = sim.base_url.replace("localhost", "127.0.0.1") + "/oauth2/token"
        assert client.post(url).status_code == 401


def test_ca_file_is_removed_on_stop() -> None:
    sim = CapssSimulator()
    with sim:
        assert sim.ca_pem_path is not None
        path = Path(sim.ca_pem_path)
        assert path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert not path.exists()


def test_unknown_tls_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="TLS profile"):
        CapssSimulator(tls_profile="ancient").start()  # type: ignore[arg-type]


@contextlib.contextmanager
def _process(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """`python -m local.simulator ARGS`, its first line read as JSON; killed if still running."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/capss")])}
    process = subprocess.Popen(
        [sys.executable, "-m", "local.simulator", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process, json.loads(process.stdout.readline())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_stand_alone_process_prints_its_address_and_serves() -> None:
    with _process("--client", "shop:S3cret:000000301") as (process, line):
        assert line["base_url"].startswith("https://localhost:")
        assert line["clients"] == [{"client_id": "shop", "license_number": "000000301"}]
        assert "S3cret" not in json.dumps(line)
        verify = ssl.create_default_context(cafile=line["ca_pem"])
        with httpx.Client(base_url=line["base_url"], verify=verify) as client:
            assert get_token(client, "legacy", "shop", "S3cret")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not Path(line["ca_pem"]).exists()


def test_stand_alone_defaults_to_the_doj_example_client() -> None:
    with _process("--no-tls", "--polls", "1") as (process, line):
        assert line["ca_pem"] is None
        assert line["clients"] == [{"client_id": "apitest", "license_number": "000000300"}]
        with httpx.Client(base_url=line["base_url"]) as client:
            assert get_token(client, "current", "apitest", "Password1")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_the_documented_recipe_works_pasted_as_one_block(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    start = page.index("```\n", page.index("Against the local simulator:")) + 4
    block = page[start : page.index("```", start)]
    env_file = str(tmp_path / "sim.env")
    assert "/tmp/capss-sim.env" in block
    # The simulator is the block's background job: stopped however the block ends.
    script = "trap 'kill $! 2>/dev/null' EXIT\n" + block.replace("/tmp/capss-sim.env", env_file)
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"] == "complete"
    assert result["error"] is None
    assert (Path(env_file).stat().st_mode & 0o777) == 0o600
