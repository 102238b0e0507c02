"""Reads a file version and tags it; S3's errors in the library's terms."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from capss.errors import NeedsPersonError, TransientError
from capss.pipeline import advice
from capss.pipeline.files import FileRef
from capss.pipeline.values import ObjectInfo

COPY_CHUNK = 1024 * 1024
_UNREADABLE = frozenset({"404", "NoSuchKey", "NoSuchVersion", "403", "AccessDenied", "405"})
"""S3 answers that mean the version is gone (405: a delete marker) or forbidden."""


class S3ObjectStore:
    """Reads a file version and tags it with its outcome.

    Tags, not a metadata copy onto itself: a copy fires ObjectCreated again and loops.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def _version(self, ref: FileRef) -> dict[str, str]:
        return {"VersionId": ref.version_id} if ref.version_id else {}

    def head(self, ref: FileRef) -> ObjectInfo:
        with _reading(ref):
            answer = self._client.head_object(Bucket=ref.bucket, Key=ref.key, **self._version(ref))
        return ObjectInfo(size=int(answer["ContentLength"]), metadata=answer.get("Metadata", {}))

    def download(self, ref: FileRef, dest: BinaryIO) -> None:
        with _reading(ref):
            answer = self._client.get_object(Bucket=ref.bucket, Key=ref.key, **self._version(ref))
            with answer["Body"] as body:
                shutil.copyfileobj(body, dest, COPY_CHUNK)
        dest.flush()

    def tag(self, ref: FileRef, tags: dict[str, str]) -> None:
        self._client.put_object_tagging(
            Bucket=ref.bucket,
            Key=ref.key,
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
            **self._version(ref),
        )

    def put(
        self, bucket: str, key: str, body: bytes | BinaryIO, metadata: dict[str, str]
    ) -> str | None:
        try:
            answer = self._client.put_object(Bucket=bucket, Key=key, Body=body, Metadata=metadata)
        except (ClientError, BotoCoreError) as error:
            raise TransientError(f"S3 could not write s3://{bucket}/{key} just now") from error
        version: str | None = answer.get("VersionId")
        return version

    def presign_put(self, bucket: str, key: str, seconds: int, metadata: dict[str, str]) -> str:
        # SigV4 signs each x-amz-meta-* header: a PUT without them, or with other values, fails.
        url: str = self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "Metadata": metadata},
            ExpiresIn=seconds,
        )
        return url

    def read_uri(self, uri: str) -> bytes:
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            raise NeedsPersonError(
                f"{uri!r} is not an s3://bucket/key location",
                hint=advice.XSD_NOT_S3,
            )
        bucket, key = uri[5:].split("/", 1)
        try:
            answer = self._client.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            raise NeedsPersonError(
                f"the official XSD {uri} cannot be read ({error.response['Error']['Code']})",
                hint=advice.XSD_UNREADABLE,
            ) from error
        with answer["Body"] as body:
            data: bytes = body.read()
        return data


class S3PageShelf:
    """The monthly page, written where ops open it (`aws s3 presign`): shown, not downloaded."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put_page(self, key: str, html: str) -> str:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=html.encode("utf-8"),
                ContentType="text/html; charset=utf-8",
            )
        except (ClientError, BotoCoreError) as error:
            raise TransientError(
                f"S3 could not write s3://{self._bucket}/{key} just now"
            ) from error
        return f"s3://{self._bucket}/{key}"


@contextlib.contextmanager
def _reading(ref: FileRef) -> Iterator[None]:
    """S3's answers while reading a file, in the library's terms: gone or forbidden needs a
    person; anything else (throttling, a 5xx, a broken stream) is worth another try."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code not in _UNREADABLE:
            raise TransientError(f"S3 could not read {ref.uri} just now ({code})") from error
        raise NeedsPersonError(
            f"{ref.uri} cannot be read (S3 answered {code}): it was deleted or the bridge"
            " may not read it",
            hint=advice.FILE_UNREADABLE,
        ) from error
    except BotoCoreError as error:
        raise TransientError(f"S3 could not read {ref.uri} just now ({error})") from error
