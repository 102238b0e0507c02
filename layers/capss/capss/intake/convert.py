"""A POS's CSV export turned into a CAPSS transactions file, by a declarative mapping.

The mapping (TOML, see `mappings/aimsi-report-wizard.toml`) names which columns fill which
item elements, constants, value tables, the date and amount formats, and which column
groups rows into one transaction. Customer fields are not mapped: since SB 1317 each one
reads "on file". Every problem names the CSV line and column, in the report shape the XML
validator uses; the XML is built with lxml (never by pasting text) and is only produced when
no row has an error.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

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

    def convert(self, data: bytes, license_number: str, zone: tzinfo | None = None) -> Conversion:
        return convert(data, self, license_number, zone=zone)

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
class _Transaction:
    line: int
    time: datetime
    employee: str
    items: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    cells: Mapping[str | int, str]


def convert(
    data: bytes,
    mapping: CsvMapping,
    license_number: str,
    limits: IntakeLimits | None = None,
    zone: tzinfo | None = None,
) -> Conversion:
    limits = limits or IntakeLimits()
    log = ProblemLog(limits.max_problems)
    report = _Reading(mapping, log)
    transactions: dict[str, _Transaction] = {}
    if len(data) > limits.max_bytes:
        log.add(_problem("too-large", f"The file is larger than {limits.max_bytes} bytes."))
    else:
        text = report.decode(data)
        if text is not None:
            for row in report.rows(text):
                report.add(row, transactions)
    problems = log.problems()
    ok = not any(p.severity is Severity.ERROR for p in problems)
    times = [t.time for t in transactions.values()]
    days = DayTally(zone)
    for transaction in transactions.values():
        days.add(transaction.time, len(transaction.items))
    csv_report = ValidationReport(
        kind=FileKind.TRANSACTIONS,
        problems=problems,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        license_number=license_number,
        transactions=len(transactions),
        items=sum(len(t.items) for t in transactions.values()),
        first_transaction_at=min(times) if times else None,
        last_transaction_at=max(times) if times else None,
        days=days.days(),
        transactions_on_other_days=days.beyond,
    )
    xml = _build(license_number, transactions.values()) if ok and transactions else None
    return Conversion(report=csv_report, xml=xml)


def _problem(code: str, message: str, line: int | None = None, column: Any = None) -> Problem:
    return Problem(
        Severity.ERROR, code, message, line=line, column=None if column is None else str(column)
    )


class _Reading:
    """One pass over the rows; problems go to the log as they are found."""

    def __init__(self, mapping: CsvMapping, log: ProblemLog) -> None:
        self.mapping = mapping
        self.log = log
        self.errors = 0

    def _report(self, problem: Problem) -> None:
        self.errors += 1
        self.log.add(problem)

    def decode(self, data: bytes) -> str | None:
        for encoding in self.mapping.encodings:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        first = self.mapping.encodings[0]
        try:
            data.decode(first)
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self._report(
                _problem(
                    "csv-encoding",
                    f"Byte {data[error.start]:#04x} cannot be read as"
                    f" {' or '.join(self.mapping.encodings)}: export the file as UTF-8.",
                    line,
                )
            )
        return None

    def rows(self, text: str) -> Iterator[_Row]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.mapping.delimiter)
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

    def add(self, row: _Row, transactions: dict[str, _Transaction]) -> None:
        errors_before = self.errors
        moment = self._time(row)
        item = {spec.element: self._value(row, spec) for spec in self.mapping.items}
        employee = self._value(row, self.mapping.employee)
        if self.errors > errors_before or moment is None:
            return
        group = f"line {row.line}"
        if self.mapping.group_by is not None:
            group = self.cell(row, self.mapping.group_by) or group
        transaction = transactions.setdefault(group, _Transaction(row.line, moment, employee))
        transaction.items.append(item)

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


def _build(license_number: str, transactions: Any) -> bytes:
    root = etree.Element("capssUpload", nsmap={"xsi": XSI})
    bulk = etree.SubElement(root, "bulkUploadData", licenseNumber=license_number)
    for transaction in transactions:
        node = etree.SubElement(bulk, "propertyTransaction")
        etree.SubElement(node, "transactionTime").text = transaction.time.isoformat(
            timespec="seconds"
        )
        customer = etree.SubElement(node, "customer")
        _on_file(customer, CUSTOMER_FIELDS)
        _on_file(etree.SubElement(customer, "id"), ID_FIELDS)
        _on_file(customer, CUSTOMER_TAIL)
        etree.SubElement(
            etree.SubElement(node, "store"), "employeeName"
        ).text = transaction.employee
        items = etree.SubElement(node, "items")
        for values in transaction.items:
            item = etree.SubElement(items, "item")
            for name in ITEM_ELEMENTS:
                value = values.get(name, "")
                if value or name not in _SKIPPED_WHEN_BLANK:
                    etree.SubElement(item, name).text = value or None
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _on_file(parent: etree._Element, names: tuple[str, ...]) -> None:
    for name in names:
        if name.endswith("!"):
            etree.SubElement(parent, name[:-1]).set(f"{{{XSI}}}nil", "true")
        else:
            etree.SubElement(parent, name).text = ON_FILE
