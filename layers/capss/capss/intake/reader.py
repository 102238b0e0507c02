"""Reading untrusted XML bytes safely, as a stream of parse events.

Defence in depth: the prologue bytes are checked for DOCTYPE and ENTITY declarations before lxml
sees them, and lxml is configured so that it would not load, resolve or fetch anything even if a
declaration got through; a DOCTYPE seen by lxml is rejected as well. Size and depth are bounded,
and every element is cleared once it has been handled so memory stays flat as files grow.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from typing import IO, BinaryIO, Protocol

from lxml import etree

from capss.bounds import clip
from capss.intake.report import IntakeLimits, Problem, Severity

_CHUNK = 16 * 1024
"""Bytes fed to the parser at a time. Its events are handled after each feed: in small steps the
nodes just built are still in the CPU cache when handled and freed (measured on a 10 MB file:
16 KiB 15% faster than 64 KiB, 8 and 32 KiB in between)."""
_NOTHING_KEPT = 1 << 30
"""The reader's depth of the kept element when there is none: deeper than any file may go."""
_ENCODING_ERRORS = (
    etree.ErrorTypes.ERR_INVALID_ENCODING,
    etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING,
)


def safe_parser() -> etree.XMLParser:
    """A parser that never loads a DTD, resolves an entity or opens a file or connection."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
    )


def _safe_pull_parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(
        # Comments and PIs too: outside what the handler keeps they are dropped at once, else a
        # file of them alone would all stay in memory.
        events=("start", "end", "comment", "pi"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
    )


def line_of(element: etree._Element) -> int | None:
    line = element.sourceline
    return line if isinstance(line, int) else None


def has_doctype(tree: etree._ElementTree) -> bool:
    # lxml-stubs lack DocInfo.doctype.
    doctype: str = getattr(tree.docinfo, "doctype", "")
    return (
        bool(doctype)
        or tree.docinfo.internalDTD is not None
        or tree.docinfo.externalDTD is not None
    )


class Rejected(Exception):
    """The file cannot be read further; carries the problem that says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _error(code: str, message: str, line: int | None = None) -> Rejected:
    return Rejected(Problem(Severity.ERROR, code, message, line))


_DECLARED = re.compile(r"""^<\?xml\s[^?>]*?encoding\s*=\s*["']([^"']*)["']""")
_UTF8_FIX = "Save the file as UTF-8 (or declare the encoding it is really written in)."


@dataclass(frozen=True, slots=True)
class _Encoding:
    family: str
    """utf-8, utf-16-le/-be or '8bit' (another declared single-byte encoding lxml handles)."""
    bom: int


