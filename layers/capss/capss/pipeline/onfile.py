"""A file whose customer fields hold the seller's identity, which SB 1317 keeps with the dealer.

The stack's `CustomerFields` setting decides, for a transactions file whose validation found
customer data:

- `on-file` (the default): CAPSS is sent a copy whose customer fields read "on file"
  (`capss.intake.onfile`), kept beside the original under `converted/` as a converted CSV
  export is, with the original never changed; the copy is validated before it goes;
- `reject`: the file is `rejected`, nothing sent, and the alert says how to export it;
- `send`: the file goes as it is, the chain's explicit choice.

The record's note (so the alert and the digest) says which was done. Like every problem the
validator finds in a customer field, it names the fields and the transactions, never a value.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import BinaryIO

from capss.intake.onfile import OnFileRefused, write_on_file_copy
from capss.intake.report import ValidationReport
from capss.kinds import CustomerFields
from capss.pipeline.converted import CONVERTED_PREFIX
from capss.pipeline.files import INCOMING_PREFIX, FileRef
from capss.pipeline.ports import ObjectStore
from capss.pipeline.records import FileRecord

METADATA_ON_FILE_FROM = "capss-on-file-from"


def on_file_key(key: str) -> str:
    return f"{CONVERTED_PREFIX}{key.removeprefix(INCOMING_PREFIX)}.on-file.xml"


def problem(code: str, message: str) -> dict[str, object]:
    return {"severity": "error", "code": code, "message": message}


def handle_customer_data(
    ref: FileRef,
    record: FileRecord,
    report: ValidationReport,
    local_copy: BinaryIO,
    *,
    mode: CustomerFields,
    objects: ObjectStore,
    revalidate: Callable[[BinaryIO], ValidationReport],
) -> bool:
    """Applies `mode` to a file whose customer fields hold data; False when it is not to be sent.

    For `on-file`, `local_copy` holds the copy afterwards, and the record's problems say why
    when no copy could be made (the file is then rejected, not sent as it is).
    """
    transactions = f"{report.customer_data} transaction(s)"
    if mode is CustomerFields.SEND:
        record.customer_data = "sent"
        record.notes.append(
            f"Customer fields of {transactions} hold the seller's data: sent to CAPSS as they"
            " are (CustomerFields=send)."
        )
        return True
    if mode is CustomerFields.REJECT:
        record.customer_data = "rejected"
        record.problems.append(
            problem(
                "customer-data",
                f"Customer fields of {transactions} hold the seller's data (the warnings name"
                ' each field): since SB 1317 each must read "on file", and this stack'
                " (CustomerFields=reject) does not send such a file.",
            )
        )
        return False
    with tempfile.TemporaryFile() as copy:
        local_copy.seek(0)
        try:
            fields = write_on_file_copy(local_copy, copy)
        except OnFileRefused as refused:
            record.problems.append(
                problem("customer-data", f"No on-file copy could be made: {refused}.")
            )
            return False
        copy.seek(0)
        checked = revalidate(copy)
        if not checked.ok or checked.customer_data or checked.items != report.items:
            record.problems.append(
                problem(
                    "customer-data",
                    'The copy with customer fields reading "on file" did not come out clean'
                    f" ({checked.customer_data} transaction(s) still hold data, {checked.items}"
                    f" of {report.items} items): the file is not sent. Export it with each"
                    ' customer field reading "on file".',
                )
            )
            return False
        copy.seek(0)
        data = copy.read()
    target = on_file_key(ref.key)
    version = objects.put(
        ref.bucket, target, data, {METADATA_ON_FILE_FROM: f"{ref.key}#{ref.version_id or 'null'}"}
    )
    record.customer_data = "on file"
    record.notes.append(
        f"Customer fields of {transactions} held the seller's data ({fields} fields): CAPSS was"
        f' sent a copy reading "on file" there, s3://{ref.bucket}/{target} (version'
        f" {version or 'null'}); the original is unchanged (CustomerFields=on-file)."
    )
    local_copy.seek(0)
    local_copy.truncate()
    local_copy.write(data)
    local_copy.seek(0)
    return True
