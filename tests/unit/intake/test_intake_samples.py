"""The good samples in events/files, the report's shapes, the license guard and the optional XSD."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from capss.intake.validate import (
    IntakeLimits,
    Problem,
    Severity,
    ValidationReport,
    validate_path,
    validate_stream,
)
from capss.kinds import FileKind

FILES = Path(__file__).parents[3] / "events" / "files"

XSD = b"""<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="capssUpload">
    <xs:complexType><xs:sequence>
      <xs:element name="bulkUploadData">
        <xs:complexType>
          <xs:sequence><xs:any processContents="lax" maxOccurs="unbounded"/></xs:sequence>
          <xs:attribute name="licenseNumber" type="xs:string" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="amount">
    <xs:simpleType>
      <xs:restriction base="xs:decimal"><xs:maxInclusive value="5000"/></xs:restriction>
    </xs:simpleType>
  </xs:element>
</xs:schema>
"""


T, U = FileKind.TRANSACTIONS, FileKind.ITEM_UPDATES
GOOD = {
    # name: (kind, license, transactions, items, first transaction at, last transaction at)
    "store-0300-clean.xml": (T, "000000300", 2, 3, "2026-11-02T10:15:00", "2026-11-02T16:40:30"),
    "store-0301-clean.xml": (T, "000000301", 1, 2, "2026-11-03T11:05:00", "2026-11-03T11:05:00"),
    "store-0300-error-items.xml": (
        T,
        "000000300",
        1,
        2,
        "2026-11-04T09:30:00",
        "2026-11-04T09:30:00",
    ),
    "store-0300-repeat.xml": (T, "000000300", 2, 2, "2026-11-02T16:40:30", "2026-11-05T13:20:00"),
    "store-0300-week.xml": (T, "000000300", 20, 39, "2026-11-09T09:07:00", "2026-11-13T15:33:00"),
    "store-0300-item-update.xml": (U, "000000300", 0, 1, None, None),
}


@pytest.mark.parametrize(
    ("name", "kind", "license_number", "transactions", "items", "first", "last"),
    [(name, *facts) for name, facts in GOOD.items()],
)
def test_good_sample(
    name: str,
    kind: FileKind,
    license_number: str,
    transactions: int,
    items: int,
    first: str | None,
    last: str | None,
) -> None:
    path = FILES / name
    report = validate_path(path, kind, expected_license=license_number)
    assert report.ok, report.format_text(name)
    assert report.kind is kind
    assert report.license_number == license_number
    assert (report.transactions, report.items) == (transactions, items)
    assert report.first_transaction_at == (first and datetime.fromisoformat(first))
    assert report.last_transaction_at == (last and datetime.fromisoformat(last))
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report.size == path.stat().st_size
    if kind is FileKind.TRANSACTIONS:
        assert report.problems == ()
    else:
        assert [p.code for p in report.warnings] == ["unchecked-format"]


def test_sim_error_marker_is_valid_for_the_bridge() -> None:
    assert "[sim:error]" in (FILES / "store-0300-error-items.xml").read_text()


def test_repeat_file_repeats_one_transaction_of_the_clean_file() -> None:
    clean = (FILES / "store-0300-clean.xml").read_text()
    repeat = (FILES / "store-0300-repeat.xml").read_text()
    start = repeat.index("<propertyTransaction>")
    first = repeat[start : repeat.index("</propertyTransaction>") + len("</propertyTransaction>")]
    assert first in clean


def test_invalid_sample_gives_two_line_numbered_errors() -> None:
    report = validate_path(FILES / "store-0300-invalid.xml")
    assert not report.ok
    assert [(p.code, p.transaction, p.item) for p in report.errors] == [
        ("bad-amount", 1, 1),
        ("missing-item-field", 1, 2),
    ]
    assert all(p.line for p in report.errors)
    text = report.format_text("store-0300-invalid.xml")
    first = text.splitlines()[0]
    assert first.startswith(f"store-0300-invalid.xml:{report.errors[0].line}: error: amount ")
    assert first.endswith("(transaction 1, item 1)")
    assert text.splitlines()[-1] == (
        "store-0300-invalid.xml: INVALID, 2 errors, 0 warnings (license 000000300, 1 transaction, "
        "2 items, 2026-11-06T12:00:00 to 2026-11-06T12:00:00)"
    )


def test_json_report_shape() -> None:
    report = validate_path(FILES / "store-0300-invalid.xml")
    data = report.to_json("store-0300-invalid.xml")
    assert json.loads(json.dumps(data)) == data
    assert data["file"] == "store-0300-invalid.xml"
    assert data["ok"] is False
    assert data["first_transaction_at"] == "2026-11-06T12:00:00"
    problems = data["problems"]
    assert isinstance(problems, list)
    assert set(problems[0]) == {"severity", "code", "message", "line", "transaction", "item"}
    assert problems[0]["severity"] == "error"
    assert "file" not in report.to_json()


def test_report_parts_are_the_documented_types() -> None:
    problem = Problem(Severity.WARNING, "x", "m")
    report = ValidationReport(kind=FileKind.TRANSACTIONS, problems=(problem,), sha256="", size=0)
    assert report.ok
    assert report.warnings == (problem,)
    assert report.errors == ()
    assert report.format_text("f").splitlines()[0] == "f: warning: m"
    with pytest.raises(AttributeError):
        IntakeLimits().max_bytes = 1  # type: ignore[misc]


def test_license_mismatch_guards_the_credentials() -> None:
    report = validate_path(FILES / "store-0301-clean.xml", expected_license="000000300")
    assert [p.code for p in report.errors] == ["license-mismatch"]
    assert "000000301" in report.errors[0].message
    assert "000000300" in report.errors[0].message


def test_stream_from_the_middle_of_a_seekable_body() -> None:
    data = (FILES / "store-0300-clean.xml").read_bytes()
    stream = io.BytesIO(b"junk" + data)
    stream.seek(4)
    report = validate_stream(stream, size=len(data), xsd=XSD)
    assert report.ok, report.format_text("s")
    assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_digest_covers_the_whole_file_even_when_rejected_early() -> None:
    data = (FILES / "store-0300-clean.xml").read_bytes().replace(b"<capssUpload", b"<other", 1)
    report = validate_stream(io.BytesIO(data))
    assert not report.ok
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert report.size == len(data)


def test_problem_list_is_capped() -> None:
    items = "<item><type>BUY</type></item>" * 500
    data = (
        '<capssUpload><bulkUploadData licenseNumber="1"><propertyTransaction>'
        f"<transactionTime>2026-11-02T10:00:00</transactionTime><items>{items}</items>"
        "</propertyTransaction></bulkUploadData></capssUpload>"
    ).encode()
    report = validate_stream(io.BytesIO(data), limits=IntakeLimits(max_problems=10))
    assert len(report.problems) == 11
    assert report.problems[-1].code == "too-many-problems"
    assert not report.ok
    assert report.items == 500


def test_unopenable_path_is_a_problem(tmp_path: Path) -> None:
    report = validate_path(tmp_path / "missing.xml")
    assert [p.code for p in report.errors] == ["unreadable"]
    assert [p.code for p in validate_path(tmp_path).errors] == ["unreadable"]


class TestXsd:
    def test_good_sample_passes(self, tmp_path: Path) -> None:
        schema = tmp_path / "capss.xsd"
        schema.write_bytes(XSD)
        for xsd in (schema, XSD):
            report = validate_path(FILES / "store-0300-week.xml", xsd=xsd)
            assert report.ok, report.format_text("week")

    def test_schema_errors_are_mapped_to_lines(self) -> None:
        data = (FILES / "store-0300-clean.xml").read_bytes().replace(b">350.00<", b">9999.00<")
        line = data[: data.index(b">9999.00<")].count(b"\n") + 1

        class Unseekable(io.BytesIO):
            def seekable(self) -> bool:
                return False

        for stream in (io.BytesIO(data), Unseekable(data)):
            report = validate_stream(stream, xsd=XSD)
            assert [(p.code, p.line) for p in report.errors] == [("xsd", line)]
            assert "9999.00" in report.errors[0].message

    def test_structural_errors_come_first(self) -> None:
        report = validate_path(FILES / "store-0300-invalid.xml", xsd=XSD)
        assert "xsd" not in {p.code for p in report.problems}

    @pytest.mark.parametrize(
        "xsd",
        [
            b"not a schema",
            b"<notASchema/>",
            b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
            XSD.replace(
                b'<xs:element name="amount">',
                b'<xs:import namespace="urn:x" schemaLocation="http://127.0.0.1:9/x.xsd"/>'
                b'<xs:element name="amount">',
            ),
        ],
    )
    def test_unusable_schema_rejects_with_a_clear_message(self, xsd: bytes) -> None:
        report = validate_path(FILES / "store-0300-clean.xml", xsd=xsd)
        assert [p.code for p in report.errors] == ["xsd-unusable"]
        assert "XSD" in report.errors[0].message

    def test_schema_may_include_a_file_beside_it(self, tmp_path: Path) -> None:
        amount = XSD[XSD.index(b'<xs:element name="amount">') : XSD.index(b"</xs:schema>")]
        opening = b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        main = XSD.replace(amount, b"").replace(
            opening, opening + b'<xs:include schemaLocation="amount.xsd"/>'
        )
        (tmp_path / "amount.xsd").write_bytes(opening + amount + b"</xs:schema>")
        (tmp_path / "capss.xsd").write_bytes(main)
        data = (FILES / "store-0300-clean.xml").read_bytes().replace(b">350.00<", b">9999.00<")
        report = validate_stream(io.BytesIO(data), xsd=tmp_path / "capss.xsd")
        assert [p.code for p in report.errors] == ["xsd"]

    def test_missing_schema_file(self, tmp_path: Path) -> None:
        report = validate_path(FILES / "store-0300-clean.xml", xsd=tmp_path / "nope.xsd")
        assert [p.code for p in report.errors] == ["xsd-unusable"]


def test_a_schema_problem_in_a_customer_field_names_the_field_not_the_value() -> None:
    schema = XSD.replace(
        b'  <xs:element name="amount">',
        b'  <xs:element name="dateOfBirth" type="xs:date" nillable="true"/>\n'
        b'  <xs:element name="amount">',
    )
    data = (FILES / "store-0300-clean.xml").read_bytes()
    first = data.index(b'<dateOfBirth xsi:nil="true"/>')
    data = data[:first] + data[first:].replace(
        b'<dateOfBirth xsi:nil="true"/>', b"<dateOfBirth>Quarrington 07/04/61</dateOfBirth>", 1
    )
    report = validate_stream(io.BytesIO(data), xsd=schema)
    (problem,) = report.errors
    assert (problem.code, problem.transaction) == ("xsd", 1)
    assert problem.line == data[:first].count(b"\n") + 1
    assert "<dateOfBirth>" in problem.message
    assert "Quarrington" not in problem.message
    assert "07/04/61" not in problem.message
