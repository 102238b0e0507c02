"""The AWS limits the local stack enforces where moto does not (issue 13)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from local.stack import PAYLOAD_BYTES, TEMPLATE, TIMED_OUT, FunctionHost, LocalFunction, LocalStack

TOO_BIG = "x" * (PAYLOAD_BYTES + 1)


def test_payloads_over_256_kb_are_refused_as_aws_refuses_them() -> None:
    with LocalStack(TEMPLATE) as stack:
        topic = next(iter(stack.account.topics.values()))
        with pytest.raises(ClientError, match="too long"):
            # The body alone fits; with its subject and attributes it does not.
            stack.client("sns").publish(
                TopicArn=topic,
                Message="x" * (PAYLOAD_BYTES - 10),
                Subject="CAPSS failed: 000000300 day.xml",
                MessageAttributes={"outcome": {"DataType": "String", "StringValue": "failed"}},
            )
        with pytest.raises(ClientError, match="shorter than"):
            stack.client("sqs").send_message(QueueUrl=stack.intake_queue_url, MessageBody=TOO_BIG)
        with pytest.raises(ClientError, match="maximum size"):
            stack.client("stepfunctions").start_execution(
                stateMachineArn=stack.state_machine_arn,
                name="too-big",
                input=json.dumps({"padding": TOO_BIG}),
            )


def test_a_handler_past_its_timeout_is_reported_as_lambda_reports_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import time

            def handler(event, context):
                left = context.get_remaining_time_in_millis()
                time.sleep(3)
                return {"left": left}
            """
        )
    )
    slow = LocalFunction(
        logical_id="Slow",
        name="slow",
        arn="arn:aws:lambda:us-west-1:123456789012:function:slow",
        code_dir=tmp_path,
        handler="app.handler",
        timeout=1,
        memory_mb=128,
        environment={},
    )
    payload, error = FunctionHost({"Slow": slow}).invoke("slow", b"{}")
    assert error == "Unhandled"
    body = json.loads(payload)
    assert body["errorType"] == TIMED_OUT
    assert body["errorMessage"] == "Task timed out after 1.00 seconds"
