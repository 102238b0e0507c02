"""`StoreRegister` on its own small table: the expected stores, the monitor's checks, and
which licenses each API key of the upload endpoint uploads for."""

from __future__ import annotations

from datetime import date
from typing import Any

from boto3.dynamodb.conditions import Attr

from capss.aws.dynamodb import ClientTable, all_pages
from capss.bounds import clip
from capss.compliance.stores import (
    CHAIN_UPLOADERS,
    QUIET_PREFIX,
    STORE_PREFIX,
    ExpectedStore,
    check_uploaders,
    quiet_pk,
)
from capss.pipeline.records import iso, plain_value, utcnow
from capss.pipeline.uploaders import Allowed, patterns

API_KEY_PREFIX = "APIKEY#"


class DynamoStoreRegister:
    def __init__(self, table: Any) -> None:
        self._table = table

    @classmethod
    def for_table(cls, table_name: str, session: Any) -> DynamoStoreRegister:
        return cls(ClientTable(session.client("dynamodb"), table_name))

    def stores(self) -> list[ExpectedStore]:
        items = all_pages(self._table.scan, FilterExpression=Attr("pk").begins_with(STORE_PREFIX))
        return sorted((ExpectedStore.from_item(item) for item in items), key=lambda s: s.license)

    def put_store(self, store: ExpectedStore) -> None:
        self._table.put_item(Item=store.to_item())

    def remove_store(self, license_number: str, last_day: date) -> bool:
        item = self._table.get_item(
            Key={"pk": STORE_PREFIX + license_number}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return False
        store = ExpectedStore.from_item(plain_value(item))
        first = store.first_day
        # A store removed before its first day was never expected: its window closes empty.
        last = last_day if first is None or last_day >= first else first
        self._table.update_item(
            Key={"pk": STORE_PREFIX + license_number},
            UpdateExpression="SET last_day = :last",
            ExpressionAttributeValues={":last": last.isoformat()},
        )
        return True

    def zone(self, license_number: str) -> str | None:
        item = self._table.get_item(Key={"pk": STORE_PREFIX + license_number}).get("Item")
        return str(item.get("timezone") or "") or None if item else None

    def record_quiet(self, license_number: str, day: date, source: str) -> None:
        self._table.put_item(
            Item={
                "pk": quiet_pk(license_number, day),
                "license": license_number,
                "day": day.isoformat(),
                "source": clip(source, 300),
                "recorded_at": iso(utcnow()),
            }
        )

    def quiet_days(self, since: date) -> set[tuple[str, date]]:
        items = all_pages(
            self._table.scan,
            FilterExpression=Attr("pk").begins_with(QUIET_PREFIX)
            & Attr("day").gte(since.isoformat()),
        )
        return {(str(item["license"]), date.fromisoformat(str(item["day"]))) for item in items}

    def allowed(self, license_number: str | None) -> Allowed:
        """Who may file for the license, read consistently: a change applies to the next file."""
        store = self._get(STORE_PREFIX + license_number) if license_number else None
        return Allowed(
            store=patterns((store or {}).get("uploaders") or []),
            chain=self.chain_uploaders(),
        )

    def chain_uploaders(self) -> frozenset[str]:
        return patterns((self._get(CHAIN_UPLOADERS) or {}).get("uploaders") or [])

    def put_chain_uploaders(self, uploaders: frozenset[str]) -> None:
        check_uploaders(uploaders)
        if uploaders:
            self._table.put_item(Item={"pk": CHAIN_UPLOADERS, "uploaders": sorted(uploaders)})
        else:
            self._table.delete_item(Key={"pk": CHAIN_UPLOADERS})

    def _get(self, pk: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": pk}, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def get_check(self, check_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": check_id}, ConsistentRead=True).get("Item")
        return dict(plain_value(item)) if item else None

    def put_check(self, check_id: str, summary: dict[str, Any]) -> None:
        self._table.put_item(Item={"pk": check_id, **summary})


class DynamoUploadKeys:
    """`UploadKeys` beside the stores: one item per API key, the licenses it uploads for."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def licenses_for_key(self, key_id: str) -> frozenset[str]:
        # Consistent: a binding taken away stops the next request, not a later one.
        item = self._table.get_item(Key={"pk": API_KEY_PREFIX + key_id}, ConsistentRead=True)
        return frozenset(item.get("Item", {}).get("licenses") or ())

    def bindings(self) -> dict[str, frozenset[str]]:
        items = all_pages(self._table.scan, FilterExpression=Attr("pk").begins_with(API_KEY_PREFIX))
        return {
            str(item["pk"]).removeprefix(API_KEY_PREFIX): frozenset(item.get("licenses") or ())
            for item in items
        }

    def bind(self, key_id: str, licenses: frozenset[str]) -> None:
        """The key uploads for these licenses as well as those it had."""
        self._table.update_item(
            Key={"pk": API_KEY_PREFIX + key_id},
            UpdateExpression="ADD licenses :licenses",
            ExpressionAttributeValues={":licenses": set(licenses)},
        )

    def unbind(self, key_id: str) -> bool:
        """False when the key was bound to nothing."""
        answer = self._table.delete_item(
            Key={"pk": API_KEY_PREFIX + key_id}, ReturnValues="ALL_OLD"
        )
        return "Attributes" in answer

    def forget_license(self, license_number: str) -> None:
        """No key uploads for the license any more (its store left the register)."""
        for key_id, licenses in self.bindings().items():
            if license_number in licenses:
                self._table.update_item(
                    Key={"pk": API_KEY_PREFIX + key_id},
                    UpdateExpression="DELETE licenses :licenses",
                    ExpressionAttributeValues={":licenses": {license_number}},
                )
