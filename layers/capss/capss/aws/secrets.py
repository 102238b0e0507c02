"""Each license's CAPSS API client from Secrets Manager, through Powertools' cached provider."""

from __future__ import annotations

import functools
import threading
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from capss.aws.wiring import aws_client
from capss.errors import TransientError
from capss.pipeline import advice
from capss.pipeline.credentials import MissingCredentials, parse_secret
from capss.pipeline.settings import CapssSettings
from capss.pipeline.values import LicenseCredentials

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


class SecretsManagerCredentials:
    """Credentials from Secrets Manager through Powertools' cached provider."""

    def __init__(self, prefix: str, client: Any) -> None:
        self._prefix = prefix
        self._client = client
        self._rereading = threading.Lock()

    @functools.cached_property
    def _provider(self) -> SecretsProvider:
        # Built at the first secret: the provider touches its client, which then exists.
        return SecretsProvider(boto3_client=self._client)

    def for_license(
        self, license_number: str, stale: LicenseCredentials | None = None
    ) -> LicenseCredentials:
        if stale is None:
            return self._read(license_number, fresh=False)
        # Callers refused at once re-read once: the first replaces the cached value, the
        # others find it changed.
        with self._rereading:
            credentials = self._read(license_number, fresh=False)
            if credentials == stale:
                credentials = self._read(license_number, fresh=True)
            return credentials

    def _read(self, license_number: str, *, fresh: bool) -> LicenseCredentials:
        name = f"{self._prefix}{license_number}"
        try:
            value = self._provider.get(name, max_age=SECRET_CACHE_SECONDS, force_fetch=fresh)
        except GetParameterError as error:
            code = _error_code(error.__cause__ or error.__context__)
            if code not in _NEEDS_PERSON_CODES:
                raise TransientError(
                    f"the secret {name} could not be read just now ({code or 'no answer'})"
                ) from None
            raise MissingCredentials(
                f"no CAPSS credentials for license {license_number}: secret {name} could not"
                f" be read ({code})",
                hint=advice.create_secret(name),
            ) from None
        return parse_secret(license_number, name, value)


def _error_code(error: BaseException | None) -> str | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def license_secrets(capss: CapssSettings) -> SecretsManagerCredentials:
    return SecretsManagerCredentials(capss.secret_prefix, aws_client("secretsmanager"))
