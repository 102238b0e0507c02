"""One typed status result from the status bodies of both CAPSS generations (docs/capss-api.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from capss.bounds import WORD_LIMIT, clip
from capss.client.api import Api
from capss.errors import ProtocolError
from capss.kinds import FileKind
from capss.outcome import Counts, Outcome


@dataclass(frozen=True, slots=True)
class StatusResult:
    outcome: Outcome
    counts: Counts
    messages: tuple[str, ...]
    completed_at: datetime | None
    """CAPSS's own LocalDateTime, without a zone (CAPSS runs on Pacific time)."""
    raw: dict[str, Any] = field(repr=False)
    http_status: int
    retry_after: float | None = None
    unknown_word: str | None = None
    """CAPSS's status word when the bridge does not know it (bounded): counted as still
    processing, and a person is told early (`capss.pipeline.poll`)."""


_JOB_FIELDS = frozenset(
    {
        # current
        "isUploaded",
        "jobStatisticsMessageList",
        "hasErrors",
        "hasDuplicates",
        "savedCount",
        "errorMessages",
        "successMessages",
        "fileName",
        "notifyDupsOrErrors",
        # legacy
        "statistics",
        "stores",
        "licenseNumber",
        "submission",
    }
)
"""Keys only a job's own status answer carries; a generic error body (Spring Boot's
timestamp, status, error, path, message) has none of them."""

_COMPLETE = "complete"
_FAILED_WORDS = frozenset({"failed", "failure", "error", "rejected"})
_RUNNING_WORDS = frozenset({"new", "processing"})
"""Words CAPSS (legacy `new`) and the simulator (`processing`) give a job still running."""
_KNOWN_WORDS = _RUNNING_WORDS | _FAILED_WORDS | {_COMPLETE}

# "Total Transations" is CAPSS's own spelling; the correct one is accepted too.
_STATISTIC_LABELS = {
    "total transations": "transactions",
    "total transactions": "transactions",
    "total items": "items",
    "saved items": "saved",
    "error items": "errors",
    "duplicate items": "duplicates",
}
_STATISTIC = re.compile(r"^\s*(?P<label>[^:]+?)\s*:\s*(?P<value>\d+)\s*$")

_LEGACY_STATISTICS = {
    "totalTransactions": "transactions",
    "totalItems": "items",
    "savedItems": "saved",
    "errorItems": "errors",
    "duplicateItems": "duplicates",
}


def describes_job(body: Mapping[str, Any] | None) -> bool:
    """The answer is about the job (so its verdict counts), not a server's error page."""
    return body is not None and not _JOB_FIELDS.isdisjoint(body)


def normalise_status(
    body: Mapping[str, Any], http_status: int, kind: FileKind, api: Api
) -> StatusResult:
    """What a status answer means. `api` is a hint: the body's own shape decides how it is read."""
    if not isinstance(body, Mapping) or not ("status" in body or "statusMessage" in body):
        excerpt = _excerpt(body)
        raise ProtocolError(f"status answer without a status: {excerpt}", quoted=excerpt)
    current = (
        "isUploaded" in body
        or "jobStatisticsMessageList" in body
        or (api is Api.CURRENT and not isinstance(body.get("status"), str))
    )
    if current:
        word, counts, messages, issues, uploaded = _read_current(body, kind)
    else:
        word, counts, messages, issues, uploaded = _read_legacy(body)
    outcome = _outcome(http_status, word, issues=issues, uploaded=uploaded)
    known = http_status == 202 or word.strip().lower() in _KNOWN_WORDS
    return StatusResult(
        outcome=outcome,
        counts=counts,
        messages=messages,
        completed_at=_local_datetime(body.get("completedAt")),
        raw=dict(body),
        http_status=http_status,
        unknown_word=None if known or outcome is not Outcome.PROCESSING else clip(word, WORD_LIMIT),
    )


_Reading = tuple[str, Counts, tuple[str, ...], bool, bool]


def _read_current(body: Mapping[str, Any], kind: FileKind) -> _Reading:
    statistics: dict[str, int] = {}
    for line in _list(body.get("jobStatisticsMessageList")):
        match = _STATISTIC.match(str(line))
        if match and (name := _STATISTIC_LABELS.get(match["label"].lower())):
            statistics[name] = int(match["value"])
    saved = statistics.get("saved")
    if saved is None and kind is FileKind.ITEM_UPDATES:
        # An item update's records are items: savedCount is the saved items.
        saved = _int(body.get("savedCount"))
    duplicates = statistics.get("duplicates")
    if duplicates is None and body.get("hasDuplicates") is False:
        duplicates = 0  # the current API gives no count, but its flag says there were none
    counts = Counts(
        transactions=statistics.get("transactions"),
        items=statistics.get("items"),
        saved=saved,
        errors=statistics.get("errors"),
        duplicates=duplicates,
    )
    messages = tuple(str(m) for m in _list(body.get("errorMessages"))) + tuple(
        str(m) for m in _list(body.get("successMessages"))
    )
    issues = (
        body.get("hasErrors") is True
        or body.get("hasDuplicates") is True
        or bool(counts.errors)
        or bool(counts.duplicates)
    )
    word = str(body.get("statusMessage") or "")
    if isinstance(body.get("status"), int) and body["status"] >= 500:
        word = "failed"
    return word, counts, messages, issues, body.get("isUploaded") is not False


def _read_legacy(body: Mapping[str, Any]) -> _Reading:
    statistics = body.get("statistics")
    statistics = statistics if isinstance(statistics, Mapping) else {}
    counts = Counts(**{name: _int(statistics.get(key)) for key, name in _LEGACY_STATISTICS.items()})
    errors: list[str] = []
    notes: list[str] = []
    for store in _list(body.get("stores")):
        if not isinstance(store, Mapping):
            continue
        errors.extend(_text(error) for error in _list(store.get("errors")))
        if store.get("statusMessage"):
            notes.append(str(store["statusMessage"]))
    if body.get("statusMessage"):
        notes.append(str(body["statusMessage"]))
    issues = bool(errors) or bool(counts.errors) or bool(counts.duplicates)
    return str(body.get("status") or ""), counts, tuple(errors + notes), issues, True


def _outcome(http_status: int, word: str, *, issues: bool, uploaded: bool) -> Outcome:
    if http_status >= 500:
        return Outcome.FAILED
    if http_status == 202:
        return Outcome.PROCESSING
    word = word.strip().lower()
    if word in _FAILED_WORDS:
        return Outcome.FAILED
    if word != _COMPLETE:
        # Unknown words mean still running (a person is told early, `unknown_word`): the
        # poller's budget decides when to give up.
        return Outcome.PROCESSING
    if not uploaded:
        return Outcome.FAILED
    return Outcome.COMPLETE_WITH_ISSUES if issues else Outcome.COMPLETE


def _local_datetime(value: object) -> datetime | None:
    """Java's LocalDateTime as Jackson writes it: [y, m, d, h, min(, s(, nanos))] or ISO text."""
    if isinstance(value, list) and 3 <= len(value) <= 7 and all(_int(v) is not None for v in value):
        year, month, day, hour, minute, second, nanos = [int(v) for v in value] + [0] * (
            7 - len(value)
        )
        try:
            # CAPSS gives local time without a zone.
            return datetime(year, month, day, hour, minute, second, nanos // 1000)
        except ValueError:
            return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _excerpt(value: object, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
