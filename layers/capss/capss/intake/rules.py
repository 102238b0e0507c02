"""What a CAPSS file must contain, checked one parse event at a time.

Only what is certainly wrong is an error: no official XSD is public, so anything CAPSS might
accept (unknown elements, unusual item types, extra precision) is at most a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from lxml import etree

from capss.bounds import clip
from capss.intake.reader import line_of
from capss.intake.report import DayTally, Problem, ProblemLog, Severity

ROOT = "capssUpload"
BULK = "bulkUploadData"
LICENSE = "licenseNumber"
TRANSACTION = "propertyTransaction"
CUSTOMER = "customer"
KNOWN_ITEM_TYPES = frozenset({"BUY", "PAWN", "CONSIGN", "TRADE", "AUCTION"})
ESSENTIAL_ITEM_FIELDS = ("type", "loanBuyNumber", "amount", "article", "description")
ON_FILE = "on file"
LICENSE_SHAPE = re.compile(r"[A-Za-z0-9-]{1,20}")

_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?"
)
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:\.(\d*))?|\.(\d+))")
_PLAIN_AMOUNT = re.compile(r"\d+(?:\.\d{0,2})?")
"""The amounts `_check_amount` has nothing to say about: the usual one costs a single match."""
_FUTURE_GRACE = timedelta(days=1)
_ABSENT: tuple[str, etree._Element | None] = ("", None)


class EnvelopeRules:
    """Root element and license: the same for every kind of file."""

    def __init__(
        self, log: ProblemLog, expected_license: str | None, zone: tzinfo | None = None
    ) -> None:
        self.log = log
        self.days = DayTally(zone)
        self.license_number: str | None = None
        self.transactions = 0
        self.items = 0
        self.customer_data = 0
        """Transactions whose customer fields hold data rather than "on file"."""
        self.first_transaction_at: datetime | None = None
        self.last_transaction_at: datetime | None = None
        self._expected_license = expected_license
        self._root_ok = False
        self._bulks = 0

    # The reader calls start and end once per element outside the elements start keeps, the
    # validation's hot path: a kind's rules override them whole (no hook calls per element) and
    # hand the top two levels here.
    def start(self, element: etree._Element, path: list[str]) -> bool:
        """An element's start tag (attributes there, children not yet); `path` from the root.

        True: the element's subtree is wanted whole at its end (see `EventHandler`)."""
        self.envelope_start(element, path)
        return False

    def end(self, element: etree._Element, path: list[str]) -> None:
        """An element's end tag: its text is there; its children are gone unless start kept
        them all."""

    def envelope_start(self, element: etree._Element, path: list[str]) -> None:
        """The root and the license block (depth 1 and 2)."""
        depth = len(path)
        if depth == 1:
            self._check_root(element)
        elif depth == 2 and self._root_ok and path[1] == BULK:
            self._check_bulk(element)

    def finish(self) -> None:
        """Called once the whole file was read (not when reading stopped early)."""
        if self._root_ok and self._bulks == 0:
            self.error(
                "missing-license", f"The file has no <{BULK}> element, so it names no license."
            )

    def error(self, code: str, message: str, line: int | None = None, **where: int | None) -> None:
        self.log.add(_problem(Severity.ERROR, code, message, line, where))

    def warning(
        self, code: str, message: str, line: int | None = None, **where: int | None
    ) -> None:
        self.log.add(_problem(Severity.WARNING, code, message, line, where))

    def _check_root(self, root: etree._Element) -> None:
        # Split by hand: lxml's QName refuses names libxml2 let through (e.g. ":").
        namespace, _, local = str(root.tag).rpartition("}")
        if local == ROOT and not namespace:
            self._root_ok = True
            return
        if local == ROOT:
            message = (
                f"The top element <{ROOT}> is in the namespace {namespace.lstrip('{')}; CAPSS "
                "expects it without one: remove the xmlns=... attribute."
            )
        else:
            message = (
                f"The top element is <{local}>, not <{ROOT}>: this is not a CAPSS upload file."
            )
        self.error("wrong-root", message, line_of(root))

    def _check_bulk(self, bulk: etree._Element) -> None:
        self._bulks += 1
        license_number = (bulk.get(LICENSE) or "").strip()
        line = line_of(bulk)
        if not license_number:
            self.error(
                "missing-license",
                f"<{BULK}> has no {LICENSE}: add the store's dealer license, "
                f'e.g. {LICENSE}="000000300".',
                line,
            )
            return
        if not LICENSE_SHAPE.fullmatch(license_number):
            # Checked before the value is used anywhere: it becomes a key, a secret name and a tag.
            self.error(
                "license-format",
                f"{LICENSE} {clip(license_number, 40)!r} is not a dealer license: 1 to 20 letters,"
                ' digits or hyphens, e.g. licenseNumber="000000300".',
                line,
            )
            return
        if self.license_number is None:
            self.license_number = license_number
            if self._expected_license is not None and license_number != self._expected_license:
                self.error(
                    "license-mismatch",
                    f"The file is for license {license_number}, but it would be sent with the "
                    f"CAPSS credentials of license {clip(self._expected_license, 40)}: check the"
                    " file went to the right store's folder.",
                    line,
                )
        elif license_number != self.license_number:
            self.error(
                "multiple-licenses",
                f"The file names a second license, {license_number}, after {self.license_number}: "
                "each file must hold one store's transactions. Split it per license.",
                line,
            )
        else:
            # CAPSS's statistics count "totalBulks": several blocks for one license may be accepted.
            self.warning(
                "repeated-bulk",
                f"The file has more than one <{BULK}> block for license {license_number}; "
                "usually there is one.",
                line,
            )


