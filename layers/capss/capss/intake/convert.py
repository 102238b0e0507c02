"""A POS's CSV export turned into a CAPSS transactions file, by a declarative mapping.

The mapping (TOML, see `mappings/aimsi-report-wizard.toml`) names which columns fill which
item elements, constants, value tables, the date and amount formats, and which column
groups rows into one transaction. Customer fields are not mapped: since SB 1317 each one
reads "on file". Every problem names the CSV line and column, in the report shape the XML
validator uses. The export is read row by row and each element is serialized by lxml (never
by pasting a value into text), in the layout lxml's pretty print gives the whole tree; the
file is only written when no row has an error, and memory stays flat whatever the export's
size.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import sqlite3
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from lxml import etree

from capss.intake.report import (
    Conversion,
    DayTally,
    IntakeLimits,
    Problem,
    ProblemLog,
    Severity,
    ValidationReport,
)
from capss.kinds import FileKind

ON_FILE = "on file"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SHOWN_LIMIT = 60
"""Characters of a cell quoted in a problem."""
_CHUNK = 1 << 16
"""Bytes read at a time when the export is checked for its encoding."""
SHIPPED = ("aimsi-report-wizard",)
"""Mappings that ship with the bridge, by name (`mappings/<name>.toml`)."""

ITEM_ELEMENTS = (
    "referenceId",
    "type",
    "loanBuyNumber",
    "amount",
    "article",
    "brand",
    "model",
    "serialNumber",
    "description",
    "ownerAppliedNumber",
    "inscription",
    "pattern",
    "itemSize",
    "sizeUnit",
    "color",
    "material",
)
"""In the order public clients emit them (docs/capss-api.md section 5)."""
REQUIRED_ITEM = ("type", "loanBuyNumber", "amount", "article", "description")
"""What the validator requires of every item: a mapping must fill these."""
_SKIPPED_WHEN_BLANK = frozenset({"referenceId", "serialNumber"})

CUSTOMER_FIELDS = (
    "custLastName",
    "custFirstName",
    "custMiddleName",
    "gender",
    "race",
    "hairColor",
    "eyeColor",
    "height",
    "weight",
    "dateOfBirth!",
    "dateOfBirthText",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "phoneNumber",
    "nonUSAddress",
)
ID_FIELDS = (
    "type",
    "number",
    "dateOfIssueText",
    "issueState",
    "issueCountry",
    "yearOfExpiration!",
    "yearOfExpirationText",
)
CUSTOMER_TAIL = ("noFinger!", "noFingerText", "signature", "fingerprint")
"""SB 1317's customer block; `!` marks the elements sent empty with xsi:nil="true"."""


