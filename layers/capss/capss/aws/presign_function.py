"""The presign function: one short-lived upload URL per API call (the endpoint is optional)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from capss.aws.dynamodb import ClientTable
from capss.aws.s3 import S3ObjectStore
from capss.aws.stores import DynamoUploadKeys
from capss.aws.wiring import aws_client, cold_start
from capss.pipeline.presign import caller_key_id, presign_upload
from capss.pipeline.settings import PresignSettings


@dataclass(frozen=True, slots=True)
class PresignDeps:
    objects: S3ObjectStore
    keys: DynamoUploadKeys


@cold_start
def runtime() -> tuple[PresignSettings, PresignDeps]:
    settings = PresignSettings.from_env()
    # SigV4: the URL then states its own expiry (X-Amz-Expires) and works in every region.
    client = boto3.client("s3", config=Config(signature_version="s3v4"))
    keys = DynamoUploadKeys(ClientTable(aws_client("dynamodb"), settings.stores_table_name))
    return settings, PresignDeps(S3ObjectStore(client), keys)


def presign(event: dict[str, Any]) -> dict[str, Any]:
    settings, deps = runtime()
    return presign_upload(
        event.get("body"), caller_key_id(event), deps.objects, deps.keys, settings
    )
