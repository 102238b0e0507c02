"""The one vocabulary for what became of a file: records, JSON output and alerts all use it."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass


class Outcome(enum.StrEnum):
    REJECTED = "rejected"
    """The file failed validation; nothing was sent to CAPSS."""
    PROCESSING = "processing"
    """CAPSS accepted it and has not finished."""
    COMPLETE = "complete"
    """CAPSS finished with no error items and no duplicates."""
    COMPLETE_WITH_ISSUES = "complete_with_issues"
    """CAPSS finished and reported error items or duplicates."""
    FAILED = "failed"
    """CAPSS refused it (400/500) or a step failed for good."""
    TIMED_OUT = "timed_out"
    """CAPSS did not finish within the poll budget."""

    @property
    def is_final(self) -> bool:
        return self is not Outcome.PROCESSING

    @property
    def needs_person(self) -> bool:
        return self not in (Outcome.PROCESSING, Outcome.COMPLETE)


@dataclass(frozen=True, slots=True)
class Counts:
    """What CAPSS counted. A count CAPSS did not give is None, never 0."""

    transactions: int | None = None
    items: int | None = None
    saved: int | None = None
    errors: int | None = None
    duplicates: int | None = None

    def to_json(self) -> dict[str, int | None]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, int | None] | None) -> Counts:
        data = data or {}
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class FileResult:
    """What became of one file, in the documented JSON shape (`capss submit --json`, local runs)."""

    file: str
    outcome: Outcome
    submission_id: str | None = None
    status_url: str | None = None
    counts: Counts = Counts()
    messages: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "outcome": self.outcome.value,
            "submission_id": self.submission_id,
            "status_url": self.status_url,
            "counts": self.counts.to_json(),
            "messages": list(self.messages),
        }
