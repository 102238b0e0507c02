"""A CAPSS client for a license, as the submit and status functions open it."""

from __future__ import annotations

from collections.abc import Callable

from capss.aws.wiring import seconds_left
from capss.client.api import Api
from capss.client.client import CapssClient, ClientConfig, Request, RequestObserver
from capss.pipeline.settings import CapssSettings
from capss.pipeline.values import LicenseCredentials
from capss.telemetry import Metric, measure

SUBMIT_TIMEOUT = 25.0
STATUS_TIMEOUT = 10.0
"""Seconds per CAPSS request (cut to the time the invocation has left)."""
MARGIN_SECONDS = 20.0
"""Kept back from Lambda's remaining time: every retry and Retry-After wait stops this long
before the function's timeout, so a slow CAPSS is an error the code records (the record
saved, the alert sent, the message handed back), never a killed function."""


def measured(request: Request, milliseconds: float, failed: bool) -> None:
    """A function's CAPSS request as metrics (the `capss` command publishes none)."""
    measure(Metric.CAPSS_LATENCY, milliseconds, Request=request.value)
    if failed:
        measure(Metric.CAPSS_ERRORS, 1, Request=request.value)


def capss_clients(
    capss: CapssSettings,
    timeout: float = SUBMIT_TIMEOUT,
    *,
    on_request: RequestObserver | None = None,
) -> Callable[[LicenseCredentials], CapssClient]:
    """Opens a CAPSS client for a license; its secret may move it to another API or host."""
    time_left = seconds_left(MARGIN_SECONDS)

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
            ),
            time_left=time_left,
            on_request=on_request,
        )

    return open_client