def _sniff(head: bytes) -> tuple[_Encoding, list[Problem]]:
    """Decide how the bytes are written and whether that agrees with the XML declaration."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise _error(
            "encoding", "The file is written in UTF-32, which CAPSS does not take. " + _UTF8_FIX
        )
    if head.startswith(b"\xef\xbb\xbf"):
        found = _Encoding("utf-8", 3)
    elif head.startswith(b"\xff\xfe") or head.startswith(b"<\x00?\x00"):
        found = _Encoding("utf-16-le", 2 if head.startswith(b"\xff\xfe") else 0)
    elif head.startswith(b"\xfe\xff") or head.startswith(b"\x00<\x00?"):
        found = _Encoding("utf-16-be", 2 if head.startswith(b"\xfe\xff") else 0)
    else:
        found = _Encoding("utf-8", 0)
    text_head = head[found.bom : found.bom + 512]
    if found.family.startswith("utf-16"):
        text = text_head[: len(text_head) // 2 * 2].decode(found.family, "replace")
    else:
        text = text_head.decode("latin-1")
    match = _DECLARED.match(text)
    declared = match.group(1) if match else None
    try:
        name = codecs.lookup(declared).name if declared else None
    except (LookupError, ValueError):
        raise _error(
            "encoding", f"The file declares an encoding nobody knows: {declared!r}. " + _UTF8_FIX, 1
        ) from None
    if found.family.startswith("utf-16"):
        if name is not None and not name.startswith("utf-16"):
            raise _error(
                "encoding",
                f"The file is written in UTF-16 but declares {declared}. " + _UTF8_FIX,
                1,
            )
        return found, [
            Problem(
                Severity.WARNING,
                "encoding",
                "The file is written in UTF-16; CAPSS's examples are UTF-8. "
                "If CAPSS refuses it, save it as UTF-8.",
                1,
            )
        ]
    if name is not None and name.startswith(("utf-16", "utf-32")):
        raise _error(
            "encoding",
            f"The file declares {declared} but is written one byte per character "
            "(most likely UTF-8). Change the declaration to UTF-8 or save the file as UTF-16.",
            1,
        )
    if found.bom and name not in (None, "utf-8"):
        raise _error(
            "encoding",
            f"The file starts with a UTF-8 byte-order mark but declares {declared}. " + _UTF8_FIX,
            1,
        )
    if name in (None, "utf-8"):
        return found, []
    return _Encoding("8bit", 0), [
        Problem(
            Severity.WARNING,
            "encoding",
            f"The file declares the encoding {declared}; CAPSS's examples are UTF-8. "
            "If CAPSS refuses it, save it as UTF-8.",
            1,
        )
    ]


def _check_prologue(text: str) -> bool | None:
    """True when the root element starts in `text`, None when more text is needed.

    Raises Rejected for a DOCTYPE or ENTITY declaration or for text that cannot start XML.
    """
    i, end = 0, len(text)
    while True:
        while i < end and text[i] in " \t\r\n":
            i += 1
        if i >= end:
            return None
        if text[i] != "<":
            raise _not_xml(text[i:])
        rest = text[i : i + 10]
        if rest.startswith("<?"):
            terminator = "?>"
        elif rest.startswith("<!--"):
            terminator = "-->"
        elif rest.startswith("<!"):
            if len(rest) < 9:
                return None
            line = text.count("\n", 0, i) + 1
            what = "an ENTITY" if "<!ENTITY" in text[i:] else "a DOCTYPE"
            raise _error(
                "doctype-forbidden",
                f"The file contains {what} declaration, which is never needed for CAPSS and can "
                "be used to attack the system: remove everything from <!DOCTYPE to its closing >.",
                line,
            )
        elif len(rest) > 1:
            return True
        else:
            return None
        close = text.find(terminator, i + 2)
        if close < 0:
            return None
        i = close + len(terminator)


def _not_xml(start: str) -> Rejected:
    if "\x00" in start[:512] or any(ord(c) < 9 for c in start[:64]):
        return _error("not-xml", "This is not an XML file: it looks like binary data.", 1)
    shown = start[:20].split("\n", maxsplit=1)[0]
    return _error(
        "not-xml", f"This is not an XML file: it starts with {shown!r} instead of '<'.", 1
    )


class EventHandler(Protocol):
    """`path` is the tags from the root to the element: the reader's own list, read it only."""

    def start(self, element: etree._Element, path: list[str]) -> bool:
        """An element's start tag was read: its attributes are there, its children not yet.

        True keeps the element whole for `end`: its descendants are neither reported nor
        cleared until then (at most `IntakeLimits.max_kept_elements` of them)."""

    def end(self, element: etree._Element, path: list[str]) -> None:
        """Its end tag was read: its own text is there; its children were already removed,
        unless `start` kept it. After this call the element is cleared and removed too."""


