"""The `capss` command end to end against the simulator over HTTPS: results, errors, exit codes."""

from __future__ import annotations

import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from capss.cli import commands
from capss.cli.exits import Exit
from capss.cli.main import main
from capss.cli.output import RESULT_KEYS
from capss.client.api import Api
from capss.client.auth import TokenCache
from capss.client.client import CapssClient, ClientConfig
from capss.kinds import FileKind
from capss.pipeline import advice

from local.simulator import CapssSimulator, Fault
from tests.integration.client.simclient import (
    CLIENT_ID,
    FILES,
    LICENSE,
    SECRET,
    Listener,
    item_updates,
    transactions,
)


def sim_env(sim: CapssSimulator) -> dict[str, str]:
    return {
        "CAPSS_BASE_URL": sim.base_url,
        "CAPSS_API": "current",
        "CAPSS_CLIENT_ID": CLIENT_ID,
        "CAPSS_CLIENT_SECRET": SECRET,
        "CAPSS_CA_BUNDLE": str(sim.ca_pem_path),
    }


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, sim: CapssSimulator) -> None:
    for name, value in sim_env(sim).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CAPSS_TLS_CIPHERS", raising=False)
    monkeypatch.delenv("CAPSS_XSD", raising=False)
    # The command's retries must not sleep for real here.
    monkeypatch.setattr(
        commands,
        "_client",
        lambda config: CapssClient(config, token_cache=TokenCache(), sleep=lambda _: None),
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, *args, "--json")
    data: dict[str, Any] = json.loads(out)  # exactly one document, whatever happened
    assert data["exit_code"] == code
    return code, data, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("capss: error: ")]
    assert len(lines) == 1, err
    return lines[0]


def test_token_command(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "token")
    assert code == Exit.OK
    assert "Bearer token" in out
    assert "expires" in out
    _, data, _ = run_json(capsys, "token")
    assert data["token_type"] == "Bearer"
    assert data["scope"] == "api"
    assert data["error"] is None


@pytest.mark.parametrize("api", [Api.CURRENT, Api.LEGACY])
def test_submit_wait_json_prints_the_documented_result(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, api: Api, sim: CapssSimulator
) -> None:
    path = transactions(tmp_path)
    code, result, err = run_json(
        capsys, "submit", str(path), "--wait", "--poll-interval", "0.01", "--api", api
    )
    assert code == Exit.OK, err
    assert set(result) == {*RESULT_KEYS, "exit_code"}
    assert result["file"] == str(path)
    (upload,) = [r for r in sim.requests if r.endpoint == "upload"]
    assert upload.filename == "day.xml"
    assert result["outcome"] == "complete"
    assert result["submission_id"]
    assert result["counts"]["transactions"] == 2
    assert result["counts"]["items"] == 3
    assert result["error"] is None
    assert "processing" in err  # the progress line
    _, quiet, err = run(capsys, "submit", str(path), "--wait", "--poll-interval", "0.01", "-q")
    assert err == ""
    assert "complete" in quiet