@dataclass(slots=True)
class _Transaction:
    index: int
    line: int | None
    time: tuple[str, int | None] | None = None
    items: int = 0
    not_on_file: list[str] = field(default_factory=list)


class TransactionRules(EnvelopeRules):
    """A property transaction file (CAPSS bulk upload), as docs/capss-api.md describes its tree.

    Each item and customer is kept whole and read at its end in one walk (most of a file's
    elements are theirs); the rest of the tree arrives element by element."""

    def __init__(
        self, log: ProblemLog, expected_license: str | None, zone: tzinfo | None = None
    ) -> None:
        super().__init__(log, expected_license, zone)
        self._transaction: _Transaction | None = None
        self._latest_allowed = datetime.now(UTC).replace(tzinfo=None) + _FUTURE_GRACE

    def start(self, element: etree._Element, path: list[str]) -> bool:
        depth = len(path)
        if depth <= 2:
            self.envelope_start(element, path)
            return False
        if not self._root_ok:
            return False
        if depth == 3:
            if path[2] == TRANSACTION and path[1] == BULK:
                self.transactions += 1
                self._transaction = _Transaction(self.transactions, line_of(element))
            return False
        transaction = self._transaction
        if transaction is None:
            return False
        if depth == 4:
            # Read (transactionTime, customer) or passed over (store, unknown ones) whole; items
            # may be many, so each is kept on its own.
            return path[3] != "items"
        if depth == 5 and path[4] == "item" and path[3] == "items":
            self.items += 1
            transaction.items += 1
            return True
        return False

    def end(self, element: etree._Element, path: list[str]) -> None:
        # A transaction is open only inside capssUpload/bulkUploadData/propertyTransaction.
        transaction = self._transaction
        if transaction is None:
            return
        depth = len(path)
        if depth == 3:
            self._check_transaction(transaction)
            self._transaction = None
        elif depth == 5:
            if path[4] == "item" and path[3] == "items":
                self._check_item(transaction, element)
        elif depth == 4:
            name = path[3]
            if name == CUSTOMER:
                self._read_customer(transaction, element)
            elif name == "transactionTime" and transaction.time is None:
                transaction.time = ((element.text or "").strip(), line_of(element))

    @staticmethod
    def _read_customer(transaction: _Transaction, customer: etree._Element) -> None:
        for element in customer.iter(etree.Element):
            text = element.text
            if not text or text == ON_FILE or len(element):
                continue
            text = text.strip()
            if text and text.lower() != ON_FILE:
                transaction.not_on_file.append(str(element.tag))

    def finish(self) -> None:
        super().finish()
        if self.license_number is not None and self.transactions == 0:
            self.error(
                "no-transactions",
                f"The file has no <{TRANSACTION}> under <{BULK}>: there is nothing to report.",
            )

    def _check_transaction(self, transaction: _Transaction) -> None:
        where = {"transaction": transaction.index}
        if transaction.time is None:
            self.error(
                "bad-transaction-time",
                "The transaction has no <transactionTime>: add when it happened, "
                "e.g. 2026-11-02T14:30:00.",
                transaction.line,
                **where,
            )
        else:
            when = self._check_time(*transaction.time, transaction.index)
            if when is not None:
                self.days.add(when, transaction.items)
        if transaction.items == 0:
            self.error(
                "no-items",
                "The transaction has no <item> under <items>: each transaction reports at least "
                "one item.",
                transaction.line,
                **where,
            )
        if transaction.not_on_file:
            self.customer_data += 1
            # Names only: the values are a customer's data (docs/design.md, personal data).
            fields = ", ".join(dict.fromkeys(transaction.not_on_file))
            self.warning(
                "customer-not-on-file",
                f"Customer fields hold data ({fields}): since SB 1317 the seller's identity is no "
                f'longer sent to CAPSS and each customer field should read "{ON_FILE}".',
                transaction.line,
                **where,
            )

    def _check_time(self, text: str, line: int | None, index: int) -> datetime | None:
        """The transaction's time: as written, with its zone when it carries one."""
        match = _TIME.fullmatch(text)
        when = None
        if match:
            year, month, day, hour, minute, second = map(int, match.groups()[:6])
            micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
            try:
                when = datetime(year, month, day, hour, minute, second, micro)
            except ValueError:
                when = None
        if when is None:
            self.error(
                "bad-transaction-time",
                f"transactionTime {text!r} is not a date and time CAPSS can read: write it like "
                "2026-11-02T14:30:00 (store's local time).",
                line,
                transaction=index,
            )
            return None
        if match and match.group(8):
            self.warning(
                "transaction-time-zone",
                f"transactionTime {text!r} carries a time zone; CAPSS expects the store's local "
                "time without one.",
                line,
                transaction=index,
            )
        if when > self._latest_allowed:
            self.warning(
                "future-transaction-time",
                f"transactionTime {text!r} is in the future: check the till's clock.",
                line,
                transaction=index,
            )
        if self.first_transaction_at is None or when < self.first_transaction_at:
            self.first_transaction_at = when
        if self.last_transaction_at is None or when > self.last_transaction_at:
            self.last_transaction_at = when
        return when.replace(tzinfo=_zone(match.group(8))) if match and match.group(8) else when

    def _check_item(self, transaction: _Transaction, item: etree._Element) -> None:
        fields: dict[str, tuple[str, etree._Element | None]] = {}
        filled = 0
        for child in item.iterchildren(*ESSENTIAL_ITEM_FIELDS):
            name = child.tag
            if name not in fields:  # the first of each counts
                text = (child.text or "").strip()
                fields[name] = (text, child)
                filled += bool(text)
        if filled < len(ESSENTIAL_ITEM_FIELDS):  # the usual item has all: no lookup name by name
            where = _item_at(transaction)
            for name in ESSENTIAL_ITEM_FIELDS:
                if not fields.get(name, _ABSENT)[0]:
                    self.error(
                        "missing-item-field",
                        f"The item has no {name}: every item needs "
                        f"{', '.join(ESSENTIAL_ITEM_FIELDS)}.",
                        line_of(item),
                        **where,
                    )
        kind, element = fields.get("type", _ABSENT)
        if kind and element is not None and kind.upper() not in KNOWN_ITEM_TYPES:
            self.warning(
                "unknown-item-type",
                f"Item type {kind!r} is not one CAPSS is known to take "
                f"({', '.join(sorted(KNOWN_ITEM_TYPES))}); it is sent anyway.",
                line_of(element),
                **_item_at(transaction),
            )
        amount, element = fields.get("amount", _ABSENT)
        if amount and element is not None and not _PLAIN_AMOUNT.fullmatch(amount):
            self._check_amount(amount, line_of(element), _item_at(transaction))

    def _check_amount(self, amount: str, line: int | None, where: dict[str, int]) -> None:
        match = _AMOUNT.fullmatch(amount)
        if match is None:
            self.error(
                "bad-amount",
                f"amount {amount!r} is not a number: write it like 713.00, with no currency sign "
                "or thousands separator.",
                line,
                **where,
            )
        elif amount.startswith("-"):
            self.error("bad-amount", f"amount {amount} is negative.", line, **where)
        elif len(match.group(1) or match.group(2) or "") > 2:
            self.warning(
                "amount-precision",
                f"amount {amount} has more than 2 decimal places; CAPSS may round or refuse it.",
                line,
                **where,
            )


