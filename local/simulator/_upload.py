"""Reading an upload as CAPSS would: the multipart form, then the XML file inside it."""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass

from lxml import etree

ERROR_MARK = "[sim:error]"
FAIL_MARK = "[sim:fail]"
REJECT_MARK = "[sim:reject]"
QUOTE_MARK = "[sim:quote]"
"""In an item's description: CAPSS refuses the item, quoting its transaction's customer fields
back in the message (whether the real CAPSS ever quotes field values is unknown)."""


class UploadError(ValueError):
    """What CAPSS answers 400 for; the message goes into the response body."""


@dataclass(frozen=True)
class FilePart:
    field: str
    filename: str
    data: bytes


@dataclass(frozen=True)
class Item:
    transaction: int  # 1-based position of its transaction; 0 for an item-update file's items
    position: int  # 1-based position within its transaction (or the file)
    loan_buy_number: str
    key: tuple[str, ...]
    error: bool
    fail: bool
    quote: str = ""
    """The customer fields' text CAPSS's message about this item repeats (QUOTE_MARK)."""


@dataclass(frozen=True)
class UploadFile:
    license_number: str
    rejected: bool
    transactions: int
    items: tuple[Item, ...]


def file_part(content_type: str, body: bytes) -> FilePart | None:
    """The first part of a multipart/form-data body that carries a file, or None."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadError("Current request is not a multipart request")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise UploadError("Failed to parse multipart servlet request")
    for part in message.iter_parts():
        field = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        if isinstance(field, str) and filename is not None:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            return FilePart(field=field, filename=filename, data=data)
    return None


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
)


_ITEMS = ".//*[local-name()='item']"


def _elements(node: etree._Element, path: str) -> list[etree._Element]:
    found = node.xpath(path)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def _text(element: etree._Element, name: str) -> str:
    found = element.xpath(f"string(*[local-name()='{name}'])")
    return str(found).strip()


def read_file(data: bytes, filename: str) -> UploadFile:
    """Counts transactions and items, reads the license and the simulator's markers."""
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise UploadError(f"File {filename} is not a valid XML document: {exc.msg}") from None
    bulk = _elements(root, "//*[local-name()='bulkUploadData'][@licenseNumber]")
    if not bulk:
        raise UploadError(f"File {filename} has no bulkUploadData licenseNumber")
    raw_license = str(bulk[0].get("licenseNumber"))
    transactions = _elements(root, "//*[local-name()='propertyTransaction']")
    items: list[Item] = []
    for t_index, transaction in enumerate(transactions, start=1):
        when = _text(transaction, "transactionTime")
        texts = transaction.xpath("*[local-name()='customer']//text()")
        customer = " ".join(
            str(text).strip()
            for text in (texts if isinstance(texts, list) else [])
            if isinstance(text, str) and text.strip()
        )
        for i_index, item in enumerate(_elements(transaction, _ITEMS), start=1):
            items.append(_item(item, t_index, i_index, (when,), customer))
    if not transactions:
        # An item-update file (its format is unknown): items directly under the data.
        for i_index, item in enumerate(_elements(root, _ITEMS), start=1):
            items.append(_item(item, 0, i_index, ()))
    return UploadFile(
        license_number=raw_license.replace(REJECT_MARK, "").strip(),
        rejected=REJECT_MARK in raw_license,
        transactions=len(transactions),
        items=tuple(items),
    )


def _item(
    item: etree._Element,
    transaction: int,
    position: int,
    context: tuple[str, ...],
    customer: str = "",
) -> Item:
    description = _text(item, "description")
    # What makes two reports the same property: the dealer's ticket and the article's identity.
    key = (
        *context,
        _text(item, "loanBuyNumber"),
        _text(item, "article"),
        _text(item, "brand"),
        _text(item, "model"),
        _text(item, "serialNumber"),
        description,
    )
    return Item(
        transaction=transaction,
        position=position,
        loan_buy_number=_text(item, "loanBuyNumber"),
        key=key,
        error=ERROR_MARK in description or QUOTE_MARK in description,
        fail=FAIL_MARK in description,
        quote=customer if QUOTE_MARK in description else "",
    )
