"""S3 event notifications as S3 sends them: moto 5.2 leaves out `versionId` and `sequencer`.

The bridge keys every record on the object version, so a notification without its
version would make two drops of the same key look like one event delivered twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_sequence = itertools.count(1)


@contextmanager
def versioned_notifications() -> Iterator[None]:
    from moto.s3 import notifications  # noqa: PLC0415

    original = notifications._get_s3_event

    def get_s3_event(
        event_name: str, bucket: Any, key: Any, notification_id: str
    ) -> dict[str, list[dict[str, Any]]]:
        event = original(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            obj = record["s3"]["object"]
            if getattr(bucket, "is_versioned", False) and key.version_id:
                obj["versionId"] = key.version_id
            obj["sequencer"] = f"{next(_sequence):016X}"
        return event

    notifications._get_s3_event = get_s3_event
    try:
        yield
    finally:
        notifications._get_s3_event = original
