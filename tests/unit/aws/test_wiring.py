"""Cold-start wiring: a function's clients exist only once its path calls their service."""

from __future__ import annotations

import boto3
import pytest
from capss.aws import finish_function, wiring
from capss.aws.wiring import LazyClient


def test_a_lazy_client_is_built_at_its_first_call(aws: None) -> None:
    sns = LazyClient("sns")
    assert sns._client is None
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    assert sns._client is not None
    assert [t["TopicArn"] for t in boto3.client("sns").list_topics()["Topics"]] == [topic]


def test_the_finish_function_builds_no_client_before_its_first_call(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLE_NAME", "records")
    monkeypatch.setenv("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts")
    monkeypatch.setenv("INTAKE_DLQ_ARN", "arn:aws:sqs:us-east-1:123456789012:intake-dlq")
    wiring.reset()
    _settings, deps, sweeping = finish_function.runtime()
    lazy = [deps.records._table._client, deps.objects._client, deps.alerts._client]  # type: ignore[attr-defined]
    lazy.append(sweeping.dead_letters._client)  # type: ignore[attr-defined]
    assert all(isinstance(client, LazyClient) and client._client is None for client in lazy)
    wiring.reset()
