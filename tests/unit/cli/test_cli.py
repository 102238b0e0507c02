"""`capss` without a CAPSS: validation, refusals before anything is sent, usage errors."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
from capss.cli.main import main

FILES = Path(__file__).resolve().parents[3] / "events" / "files"


@pytest.fixture
def no_capss_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAPSS_BASE_URL", "CAPSS_API", "CAPSS_CLIENT_ID", "CAPSS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)


def copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(FILES / name, tmp_path / name))


def test_validate_exit_codes_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = copy(tmp_path, "store-0300-clean.xml")
    bad = copy(tmp_path, "store-0300-invalid.xml")
    assert main(["validate", str(good)]) == 0
    assert "valid" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:" in out
    assert "INVALID" in out


def test_validate_json_and_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    update = copy(tmp_path, "store-0300-item-update.xml")
    code = main(["validate", "--update", "--json", str(update)])
    data = json.loads(capsys.readouterr().out)
    assert data["files"][0]["file"] == str(update)
    assert code == (0 if data["files"][0]["ok"] else 1)


def test_validate_a_missing_file_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "absent.xml")]) == 1
    assert "absent.xml" in capsys.readouterr().out


def test_submit_refuses_an_invalid_file_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_capss_env: None
) -> None:
    # Nothing listens there: had the command tried to send, it would say it cannot connect.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bad = copy(tmp_path, "store-0300-invalid.xml")
    args = ["submit", str(bad), "--base-url", f"https://127.0.0.1:{port}", "--json"]
    assert main([*args, "--client-id", "a", "--client-secret", "b"]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["outcome"] == "rejected"
    assert result["submission_id"] is None
    assert any("error" in message for message in result["messages"])
    assert "connect" not in captured.err


def test_missing_credentials_name_the_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_capss_env: None
) -> None:
    assert main(["token"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("capss: error: ")
    assert "CAPSS_CLIENT_ID" in err
    assert "CAPSS_CLIENT_SECRET" in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["submit"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["token", "--api", "future"])
    assert caught.value.code == 2


def test_bad_tls_settings_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_capss_env: None
) -> None:
    args = ["token", "--client-id", "a", "--client-secret", "b"]
    assert main([*args, "--ca-bundle", str(tmp_path / "none.pem")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--ca-bundle" in err
    assert main([*args, "--tls-ciphers", "NOPE"]) == 1
    assert "--tls-ciphers" in capsys.readouterr().err


def test_environment_supplies_the_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSS_CLIENT_ID", "from-env")
    monkeypatch.setenv("CAPSS_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("CAPSS_CA_BUNDLE", "/nonexistent/ca.pem")
    assert main(["token"]) == 1
    err = capsys.readouterr().err
    assert "/nonexistent/ca.pem" in err
    assert "env-secret" not in err


def test_validate_enforces_an_official_xsd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = copy(tmp_path, "store-0300-clean.xml")
    schema = tmp_path / "official.xsd"
    schema.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:element name="capssUpload"><xs:complexType><xs:sequence>'
        '<xs:element name="somethingElse"/>'
        "</xs:sequence></xs:complexType></xs:element></xs:schema>"
    )
    assert main(["validate", str(good)]) == 0
    capsys.readouterr()
    assert main(["validate", "--xsd", str(schema), "--json", str(good)]) == 1
    (report,) = json.loads(capsys.readouterr().out)["files"]
    problems = [p for p in report["problems"] if p["code"] == "xsd"]
    assert problems
    assert all(p["line"] for p in problems)
    monkeypatch.setenv("CAPSS_XSD", str(schema))
    assert main(["validate", str(good)]) == 1
