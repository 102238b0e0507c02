"""POS CSV exports turned into CAPSS files: each result round-trips through the validator."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from capss.intake.convert import (
    ON_FILE,
    CsvMapping,
    MappingError,
    convert,
    load_mapping,
    parse_mapping,
)
from capss.intake.report import IntakeLimits, ValidationReport, problem_text
from capss.intake.validate import validate_stream
from lxml import etree

from bench.exports import write_export

CORPUS = Path(__file__).parent / "csv"
AIMSI = load_mapping("aimsi-report-wizard")
LICENSE = "000000300"


@dataclass
class _Converted:
    report: ValidationReport
    xml: bytes | None


def convert_csv(
    data: bytes, mapping: CsvMapping, license_number: str, limits: IntakeLimits | None = None
) -> _Converted:
    target = io.BytesIO()
    conversion = convert(io.BytesIO(data), target, mapping, license_number, limits=limits)
    written = target.getvalue()
    assert conversion.written == bool(written)  # nothing at all is written for a bad export
    return _Converted(conversion.report, written if conversion.written else None)


def _convert(name: str, mapping=AIMSI, **kwargs):  # type: ignore[no-untyped-def]
    return convert_csv((CORPUS / name).read_bytes(), mapping, LICENSE, **kwargs)


def _problems(conversion) -> list[tuple[str, int | None, str | None]]:  # type: ignore[no-untyped-def]
    return [(p.code, p.line, p.column) for p in conversion.report.problems]


def test_a_good_export_round_trips_through_the_validator() -> None:
    conversion = _convert("good-aimsi.csv")
    assert conversion.report.ok, conversion.report.format_text("good-aimsi.csv")
    assert conversion.xml is not None
    validated = validate_stream(io.BytesIO(conversion.xml), expected_license=LICENSE)
    assert validated.ok, validated.format_text("converted")
    assert (validated.transactions, validated.items) == (2, 3)
    assert (conversion.report.transactions, conversion.report.items) == (2, 3)
    root = etree.fromstring(conversion.xml)
    items = root.findall(".//item")
    # Quoted commas, doubled quotes, a line break inside quotes and markup characters survive.
    assert items[0].findtext("description") == "GIBSON LES PAUL, SUNBURST"
    assert items[0].findtext("amount") == "1250.00"
    assert items[1].findtext("description") == "FENDER BLUES JR\r\nwith footswitch"
    assert items[1].findtext("amount") == "45.50"
    assert items[1].find("serialNumber") is None  # blank optional column: left out
    assert items[2].findtext("description") == 'ROLEX "DATEJUST" 36 <steel> & gold'
    assert items[2].findtext("type") == "PAWN"
    # SB 1317: every customer field reads "on file", the dates are nil.
    customer = root.find(".//customer")
    assert customer is not None
    assert customer.findtext("custLastName") == ON_FILE
    nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
    assert customer.find("dateOfBirth").get(nil) == "true"  # type: ignore[union-attr]
    assert root.find(".//transactionTime").text == "2026-11-02T10:15:00"  # type: ignore[union-attr]


def test_a_windows_code_page_export_is_read_and_sent_as_utf8() -> None:
    conversion = _convert("cp1252.csv")
    assert conversion.report.ok
    assert conversion.xml is not None
    assert "Guitare électrique Ibanez" in conversion.xml.decode("utf-8")
    assert validate_stream(io.BytesIO(conversion.xml)).ok


def test_bytes_no_listed_encoding_reads_name_their_line() -> None:
    utf8_only = parse_mapping(
        (Path(__file__).parents[3] / "layers/capss/capss/intake/mappings/aimsi-report-wizard.toml")
        .read_text()
        .replace('encodings = ["utf-8-sig", "cp1252"]', 'encodings = ["utf-8"]')
    )
    conversion = _convert("cp1252.csv", mapping=utf8_only)
    assert _problems(conversion) == [("csv-encoding", 2, None)]
    assert conversion.xml is None


def test_a_missing_column_makes_the_file_unmappable() -> None:
    conversion = _convert("missing-amount.csv")
    assert _problems(conversion) == [("csv-missing-column", 1, "Amount")]
    assert not conversion.report.ok
    assert conversion.xml is None


def test_each_bad_row_is_named_by_line_and_column() -> None:
    conversion = _convert("bad-rows.csv")
    assert conversion.xml is None
    assert _problems(conversion) == [
        ("csv-bad-date", 3, "Transaction Date + Transaction Time"),
        ("csv-bad-amount", 4, "Amount"),
        ("csv-bad-amount", 5, "Amount"),
        ("csv-bad-amount", 6, "Amount"),
        ("csv-row-length", 7, None),
        ("csv-unknown-value", 8, "Transaction Type"),
        ("csv-blank", 9, "Description"),
    ]
    texts = [problem_text(p.to_json()) for p in conversion.report.problems]
    assert texts[0].startswith("error (line 3, column Transaction Date + Transaction Time):")
    assert "not in quotes" in texts[4]
    # The good row is still counted: the report says what the file holds.
    assert conversion.report.transactions == 1


def test_an_empty_export_and_a_header_alone_are_errors() -> None:
    for data in (b"", b"Transaction Date,Transaction Time\n"):
        conversion = convert_csv(data, AIMSI, LICENSE)
        assert not conversion.report.ok
        assert conversion.xml is None
    header_only = (CORPUS / "good-aimsi.csv").read_bytes().splitlines()[0]
    assert [p.code for p in convert_csv(header_only, AIMSI, LICENSE).report.problems] == [
        "csv-empty"
    ]


def test_problems_are_bounded_like_the_validators() -> None:
    rows = b"".join(b"2026-11-02,10:00:00,N%d,BUY,oops,GUITAR,x,\n" % n for n in range(500))
    header = (CORPUS / "good-aimsi.csv").read_bytes().splitlines()[0] + b"\n"
    report = convert_csv(header + rows, AIMSI, LICENSE, IntakeLimits(max_problems=20)).report
    assert len(report.problems) == 21
    assert report.problems[-1].code == "too-many-problems"


def test_a_positional_export_without_header_maps_by_column_number() -> None:
    mapping = parse_mapping(
        """
        name = "AIMsi purchases (no header)"
        [csv]
        header = false
        [transaction]
        time = { column = 1, format = "%m/%d/%Y %I:%M:%S %p" }
        [item]
        type = { constant = "BUY" }
        loanBuyNumber = { column = 2 }
        amount = { column = 3, amount = true }
        article = { column = 4, values = { "3" = "GUITAR", "4" = "AMPLIFIER" } }
        serialNumber = { column = 5, optional = true }
        description = { column = 6 }
        """
    )
    data = b'11/10/2025 11:50:05 AM,"12345",150.00,3,"SN1",Fender Strat\n'
    conversion = convert_csv(data, mapping, LICENSE)
    assert conversion.report.ok, conversion.report.format_text("x")
    assert conversion.xml is not None
    root = etree.fromstring(conversion.xml)
    assert root.findtext(".//transactionTime") == "2025-11-10T11:50:05"
    assert root.findtext(".//article") == "GUITAR"
    assert validate_stream(io.BytesIO(conversion.xml)).ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not valid TOML"),
        (
            "[csv]\n[transaction]\ntime={column='D', format='%Y'}\n[item]\ntype={constant='BUY'}",
            "must map",
        ),
        (
            "[csv]\nencodings=['klingon']\n[transaction]\ntime={column='D', format='%Y'}",
            "unknown encoding",
        ),
        ("[csv]\n[transaction]\n[item]", "time needs"),
        (
            "[csv]\n[transaction]\ntime={column='D', format='%Y'}\n[item]\ncolour={constant='x'}",
            "no elements",
        ),
        (
            "[csv]\n[transaction]\ntime={column='D', format='%Y'}\n[item]\ntype={}\n"
            + "\n".join(f"{n}={{column='X'}}" for n in ("loanBuyNumber", "amount", "article"))
            + "\ndescription={column='Y', constant='z'}",
            "either column",
        ),
    ],
)
def test_an_unusable_mapping_says_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(text)


def test_an_unknown_mapping_name_lists_the_shipped_ones() -> None:
    with pytest.raises(MappingError, match="aimsi-report-wizard"):
        load_mapping("no-such-mapping.toml")


@pytest.mark.parametrize("name", ["good-aimsi.csv", "cp1252.csv"])
def test_the_file_is_lxmls_serialization_byte_for_byte(name: str) -> None:
    """`<name>.xml` is what building the whole tree in lxml and serializing it produced."""
    assert _convert(name).xml == (CORPUS / f"{name}.xml").read_bytes()


def test_a_generated_export_with_scattered_transactions_is_unchanged(tmp_path: Path) -> None:
    """Every 50th transaction has rows further down: they join it, in the file's order."""
    export = tmp_path / "export.csv"
    rows = write_export(export, 200_000)
    conversion = convert_csv(export.read_bytes(), AIMSI, LICENSE)
    assert (conversion.report.transactions, conversion.report.items) == (1128, rows)
    days = conversion.report.days
    assert [day.day.day for day in days] == [1, 2, 3]
    # A transaction's later rows count on the day its first row dates it.
    assert sum(day.transactions for day in days) == 1128
    assert sum(day.items for day in days) == rows
    assert conversion.xml is not None
    # The whole-tree lxml converter's output for this export: 3,014,791 bytes.
    assert hashlib.sha256(conversion.xml).hexdigest() == (
        "f09f9abf1c8bafd49bd1a40ced35d5a017ba54e39ce4758156996b149b98641f"
    )


