"""The intake queue: a message put back later, so the queue's retries back off."""

from __future__ import annotations

from typing import Any

RECEIVE_BATCH = 10
"""ReceiveMessage hands out ten messages at most."""
HIDDEN_SECONDS = 60
"""How long a message read by the sweep stays hidden if the sweep stops before showing it."""


class SqsDeadLetters:
    """The intake dead-letter queue read without taking anything: each message read is made
    visible again at once, for `capss redrive`."""

    def __init__(self, client: Any, queue_arn: str) -> None:
        self._client = client
        self._queue = SqsMessages(client)
        self._arn = queue_arn

    def bodies(self, limit: int) -> list[str]:
        url = self._queue.url(self._arn)
        seen: dict[str, str] = {}
        handles: list[str] = []
        while len(seen) < limit:
            answer = self._client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(RECEIVE_BATCH, limit - len(seen)),
                VisibilityTimeout=HIDDEN_SECONDS,
                WaitTimeSeconds=0,
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                seen.setdefault(message["MessageId"], message["Body"])
                handles.append(message["ReceiptHandle"])
        for start in range(0, len(handles), RECEIVE_BATCH):
            entries = [
                {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for n, handle in enumerate(handles[start : start + RECEIVE_BATCH])
            ]
            self._client.change_message_visibility_batch(QueueUrl=url, Entries=entries)
        return list(seen.values())


class SqsMessages:
    """Puts a message back on the queue later: the queue's retries back off."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._urls: dict[str, str] = {}

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self.url(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )

    def url(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            _, _, _, _, account, name = queue_arn.split(":", 5)
            answer = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[queue_arn] = answer["QueueUrl"]
        return self._urls[queue_arn]
