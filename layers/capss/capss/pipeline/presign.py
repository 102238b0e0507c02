"""Presigned uploads, for a POS that holds no AWS credentials.

The endpoint (API Gateway with API keys, off by default) hands out a short-lived URL that
can PUT one object, at one key inside the layout the bridge reads; any other key is refused
before anything is signed. Each API key uploads only for the licenses the register binds it
to (`capss stores key`): a key bound to none, a key naming no license and another store's
license are refused, so no caller files a report under another dealer's license. The
license and the key's id are signed into the URL as object metadata, which the uploader must
send unchanged. The URL carries a signature: it is returned, never logged; the API key's
value never reaches this code, its id is logged by its last characters only.
"""

from __future__ import annotations

import json
import re
from typing import Any

from capss.bounds import clip
from capss.errors import InputError
from capss.pipeline.files import quiet_marker, route
from capss.pipeline.ports import UploadKeys, UploadPresigner
from capss.pipeline.settings import PresignSettings
from capss.telemetry import logger

MAX_KEY_BYTES = 1024
"""S3's own limit."""
_UNSAFE_SEGMENTS = frozenset({"", ".", ".."})
METADATA_LICENSE = "capss-license"
METADATA_API_KEY_ID = "capss-api-key-id"
"""The object metadata a presigned upload carries: which license and which API key asked."""
API_KEY_ID = re.compile(r"^[a-z0-9]{10}$")
"""API Gateway's key ids: ten lowercase letters and digits. A key's value is 20 characters or
more, so one given by mistake is refused rather than stored."""
LICENSES_SHOWN = 5
LICENSE_SHOWN_CHARS = 40
ID_TAIL = 4


def api_key_id(text: str) -> str:
    """An API key's id as ops gives it; refused when it cannot be one (a key's value)."""
    if not API_KEY_ID.match(text.strip()):
        raise InputError(
            "an API key id is ten lowercase letters and digits"
            " (`aws apigateway get-api-keys --query 'items[].[id,name]'`); never give the key's"
            " value"
        )
    return text.strip()


def caller_key_id(event: dict[str, Any]) -> str | None:
    """The id of the API key API Gateway checked (`requestContext.identity.apiKeyId`)."""
    context = event.get("requestContext")
    identity = context.get("identity") if isinstance(context, dict) else None
    found = identity.get("apiKeyId") if isinstance(identity, dict) else None
    return found if isinstance(found, str) and API_KEY_ID.match(found) else None


def presign_upload(
    body: str | None,
    key_id: str | None,
    presigner: UploadPresigner,
    keys: UploadKeys,
    settings: PresignSettings,
) -> dict[str, Any]:
    """An API Gateway proxy answer: 200 with the URL, 400 for a key outside the layout, 403
    for a caller whose API key may not upload there; each refusal says why."""
    tail = key_id[-ID_TAIL:] if key_id else None
    if key_id is None:
        return _refused(403, "send the API key your store was given (x-api-key header)", tail)
    licenses = keys.licenses_for_key(key_id)
    if not licenses:
        return _refused(
            403, "this API key uploads for no license yet: ask the chain's ops to bind it", tail
        )
    try:
        request = json.loads(body or "")
    except ValueError:
        return _refused(400, 'send JSON: {"key": "incoming/<kind>/<license>/<name>"}', tail)
    key = request.get("key") if isinstance(request, dict) else None
    problem = _key_problem(key)
    if problem is not None:
        return _refused(400, problem, tail)
    assert isinstance(key, str)
    place = route(key)
    assert place is not None
    license_number = place.license_number
    if license_number not in licenses:
        own = f"this API key uploads for {_listed(licenses)}"
        if license_number is None:
            why = f"name the license in the key, incoming/<kind>/<license>/<name>: {own}"
        else:
            why = f"{own}, not for license {clip(license_number, LICENSE_SHOWN_CHARS)}"
        return _refused(403, why, tail)
    metadata = {METADATA_LICENSE: license_number, METADATA_API_KEY_ID: key_id}
    url = presigner.presign_put(settings.bucket_name, key, settings.upload_seconds, metadata)
    logger.info("presigned upload issued", extra={"key": key, "api_key_id_tail": tail})
    return _answer(
        200,
        {
            "url": url,
            "method": "PUT",
            "key": key,
            "expires_in": settings.upload_seconds,
            "headers": {f"x-amz-meta-{name}": value for name, value in metadata.items()},
        },
    )


def _listed(licenses: frozenset[str]) -> str:
    shown = sorted(licenses)[:LICENSES_SHOWN]
    more = len(licenses) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


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


def _refused(status: int, reason: str, tail: str | None) -> dict[str, Any]:
    logger.info(
        "presigned upload refused",
        extra={"status": status, "reason": reason, "api_key_id_tail": tail},
    )
    return _answer(status, {"error": reason})


def _answer(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(payload),
    }
