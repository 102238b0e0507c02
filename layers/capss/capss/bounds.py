"""Limits on text that comes from a file or from CAPSS before it is stored or sent.

DynamoDB items stop at 400 KB, SNS messages at 256 KB, Step Functions payloads at 256 KB:
a file with thousands of bad items, or CAPSS quoting each of them, must not push a record or
an alert past its limit and so lose the outcome it carries. Counts are always kept whole;
lists keep their first entries and say how many were left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TEXT_LIMIT = 1000
"""Characters of one message, note or problem kept."""
LIST_LIMIT = 50
"""Entries of one list (CAPSS's messages, the file's problems) kept on a record or in an alert."""
WORD_LIMIT = 200
"""Characters of a word from CAPSS (a status word it gave) quoted in a line of an alert."""
ELLIPSIS = "…"


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` cut to `limit` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


_MORE = re.compile(rf"{ELLIPSIS} and (\d+) more")


def more_line(left_out: int) -> str:
    return f"{ELLIPSIS} and {left_out} more"


def clip_list(items: Iterable[str], limit: int = LIST_LIMIT) -> list[str]:
    """The first `limit` entries, each clipped, then "… and K more" when there were more.

    A list bounded before (a record's) keeps its count of what was left out then."""
    kept: list[str] = []
    left_out = 0
    for item in items:
        if earlier := _MORE.fullmatch(item):
            left_out += int(earlier[1])
        elif len(kept) < limit:
            kept.append(clip(item))
        else:
            left_out += 1
    if left_out:
        kept.append(more_line(left_out))
    return kept