class SafeXmlReader:
    """Reads a byte stream once: digests it, bounds it, and hands each element to a handler.

    After the handler's `end`, the element is cleared and dropped, so memory holds one path from
    the root and at most one kept element's subtree (and the parser's current chunk), never the
    tree.
    """

    def __init__(
        self, stream: BinaryIO, limits: IntakeLimits, *, tee: IO[bytes] | None = None
    ) -> None:
        self._stream = stream
        self._limits = limits
        self._tee = tee
        self._hash = hashlib.sha256()
        self.size = 0
        self.complete = False
        """True once every byte was read, so the digest is that of the whole file."""
        self.notes: list[Problem] = []
        """Warnings about how the file is written (encoding)."""
        self._newlines = 0
        self._path: list[str] = []
        self._open: list[etree._Element] = []
        """The elements of `_path`: each one's parent is at hand for dropping it at its end."""
        self._depth = 0
        self._kept = _NOTHING_KEPT
        self._kept_size = 0
        self._beside_root = 0
        """Comments and PIs before and after the root element."""
        self._root_seen = False

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest() if self.complete else ""

    def digest_rest(self) -> None:
        """After a rejection: read the rest into the digest, so that it covers the whole file."""
        if self.complete:
            return
        try:
            while self._read():
                pass
        except Rejected:
            return
        self.complete = True

    def _read(self) -> bytes:
        chunk = self._stream.read(_CHUNK)
        self.size += len(chunk)
        if self.size > self._limits.max_bytes:
            raise too_large(self._limits.max_bytes, None)
        self._hash.update(chunk)
        if self._tee is not None:
            self._tee.write(chunk)
        return chunk

    def read(self, handler: EventHandler) -> None:
        """Reads the whole stream, calling the handler for each element; raises Rejected."""
        head, chunk = b"", b"x"
        while len(head) < 1024 and chunk:
            chunk = self._read()
            head += chunk
        if not chunk and not head.strip():
            self.complete = True
            raise _error("empty", "The file is empty (or holds only blank space).")
        encoding, self.notes = _sniff(head)
        data = self._read_prologue(head, encoding)
        utf8 = codecs.getincrementaldecoder("utf-8")() if encoding.family == "utf-8" else None
        parser = _safe_pull_parser()
        while data:
            bad = None if utf8 is None else self._utf8_error(utf8, data, final=False)
            if bad is not None:
                self._feed(parser, data[: bad[0]], handler)  # so the report knows the license
                raise bad[1]
            self._feed(parser, data, handler)
            data = self._read()
        self.complete = True
        bad = None if utf8 is None else self._utf8_error(utf8, b"", final=True)
        if bad is not None:
            raise bad[1]
        try:
            parser.close()
        except etree.XMLSyntaxError as exc:
            # libxml2 stops at an undeclared entity without failing the feed; the log says why.
            last: etree._LogEntry | None = getattr(
                exc.error_log, "last_error", None
            )  # stubs lack it
            if last is not None and last.type == etree.ErrorTypes.ERR_UNDECLARED_ENTITY:
                raise _error(
                    "malformed",
                    f"The XML is not well-formed: {last.message}. Write the character itself "
                    "(XML knows only &amp; &lt; &gt; &quot; &apos;).",
                    last.line or None,
                ) from None
            if self._path:
                raise _error(
                    "truncated",
                    "The file ends before the XML is complete: it may have been cut off while "
                    "being exported or copied. Export it again.",
                    exc.lineno or None,
                ) from None
            raise self._syntax_problem(exc) from None
        self._drain(parser, handler)

    def _read_prologue(self, head: bytes, encoding: _Encoding) -> bytes:
        while True:
            usable = head[encoding.bom :]
            if encoding.family.startswith("utf-16"):
                text = usable[: len(usable) // 2 * 2].decode(encoding.family, "replace")
            else:
                text = usable.decode("latin-1")
            if _check_prologue(text) or len(head) >= self._limits.max_prologue_bytes:
                return head
            more = self._read()
            if not more:
                return head
            head += more

    def _utf8_error(
        self, decoder: codecs.IncrementalDecoder, data: bytes, *, final: bool
    ) -> tuple[int, Rejected] | None:
        """Where `data` stops being UTF-8 (an offset into it) and the problem, or None."""
        if data.isascii() and not decoder.getstate()[0]:  # nothing half-read: nothing to decode
            self._newlines += data.count(b"\n")
            return None
        try:
            decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            offset = max(exc.start, 0)
            line = self._newlines + data.count(b"\n", 0, offset) + 1
            found = data[offset : offset + 1]
            if not found:
                return offset, _error(
                    "truncated", "The file ends in the middle of a character: it was cut off.", line
                )
            return offset, _error(
                "encoding",
                f"Line {line} is not valid UTF-8 (byte 0x{found.hex().upper()}), though the file "
                "is read as UTF-8. It was probably saved as Latin-1 or Windows-1252. " + _UTF8_FIX,
                line,
            )
        self._newlines += data.count(b"\n")
        return None

    def _feed(self, parser: etree.XMLPullParser, data: bytes, handler: EventHandler) -> None:
        failure: etree.XMLSyntaxError | None = None
        try:
            parser.feed(data)
        except etree.XMLSyntaxError as exc:
            failure = exc
        self._drain(parser, handler)  # the events before the failure still count
        if failure is not None:
            raise self._syntax_problem(failure)

    def _drain(self, parser: etree.XMLPullParser, handler: EventHandler) -> None:
        # The hot loop, one pass per element start and end: kept flat on purpose. Inside an element
        # the handler keeps (most of a CAPSS file), an event costs a count and two comparisons.
        started, ended, path = handler.start, handler.end, self._path
        open_elements = self._open
        max_depth, max_kept = self._limits.max_depth, self._limits.max_kept_elements
        depth, kept, kept_size = self._depth, self._kept, self._kept_size
        element: etree._Element
        try:
            for event, element in parser.read_events():  # type: ignore[assignment]  # no ns events
                if event == "start":
                    depth += 1
                    if depth > max_depth:
                        raise _too_deep(max_depth, line_of(element))
                    if depth > kept:
                        kept_size += 1
                        if kept_size > max_kept:
                            raise _too_big(path[-1], max_kept, line_of(element))
                        continue
                    if depth == 1:
                        self._root_seen = True
                        self._check_docinfo(element)
                    path.append(element.tag)
                    open_elements.append(element)
                    if started(element, path):
                        kept, kept_size = depth, 0
                    continue
                if event != "end":  # a comment or PI: complete as it is read
                    if depth >= kept:
                        kept_size += 1
                        if kept_size > max_kept:
                            raise _too_big(path[-1], max_kept, line_of(element))
                    else:
                        self._drop(element)
                    continue
                depth -= 1
                if depth >= kept:
                    continue
                kept = _NOTHING_KEPT
                ended(element, path)
                path.pop()
                open_elements.pop()
                if open_elements:  # earlier siblings went as they ended
                    # Unlinked with its subtree and tail, all freed with the last reference to it.
                    open_elements[-1].remove(element)
                else:  # the root has no parent
                    element.clear()
        finally:
            self._depth, self._kept, self._kept_size = depth, kept, kept_size

    def _drop(self, node: etree._Element) -> None:
        """A comment or PI outside what the handler keeps: nothing reads it."""
        if self._open:
            self._open[-1].remove(node)
            return
        # Beside the root, where lxml cannot drop it: only counted.
        self._beside_root += 1
        if self._beside_root > self._limits.max_kept_elements:
            raise _too_big("", self._limits.max_kept_elements, line_of(node))

    def _check_docinfo(self, root: etree._Element) -> None:
        if has_doctype(root.getroottree()):
            raise _error(
                "doctype-forbidden",
                "The file contains a DOCTYPE declaration, which is never needed for CAPSS and can "
                "be used to attack the system: remove it.",
                1,
            )

    def _syntax_problem(self, exc: etree.XMLSyntaxError) -> Rejected:
        text = re.sub(r", line \d+, column \d+.*$", "", str(exc), flags=re.DOTALL)
        line = exc.lineno or None
        if "Excessive depth" in text:
            return _too_deep(self._limits.max_depth, line)
        if getattr(exc, "code", None) in _ENCODING_ERRORS:
            return _error("encoding", f"The characters cannot be read: {text}. " + _UTF8_FIX, line)
        if not self._root_seen:
            return _error("not-xml", f"This is not a well-formed XML file: {text}.", line)
        return _error("malformed", f"The XML is not well-formed: {text}.", line)


def too_large(max_bytes: int, size: int | None) -> Rejected:
    shown = f" ({size:,} bytes)" if size is not None else ""
    return _error(
        "too-large",
        f"The file is larger than the limit of {max_bytes:,} bytes{shown}. "
        "Split it into several files (for example one per day), or ask ops to raise the limit.",
    )


def _too_big(tag: str, max_kept: int, line: int | None) -> Rejected:
    """Too much inside one element the rules read whole or, without a tag, beside the root."""
    what = (
        f"An element <{clip(tag, 40)}> holds more than {max_kept:,} elements, comments or "
        "processing instructions; in a CAPSS file it holds a few dozen."
        if tag
        else f"The file has more than {max_kept:,} comments or processing instructions outside "
        f"its top element; a CAPSS file needs none."
    )
    return _error("too-big", f"{what} The file is damaged or was not exported for CAPSS.", line)


def _too_deep(max_depth: int, line: int | None) -> Rejected:
    return _error(
        "too-deep",
        f"Elements are nested more than {max_depth} levels deep; a CAPSS file needs about 6. "
        "The file is damaged or was not exported for CAPSS.",
        line,
    )