class MappingError(ValueError):
    """The mapping file itself is unusable: a person fixes the mapping, not the export."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    element: str
    column: str | int | None = None
    constant: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None
    optional: bool = False
    amount: bool = False


@dataclass(frozen=True, slots=True)
class TimeSpec:
    columns: tuple[str | int, ...]
    format: str


@dataclass(frozen=True, slots=True)
class CsvMapping:
    name: str
    header: bool
    encodings: tuple[str, ...]
    delimiter: str
    time: TimeSpec
    group_by: str | int | None
    employee: FieldSpec
    items: tuple[FieldSpec, ...]
    amount_strip: tuple[str, ...]

    @property
    def columns(self) -> list[str | int]:
        """Every column the mapping reads, in first-use order."""
        seen: list[str | int] = list(self.time.columns)
        specs = (self.employee, *self.items)
        seen += [spec.column for spec in specs if spec.column is not None]
        if self.group_by is not None:
            seen.append(self.group_by)
        return list(dict.fromkeys(seen))

    def convert(
        self,
        source: BinaryIO,
        target: BinaryIO,
        license_number: str,
        limits: IntakeLimits,
        zone: tzinfo | None = None,
    ) -> Conversion:
        return convert(source, target, self, license_number, limits=limits, zone=zone)

    @property
    def required_columns(self) -> list[str | int]:
        optional = {s.column for s in (self.employee, *self.items) if s.optional}
        return [column for column in self.columns if column not in optional]


def load_mapping(source: str | Path) -> CsvMapping:
    """A mapping from a file, or one shipped with the bridge by name."""
    if str(source) in SHIPPED:
        text = resources.files("capss.intake").joinpath(f"mappings/{source}.toml").read_text()
        return parse_mapping(text, str(source))
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(
            f"cannot read mapping {source}: {error}; shipped mappings: {', '.join(SHIPPED)}"
        ) from None
    return parse_mapping(text, str(source))


def parse_mapping(text: str, origin: str = "mapping") -> CsvMapping:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(f"{origin} is not valid TOML: {error}") from None
    csv_section = _table(document, "csv", origin)
    header = csv_section.get("header", True)
    if not isinstance(header, bool):
        raise MappingError(f"{origin}: [csv] header must be true or false")
    encodings = tuple(csv_section.get("encodings", ["utf-8-sig"]))
    for encoding in encodings:
        try:
            "".encode(encoding)
        except LookupError:
            raise MappingError(f"{origin}: unknown encoding {encoding!r}") from None
    delimiter = str(csv_section.get("delimiter", ","))
    if len(delimiter) != 1:
        raise MappingError(f"{origin}: [csv] delimiter must be one character")
    transaction = _table(document, "transaction", origin)
    time = transaction.get("time")
    if not isinstance(time, dict) or "format" not in time:
        raise MappingError(f'{origin}: [transaction] time needs columns and a format "%Y-%m-%d"')
    time_columns = time.get("columns", [time["column"]] if "column" in time else [])
    if not time_columns:
        raise MappingError(f"{origin}: [transaction] time names no column")
    items_section = _table(document, "item", origin)
    unknown = set(items_section) - set(ITEM_ELEMENTS)
    if unknown:
        raise MappingError(
            f"{origin}: [item] has no elements {sorted(unknown)}; known: {', '.join(ITEM_ELEMENTS)}"
        )
    missing = [name for name in REQUIRED_ITEM if name not in items_section]
    if missing:
        raise MappingError(f"{origin}: [item] must map {', '.join(missing)}")
    return CsvMapping(
        name=str(document.get("name", origin)),
        header=header,
        encodings=encodings or ("utf-8-sig",),
        delimiter=delimiter,
        time=TimeSpec(tuple(_column(c, header, origin) for c in time_columns), str(time["format"])),
        group_by=(
            _column(transaction["group_by"], header, origin) if "group_by" in transaction else None
        ),
        employee=_spec(
            "employeeName", transaction.get("employee", {"constant": ON_FILE}), header, origin
        ),
        items=tuple(
            _spec(name, items_section[name], header, origin)
            for name in ITEM_ELEMENTS
            if name in items_section
        ),
        amount_strip=tuple(str(c) for c in document.get("amounts", {}).get("strip", [])),
    )


def _table(document: Mapping[str, Any], name: str, origin: str) -> dict[str, Any]:
    table = document.get(name)
    if not isinstance(table, dict):
        raise MappingError(f"{origin}: no [{name}] table")
    return table


def _column(value: Any, header: bool, origin: str) -> str | int:
    if header and isinstance(value, str) and value.strip():
        return value.strip()
    if not header and isinstance(value, int) and value >= 1:
        return value
    wanted = "a column name" if header else "a column position (1 is the first)"
    raise MappingError(f"{origin}: {value!r} is not {wanted}")


def _spec(element: str, raw: Any, header: bool, origin: str) -> FieldSpec:
    if not isinstance(raw, dict) or ("column" in raw) == ("constant" in raw):
        raise MappingError(f"{origin}: {element} needs either column = ... or constant = ...")
    values = raw.get("values", {})
    if not isinstance(values, dict):
        raise MappingError(f"{origin}: {element}.values must be a table")
    return FieldSpec(
        element=element,
        column=_column(raw["column"], header, origin) if "column" in raw else None,
        constant=str(raw["constant"]) if "constant" in raw else None,
        values={str(k).strip().upper(): str(v) for k, v in values.items()},
        default=str(raw["default"]) if "default" in raw else None,
        optional=bool(raw.get("optional", False)),
        amount=bool(raw.get("amount", False)),
    )


@dataclass
class _Row:
    line: int
    cells: Mapping[str | int, str]


def convert(
    source: BinaryIO,
    target: BinaryIO,
    mapping: CsvMapping,
    license_number: str,
    *,
    limits: IntakeLimits | None = None,
    zone: tzinfo | None = None,
) -> Conversion:
    """Reads the export in `source` row by row and writes the CAPSS file to `target`, only when
    no row has an error. Memory holds one row and the spill's page cache, whatever the
    export's size or its row order: the items wait on disk (`_Spill`) until every row is read."""
    limits = limits or IntakeLimits()
    log = ProblemLog(limits.max_problems)
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    sha256, encoding, bad_byte = _scan(source, mapping.encodings)
    with _Spill(license_number, limits.max_bytes) as spill:
        reading = _Reading(mapping, log, spill)
        if size > limits.max_bytes:
            log.add(_problem("too-large", f"The file is larger than {limits.max_bytes} bytes."))
        elif encoding is None:
            reading.undecodable(source, bad_byte)
        else:
            source.seek(0)
            text = io.TextIOWrapper(source, encoding=encoding, newline="")
            try:
                for row in reading.rows(text):
                    reading.add(row)
            finally:
                text.detach()  # the caller's file stays open
        problems = log.problems()
        written = not any(p.severity is Severity.ERROR for p in problems) and spill.transactions > 0
        if written:
            spill.write(target)
        days = spill.days(zone)
    csv_report = ValidationReport(
        kind=FileKind.TRANSACTIONS,
        problems=problems,
        sha256=sha256,
        size=size,
        license_number=license_number,
        transactions=spill.transactions,
        items=spill.items,
        first_transaction_at=spill.first,
        last_transaction_at=spill.last,
        days=days.days(),
        transactions_on_other_days=days.beyond,
    )
    return Conversion(report=csv_report, written=written)


