"""Each dealer license's CAPSS API client, kept in Secrets Manager.

One secret per license, named `<prefix><license>` (default `capss/000000300`), holding
JSON: {"client_id": "...", "client_secret": "..."} and, optionally, "api"
("current" | "legacy") and "base_url" to move one license ahead of the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from capss.errors import BadCredentials, NeedsPersonError
from capss.pipeline import advice
from capss.pipeline.values import LicenseCredentials

if TYPE_CHECKING:
    from capss.pipeline.ports import CredentialSource

T = TypeVar("T")


class MissingCredentials(NeedsPersonError):
    """No usable CAPSS client for a license."""


def parse_secret(license_number: str, secret_name: str, value: Any) -> LicenseCredentials:
    """Read a secret's JSON; the message names the secret, never its content."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise MissingCredentials(
            f"secret {secret_name} is not a JSON object",
            hint=advice.secret_shape(secret_name),
        )
    client_id, client_secret = value.get("client_id"), value.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise MissingCredentials(
            f"secret {secret_name} lacks client_id or client_secret",
            hint=advice.secret_shape(secret_name),
        )
    api = value.get("api")
    if api not in (None, "current", "legacy"):
        raise MissingCredentials(
            f"secret {secret_name} has api={api!r}",
            hint=advice.SECRET_API,
        )
    base_url = value.get("base_url")
    return LicenseCredentials(
        license_number=license_number,
        client_id=client_id,
        client_secret=client_secret,
        api=api,
        base_url=base_url.rstrip("/") if isinstance(base_url, str) and base_url else None,
    )


def with_credentials(
    source: CredentialSource, license_number: str, call: Callable[[LicenseCredentials], T]
) -> T:
    """`call` with the license's client; once more with the secret read again when CAPSS
    refuses it.

    A secret rotated in Secrets Manager while CAPSS revokes the old one stays cached for
    minutes: without the re-read every file in flight would fail until the cache expires.
    A 401 means CAPSS took nothing, so the second call is safe; an unchanged secret is not
    tried twice.
    """
    credentials = source.for_license(license_number)
    try:
        return call(credentials)
    except BadCredentials:
        fresh = source.for_license(license_number, stale=credentials)
        if fresh == credentials:
            raise
    return call(fresh)
