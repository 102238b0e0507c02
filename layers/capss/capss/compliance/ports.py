"""What the compliance room needs from the world beyond the file records: the register.

The records themselves are read through `capss.pipeline.ports.FileHistory`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from capss.compliance.stores import ExpectedStore


class StoreRegister(Protocol):
    """The expected stores, and the monitor's record of each check it ran."""

    def stores(self) -> list[ExpectedStore]:
        """Every store ever registered, removed ones with their last day."""
        ...

    def put_store(self, store: ExpectedStore) -> None: ...

    def remove_store(self, license_number: str, last_day: date) -> bool:
        """Marks `last_day` as the store's last (the entry stays, for past reports); False
        when no such store was registered."""
        ...

    def record_quiet(self, license_number: str, day: date, source: str) -> None:
        """The store had nothing to report on `day`; `source` says who said so."""
        ...

    def quiet_days(self, since: date) -> set[tuple[str, date]]:
        """(license, day) of every quiet day from `since` on."""
        ...

    def get_check(self, check_id: str) -> dict[str, Any] | None: ...

    def put_check(self, check_id: str, summary: dict[str, Any]) -> None: ...


class PageShelf(Protocol):
    """Where the monthly page is kept for ops to open."""

    def put_page(self, key: str, html: str) -> str:
        """Writes the page under `key`; its location (s3://bucket/key)."""
        ...
