"""S3 event notifications as S3 sends them: moto 5.2 leaves out `versionId`, `sequencer`,
`userIdentity` and `requestParameters`.

The bridge keys every record on the object version, so a notification without its
version would make two drops of the same key look like one event delivered twice; and it
sends a file only for an uploader the register allows, whom it reads from the event's
`userIdentity.principalId`. moto does not know who made a request, so the stack says it:
`LOCAL_UPLOADER` (registered chain-wide when the stack starts) unless `uploading_as` names
another.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOCAL_UPLOADER = "AWS:AIDALOCALCHAINEXPORT"
"""An IAM user's principal id, as the chain's own export job would upload."""
LOCAL_ADDRESS = "127.0.0.1"
_sequence = itertools.count(1)
_uploader: contextvars.ContextVar[tuple[str | None, str]] = contextvars.ContextVar(
    "uploader", default=(LOCAL_UPLOADER, LOCAL_ADDRESS)
)


@contextmanager
def uploading_as(principal: str | None, address: str = LOCAL_ADDRESS) -> Iterator[None]:
    """S3 events of the objects put in this block name this principal (None: no identity)."""
    token = _uploader.set((principal, address))
    try:
        yield
    finally:
        _uploader.reset(token)


@contextmanager
def versioned_notifications() -> Iterator[None]:
    from moto.s3 import notifications  # noqa: PLC0415

    original = notifications._get_s3_event

    def get_s3_event(
        event_name: str, bucket: Any, key: Any, notification_id: str
    ) -> dict[str, list[dict[str, Any]]]:
        event = original(event_name, bucket, key, notification_id)
        principal, address = _uploader.get()
        for record in event["Records"]:
            obj = record["s3"]["object"]
            if getattr(bucket, "is_versioned", False) and key.version_id:
                obj["versionId"] = key.version_id
            obj["sequencer"] = f"{next(_sequence):016X}"
            if principal is not None:
                record["userIdentity"] = {"principalId": principal}
            record["requestParameters"] = {"sourceIPAddress": address}
        return event

    notifications._get_s3_event = get_s3_event
    try:
        yield
    finally:
        notifications._get_s3_event = original