def test_a_result_over_the_size_limit_is_not_written_and_says_so() -> None:
    data = (CORPUS / "good-aimsi.csv").read_bytes()
    conversion = convert_csv(data, AIMSI, LICENSE, IntakeLimits(max_bytes=4_000))
    assert conversion.xml is None
    assert _problems(conversion) == [("too-large", 5, None)]  # the row that crossed it
    assert "split it into smaller exports" in conversion.report.problems[0].message
    # Every row is still read: the report counts what the export holds.
    assert (conversion.report.transactions, conversion.report.items) == (2, 3)
    # The limit is the file's exact size: 4,911 bytes fit in 4,911.
    exact = convert_csv(data, AIMSI, LICENSE, IntakeLimits(max_bytes=4_911))
    assert exact.xml is not None
    assert len(exact.xml) == 4_911
    assert convert_csv(data, AIMSI, LICENSE, IntakeLimits(max_bytes=4_910)).xml is None


def test_a_control_character_is_named_by_line_and_column() -> None:
    data = (CORPUS / "good-aimsi.csv").read_bytes().replace(b"SUNBURST", b"SUN\x01BURST")
    conversion = convert_csv(data, AIMSI, LICENSE)
    assert conversion.xml is None
    assert _problems(conversion) == [("csv-bad-character", 2, "Description")]


def test_a_bad_byte_after_many_chunks_names_its_line() -> None:
    header, *rows = (CORPUS / "good-aimsi.csv").read_bytes().splitlines(keepends=True)
    body = rows[0] * 3000  # about 240 KB: the bad byte is four chunks in
    mapping = parse_mapping(
        (Path(__file__).parents[3] / "layers/capss/capss/intake/mappings/aimsi-report-wizard.toml")
        .read_text()
        .replace('encodings = ["utf-8-sig", "cp1252"]', 'encodings = ["utf-8-sig"]')
    )
    conversion = convert_csv(header + body + b"2026,\xff\n" + body, mapping, LICENSE)
    assert _problems(conversion) == [("csv-encoding", 3002, None)]
    assert conversion.report.problems[0].message.startswith("Byte 0xff cannot be read")
