"""`StoreRegister` on its own small table: the expected stores and the monitor's checks."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from capss.aws.dynamodb import ClientTable, all_pages
from capss.compliance.stores import STORE_PREFIX, ExpectedStore
from capss.pipeline.records import plain_value


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

    def remove_store(self, license_number: str) -> bool:
        answer = self._table.delete_item(
            Key={"pk": STORE_PREFIX + license_number}, ReturnValues="ALL_OLD"
        )
        return "Attributes" in answer

    def get_check(self, check_id: str) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": check_id}, ConsistentRead=True).get("Item")
        return dict(plain_value(item)) if item else None

    def put_check(self, check_id: str, summary: dict[str, Any]) -> None:
        self._table.put_item(Item={"pk": check_id, **summary})
