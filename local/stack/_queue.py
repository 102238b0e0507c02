"""The intake queue's event source mapping, played by a bounded pool of pollers.

moto's own mapping invokes synchronously inside SendMessage, one message at a time,
without a concurrency bound; this poller has the shape Lambda's has: up to
`workers` batches in flight (the template's MaximumConcurrency), batches of up to
BatchSize records, partial batch failures, and a failed message coming back after
its visibility timeout (scaled by the clock) until the redrive moves it to the DLQ.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from local.stack._clock import ScaledClock
from local.stack._resources import LocalQueue
from local.stack._template import REGION

IDLE_PAUSE = 0.01


@dataclass
class PollerStats:
    batches: int = 0
    messages: int = 0
    deleted: int = 0
    failed: int = 0
    test_events: int = 0
    function_errors: int = 0
    bodies: list[str] = field(default_factory=list)
    """Every message body the function was handed, in order (S3 notifications)."""


class QueuePoller:
    def __init__(
        self,
        *,
        sqs: Any,
        lambda_client: Any,
        queue: LocalQueue,
        function_name: str,
        batch_size: int,
        workers: int,
        report_batch_item_failures: bool,
        clock: ScaledClock,
    ) -> None:
        if workers < 1:
            raise ValueError("the poller needs at least one worker")
        self._sqs = sqs
        self._lambda = lambda_client
        self.queue = queue
        self._function = function_name
        self._batch_size = max(1, min(batch_size, 10))
        self.workers = workers
        self._partial = report_batch_item_failures
        self._clock = clock
        self._stop = threading.Event()
        self._receive_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._timers: list[threading.Timer] = []
        self._busy = 0
        self.stats = PollerStats()

    def start(self) -> None:
        for number in range(self.workers):
            thread = threading.Thread(
                target=self._work, name=f"intake-poller-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for timer in self._timers:
            timer.cancel()
        for thread in self._threads:
            thread.join(timeout=30)

    @property
    def busy(self) -> int:
        """Batches being handled right now."""
        return self._busy

    def _work(self) -> None:
        while not self._stop.is_set():
            # moto's queue is not safe against two concurrent receives of the same message.
            with self._receive_lock:
                answer = self._sqs.receive_message(
                    QueueUrl=self.queue.url,
                    MaxNumberOfMessages=self._batch_size,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                messages = answer.get("Messages", [])
                if messages:
                    with self._stats_lock:
                        self._busy += 1
            if not messages:
                self._stop.wait(IDLE_PAUSE)
                continue
            try:
                self._handle(messages)
            finally:
                with self._stats_lock:
                    self._busy -= 1

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        records = []
        for message in messages:
            if _is_test_event(message["Body"]):
                # S3 sends it when the notification is configured; Lambda would get it too,
                # and the handler skips it; not worth a cold start here.
                self._sqs.delete_message(
                    QueueUrl=self.queue.url, ReceiptHandle=message["ReceiptHandle"]
                )
                with self._stats_lock:
                    self.stats.test_events += 1
                continue
            records.append(self._record(message))
        if not records:
            return
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.messages += len(records)
            self.stats.bodies.extend(record["body"] for record in records)
        answer = self._lambda.invoke(
            FunctionName=self._function, Payload=json.dumps({"Records": records}).encode()
        )
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            failed = {record["messageId"] for record in records}
            with self._stats_lock:
                self.stats.function_errors += 1
        elif self._partial and isinstance(payload, dict):
            failed = {item["itemIdentifier"] for item in payload.get("batchItemFailures") or []}
        else:
            failed = set()
        for record in records:
            if record["messageId"] in failed:
                self._retry_later(record["receiptHandle"])
            else:
                self._sqs.delete_message(
                    QueueUrl=self.queue.url, ReceiptHandle=record["receiptHandle"]
                )
                with self._stats_lock:
                    self.stats.deleted += 1

    def _retry_later(self, receipt_handle: str) -> None:
        """The message comes back when its visibility runs out, on the scaled clock.

        That is the queue's visibility timeout, or what the handler asked for with
        ChangeMessageVisibility (its backoff), read from moto's queue.
        """
        with self._stats_lock:
            self.stats.failed += 1
        delay = self._clock.record(self._clock.redeliveries, self._invisible_for(receipt_handle))

        def release() -> None:
            if not self._stop.is_set():
                self._sqs.change_message_visibility(
                    QueueUrl=self.queue.url, ReceiptHandle=receipt_handle, VisibilityTimeout=0
                )

        timer = threading.Timer(delay, release)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _invisible_for(self, receipt_handle: str) -> float:
        from moto.core.utils import unix_time_millis  # noqa: PLC0415
        from moto.sqs.models import sqs_backends  # noqa: PLC0415

        _, _, _, region, account, name = self.queue.arn.split(":", 5)
        for message in sqs_backends[account][region].get_queue(name)._messages:
            if message.had_receipt_handle(receipt_handle):
                return float(max(round((message.visible_at - unix_time_millis()) / 1000), 0))
        return float(self.queue.visibility_timeout)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
                "SenderId": attributes.get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
                "ApproximateFirstReceiveTimestamp": attributes.get(
                    "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                ),
            },
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue.arn,
            "awsRegion": REGION,
        }


def _is_test_event(body: str) -> bool:
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("Event") == "s3:TestEvent"


@contextlib.contextmanager
def thread_safe_queues() -> Iterator[None]:
    """moto's queues made safe for the stack's threads, as SQS itself is.

    moto 5.2.5's DeleteMessage rebuilds the queue's message list without the lock that
    SendMessage appends under: a message sent meanwhile (an S3 notification while a poller
    deletes the last one) is lost, and two deletes at once bring one message back.
    ReceiveMessage reads the in-flight set that a delete changes ("Set changed size during
    iteration"). Each now holds the queue's own lock.
    """
    from moto.sqs.models import Queue, SQSBackend  # noqa: PLC0415

    delete_message = Queue.delete_message
    receive_message = SQSBackend.receive_message
    change_visibility = SQSBackend.change_message_visibility

    def locked_delete(self: Any, receipt_handle: str) -> None:
        with self._messages_lock:
            delete_message(self, receipt_handle)

    def locked_receive(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with self.get_queue(queue_name)._messages_lock:
            return receive_message(self, queue_name, *args, **kwargs)

    def locked_visibility(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        with self.get_queue(queue_name)._messages_lock:
            return change_visibility(self, queue_name, *args, **kwargs)

    with (
        mock.patch.object(Queue, "delete_message", locked_delete),
        mock.patch.object(SQSBackend, "receive_message", locked_receive),
        mock.patch.object(SQSBackend, "change_message_visibility", locked_visibility),
    ):
        yield