def _scan(source: BinaryIO, encodings: tuple[str, ...]) -> tuple[str, str | None, int]:
    """One pass over the bytes: their SHA-256, the first listed encoding that reads them all,
    and where the first listed one fails (-1 when it does not)."""
    digest = hashlib.sha256()
    decoders = {name: codecs.getincrementaldecoder(name)() for name in encodings}
    failed: dict[str, int] = {}
    end = 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        end += len(chunk)
        _feed(decoders, failed, chunk, end, final=False)
    _feed(decoders, failed, b"", end, final=True)
    readable = [name for name in encodings if name not in failed]
    return digest.hexdigest(), readable[0] if readable else None, failed.get(encodings[0], -1)


def _feed(
    decoders: dict[str, codecs.IncrementalDecoder],
    failed: dict[str, int],
    chunk: bytes,
    end: int,
    *,
    final: bool,
) -> None:
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            # The codec saw a tail of the bytes so far (a BOM or a split character aside).
            failed[name] = end - len(error.object) + error.start
            del decoders[name]


class _Spill:
    """Transactions and their items on disk, in the order the export first names them.

    A transaction's rows need not be adjacent (an export sorted by another column, a ticket
    added to later), so nothing can be written until the last row is read. Each item is
    serialized as it is read and stored under its transaction's number in a private SQLite
    database in the temporary directory (deleted on close); its key order is the file's.
    Memory holds SQLite's page cache (2 MiB by default), whatever the export's size; the disk
    holds at most `max_bytes` of XML, as a larger file could not be sent anyway.
    """

    def __init__(self, license_number: str, max_bytes: int) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            " CREATE TABLE groups (name TEXT PRIMARY KEY, id INTEGER NOT NULL, time TEXT NOT NULL,"
            " items INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
            " CREATE TABLE parts (txn INTEGER, seq INTEGER, xml BLOB NOT NULL,"
            " PRIMARY KEY (txn, seq)) WITHOUT ROWID; BEGIN;"
        )
        self._start = _start(license_number)
        self.limit = max_bytes
        self.size = len(self._start) + len(_END)
        self.transactions = self.items = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self._current: tuple[str, int] | None = None
        """The last row's transaction: rows of one transaction mostly come together."""
        self._uncounted = 0
        """Items of `_current` not yet added to its count on disk."""

    def __enter__(self) -> _Spill:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()

    @property
    def full(self) -> bool:
        return self.size > self.limit

    def find(self, group: str) -> int | None:
        if self._current is not None and self._current[0] == group:
            return self._current[1]
        found = self._db.execute("SELECT id FROM groups WHERE name = ?", (group,)).fetchone()
        if found is None:
            return None
        self._count()
        self._current = (group, int(found[0]))
        return self._current[1]

    def _count(self) -> None:
        if self._current is not None and self._uncounted:
            self._db.execute(
                "UPDATE groups SET items = items + ? WHERE name = ?",
                (self._uncounted, self._current[0]),
            )
        self._uncounted = 0

    def days(self, zone: tzinfo | None) -> DayTally:
        """The transactions and items per date, transactions in the order the file names them."""
        self._count()
        days = DayTally(zone)
        for time, items in self._db.execute("SELECT time, items FROM groups ORDER BY id"):
            days.add(datetime.fromisoformat(time), items)
        return days

    def open(self, group: str, time: datetime, head: bytes) -> int:
        """A new transaction from its first row; its number."""
        self.transactions += 1
        self.first = time if self.first is None else min(self.first, time)
        self.last = time if self.last is None else max(self.last, time)
        self._count()
        self._db.execute(
            "INSERT INTO groups (name, id, time) VALUES (?, ?, ?)",
            (group, self.transactions, time.isoformat()),
        )
        self._current = (group, self.transactions)
        self._store(self.transactions, head + _ITEMS_OPEN, extra=len(_TRANSACTION_END))
        return self.transactions

    def add(self, transaction: int, item: bytes) -> None:
        """An item of the transaction `find` or `open` gave last."""
        self.items += 1
        self._uncounted += 1
        self._store(transaction, item)

    def _store(self, transaction: int, xml: bytes, extra: int = 0) -> None:
        self.size += len(xml) + extra
        if not self.full:  # past the limit the rows are only checked and counted
            self._db.execute("INSERT INTO parts VALUES (?, ?, ?)", (transaction, self.items, xml))

    def write(self, target: BinaryIO) -> None:
        target.write(self._start)
        previous = 0
        for transaction, xml in self._db.execute("SELECT txn, xml FROM parts ORDER BY txn, seq"):
            if transaction != previous and previous:
                target.write(_TRANSACTION_END)
            previous = transaction
            target.write(xml)
        target.write(_TRANSACTION_END + _END)


