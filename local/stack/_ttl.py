"""DynamoDB's Time to Live, which moto configures but never applies.

DynamoDB deletes an item some time (usually within days) after the epoch second in its TTL
attribute has passed; an attribute that is not a Number, or a table whose TTL is off, is left
alone. The local stack applies it when asked, at the stack clock's time, so a test can travel
past a record's expiry and see it gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def sweep(dynamodb: Any, tables: list[str], now: datetime) -> int:
    """Deletes every expired item of the tables whose TTL is enabled; how many were deleted."""
    deleted = 0
    cutoff = now.timestamp()
    for table in tables:
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") != "ENABLED":
            continue
        attribute = ttl["AttributeName"]
        keys = [
            k["AttributeName"]
            for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        ]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                value = item.get(attribute, {}).get("N")
                if value is not None and float(value) < cutoff:
                    dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})
                    deleted += 1
    return deleted
