"""Each dealer license's CAPSS API client, kept in Secrets Manager.

One secret per license, named `<prefix><license>` (default `capss/000000300`), holding
JSON: {"client_id": "...", "client_secret": "..."} and, optionally, "api"
("current" | "legacy") and "base_url" to move one license ahead of the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from capss._errors import NeedsPersonError, TransientError

_NEEDS_PERSON_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "DecryptionFailure",
        "InvalidRequestException",  # e.g. the secret is scheduled for deletion
    }
)
"""Secrets Manager answers that retrying will not change; anything else may pass."""

SECRET_CACHE_SECONDS = 300
"""A rotated secret is picked up within five minutes without a redeploy."""


class MissingCredentials(NeedsPersonError):
    """No usable CAPSS client for a license."""


@dataclass(frozen=True, slots=True)
class LicenseCredentials:
    license_number: str
    client_id: str
    client_secret: str = field(repr=False)
    api: str | None = None
    base_url: str | None = None


class CredentialSource(Protocol):
    def for_license(self, license_number: str) -> LicenseCredentials: ...


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
            hint=f'Store {secret_name} as {{"client_id": "...", "client_secret": "..."}}.',
        )
    client_id, client_secret = value.get("client_id"), value.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise MissingCredentials(
            f"secret {secret_name} lacks client_id or client_secret",
            hint=f'Store {secret_name} as {{"client_id": "...", "client_secret": "..."}}.',
        )
    api = value.get("api")
    if api not in (None, "current", "legacy"):
        raise MissingCredentials(
            f"secret {secret_name} has api={api!r}",
            hint='Set "api" to "current" or "legacy", or leave it out.',
        )
    base_url = value.get("base_url")
    return LicenseCredentials(
        license_number=license_number,
        client_id=client_id,
        client_secret=client_secret,
        api=api,
        base_url=base_url.rstrip("/") if isinstance(base_url, str) and base_url else None,
    )


class SecretsManagerCredentials:
    """Credentials from Secrets Manager through Powertools' cached provider."""

    def __init__(self, prefix: str, client: Any) -> None:
        from aws_lambda_powertools.utilities.parameters import (  # noqa: PLC0415
            SecretsProvider,
        )

        self._prefix = prefix
        self._provider = SecretsProvider(boto3_client=client)

    def for_license(self, license_number: str) -> LicenseCredentials:
        from aws_lambda_powertools.utilities.parameters.exceptions import (  # noqa: PLC0415
            GetParameterError,
        )

        name = f"{self._prefix}{license_number}"
        try:
            value = self._provider.get(name, max_age=SECRET_CACHE_SECONDS)
        except GetParameterError as error:
            code = _error_code(error.__cause__ or error.__context__)
            if code not in _NEEDS_PERSON_CODES:
                raise TransientError(
                    f"the secret {name} could not be read just now ({code or 'no answer'})"
                ) from None
            raise MissingCredentials(
                f"no CAPSS credentials for license {license_number}: secret {name} could not"
                f" be read ({code})",
                hint=(
                    f'Create the secret {name} with {{"client_id": "...", "client_secret": "..."}}'
                    " from the CAPSS API Client page, then drop the file again."
                ),
            ) from None
        return parse_secret(license_number, name, value)


def _error_code(error: BaseException | None) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None
