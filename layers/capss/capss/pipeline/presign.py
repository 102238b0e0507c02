"""Presigned uploads, for a POS that holds no AWS credentials.

The endpoint (API Gateway with API keys, off by default) hands out a short-lived URL that
can PUT one object, at one key inside the layout the bridge reads; any other key is refused
before anything is signed. The URL carries a signature: it is returned, never logged.
"""

from __future__ import annotations

import json
from typing import Any

from capss.pipeline.files import quiet_marker, route
from capss.pipeline.ports import UploadPresigner
from capss.pipeline.settings import PresignSettings
from capss.telemetry import logger

MAX_KEY_BYTES = 1024
"""S3's own limit."""
_UNSAFE_SEGMENTS = frozenset({"", ".", ".."})


def presign_upload(
    body: str | None, presigner: UploadPresigner, settings: PresignSettings
) -> dict[str, Any]:
    """An API Gateway proxy answer: 200 with the URL, or 400 saying what is wrong."""
    try:
        request = json.loads(body or "")
    except ValueError:
        return _answer(400, {"error": 'send JSON: {"key": "incoming/<kind>/<license>/<name>"}'})
    key = request.get("key") if isinstance(request, dict) else None
    problem = _key_problem(key)
    if problem is not None:
        logger.info("presigned upload refused", extra={"reason": problem})
        return _answer(400, {"error": problem})
    assert isinstance(key, str)
    url = presigner.presign_put(settings.bucket_name, key, settings.upload_seconds)
    logger.info("presigned upload issued", extra={"key": key})
    return _answer(
        200, {"url": url, "method": "PUT", "key": key, "expires_in": settings.upload_seconds}
    )


def _key_problem(key: Any) -> str | None:
    if not isinstance(key, str) or not key:
        return 'give the object key as {"key": "incoming/<kind>/<license>/<name>"}'
    if len(key.encode("utf-8")) > MAX_KEY_BYTES or any(ord(c) < 32 or c == "\x7f" for c in key):
        return "the key is longer than 1024 bytes or holds control characters"
    if any(segment in _UNSAFE_SEGMENTS for segment in key.split("/")):
        return "the key has an empty, '.' or '..' segment"
    if route(key) is None and quiet_marker(key) is None:
        return (
            "the key is outside the layout: incoming/transactions/<license>/<name>.xml,"
            " incoming/item-updates/<license>/<name>.xml, incoming/csv/<license>/<name>.csv"
            " or incoming/quiet/<license>/<YYYY-MM-DD>"
        )
    return None


def _answer(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(payload),
    }
