"""A CAPSS client for a license, as the submit and status functions open it."""

from __future__ import annotations

from collections.abc import Callable

from capss.client.api import Api
from capss.client.client import CapssClient, ClientConfig
from capss.pipeline.credentials import LicenseCredentials
from capss.pipeline.settings import CapssSettings

SUBMIT_TIMEOUT = 25.0
STATUS_TIMEOUT = 10.0
"""Seconds per CAPSS request; with the client's retries a call stays well inside the
function's timeout (300 s submit, 60 s status), so CAPSS being slow is an error the code
handles, never a killed function."""


def capss_clients(
    capss: CapssSettings, timeout: float = SUBMIT_TIMEOUT
) -> Callable[[LicenseCredentials], CapssClient]:
    """Opens a CAPSS client for a license; its secret may move it to another API or host."""

    def open_client(credentials: LicenseCredentials) -> CapssClient:
        return CapssClient(
            ClientConfig(
                base_url=credentials.base_url or capss.base_url,
                api=Api(credentials.api or capss.api),
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                ca_bundle=capss.ca_bundle,
                tls_ciphers=capss.tls_ciphers,
                timeout=timeout,
            )
        )

    return open_client
