"""`capss convert`: the CSV report, the XML beside the export, and its validation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from capss.cli.main import main

CORPUS = Path(__file__).parents[1] / "intake" / "csv"


def test_a_good_export_is_written_beside_it_and_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "day.csv"
    shutil.copy(CORPUS / "good-aimsi.csv", export)
    original = export.read_bytes()
    code = main(
        ["convert", str(export), "--mapping", "aimsi-report-wizard", "--license", "000000300"]
    )
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{export}: valid")
    assert out[1].startswith(f"{export}.xml: valid, 0 errors")
    assert export.read_bytes() == original
    assert b'licenseNumber="000000300"' in (tmp_path / "day.csv.xml").read_bytes()


def test_bad_rows_write_nothing_and_exit_1_with_lines_and_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "bad.csv"
    shutil.copy(CORPUS / "bad-rows.csv", export)
    code = main(
        ["convert", str(export), "--mapping", "aimsi-report-wizard", "--license", "1", "--json"]
    )
    assert code == 1
    (report,) = json.loads(capsys.readouterr().out)["files"]
    assert report["ok"] is False
    assert report["problems"][0]["line"] == 3
    assert report["problems"][1]["column"] == "Amount"
    assert not (tmp_path / "bad.csv.xml").exists()


def test_an_unreadable_mapping_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text("[csv]\n")
    code = main(
        ["convert", str(CORPUS / "good-aimsi.csv"), "--mapping", str(mapping), "--license", "1"]
    )
    assert code == 2
    assert "no [transaction] table" in capsys.readouterr().err
