"""TLS against the simulator's profiles, the `capss` command end to end, and no secret shown."""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from capss.cli import main as cli_main
from capss.client.api import Api
from capss.client.auth import TokenCache
from capss.client.client import CapssClient, ClientConfig
from capss.errors import TlsFailure
from capss.kinds import FileKind

from local.simulator import CapssSimulator
from tests.integration.client.simclient import (
    CLIENT_ID,
    LICENSE,
    SECRET,
    Listener,
    item_updates,
    transactions,
)


@pytest.fixture(scope="module")
def legacy_rsa() -> Iterator[CapssSimulator]:
    simulator = CapssSimulator(tls=True, tls_profile="legacy-rsa")
    simulator.add_client(CLIENT_ID, SECRET, license_number=LICENSE)
    with simulator:
        yield simulator


def client(sim: CapssSimulator, **overrides: object) -> CapssClient:
    settings: dict[str, object] = {
        "base_url": sim.base_url,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "ca_bundle": str(sim.ca_pem_path),
        "timeout": 2.0,
        "max_retries": 0,
    }
    settings.update(overrides)
    return CapssClient(ClientConfig(**settings), token_cache=TokenCache())  # type: ignore[arg-type]


def test_python_default_ciphers_fail_where_default_connects(legacy_rsa: CapssSimulator) -> None:
    strict = ssl.create_default_context(cafile=str(legacy_rsa.ca_pem_path))
    with httpx.Client(verify=strict) as plain, pytest.raises(httpx.ConnectError):
        plain.post(legacy_rsa.base_url + "/oauth2/token")
    with client(legacy_rsa) as capss:
        assert capss.token().token_type == "Bearer"


def test_handshake_failure_hints_at_the_cipher_setting(legacy_rsa: CapssSimulator) -> None:
    with (
        client(legacy_rsa, tls_ciphers="ECDHE+AESGCM") as capss,
        pytest.raises(TlsFailure) as caught,
    ):
        capss.token()
    assert "--tls-ciphers 'DEFAULT@SECLEVEL=1'" in caught.value.hint
    assert "CAPSS_TLS_CIPHERS" in caught.value.hint


def test_unknown_ca_hints_at_the_ca_bundle(sim: CapssSimulator) -> None:
    with client(sim, ca_bundle=None) as capss, pytest.raises(TlsFailure) as caught:
        capss.token()
    assert "--ca-bundle" in caught.value.hint
    assert "CAPSS_CA_BUNDLE" in caught.value.hint


