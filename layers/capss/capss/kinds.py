"""The two kinds of file CAPSS takes; the value is also the S3 key segment that routes a file."""

from __future__ import annotations

import enum


class FileKind(enum.StrEnum):
    TRANSACTIONS = "transactions"
    """Property transactions: CAPSS bulk upload (multipart field bulkUploadFile)."""
    ITEM_UPDATES = "item-updates"
    """Corrections to items already reported: CAPSS item update (multipart field itemUpdateFile)."""


SKIP_DUPLICATES = "skipDuplicates"
"""The bridge's own onDup choice: skip duplicates, spelled as the file's API generation is
known to accept it (the client sends `submitWithoutDup` to legacy, `submitWithoutDups` to
current). Never sent to CAPSS as such."""

ON_DUP_CHOICES = (
    "cancel",
    "submitDups",
    SKIP_DUPLICATES,
    "submitWithoutDup",
    "submitWithoutDups",
)
"""CAPSS's spelling of "skip duplicates" differs between sources (the DOJ's document:
submitWithoutDup; the current generation's only public client: submitWithoutDups).
skipDuplicates sends the one each generation is known to accept; the two spellings force one,
so an operator can switch without a code change."""
SKIP_CHOICES = frozenset({SKIP_DUPLICATES, "submitWithoutDup", "submitWithoutDups"})
ON_ERROR_CHOICES = ("cancel", "submit")


class CustomerFields(enum.StrEnum):
    """What becomes of a transactions file whose customer fields hold the seller's data
    (the `CustomerFields` parameter; `capss.pipeline.onfile`)."""

    ON_FILE = "on-file"
    """Send a copy whose customer fields read "on file", as SB 1317 has a dealer's report."""
    REJECT = "reject"
    """Send nothing: the file is rejected and ops alerted."""
    SEND = "send"
    """Send it as it is: the chain's explicit choice."""