def test_submit_without_wait_is_accepted_and_status_has_the_same_shape(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, result, _ = run_json(capsys, "submit", str(transactions(tmp_path)))
    assert code == Exit.OK
    assert result["outcome"] == "processing"
    code, status, _ = run_json(capsys, "status", result["status_url"])
    assert code == Exit.OK
    assert set(status) == {*RESULT_KEYS, "exit_code"}
    assert status["outcome"] in ("processing", "complete")
    code, out, _ = run(capsys, "status", result["status_url"])
    assert code == Exit.OK
    assert result["status_url"] in out


def test_issues_and_timeouts_have_their_own_exit_codes(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = transactions(tmp_path, marker="[sim:error]")
    code, out, _ = run(capsys, "submit", str(path), "--wait", "--poll-interval", "0.01")
    assert code == Exit.ISSUES
    assert "complete_with_issues" in out
    assert "counts: transactions 2, items 3, saved 2, errors 1" in out
    code, out, _ = run(capsys, "submit", str(path), "--wait", "--timeout", "0")
    assert code == Exit.MAYBE_SENT
    assert "counts" not in out  # partial while CAPSS works on it
    assert "next: CAPSS has the file: do not submit it again" in out
    other = transactions(tmp_path, name="later.xml")
    code, result, _ = run_json(capsys, "submit", str(other), "--wait", "--timeout", "0")
    assert code == Exit.MAYBE_SENT
    assert result["outcome"] == "timed_out"
    assert f"capss status {result['status_url']}" in result["next_step"]


def test_the_first_status_check_follows_the_upload_at_once(
    env: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sim: CapssSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--poll-interval spaces the checks; it never delays the first one."""
    slept: list[float] = []
    monkeypatch.setattr(
        commands, "time", SimpleNamespace(monotonic=time.monotonic, sleep=slept.append)
    )
    code, result, _ = run_json(capsys, "submit", str(transactions(tmp_path)), "--wait")
    assert code == Exit.OK
    assert result["outcome"] == "complete"
    statuses = [r for r in sim.requests if r.endpoint == "status"]
    assert len(statuses) == 2  # this simulator completes a job at its second check
    assert slept == [5.0]  # the default interval, once: between the two checks


@pytest.mark.parametrize("api", [Api.CURRENT, Api.LEGACY])
def test_a_second_upload_of_the_same_file_is_all_duplicates_and_nothing_to_fix(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, api: Api
) -> None:
    path = transactions(tmp_path)
    wait = ("--wait", "--poll-interval", "0", "--api", api)
    code, first, _ = run_json(capsys, "submit", str(path), *wait)
    assert (code, first["outcome"], first["next_step"]) == (Exit.OK, "complete", None)
    code, again, _ = run_json(capsys, "submit", str(path), *wait)
    assert code == Exit.ISSUES
    assert again["outcome"] == "complete_with_issues"
    assert again["counts"]["errors"] == 0
    assert again["counts"]["duplicates"] == (3 if api is Api.LEGACY else None)
    assert again["next_step"] == advice.CLI_DUPLICATES
    code, status, _ = run_json(capsys, "status", again["status_url"], "--api", api)
    assert (code, status["next_step"]) == (Exit.ISSUES, advice.CLI_DUPLICATES)
    code, out, _ = run(capsys, "submit", str(transactions(tmp_path, marker="[sim:error]")), *wait)
    assert code == Exit.ISSUES
    assert f"next: {advice.CLI_FIX_ITEMS}" in out


def test_a_large_file_shows_its_upload_progress(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = transactions(tmp_path)
    text = path.read_text(encoding="utf-8")
    start = text.index("<bulkUploadData")
    path.write_text(f"{text[:start]}<!-- {'x' * 1_200_000} -->\n{text[start:]}", encoding="utf-8")
    code, _, err = run(capsys, "submit", str(path))
    assert code == Exit.OK, err
    shown = [line for line in err.splitlines() if "day.xml: " in line and "%" in line]
    assert shown, err
    assert shown[0].endswith(": 0 %")
    assert shown[-1].endswith(": 100 %")
    assert len(shown) <= 12


def test_item_update_submit(env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, result, err = run_json(capsys, "submit", str(item_updates(tmp_path)), "--update")
    assert result["outcome"] in ("processing", "complete"), err
    assert code == Exit.OK


def test_a_failed_upload_still_answers_in_json(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, sim: CapssSimulator
) -> None:
    sim.inject(Fault.error(500, "upload"))
    code, result, err = run_json(capsys, "submit", str(transactions(tmp_path)))
    assert code == Exit.MAYBE_SENT  # a 500 may come after CAPSS stored the file
    assert result["error"]["code"] == "capss_unavailable"
    assert result["error"]["hint"]
    assert "on-dup skipDuplicates" in result["next_step"]
    assert "500" in one_error_line(err)
    sim.inject(Fault.error(503, "upload", times=10))
    code, result, _ = run_json(capsys, "submit", str(transactions(tmp_path)))
    assert code == Exit.RETRY  # 503: nothing was taken
    assert result["submission_id"] is None


def test_a_failure_after_acceptance_keeps_the_submission(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path, sim: CapssSimulator
) -> None:
    sim.inject(Fault.error(403, "status", times=20))
    code, result, _ = run_json(
        capsys, "submit", str(transactions(tmp_path)), "--wait", "--poll-interval", "0"
    )
    assert code == Exit.MAYBE_SENT
    assert result["submission_id"]
    assert result["status_url"]
    assert result["error"]["code"] == "bad_credentials"
    assert f"capss status {result['status_url']}" in result["next_step"]


def test_error_lines_and_codes(
    env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    listener: Listener,
    sim: CapssSimulator,
) -> None:
    code, data, err = run_json(capsys, "token", "--client-secret", "wrong")
    assert code == Exit.CONFIG
    assert data["error"]["code"] == "bad_credentials"
    assert "CAPSS_CLIENT_SECRET" in one_error_line(err)

    link = f"https://127.0.0.1:{listener.port}/api/bulkimport/status/1"
    code, data, err = run_json(capsys, "status", link)
    assert code == Exit.CONFIG
    assert data["error"]["code"] == "foreign_link"
    assert data["status_url"] == link
    assert "token" in one_error_line(err)
    assert listener.accepted == 0

    plain = sim.base_url.replace("https://", "http://")
    code, _, err = run(capsys, "token", "--base-url", plain)
    assert "try https://" in one_error_line(err)

    monkeypatch.delenv("CAPSS_CA_BUNDLE")
    code, _, err = run(capsys, "token")
    assert code == Exit.CONFIG
    assert "--ca-bundle" in one_error_line(err)

    code, data, err = run_json(capsys, "token", "--base-url", f"https://127.0.0.1:{listener.port}")
    listener.close()
    code, data, err = run_json(capsys, "token", "--base-url", f"https://127.0.0.1:{listener.port}")
    assert code == Exit.RETRY
    assert "check the base URL and its port" in data["error"]["hint"]
    assert "cannot connect" in one_error_line(err)


def test_submit_refuses_a_file_of_another_license_before_sending(
    env: None, capsys: pytest.CaptureFixture[str], sim: CapssSimulator
) -> None:
    code, data, err = run_json(capsys, "submit", str(FILES / "store-0301-clean.xml"))
    assert code == Exit.CONFIG
    assert "is for license 000000301" in err
    assert data["submission_id"] is None
    assert sim.count(endpoint="upload") == 0


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
    sim.inject(Fault.error(500, "upload"))
    for args in (
        ["token"],
        ["token", "--json"],
        ["submit", str(transactions(tmp_path, name="a.xml")), "--json"],
        ["submit", str(transactions(tmp_path)), "--wait", "--json", "--poll-interval", "0.01"],
        ["submit", str(transactions(tmp_path, name="b.xml")), "--wait", "--poll-interval", "0.01"],
        ["status", "https://evil.example/api/bulkimport/status/1", "--json"],
    ):
        _, out, err = run(capsys, *args)
        shown += [out, err]
    secrets = {SECRET, live_token(sim)}
    sim.rotate_token(CLIENT_ID)
    config = ClientConfig(
        base_url=sim.base_url,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        ca_bundle=str(sim.ca_pem_path),
        timeout=2.0,
        max_retries=0,
    )
    with (
        CapssClient(config, token_cache=TokenCache()) as capss,
        transactions(tmp_path, name="c.xml").open("rb") as fileobj,
    ):
        receipt = capss.upload(fileobj, "c.xml", FileKind.TRANSACTIONS)
        shown += [repr(capss), repr(capss.config), repr(capss.token()), str(capss.token())]
        shown += [repr(receipt), repr(capss.status(str(receipt.status_url)))]
    shown.append(caplog.text)
    shown += [repr(record.__dict__) for record in caplog.records]
    secrets.add(live_token(sim))
    assert len(secrets) == 3  # the secret and both tokens, before and after rotation
    text = "\n".join(shown)
    for secret in secrets:
        assert secret not in text


# -- the installed command in its own process ------------------------------------------------


@pytest.fixture
def slow_sim() -> Iterator[CapssSimulator]:
    """A CAPSS that never finishes a job within a test."""
    simulator = CapssSimulator(tls=True, polls_to_complete=10_000)
    simulator.add_client(CLIENT_ID, SECRET, license_number=LICENSE)
    with simulator:
        yield simulator


def test_ctrl_c_while_waiting_tells_how_to_continue(
    slow_sim: CapssSimulator, tmp_path: Path
) -> None:
    command = [str(Path(sys.executable).with_name("capss")), "submit", str(transactions(tmp_path))]
    environ = {**os.environ, **sim_env(slow_sim)}
    with subprocess.Popen(
        [*command, "--wait", "--json", "--poll-interval", "0.05"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        deadline = time.monotonic() + 30
        while slow_sim.count(endpoint="status") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == Exit.INTERRUPTED
    result = json.loads(out)
    link = result["status_url"]
    assert result["outcome"] == "processing"
    assert result["error"]["code"] == "interrupted"
    text = err.decode()
    assert "Traceback" not in text
    assert result["submission_id"] in text
    assert f"capss status {link}" in text
    status = subprocess.run(
        [command[0], "status", link], env=environ, capture_output=True, timeout=30, check=False
    )
    assert status.returncode == Exit.OK
    assert b"processing" in status.stdout
