"""Thousands of mutated files through validate_stream: a report every time, never an exception."""

from __future__ import annotations

import io
import re
from pathlib import Path

from capss.intake.validate import IntakeLimits, validate_stream
from capss.kinds import FileKind
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FILES = Path(__file__).parents[3] / "events" / "files"
SEEDS = [
    (FILES / name).read_bytes()
    for name in ("store-0301-clean.xml", "store-0300-invalid.xml", "store-0300-item-update.xml")
]
# Small limits so mutations also cross the size and depth bounds.
LIMITS = IntakeLimits(max_bytes=12_000, max_depth=8, max_problems=20)
ELEMENT = re.compile(rb"<(\w+)[^>]*>[^<]*</\1>")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        mutation = draw(
            st.sampled_from(["flip", "truncate", "insert", "duplicate", "delete", "tokens"])
        )
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if mutation == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif mutation == "truncate":
            data = data[:at]
        elif mutation == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif mutation == "tokens":
            token = draw(
                st.sampled_from(
                    [b"<", b">", b"&", b"&amp;", b"<!DOCTYPE x>", b"<![CDATA[", b"]]>", b"<?pi?>",
                     b"<!--", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xe9", b"</item>", b"<item>",
                     b'encoding="UTF-16"', b"-", b"T", b"9999-99-99"]
                )
            )  # fmt: skip
            data = data[:at] + token + data[at:]
        else:
            elements = list(ELEMENT.finditer(data))
            if elements:
                found = draw(st.sampled_from(elements))
                middle = found.group(0) * (2 if mutation == "duplicate" else 0)
                data = data[: found.start()] + middle + data[found.end() :]
    return data


@settings(
    max_examples=3000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=mutated(), kind=st.sampled_from(list(FileKind)), sized=st.booleans())
def test_mutated_files_never_raise(data: bytes, kind: FileKind, sized: bool) -> None:
    report = validate_stream(
        io.BytesIO(data), kind, size=len(data) if sized else None, limits=LIMITS
    )
    assert report.ok == (not report.errors)
    assert all(p.message and p.code for p in report.problems)
    if report.sha256:
        assert report.size == len(data)
    report.format_text("fuzz")
