"""A copy of a transactions file whose customer fields read "on file", as SB 1317 has it sent.

Since SB 1317 the seller's identity stays with the dealer and each customer field of the
report reads "on file". A POS that still exports the customer's data gets, by default, this
copy sent in its place (`capss.pipeline.onfile`). The copy is the original byte for byte
but for the text of each customer field that holds data: a field's text becomes `on file`;
`dateOfBirth`, `yearOfExpiration` and `noFinger`, typed fields in CAPSS's form, become empty
with `xsi:nil="true"` (the namespace declared on the element itself, so the copy needs nothing
from the root). Fields already empty or reading `on file` are left as they are.

The rewrite streams: bytes outside a `<customer>` block pass through untouched and only one
block at a time is held. It works on the bytes of an ASCII-compatible encoding (UTF-8, the
ISO-8859 and Windows code pages); a UTF-16 or UTF-32 file is refused (`OnFileRefused`). The
caller validates the copy again: a block this byte-level reading could not make "on file" (a
processing instruction inside a field, say) then still shows customer data, and the file is
not sent.
"""

from __future__ import annotations

import re
from typing import BinaryIO

ON_FILE = b"on file"
XSI = b"http://www.w3.org/2001/XMLSchema-instance"
NIL_FIELDS = frozenset({b"dateOfBirth", b"yearOfExpiration", b"noFinger"})
"""Fields CAPSS's form types (a date, a year, a flag): "on file" would not be a value of theirs."""
BLOCK_LIMIT = 1024 * 1024
"""Bytes one customer block may hold: the form's block is well under 2 KB."""
CHUNK = 64 * 1024

_OPEN = re.compile(rb"<customer[\s>/]")
_CLOSE = re.compile(rb"</customer\s*>")
_LEAF = re.compile(
    rb"<(?P<name>[A-Za-z_][\w.-]*)(?P<attributes>(?:\s[^<>]*?)?)>"
    rb"(?P<text>(?:[^<]|<!\[CDATA\[.*?\]\]>|<!--.*?-->)*)"
    rb"</(?P=name)\s*>",
    re.S,
)
_CDATA_OR_COMMENT = re.compile(rb"<!\[CDATA\[(.*?)\]\]>|<!--.*?-->", re.S)
_WIDE = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_KEEP = len(b"<customer") + 1
"""Bytes held back at a chunk's end: the start of a `<customer` cut by the chunk boundary."""


class OnFileRefused(ValueError):
    """The file cannot be rewritten byte for byte; the message says why, in the bridge's words."""


def write_on_file_copy(source: BinaryIO, dest: BinaryIO) -> int:
    """Writes the copy of `source` to `dest`; returns how many customer fields were rewritten."""
    rewritten = 0
    buffer = source.read(CHUNK)
    if buffer.startswith(_WIDE) or b"\x00" in buffer[:4]:
        raise OnFileRefused(
            "the file is UTF-16 or UTF-32: its customer fields can only be rewritten in an"
            " ASCII-compatible encoding such as UTF-8"
        )
    ended = not buffer
    while buffer or not ended:
        opening = _OPEN.search(buffer)
        if opening is None:
            cut = len(buffer) if ended else max(len(buffer) - _KEEP, 0)
            dest.write(buffer[:cut])
            buffer = buffer[cut:]
        else:
            closing = _CLOSE.search(buffer, opening.end())
            if closing is None and not ended:
                if len(buffer) - opening.start() > BLOCK_LIMIT:
                    raise OnFileRefused(
                        f"a <customer> block runs past {BLOCK_LIMIT} bytes without its end tag"
                    )
            else:
                end = closing.end() if closing is not None else len(buffer)
                dest.write(buffer[: opening.start()])
                block, count = _rewrite_block(buffer[opening.start() : end])
                rewritten += count
                dest.write(block)
                buffer = buffer[end:]
                continue
        if ended:
            break
        more = source.read(CHUNK)
        ended = not more
        buffer += more
    dest.write(buffer)
    return rewritten


def _rewrite_block(block: bytes) -> tuple[bytes, int]:
    rewritten = 0

    def on_file(leaf: re.Match[bytes]) -> bytes:
        nonlocal rewritten
        if not _holds_data(leaf["text"]):
            return leaf[0]
        rewritten += 1
        name = leaf["name"]
        if name in NIL_FIELDS:
            return b'<%s xmlns:xsi="%s" xsi:nil="true"/>' % (name, XSI)
        return b"<%s%s>%s</%s>" % (name, leaf["attributes"], ON_FILE, name)

    return _LEAF.sub(on_file, block), rewritten


def _holds_data(text: bytes) -> bool:
    """What the validator counts as customer data: text other than blank or `on file`."""
    value = _CDATA_OR_COMMENT.sub(lambda m: m.group(1) or b"", text).strip()
    return bool(value) and value.lower() != ON_FILE
