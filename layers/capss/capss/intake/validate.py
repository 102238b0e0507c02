"""File intake: is this file safe to read and fit to send to CAPSS, and what does it hold?

Used by the submit function before anything is sent and by `capss validate`. Every bad input
becomes a Problem in the report; only programming errors (and a stream that fails to read,
which is worth retrying) raise.
"""

from __future__ import annotations

import tempfile
from datetime import tzinfo
from pathlib import Path
from typing import IO, BinaryIO

from lxml import etree

from capss.intake.reader import Rejected, SafeXmlReader, too_large
from capss.intake.report import IntakeLimits, Problem, ProblemLog, Severity, ValidationReport
from capss.intake.rules import EnvelopeRules, ItemUpdateRules, TransactionRules
from capss.intake.xsd import check_against, compile_schema
from capss.kinds import FileKind

__all__ = [
    "IntakeLimits",
    "Problem",
    "Severity",
    "ValidationReport",
    "validate_path",
    "validate_stream",
]

_SPOOL_IN_MEMORY = 8 * 1024 * 1024


def validate_path(
    path: Path,
    kind: FileKind = FileKind.TRANSACTIONS,
    *,
    limits: IntakeLimits | None = None,
    expected_license: str | None = None,
    xsd: Path | bytes | None = None,
) -> ValidationReport:
    try:
        stream = path.open("rb")
        size = path.stat().st_size
    except OSError as exc:
        problem = Problem(
            Severity.ERROR, "unreadable", f"The file cannot be opened: {exc.strerror}."
        )
        return ValidationReport(kind=kind, problems=(problem,), sha256="", size=0)
    with stream:
        return validate_stream(
            stream, kind, size=size, limits=limits, expected_license=expected_license, xsd=xsd
        )


def validate_stream(
    stream: BinaryIO,
    kind: FileKind = FileKind.TRANSACTIONS,
    *,
    size: int | None = None,
    limits: IntakeLimits | None = None,
    expected_license: str | None = None,
    xsd: Path | bytes | None = None,
    zone: tzinfo | None = None,
) -> ValidationReport:
    """Validates the bytes read from `stream` (e.g. an S3 body); a known `size` is checked first.

    `zone` is the store's: it dates transaction times that carry an offset."""
    limits = limits or IntakeLimits()
    log = ProblemLog(limits.max_problems)
    if size is not None and size > limits.max_bytes:
        log.add(too_large(limits.max_bytes, size).problem)
        return ValidationReport(kind=kind, problems=log.problems(), sha256="", size=size)
    schema = None
    if xsd is not None:
        try:
            schema = compile_schema(xsd)
        except Rejected as unusable:
            log.add(unusable.problem)
    rules: EnvelopeRules = (
        TransactionRules(log, expected_license, zone)
        if kind is FileKind.TRANSACTIONS
        else ItemUpdateRules(log, expected_license, zone)
    )
    seekable = stream.seekable()
    start = stream.tell() if seekable else 0
    # The schema needs a second read: from the stream itself when it can rewind, else from a copy.
    with tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as spool:
        tee = spool if schema is not None and not seekable else None
        reader = SafeXmlReader(stream, limits, tee=tee)
        if _read_through(reader, rules, log) and schema is not None and not _has_errors(log):
            source: IO[bytes] = stream if tee is None else tee
            source.seek(start if tee is None else 0)
            check_against(schema, source, log)
    for note in reader.notes:
        log.add(note)
    return ValidationReport(
        kind=kind,
        problems=tuple(sorted(log.problems(), key=lambda p: (p.line is None, p.line or 0))),
        sha256=reader.sha256,
        size=reader.size,
        license_number=rules.license_number,
        transactions=rules.transactions,
        items=rules.items,
        first_transaction_at=rules.first_transaction_at,
        last_transaction_at=rules.last_transaction_at,
        days=rules.days.days(),
        transactions_on_other_days=rules.days.beyond,
        customer_data=rules.customer_data,
    )


def _read_through(reader: SafeXmlReader, rules: EnvelopeRules, log: ProblemLog) -> bool:
    """One pass over the file; False when it had to stop early."""
    try:
        reader.read(rules)
    except Rejected as rejected:
        log.add(rejected.problem)
        reader.digest_rest()
        return False
    except etree.LxmlError as exc:
        # Whatever else libxml2 reports about a hostile file is still the file's fault.
        log.add(Problem(Severity.ERROR, "malformed", f"The XML cannot be read: {exc}."))
        reader.digest_rest()
        return False
    rules.finish()
    return True


def _has_errors(log: ProblemLog) -> bool:
    return any(p.severity is Severity.ERROR for p in log.problems())
