"""The hostile and bad corpus: each file refused with its own code, quickly, touching nothing."""

from __future__ import annotations

import io
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from capss.intake.reader import safe_parser
from capss.intake.validate import (
    IntakeLimits,
    Severity,
    ValidationReport,
    validate_path,
    validate_stream,
)
from capss.kinds import FileKind
from lxml import etree

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["files"]
SAMPLE = Path(__file__).parents[3] / "events" / "files" / "store-0300-clean.xml"
TIME_BOUND = 2.0


@dataclass
class Trap:
    """A canary file and a socket on 127.0.0.1 that records every connection made to it."""

    canary: Path
    secret: str
    url: str
    connections: list[bytes] = field(default_factory=list)

    def arm(self, data: bytes) -> bytes:
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
        text = data.decode("utf-16" if utf16 else "latin-1")
        text = text.replace("CANARY_PATH", self.canary.as_posix()).replace("CANARY_URL", self.url)
        return text.encode("utf-16" if utf16 else "latin-1")

    def assert_untouched(self, report: ValidationReport) -> None:
        assert self.connections == []
        shown = report.format_text("f") + json.dumps(report.to_json())
        assert self.secret not in shown


@pytest.fixture
def trap(tmp_path: Path) -> Iterator[Trap]:
    secret = secrets.token_hex(16)
    canary = tmp_path / "canary.txt"
    canary.write_text(secret)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.01)
    stop = threading.Event()
    trap = Trap(canary, secret, f"http://127.0.0.1:{server.getsockname()[1]}")

    def record() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.5)
                try:
                    trap.connections.append(conn.recv(4096) or b"<connected>")
                except OSError:
                    trap.connections.append(b"<connected>")

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    yield trap
    stop.set()
    thread.join()
    server.close()


def _timed(run: object) -> tuple[ValidationReport, float]:
    assert callable(run)
    started = time.perf_counter()
    report = run()
    return report, time.perf_counter() - started


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_corpus_file(entry: dict[str, object], trap: Trap, tmp_path: Path) -> None:
    path = CORPUS / str(entry["file"])
    if entry.get("template"):
        armed = tmp_path / path.name
        armed.write_bytes(trap.arm(path.read_bytes()))
        path = armed
    kind = FileKind(str(entry.get("kind", "transactions")))
    expected_license = entry.get("expected_license")
    assert expected_license is None or isinstance(expected_license, str)

    report, elapsed = _timed(lambda: validate_path(path, kind, expected_license=expected_license))

    assert elapsed < TIME_BOUND
    assert report.ok is entry["ok"], report.format_text(path.name)
    codes = {p.code: p.severity for p in report.problems}
    if entry["code"] is None:
        assert codes == {}, report.format_text(path.name)
    else:
        wanted = Severity.WARNING if entry["ok"] else Severity.ERROR
        assert codes.get(str(entry["code"])) is wanted, report.format_text(path.name)
    assert all(p.message.strip() for p in report.problems)
    trap.assert_untouched(report)
    json.dumps(report.to_json(path.name))


def test_corpus_is_large_enough() -> None:
    bad = [e for e in MANIFEST if not e["ok"]]
    assert len(bad) >= 30
    assert all(e["reason"] and e["code"] for e in bad)
    listed = {e["file"] for e in MANIFEST} | {"manifest.json"}
    assert listed == {p.name for p in CORPUS.iterdir()}


def test_one_byte_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    path = tmp_path / "over.xml"
    path.write_bytes(data)
    at_limit = IntakeLimits(max_bytes=len(data))
    under = IntakeLimits(max_bytes=len(data) - 1)

    assert validate_path(path, limits=at_limit).ok
    report = validate_path(path, limits=under)
    assert [p.code for p in report.problems] == ["too-large"]
    assert report.size == len(data)
    assert report.sha256 == ""


def test_over_the_limit_is_found_while_streaming_when_size_is_unknown() -> None:
    data = SAMPLE.read_bytes()
    limits = IntakeLimits(max_bytes=len(data) - 1)

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            return self._inner.readinto(buffer)

    report = validate_stream(io.BufferedReader(Unseekable()), limits=limits)
    assert [p.code for p in report.problems] == ["too-large"]
    report = validate_stream(io.BytesIO(data), size=len(data) + 10**9)
    assert [p.code for p in report.problems] == ["too-large"]


def test_very_deep_nesting_is_refused(tmp_path: Path) -> None:
    depth = 100_000
    path = tmp_path / "deep.xml"
    path.write_bytes(b"<capssUpload>" + b"<a>" * depth + b"</a>" * depth + b"</capssUpload>")
    report, elapsed = _timed(lambda: validate_path(path))
    assert elapsed < TIME_BOUND
    assert [p.code for p in report.problems] == ["too-deep"]