def _problem(code: str, message: str, line: int | None = None, column: Any = None) -> Problem:
    return Problem(
        Severity.ERROR, code, message, line=line, column=None if column is None else str(column)
    )


class _Reading:
    """One pass over the rows; problems go to the log as they are found."""

    def __init__(self, mapping: CsvMapping, log: ProblemLog, spill: _Spill) -> None:
        self.mapping = mapping
        self.log = log
        self.spill = spill
        self.errors = 0
        specs = {spec.element: spec for spec in mapping.items}
        self._item_plan = _plan([specs.get(name, name) for name in ITEM_ELEMENTS])
        self._employee_plan = _plan([mapping.employee])

    def _report(self, problem: Problem) -> None:
        self.errors += 1
        self.log.add(problem)

    def undecodable(self, source: BinaryIO, offset: int) -> None:
        """No listed encoding reads the bytes: names the first one's first bad byte."""
        source.seek(0)
        line = 1
        for _ in range(offset // _CHUNK):
            line += source.read(_CHUNK).count(b"\n")
        before = source.read(offset % _CHUNK + 1)
        line += before.count(b"\n", 0, -1)
        self._report(
            _problem(
                "csv-encoding",
                f"Byte {before[-1]:#04x} cannot be read as"
                f" {' or '.join(self.mapping.encodings)}: export the file as UTF-8.",
                line,
            )
        )

    def rows(self, text: TextIO) -> Iterator[_Row]:
        reader = csv.reader(text, delimiter=self.mapping.delimiter)
        names: list[str] | None = None
        previous_end = rows = 0
        try:
            for cells in reader:
                # A quoted value may span lines: a row starts where the previous one ended.
                line, previous_end = previous_end + 1, reader.line_num
                if not any(cell.strip() for cell in cells):
                    continue
                if self.mapping.header and names is None:
                    names = [cell.strip() for cell in cells]
                    if not self._check_header(names, line):
                        return
                    continue
                rows += 1
                row = self._row(cells, names, line)
                if row is not None:
                    yield row
        except csv.Error as error:
            self._report(
                _problem("csv-syntax", f"The CSV cannot be read: {error}.", previous_end + 1)
            )
            return
        if not rows:
            self._report(_problem("csv-empty", "The file has no rows to report."))

    def _check_header(self, names: list[str], line: int) -> bool:
        present = {name.upper() for name in names}
        missing = [c for c in self.mapping.required_columns if str(c).upper() not in present]
        for column in missing:
            self._report(
                _problem(
                    "csv-missing-column",
                    f"The header has no column {column!r} that the mapping"
                    f" {self.mapping.name!r} reads.",
                    line,
                    column,
                )
            )
        return not missing

    def _row(self, cells: list[str], names: list[str] | None, line: int) -> _Row | None:
        width = len(names) if names is not None else None
        if width is not None and len(cells) != width:
            hint = " (a comma inside a value that is not in quotes?)" if len(cells) > width else ""
            self._report(
                _problem(
                    "csv-row-length",
                    f"The row has {len(cells)} values where the header has {width}{hint}.",
                    line,
                )
            )
            return None
        if names is not None:
            return _Row(
                line, {name.upper(): cell.strip() for name, cell in zip(names, cells, strict=True)}
            )
        return _Row(line, {index: cell.strip() for index, cell in enumerate(cells, start=1)})

    def cell(self, row: _Row, column: str | int) -> str | None:
        return row.cells.get(column.upper() if isinstance(column, str) else column)

    def add(self, row: _Row) -> None:
        errors_before = self.errors
        moment = self._time(row)
        item = b"".join(self._leaves(row, self._item_plan, _ITEM_INDENT))
        employee = b"".join(self._leaves(row, self._employee_plan, _EMPLOYEE_INDENT))
        if self.errors > errors_before or moment is None:
            return
        group = f"line {row.line}"
        if self.mapping.group_by is not None:
            group = self.cell(row, self.mapping.group_by) or group
        was_full = self.spill.full
        transaction = self.spill.find(group)
        if transaction is None:
            time = _leaf("transactionTime", moment.isoformat(timespec="seconds"))
            transaction = self.spill.open(group, moment, _transaction_head(time, employee))
        self.spill.add(transaction, _ITEM_OPEN + item + _ITEM_CLOSE)
        if self.spill.full and not was_full:
            self._report(
                _problem(
                    "too-large",
                    f"Converted to CAPSS XML, the export is larger than {self.spill.limit} bytes,"
                    " the most the bridge sends: split it into smaller exports.",
                    row.line,
                )
            )

    def _leaves(
        self, row: _Row, plan: tuple[bytes | FieldSpec, ...], indent: bytes
    ) -> Iterator[bytes]:
        """Each element as lxml serializes it, on its own line; a blank optional reference or
        serial number is left out."""
        for step in plan:
            if isinstance(step, bytes):
                yield step
                continue
            value = self._value(row, step)
            if not value and step.element in _SKIPPED_WHEN_BLANK:
                continue
            try:
                leaf = _leaf(step.element, value)
            except ValueError:
                self._report(
                    _problem(
                        "csv-bad-character",
                        f"{step.element} holds a character an XML file cannot carry (a control"
                        f" character): {_shown(value)}.",
                        row.line,
                        step.column,
                    )
                )
                continue
            yield indent + leaf + b"\n"

    def _time(self, row: _Row) -> datetime | None:
        spec = self.mapping.time
        parts = [self.cell(row, column) or "" for column in spec.columns]
        text = " ".join(part for part in parts if part)
        where = spec.columns[0] if len(spec.columns) == 1 else " + ".join(map(str, spec.columns))
        try:
            return datetime.strptime(text, spec.format)
        except ValueError:
            self._report(
                _problem(
                    "csv-bad-date",
                    f"{_shown(text)} is not a date and time in the mapping's format"
                    f" {spec.format!r}.",
                    row.line,
                    where,
                )
            )
            return None

    def _value(self, row: _Row, spec: FieldSpec) -> str:
        if spec.constant is not None:
            return spec.constant
        assert spec.column is not None
        value = self.cell(row, spec.column) or spec.default or ""
        if not value:
            if not spec.optional:
                self._report(
                    _problem("csv-blank", f"{spec.element} is empty.", row.line, spec.column)
                )
            return ""
        if spec.values:
            mapped = spec.values.get(value.upper())
            if mapped is None:
                self._report(
                    _problem(
                        "csv-unknown-value",
                        f"{_shown(value)} is not one of the mapping's {spec.element} values:"
                        f" {', '.join(sorted(spec.values))}.",
                        row.line,
                        spec.column,
                    )
                )
                return ""
            value = mapped
        if spec.amount:
            return self._amount(value, row, spec)
        return value

    def _amount(self, text: str, row: _Row, spec: FieldSpec) -> str:
        plain = text
        for character in self.mapping.amount_strip:
            plain = plain.replace(character, "")
        try:
            amount = Decimal(plain.strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        exponent = amount.as_tuple().exponent
        if not amount.is_finite() or amount < 0 or (isinstance(exponent, int) and exponent < -2):
            self._report(
                _problem(
                    "csv-bad-amount",
                    f"{_shown(text)} is not an amount (a number of dollars, not negative, at most"
                    " two decimals).",
                    row.line,
                    spec.column,
                )
            )
            return ""
        return f"{amount:.2f}"


def _shown(value: str) -> str:
    """A cell quoted in a problem: bounded, since problems reach records, alerts and events."""
    return repr(value if len(value) <= SHOWN_LIMIT else value[:SHOWN_LIMIT] + "...")


def _leaf(name: str, value: str) -> bytes:
    """One element with text as lxml writes it: escaped, or refused (ValueError) when the text
    holds a character XML cannot carry; empty text is an empty element."""
    element = etree.Element(name)
    element.text = value or None
    return bytes(etree.tostring(element, encoding="UTF-8"))


def _plan(specs: list[FieldSpec | str]) -> tuple[bytes | FieldSpec, ...]:
    """Per element, what the file holds whatever the row: a constant's serialized line, or the
    spec to read; an element the mapping leaves out is empty, unless it may be left out."""
    plan: list[bytes | FieldSpec] = []
    for spec in specs:
        if isinstance(spec, FieldSpec) and spec.constant is None:
            plan.append(spec)
            continue
        name, value = (spec, "") if isinstance(spec, str) else (spec.element, spec.constant or "")
        if value or name not in _SKIPPED_WHEN_BLANK:
            indent = _EMPLOYEE_INDENT if name == "employeeName" else _ITEM_INDENT
            plan.append(indent + _leaf(name, value) + b"\n")
    return tuple(plan)


# The file as lxml's pretty print lays it out (two spaces a level); what varies is written by
# `_leaf`. A test holds the result byte for byte to lxml's serialization of the whole tree.
_TRANSACTION_INDENT = b"      "
_EMPLOYEE_INDENT = b"        "
_ITEM_INDENT = b"          "
_ITEM_OPEN = b"        <item>\n"
_ITEM_CLOSE = b"        </item>\n"
_ITEMS_OPEN = b"      <items>\n"
_TRANSACTION_END = b"      </items>\n    </propertyTransaction>\n"
_END = b"  </bulkUploadData>\n</capssUpload>\n"


def _customer() -> bytes:
    lines = [b"      <customer>"]
    for depth, names in ((8, CUSTOMER_FIELDS), (10, ID_FIELDS), (8, CUSTOMER_TAIL)):
        if depth == 10:
            lines.append(b"        <id>")
        for name in names:
            element = (
                f'<{name[:-1]} xsi:nil="true"/>'.encode()
                if name.endswith("!")
                else _leaf(name, ON_FILE)
            )
            lines.append(b" " * depth + element)
        if depth == 10:
            lines.append(b"        </id>")
    lines.append(b"      </customer>")
    return b"\n".join(lines) + b"\n"


_CUSTOMER = _customer()


def _transaction_head(time: bytes, employee: bytes) -> bytes:
    return (
        b"    <propertyTransaction>\n"
        + _TRANSACTION_INDENT
        + time
        + b"\n"
        + _CUSTOMER
        + b"      <store>\n"
        + employee
        + b"      </store>\n"
    )


def _start(license_number: str) -> bytes:
    bulk = etree.tostring(
        etree.Element("bulkUploadData", licenseNumber=license_number), encoding="UTF-8"
    )
    return (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        + f'<capssUpload xmlns:xsi="{XSI}">\n  '.encode()
        + bulk.removesuffix(b"/>")
        + b">\n"
    )