class ItemUpdateRules(EnvelopeRules):
    """An item update file. Its official format is unknown, so this class is the one place to add
    its real rules once known; until then the file must be safe, well-formed XML with the CAPSS
    root and one license, and the report says what could not be checked."""

    def start(self, element: etree._Element, path: list[str]) -> bool:
        self.envelope_start(element, path)
        if not self._root_ok or len(path) == 1:
            return False
        if path[-1] == TRANSACTION:
            self.transactions += 1
        elif path[-1] == "item":
            self.items += 1
        return False

    def finish(self) -> None:
        super().finish()
        self.warning(
            "unchecked-format",
            "The official format of item update files is not known to the bridge: only the XML's "
            "safety, the root element and the license were checked.",
        )


def _zone(text: str) -> tzinfo | None:
    """`Z`, `+HH:MM` or `+HHMM` as a fixed offset; None for one of a day or more (no zone has
    it: the date is taken as written)."""
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    try:
        return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    except ValueError:
        return None


def _item_at(transaction: _Transaction) -> dict[str, int]:
    """Where the transaction's latest item is, for a problem found in it."""
    return {"transaction": transaction.index, "item": transaction.items}


def _problem(
    severity: Severity, code: str, message: str, line: int | None, where: dict[str, int | None]
) -> Problem:
    return Problem(
        severity, code, message, line, transaction=where.get("transaction"), item=where.get("item")
    )