def test_an_item_or_customer_too_big_to_hold_is_refused(tmp_path: Path) -> None:
    """The rules read an item or a customer whole: how many elements it may hold is bounded."""
    clean = SAMPLE.read_text()
    limits = IntakeLimits(max_kept_elements=50)
    at_limit = clean.replace("<item>", "<item>" + "<note/>" * (50 - _descendants(clean, "item")), 1)
    report = validate_stream(io.BytesIO(at_limit.encode()), limits=limits)
    assert report.ok, report.format_text("at-limit")

    over = clean.replace("<item>", "<item>" + "<note/>" * (51 - _descendants(clean, "item")), 1)
    report = validate_stream(io.BytesIO(over.encode()), limits=limits)
    assert [p.code for p in report.problems] == ["too-big"]
    assert "<item>" in report.problems[0].message

    path = tmp_path / "customer.xml"
    path.write_text(clean.replace("<customer>", "<customer>" + "<a>x</a>" * 100_000, 1))
    report, elapsed = _timed(lambda: validate_path(path))
    assert elapsed < TIME_BOUND
    assert [p.code for p in report.problems] == ["too-big"]
    assert report.sha256
    assert report.size == path.stat().st_size


def test_comments_beside_the_root_are_bounded() -> None:
    """lxml cannot drop comments or PIs beside the root element as it reads: they are counted."""
    data = SAMPLE.read_bytes().rstrip()
    limits = IntakeLimits(max_kept_elements=50)
    report = validate_stream(io.BytesIO(data + b"<!---->" * 25 + b"<?pi?>" * 25), limits=limits)
    assert report.ok, report.format_text("at-limit")

    report = validate_stream(io.BytesIO(data + b"<!---->" * 51), limits=limits)
    assert [p.code for p in report.problems] == ["too-big"]
    assert "outside its top element" in report.problems[0].message


def _descendants(xml: str, tag: str) -> int:
    first = next(etree.fromstring(xml.encode()).iter(tag))
    return sum(1 for _ in first.iter()) - 1


def test_big_quadratic_blowup_is_refused(tmp_path: Path, trap: Trap) -> None:
    path = tmp_path / "quadratic.xml"
    entity = "x" * 100_000
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE capssUpload [<!ENTITY a "{entity}">]>\n'
        f"<capssUpload>{'&a;' * 100_000}</capssUpload>\n"
    )
    report, elapsed = _timed(lambda: validate_path(path))
    assert elapsed < TIME_BOUND
    assert [p.code for p in report.problems] == ["doctype-forbidden"]


def test_doctype_past_the_prologue_check_is_still_refused_by_lxml(trap: Trap) -> None:
    # The byte check reads at most max_prologue_bytes; a DOCTYPE after a long comment reaches lxml.
    padding = "<!--" + "p" * 100_000 + "-->\n"
    xxe = (
        f'<?xml version="1.0"?>\n{padding}<!DOCTYPE capssUpload [\n'
        f'<!ENTITY a SYSTEM "{trap.url}/x"><!ENTITY b SYSTEM "file://{trap.canary.as_posix()}">]>\n'
        "<capssUpload><bulkUploadData licenseNumber='1'>&a;&b;</bulkUploadData></capssUpload>\n"
    )
    report = validate_stream(io.BytesIO(xxe.encode()))
    assert [p.code for p in report.problems] == ["doctype-forbidden"]
    trap.assert_untouched(report)


@pytest.mark.parametrize(
    "name", ["xxe-local-file.xml", "xxe-url.xml", "xxe-parameter-entity.xml", "external-dtd.xml"]
)
def test_the_parser_itself_loads_nothing(name: str, trap: Trap) -> None:
    """Defence in depth: lxml as configured would not fetch or read even without the byte check."""
    data = trap.arm((CORPUS / name).read_bytes())
    try:
        shown = etree.tostring(etree.fromstring(data, safe_parser()))
    except etree.XMLSyntaxError as exc:
        shown = str(exc).encode()
    assert trap.secret.encode() not in shown
    assert trap.connections == []


def test_the_trap_catches_an_unsafe_parser(trap: Trap) -> None:
    """Proves the canary checks above could fail: a careless parser does read the local file.

    (The libxml2 in lxml 6 wheels has no HTTP client, so a careless parser cannot connect either;
    the socket checks guard against a build or version where it can.)
    """
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=False)
    local = trap.arm((CORPUS / "xxe-local-file.xml").read_bytes())
    assert trap.secret.encode() in etree.tostring(etree.fromstring(local, unsafe))
