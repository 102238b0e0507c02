"""`capss` without a CAPSS: validation, refusals before anything is sent, usage and settings."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from capss.cli.exits import MEANINGS, Exit, exit_table
from capss.cli.main import main
from capss.cli.output import RESULT_KEYS

ROOT = Path(__file__).resolve().parents[3]
FILES = ROOT / "events" / "files"


@pytest.fixture(autouse=True)
def no_capss_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CAPSS_BASE_URL",
        "CAPSS_API",
        "CAPSS_CLIENT_ID",
        "CAPSS_CLIENT_SECRET",
        "CAPSS_CA_BUNDLE",
        "CAPSS_TLS_CIPHERS",
        "CAPSS_XSD",
    ):
        monkeypatch.delenv(name, raising=False)


def copy(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copy(FILES / name, tmp_path / name))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def document(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)  # one document, nothing else on stdout
    return data


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_validate_exit_codes_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = copy(tmp_path, "store-0300-clean.xml")
    bad = copy(tmp_path, "store-0300-invalid.xml")
    code, out, _ = run(capsys, "validate", str(good))
    assert code == Exit.OK
    assert "valid" in out
    code, out, _ = run(capsys, "validate", str(good), str(bad))
    assert code == Exit.REJECTED
    assert f"{bad}:" in out
    assert "INVALID" in out


def test_validate_json_has_the_shared_result_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = copy(tmp_path, "store-0300-clean.xml")
    bad = copy(tmp_path, "store-0300-invalid.xml")
    code, out, _ = run(capsys, "validate", "--json", str(good), str(bad))
    data = document(out)
    assert set(data) == {"files", "error", "exit_code"}
    first, second = data["files"]
    assert set(first) == set(RESULT_KEYS) == set(second)
    assert first["file"] == str(good)
    assert first["outcome"] is None
    assert first["validation"]["license_number"] == "000000300"
    assert second["outcome"] == "rejected"
    assert all(isinstance(problem, dict) for problem in second["problems"])
    assert code == data["exit_code"] == Exit.REJECTED


def test_missing_path_or_directory_is_usage_not_an_invalid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = copy(tmp_path, "store-0300-clean.xml")
    code, out, err = run(
        capsys, "validate", "--json", str(tmp_path / "absent.xml"), str(tmp_path), str(good)
    )
    absent, directory, valid = document(out)["files"]
    assert code == Exit.USAGE
    assert absent["error"]["code"] == "no_such_file"
    assert directory["error"]["code"] == "not_a_file"
    assert valid["error"] is None
    assert valid["outcome"] is None
    assert "INVALID" not in err + out
    code, _, err = run(capsys, "submit", str(tmp_path), "--client-id", "a", "--client-secret", "b")
    assert code == Exit.USAGE
    assert "is a directory" in err


def test_a_missing_xsd_is_the_settings_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = copy(tmp_path, "store-0300-clean.xml")
    code, out, err = run(capsys, "validate", "--json", "--xsd", str(tmp_path / "no.xsd"), str(good))
    data = document(out)
    assert code == data["exit_code"] == Exit.CONFIG
    assert data["error"]["code"] == "xsd_unusable"
    assert "--xsd" in data["error"]["message"]
    assert "store-0300-clean.xml" not in err


def test_submit_refuses_an_invalid_file_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens there: had the command tried to send, it would say it cannot connect.
    bad = copy(tmp_path, "store-0300-invalid.xml")
    args = ["submit", str(bad), "--base-url", f"https://127.0.0.1:{closed_port()}", "--json"]
    code, out, err = run(capsys, *args, "--client-id", "a", "--client-secret", "b")
    result = document(out)
    assert code == result["exit_code"] == Exit.REJECTED
    assert set(result) == {*RESULT_KEYS, "exit_code"}
    assert result["outcome"] == "rejected"
    assert result["submission_id"] is None
    assert any(problem["severity"] == "error" and problem["line"] for problem in result["problems"])
    assert "connect" not in err


def test_submit_prints_warnings_and_strict_rejects_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    update = copy(tmp_path, "store-0300-item-update.xml")  # item updates always warn
    args = ["submit", str(update), "--update", "--client-id", "a", "--client-secret", "b"]
    code, _, err = run(capsys, *args, "--base-url", f"https://127.0.0.1:{closed_port()}")
    assert "warning" in err
    assert err.index("warning") < err.index("cannot connect")
    assert code == Exit.RETRY
    code, out, err = run(capsys, *args, "--strict", "--json")
    result = document(out)
    assert code == Exit.REJECTED
    assert result["outcome"] == "rejected"
    assert "--strict" in result["next_step"]


def test_missing_credentials_name_the_variables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "token", "--json")
    assert code == Exit.CONFIG
    assert err.startswith("capss: error: ")
    assert "CAPSS_CLIENT_ID" in err
    assert "CAPSS_CLIENT_SECRET" in err
    assert document(out)["error"]["code"] == "no_credentials"


def test_usage_errors_exit_2_and_answer_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "submit")
    assert code == Exit.USAGE
    assert "FILE" in err
    assert out == ""
    code, out, _ = run(capsys, "token", "--api", "future", "--json")
    assert code == Exit.USAGE
    assert document(out)["error"]["code"] == "usage"


def test_environment_values_are_checked_like_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSS_CLIENT_ID", "a")
    monkeypatch.setenv("CAPSS_CLIENT_SECRET", "b")
    monkeypatch.setenv("CAPSS_API", "new")
    code, out, err = run(capsys, "token", "--json")
    assert code == Exit.USAGE
    assert "CAPSS_API='new'" in err
    assert document(out)["error"]["code"] == "usage"


def test_a_base_url_with_an_endpoint_path_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    base = "https://capss-sb.doj.ca.gov/oauth2/token"
    code, out, _ = run(
        capsys, "token", "--base-url", base, "--client-id", "a", "--client-secret", "b", "--json"
    )
    assert code == Exit.CONFIG
    error = document(out)["error"]
    assert error["code"] == "base_url"
    assert "https://capss-sb.doj.ca.gov:" in error["hint"]


def test_bad_tls_settings_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["token", "--client-id", "a", "--client-secret", "b"]
    code, _, err = run(capsys, *args, "--ca-bundle", str(tmp_path / "none.pem"))
    assert code == Exit.CONFIG
    assert err.count("\n") == 1
    assert "--ca-bundle" in err
    code, _, err = run(capsys, *args, "--tls-ciphers", "NOPE")
    assert code == Exit.CONFIG
    assert "--tls-ciphers" in err


def test_environment_supplies_the_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CAPSS_CLIENT_ID", "from-env")
    monkeypatch.setenv("CAPSS_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("CAPSS_CA_BUNDLE", "/nonexistent/ca.pem")
    code, _, err = run(capsys, "token")
    assert code == Exit.CONFIG
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
    assert run(capsys, "validate", str(good))[0] == Exit.OK
    code, out, _ = run(capsys, "validate", "--xsd", str(schema), "--json", str(good))
    assert code == Exit.REJECTED
    (report,) = document(out)["files"]
    problems = [p for p in report["problems"] if p["code"] == "xsd"]
    assert problems
    assert all(p["line"] for p in problems)
    monkeypatch.setenv("CAPSS_XSD", str(schema))
    assert run(capsys, "validate", str(good))[0] == Exit.REJECTED


def test_help_describes_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("token", "validate", "submit", "status"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "example:" in text
        options = re.findall(r"^  (-[-\w, ]+?)(?:  |\n)", text, re.MULTILINE)
        assert options
        for line in text.splitlines():
            # an option alone on its line has its description on the next one
            assert not re.fullmatch(r"  --[\w-]+", line), line
    with pytest.raises(SystemExit):
        main(["submit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: skipDuplicates)" in text
    assert "(default: submit)" in text
    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    text = capsys.readouterr().out
    assert "--base-url" not in text
    assert "--client-secret" not in text
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0
    assert re.match(r"capss \d", capsys.readouterr().out)


def test_the_documented_exit_code_table_is_the_codes_and_names_the_result_keys() -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert set(MEANINGS) == set(Exit)
    assert exit_table() in page
    section = page[page.index("## The `capss` command") :]
    for key in RESULT_KEYS:
        assert f'"{key}"' in section


def capss(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """The installed command in its own process, as a shell runs it."""
    command = Path(sys.executable).with_name("capss")
    return subprocess.run(
        [str(command), *args], capture_output=True, timeout=60, check=False, **kwargs
    )


def test_a_windows_1252_file_name_is_shown_not_a_crash(tmp_path: Path) -> None:
    name = b"caf\xe9-0300.xml"
    as_argv = os.fsdecode(name)  # how Python hands such a name over: with a lone surrogate
    (tmp_path / as_argv).write_bytes((FILES / "store-0300-clean.xml").read_bytes())
    done = capss("validate", "--json", as_argv, cwd=tmp_path)
    assert done.returncode == Exit.OK, done.stderr
    assert json.loads(done.stdout)["files"][0]["file"] == "café-0300.xml"
    done = capss("validate", as_argv, cwd=tmp_path)
    assert "café-0300.xml: valid".encode() in done.stdout
    assert b"Traceback" not in done.stderr


def test_output_piped_into_a_closed_reader_ends_quietly(tmp_path: Path) -> None:
    files = [str(copy(tmp_path, "store-0300-invalid.xml"))] * 200
    with subprocess.Popen(
        [str(Path(sys.executable).with_name("capss")), "validate", *files],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # as `| head -1` does
        err = process.stderr.read()
        code = process.wait(timeout=60)
    assert b"Traceback" not in err
    assert b"BrokenPipe" not in err
    assert code == Exit.PIPE_CLOSED
