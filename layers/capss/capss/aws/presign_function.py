"""The presign function: one short-lived upload URL per API call (the endpoint is optional)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from capss.aws.s3 import S3ObjectStore
from capss.aws.wiring import cold_start
from capss.pipeline.presign import presign_upload
from capss.pipeline.settings import PresignSettings


@cold_start
def runtime() -> tuple[PresignSettings, S3ObjectStore]:
    # SigV4: the URL then states its own expiry (X-Amz-Expires) and works in every region.
    client = boto3.client("s3", config=Config(signature_version="s3v4"))
    return PresignSettings.from_env(), S3ObjectStore(client)


def presign(event: dict[str, Any]) -> dict[str, Any]:
    settings, objects = runtime()
    return presign_upload(event.get("body"), objects, settings)
