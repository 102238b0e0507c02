"""The DOJ's official XSD, when an operator has one: read safely, enforced after the rules."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from lxml import etree

from capss.intake.reader import Rejected, has_doctype, safe_parser
from capss.intake.report import Problem, ProblemLog, Severity

_XS = "{http://www.w3.org/2001/XMLSchema}"
_TRANSACTION_STEP = re.compile(r"/propertyTransaction(?:\[(\d+)\])?(?:/|$)")
_FIX = "Fix the bridge's XSD setting (or remove it to check files without the schema)."


def compile_schema(xsd: Path | bytes) -> etree.XMLSchema:
    """The compiled schema; raises Rejected ("xsd-unusable") when it cannot be used."""
    if isinstance(xsd, Path):
        try:
            data = xsd.read_bytes()
        except OSError as exc:
            raise _unusable(f"it cannot be read ({exc.strerror})") from None
        return _compile(data, xsd.resolve().as_uri())
    return _compile(bytes(xsd), None)


@functools.lru_cache(maxsize=4)
def _compile(data: bytes, base_url: str | None) -> etree.XMLSchema:
    try:
        doc = etree.fromstring(data, safe_parser(), base_url=base_url or "")
    except etree.XMLSyntaxError as exc:
        raise _unusable(f"it is not well-formed XML ({exc})") from None
    if has_doctype(doc.getroottree()):
        raise _unusable("it contains a DOCTYPE declaration")
    for ref in doc.iter(f"{_XS}include", f"{_XS}import", f"{_XS}redefine", f"{_XS}override"):
        location = ref.get("schemaLocation")
        # Parts of a schema may come from beside its file, never from elsewhere or the network.
        if location is not None and (
            base_url is None or ":" in location or location.startswith("/") or ".." in location
        ):
            raise _unusable(f"it refers to another schema at {location!r}, which is not read")
    try:
        return etree.XMLSchema(doc)
    except etree.XMLSchemaParseError as exc:
        raise _unusable(f"it is not a valid XML schema ({exc})") from None


def _unusable(why: str) -> Rejected:
    return Rejected(
        Problem(Severity.ERROR, "xsd-unusable", f"The configured XSD cannot be used: {why}. {_FIX}")
    )


def check_against(schema: etree.XMLSchema, source: IO[bytes], log: ProblemLog) -> None:
    """Adds one "xsd" problem per schema complaint. The source already passed the safe reader."""
    # A whole tree, so memory grows with the file here (bounded by IntakeLimits.max_bytes).
    try:
        tree = etree.parse(source, safe_parser())
    except etree.XMLSyntaxError as exc:
        log.add(Problem(Severity.ERROR, "malformed", f"The XML cannot be read: {exc}."))
        return
    if schema.validate(tree):
        return
    entries: Iterable[etree._LogEntry] = schema.error_log  # type: ignore[assignment]  # lxml-stubs
    for entry in entries:
        customer_field = _customer_field(entry.path or "")
        message = (
            f"The official CAPSS schema refuses this: {entry.message}"
            if customer_field is None
            # libxml2 quotes the value it refused: a customer's data stays out of the problem.
            else f"The official CAPSS schema refuses the customer field {customer_field}"
            " (its value, a customer's data, is not repeated: see the file at this line)."
        )
        log.add(
            Problem(
                Severity.ERROR,
                "xsd",
                message,
                entry.line or None,
                transaction=_transaction(entry.path or ""),
            )
        )


def _customer_field(path: str) -> str | None:
    """The element named by an XPath inside a transaction's customer block, else None."""
    steps = [step.split("[", 1)[0] for step in path.split("/")]
    if "customer" not in steps:
        return None
    return f"<{steps[-1]}>"


def _transaction(path: str) -> int | None:
    match = _TRANSACTION_STEP.search(path)
    return int(match.group(1) or 1) if match else None
