"""What each Lambda function runs: settings and AWS clients built once per cold start.

The handlers in functions/ call one function here each; tests call the same functions
with moto behind boto3. Each function imports only its own steps: the finish function
never loads httpx or lxml, the status function never loads lxml.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from capss._alerts import SnsAlertSender
from capss._aws import S3ObjectStore, SqsMessages, StepFunctionsStarter
from capss._credentials import LicenseCredentials, SecretsManagerCredentials
from capss._records import DynamoRecordStore
from capss._settings import (
    CapssSettings,
    FinishSettings,
    StatusSettings,
    SubmitSettings,
)
from capss._telemetry import logger

if TYPE_CHECKING:
    from capss._finish import FinishDeps
    from capss._poll import StatusDeps
    from capss._submit import SubmitDeps


SUBMIT_TIMEOUT = 25.0
STATUS_TIMEOUT = 10.0
"""Seconds per CAPSS request; with the client's retries a call stays well inside the
function's timeout (120 s submit, 60 s status), so CAPSS being slow is an error the code
handles, never a killed function."""


def capss_clients(
    capss: CapssSettings, timeout: float = SUBMIT_TIMEOUT
) -> Callable[[LicenseCredentials], Any]:
    """Opens a CAPSS client for a license; its secret may move it to another API or host."""
    from capss._api import Api  # noqa: PLC0415 - httpx is imported only where it is used
    from capss._client import CapssClient, ClientConfig  # noqa: PLC0415

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


def _client(service: str) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client(service)


def _license_secrets(capss: CapssSettings) -> SecretsManagerCredentials:
    return SecretsManagerCredentials(capss.secret_prefix, _client("secretsmanager"))


@functools.cache
def submit_runtime() -> tuple[SubmitSettings, SubmitDeps]:
    from capss._submit import SubmitDeps  # noqa: PLC0415

    settings = SubmitSettings.from_env()
    objects = S3ObjectStore(_client("s3"))
    xsd_uri = settings.xsd_uri

    @functools.cache
    def official_xsd() -> bytes | None:
        return objects.read_uri(xsd_uri) if xsd_uri else None

    deps = SubmitDeps(
        records=DynamoRecordStore.for_table(settings.table_name),
        objects=objects,
        credentials=_license_secrets(settings.capss),
        clients=capss_clients(settings.capss),
        executions=StepFunctionsStarter(settings.state_machine_arn, _client("stepfunctions")),
        alerts=SnsAlertSender(settings.topic_arn, _client("sns")),
        queue=SqsMessages(_client("sqs")),
        xsd=official_xsd,
    )
    return settings, deps


@functools.cache
def status_runtime() -> tuple[StatusSettings, StatusDeps]:
    from capss._poll import StatusDeps  # noqa: PLC0415

    settings = StatusSettings.from_env()
    deps = StatusDeps(
        records=DynamoRecordStore.for_table(settings.table_name),
        credentials=_license_secrets(settings.capss),
        clients=capss_clients(settings.capss, STATUS_TIMEOUT),
    )
    return settings, deps


@functools.cache
def finish_runtime() -> tuple[FinishSettings, FinishDeps]:
    from capss._finish import FinishDeps  # noqa: PLC0415

    settings = FinishSettings.from_env()
    deps = FinishDeps(
        records=DynamoRecordStore.for_table(settings.table_name),
        objects=S3ObjectStore(_client("s3")),
        alerts=SnsAlertSender(settings.topic_arn, _client("sns")),
    )
    return settings, deps


def submit_batch(event: dict[str, Any]) -> dict[str, Any]:
    """An SQS batch of S3 notifications; the messages to try again are reported back.

    An unexpected error also sends its message back: after the last receive it lands in
    the dead-letter queue, whose alarm tells ops.
    """
    from capss._submit import submit_message  # noqa: PLC0415

    settings, deps = submit_runtime()
    failures = []
    for message in event.get("Records", []):
        try:
            done = submit_message(message, deps, settings)
        except Exception:
            logger.exception("unexpected failure", extra={"message_id": message["messageId"]})
            done = False
        if not done:
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}


def status_check(state: dict[str, Any]) -> dict[str, Any]:
    from capss._poll import check_status  # noqa: PLC0415

    settings, deps = status_runtime()
    return check_status(state, deps, settings)


def finish_file(state: dict[str, Any]) -> dict[str, Any]:
    from capss._finish import finish  # noqa: PLC0415

    settings, deps = finish_runtime()
    return finish(state, deps, settings)


def reset() -> None:
    """Forget every cold-start cache (a new environment in the same process: the local stack)."""
    for runtime in (submit_runtime, status_runtime, finish_runtime):
        runtime.cache_clear()
