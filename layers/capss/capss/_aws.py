"""The AWS services the pipeline touches, behind small interfaces.

botocore errors are translated here, at the boundary, into the library's tree.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from capss._errors import NeedsPersonError, TransientError
from capss._files import FileRef
from capss._records import FileRecord
from capss._telemetry import logger

COPY_CHUNK = 1024 * 1024
_UNREADABLE = frozenset({"404", "NoSuchKey", "NoSuchVersion", "403", "AccessDenied", "405"})
"""S3 answers that mean the version is gone (405: a delete marker) or forbidden."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    metadata: dict[str, str]


class ObjectStore(Protocol):
    def head(self, ref: FileRef) -> ObjectInfo: ...

    def download(self, ref: FileRef, dest: BinaryIO) -> None: ...

    def tag(self, ref: FileRef, tags: dict[str, str]) -> None: ...

    def read_uri(self, uri: str) -> bytes: ...


class MessageQueue(Protocol):
    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None: ...


class ExecutionStarter(Protocol):
    def execution_arn(self, name: str) -> str: ...

    def start(self, name: str, payload: dict[str, Any]) -> None: ...


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

    def read_uri(self, uri: str) -> bytes:
        if not uri.startswith("s3://") or "/" not in uri[5:]:
            raise NeedsPersonError(
                f"{uri!r} is not an s3://bucket/key location",
                hint="Set the OfficialXsdS3Uri parameter to s3://bucket/key of the DOJ's XSD.",
            )
        from botocore.exceptions import ClientError  # noqa: PLC0415

        bucket, key = uri[5:].split("/", 1)
        try:
            answer = self._client.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            raise NeedsPersonError(
                f"the official XSD {uri} cannot be read ({error.response['Error']['Code']})",
                hint="Fix or clear the OfficialXsdS3Uri parameter, then drop the file again.",
            ) from error
        with answer["Body"] as body:
            data: bytes = body.read()
        return data


class SqsMessages:
    """Puts a message back on the queue later: the queue's retries back off."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._urls: dict[str, str] = {}

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self._url(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )

    def _url(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            _, _, _, _, account, name = queue_arn.split(":", 5)
            answer = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[queue_arn] = answer["QueueUrl"]
        return self._urls[queue_arn]


@contextlib.contextmanager
def _reading(ref: FileRef) -> Iterator[None]:
    """S3's answers while reading a file, in the library's terms: gone or forbidden needs a
    person; anything else (throttling, a 5xx, a broken stream) is worth another try."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code not in _UNREADABLE:
            raise TransientError(f"S3 could not read {ref.uri} just now ({code})") from error
        raise NeedsPersonError(
            f"{ref.uri} cannot be read (S3 answered {code}): it was deleted or the bridge"
            " may not read it",
            hint=(
                "Drop the file again; if it keeps failing, check that the bucket's encryption"
                " key lets the submit function decrypt (kms:Decrypt)."
            ),
        ) from error
    except BotoCoreError as error:
        raise TransientError(f"S3 could not read {ref.uri} just now ({error})") from error


class StepFunctionsStarter:
    """Starts the poller; a second start of the same name and input is a no-op in AWS."""

    def __init__(self, state_machine_arn: str, client: Any) -> None:
        self._arn = state_machine_arn
        self._client = client

    def execution_arn(self, name: str) -> str:
        prefix, _, machine = self._arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"

    def start(self, name: str, payload: dict[str, Any]) -> None:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload)
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ExecutionAlreadyExists":
                return
            if code in ("ThrottlingException", "ServiceUnavailable", "InternalFailure"):
                raise TransientError(f"Step Functions answered {code}") from error
            raise


def tag_outcome(record: FileRecord, objects: ObjectStore) -> None:
    """The outcome beside the file, for people browsing the bucket; the record is what counts."""
    try:
        objects.tag(
            FileRef(record.bucket, record.key, record.version_id),
            {"capss-outcome": record.outcome.value},
        )
    except Exception:
        logger.exception("could not tag the file with its outcome")
