"""AWS limits moto leaves out, enforced while the local stack runs.

moto 5.2.5 already refuses a DynamoDB item over 400 KB and a key over 2,048 bytes (partition,
GSI keys included) or 1,024 (sort). This adds the rest, so a defect that would hit one of them
in AWS fails a local run instead: an SNS message over 256 KB counting subject and message
attributes (moto counts the body's characters only), an SQS message over 256 KB (moto allows
1 MiB) and a Step Functions execution input over 256 KB (moto has no limit). An execution
history over 25,000 events (`HISTORY_EVENTS`) fails a row of the reliability suite.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

PAYLOAD_BYTES = 256 * 1024
HISTORY_EVENTS = 25_000


def _attribute_bytes(attributes: dict[str, Any] | None) -> int:
    total = 0
    for name, value in (attributes or {}).items():
        total += len(name.encode())
        if isinstance(value, dict):
            total += sum(len(str(part).encode()) for part in value.values())
        else:
            total += len(str(value).encode())
    return total


@contextlib.contextmanager
def enforced() -> Iterator[None]:
    from moto.sns.exceptions import InvalidParameterValue as SnsInvalid  # noqa: PLC0415
    from moto.sns.models import SNSBackend  # noqa: PLC0415
    from moto.sqs.exceptions import InvalidParameterValue as SqsInvalid  # noqa: PLC0415
    from moto.sqs.models import SQSBackend  # noqa: PLC0415
    from moto.stepfunctions.exceptions import InvalidExecutionInput  # noqa: PLC0415
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend  # noqa: PLC0415

    publish = SNSBackend.publish
    send_message = SQSBackend.send_message
    start_execution = StepFunctionsParserBackend.start_execution

    def limited_publish(self: Any, message: str, *args: Any, **kwargs: Any) -> str:
        size = len(message.encode()) + len((kwargs.get("subject") or "").encode())
        size += _attribute_bytes(kwargs.get("message_attributes"))
        if size > PAYLOAD_BYTES:
            raise SnsInvalid(f"Invalid parameter: Message too long ({size} bytes)")
        return publish(self, message, *args, **kwargs)

    def limited_send(self: Any, queue_name: str, message_body: str, *args: Any, **kw: Any) -> Any:
        size = len(message_body.encode()) + _attribute_bytes(kw.get("message_attributes"))
        if size > PAYLOAD_BYTES:
            raise SqsInvalid(
                "One or more parameters are invalid. Reason: Message must be shorter than"
                f" {PAYLOAD_BYTES} bytes."
            )
        return send_message(self, queue_name, message_body, *args, **kw)

    def limited_start(self: Any, state_machine_arn: str, *args: Any, **kw: Any) -> Any:
        execution_input = kw.get("execution_input", args[1] if len(args) > 1 else None)
        if execution_input is not None and len(str(execution_input).encode()) > PAYLOAD_BYTES:
            raise InvalidExecutionInput(
                f"Execution input exceeds the maximum size of {PAYLOAD_BYTES} bytes"
            )
        return start_execution(self, state_machine_arn, *args, **kw)

    SNSBackend.publish = limited_publish  # type: ignore[method-assign]
    SQSBackend.send_message = limited_send  # type: ignore[method-assign]
    StepFunctionsParserBackend.start_execution = limited_start  # type: ignore[method-assign]
    try:
        yield
    finally:
        SNSBackend.publish = publish  # type: ignore[method-assign]
        SQSBackend.send_message = send_message  # type: ignore[method-assign]
        StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
