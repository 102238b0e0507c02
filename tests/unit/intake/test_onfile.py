"""The "on file" copy: the original byte for byte but for the customer fields, and valid."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from capss.intake import onfile
from capss.intake.onfile import OnFileRefused, write_on_file_copy
from capss.intake.validate import validate_stream

FILES = Path(__file__).parents[3] / "events" / "files"
CANARY = {
    "custLastName": "Quarrington",
    "custFirstName": "Wilhelmina",
    "dateOfBirth": "1961-07-04",
    "streetAddress": "4471 Larkspur Ln",
    "number": "D7719034",
}
BLOCK = re.compile(rb"<customer>.*?</customer>", re.S)


def with_customer(data: bytes, values: dict[str, str] = CANARY) -> bytes:
    """The sample with the first transaction's customer fields filled from `values`."""
    head, block, tail = data.partition(BLOCK.search(data).group(0))  # type: ignore[union-attr]
    for name, value in values.items():
        block, found = re.subn(
            rb"<%s(?: xsi:nil=\"true\"/>|>on file</%s>)" % (name.encode(), name.encode()),
            b"<%s>%s</%s>" % (name.encode(), value.encode(), name.encode()),
            block,
            count=1,
        )
        assert found == 1, name
    return head + block + tail


def copy_of(data: bytes) -> tuple[bytes, int]:
    out = io.BytesIO()
    fields = write_on_file_copy(io.BytesIO(data), out)
    return out.getvalue(), fields


def outside_customers(data: bytes) -> list[bytes]:
    return BLOCK.split(data)


@pytest.mark.parametrize("sample", ["store-0300-clean.xml", "store-0300-week.xml"])
def test_the_copy_differs_only_inside_customer_blocks_and_is_valid(sample: str) -> None:
    original = with_customer((FILES / sample).read_bytes())
    report = validate_stream(io.BytesIO(original))
    assert report.ok
    assert report.customer_data == 1
    copy, fields = copy_of(original)
    assert fields == len(CANARY)
    assert outside_customers(copy) == outside_customers(original)
    for value in CANARY.values():
        assert value.encode() not in copy
    checked = validate_stream(io.BytesIO(copy))
    assert checked.ok, checked.format_text(sample)
    assert checked.customer_data == 0
    assert (checked.transactions, checked.items) == (report.transactions, report.items)
    assert b"<custLastName>on file</custLastName>" in copy
    assert (
        b'<dateOfBirth xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
        in copy
    )


def test_a_file_already_on_file_comes_back_unchanged() -> None:
    original = (FILES / "store-0300-clean.xml").read_bytes()
    assert copy_of(original) == (original, 0)


def test_blocks_cut_by_the_chunk_boundary_and_odd_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onfile, "CHUNK", 7)
    original = with_customer(
        (FILES / "store-0300-clean.xml").read_bytes(),
        {
            "custLastName": "<![CDATA[Quarr<ington]]>",
            "custFirstName": "Wil&amp;helmina",
            "streetAddress": "  on file  ",  # already "on file": kept byte for byte
        },
    )
    copy, fields = copy_of(original)
    assert fields == 2
    assert b"Quarr" not in copy
    assert b"helmina" not in copy
    assert b"<streetAddress>  on file  </streetAddress>" in copy
    assert outside_customers(copy) == outside_customers(original)
    assert validate_stream(io.BytesIO(copy)).customer_data == 0


def test_a_wide_encoding_is_refused_not_rewritten_badly() -> None:
    data = with_customer((FILES / "store-0300-clean.xml").read_bytes())
    wide = data.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(OnFileRefused, match="UTF-16"):
        copy_of(wide)


def test_a_customer_block_without_its_end_tag_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onfile, "BLOCK_LIMIT", 100)
    data = b"<capssUpload><customer><custLastName>" + b"x" * 500
    with pytest.raises(OnFileRefused, match="without its end tag"):
        copy_of(data)
