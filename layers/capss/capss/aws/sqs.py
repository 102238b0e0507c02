"""The intake queue: a message put back later, so the queue's retries back off."""

from __future__ import annotations

from typing import Any


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