# -- the command ----------------------------------------------------------------------------


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, sim: CapssSimulator) -> None:
    monkeypatch.setenv("CAPSS_BASE_URL", sim.base_url)
    monkeypatch.setenv("CAPSS_API", "current")
    monkeypatch.setenv("CAPSS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CAPSS_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("CAPSS_CA_BUNDLE", str(sim.ca_pem_path))
    monkeypatch.delenv("CAPSS_TLS_CIPHERS", raising=False)
    # The command's retries must not sleep for real here.
    monkeypatch.setattr(
        cli_main,
        "CapssClient",
        lambda config: CapssClient(config, token_cache=TokenCache(), sleep=lambda _: None),
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def live_token(sim: CapssSimulator) -> str:
    """The client's live token: CAPSS (and the simulator) hand back the same one while it lives."""
    answer = httpx.post(
        sim.base_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "api"},
        auth=(CLIENT_ID, SECRET),
        verify=ssl.create_default_context(cafile=str(sim.ca_pem_path)),
    )
    token: str = answer.json()["access_token"]
    return token


def test_token_command(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "token")
    assert code == 0
    assert "Bearer token" in out
    assert "expires" in out
    code, out, _ = run(capsys, "token", "--json")
    data = json.loads(out)
    assert data["token_type"] == "Bearer"
    assert data["scope"] == "api"
    assert set(data) == {"token_type", "scope", "expires_at", "license_id", "token_prefix"}


@pytest.mark.parametrize("api", [Api.CURRENT, Api.LEGACY])
def test_submit_wait_json_prints_the_documented_result(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, api: Api
) -> None:
    path = transactions(tmp_path)
    code, out, err = run(
        capsys, "submit", str(path), "--wait", "--json", "--poll-interval", "0.01", "--api", api
    )
    result = json.loads(out)
    assert code == 0, err
    assert set(result) == {"file", "outcome", "submission_id", "status_url", "counts", "messages"}
    assert result["file"] == "day.xml"
    assert result["outcome"] == "complete"
    assert result["submission_id"]
    assert result["counts"]["transactions"] == 2
    assert result["counts"]["items"] == 3
    assert "processing" in err  # the progress line


def test_submit_without_wait_is_accepted_and_status_checks_it(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "submit", str(transactions(tmp_path)), "--json")
    result = json.loads(out)
    assert code == 0
    assert result["outcome"] == "processing"
    code, out, _ = run(capsys, "status", result["status_url"], "--json")
    assert code == 0
    assert json.loads(out)["outcome"] in ("processing", "complete")
    code, out, _ = run(capsys, "status", result["status_url"])
    assert code == 0
    assert result["status_url"] in out


def test_submit_wait_with_issues_or_timeout_exits_1(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = transactions(tmp_path, marker="[sim:error]")
    code, out, _ = run(capsys, "submit", str(path), "--wait", "--poll-interval", "0.01")
    assert code == 1
    assert "complete_with_issues" in out
    other = transactions(tmp_path, name="later.xml")
    code, out, _ = run(capsys, "submit", str(other), "--wait", "--timeout", "0", "--json")
    assert code == 1
    assert json.loads(out)["outcome"] == "timed_out"


def test_item_update_submit(env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:

    code, out, err = run(capsys, "submit", str(item_updates(tmp_path)), "--update", "--json")
    assert json.loads(out)["outcome"] in ("processing", "complete"), err
    assert code == 0


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("capss: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_error_lines(
    env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    listener: Listener,
    sim: CapssSimulator,
) -> None:
    code, _, err = run(capsys, "token", "--client-secret", "wrong")
    assert code == 1
    assert "CAPSS_CLIENT_SECRET" in one_error_line(err)

    code, _, err = run(
        capsys, "status", f"https://127.0.0.1:{listener.port}/api/bulkimport/status/1"
    )
    assert code == 1
    assert "token" in one_error_line(err)
    assert listener.accepted == 0

    monkeypatch.delenv("CAPSS_CA_BUNDLE")
    code, _, err = run(capsys, "token")
    assert code == 1
    assert "--ca-bundle" in one_error_line(err)

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    code, _, err = run(capsys, "token", "--base-url", f"https://127.0.0.1:{port}")
    assert code == 1
    assert "cannot connect" in one_error_line(err)


def test_no_secret_or_token_in_logs_errors_or_output(
    env: None,
    sim: CapssSimulator,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "capss"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    shown: list[str] = []
    for args in (
        ["token"],
        ["token", "--json"],
        ["submit", str(transactions(tmp_path)), "--wait", "--json", "--poll-interval", "0.01"],
        ["submit", str(transactions(tmp_path, name="b.xml")), "--wait", "--poll-interval", "0.01"],
        ["status", "https://evil.example/api/bulkimport/status/1"],
    ):
        _, out, err = run(capsys, *args)
        shown += [out, err]
    secrets = {SECRET, live_token(sim)}
    sim.rotate_token(CLIENT_ID)
    with client(sim) as capss, transactions(tmp_path, name="c.xml").open("rb") as fileobj:
        receipt = capss.upload(fileobj, "c.xml", FileKind.TRANSACTIONS)
        shown += [repr(capss), repr(capss.config), repr(capss.token()), str(capss.token())]
        shown += [repr(receipt), repr(capss.status(str(receipt.status_url)))]
        try:
            capss.status("https://evil.example/x")
        except Exception as error:
            shown += [str(error), repr(error)]
    shown.append(caplog.text)
    shown += [repr(record.__dict__) for record in caplog.records]
    secrets.add(live_token(sim))
    assert len(secrets) == 3  # the secret and both tokens, before and after rotation
    text = "\n".join(shown)
    for secret in secrets:
        assert secret not in text


def test_submit_refuses_a_file_of_another_license_before_sending(
    env: None, capsys: pytest.CaptureFixture[str], sim: CapssSimulator
) -> None:
    other = Path(__file__).resolve().parents[3] / "events" / "files" / "store-0301-clean.xml"
    code, _, err = run(capsys, "submit", str(other))
    assert code == 1
    assert "is for license 000000301" in err
    assert sim.count(endpoint="upload") == 0
