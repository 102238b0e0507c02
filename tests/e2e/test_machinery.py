"""The local stack's machinery on a small template of its own, with dummy handlers.

These run without the real pipeline: template reading, resources created from it,
handlers loaded by path with a Lambda-like context, handler errors reaching Step
Functions as Lambda function errors (Retry and Catch), the scaled clock, the poller.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import threading
import time
from pathlib import Path

import boto3
import pytest

from local.stack import DroppedFile, LocalStack, StackTimeout, Template, TemplateError
from local.stack._asl import thread_safe_asl_parser
from local.stack._queue import thread_safe_queues
from local.stack._stack import ROOT
from local.stack._template import load_yaml

MINI_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: sandbox
    AllowedValues: [sandbox, production]
  MaxFilesInFlight:
    Type: Number
    Default: 3
    MinValue: 2
  AlertEmail:
    Type: String
    Default: ""
Mappings:
  Hosts:
    sandbox: {Url: https://capss-sb.doj.ca.gov}
    production: {Url: https://capss.doj.ca.gov}
Conditions:
  HasEmail: !Not [!Equals [!Ref AlertEmail, ""]]
Globals:
  Function:
    Runtime: python3.13
    Timeout: 60
    MemorySize: 512
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        BASE_URL: !FindInMap [Hosts, !Ref Stage, Url]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "mini-${AWS::AccountId}-${AWS::StackName}"
      VersioningConfiguration: {Status: Enabled}
      NotificationConfiguration:
        QueueConfigurations:
          - Event: s3:ObjectCreated:*
            Queue: !GetAtt Queue.Arn
            Filter: {S3Key: {Rules: [{Name: prefix, Value: incoming/}]}}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 720
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: 3
  DeadLetters:
    Type: AWS::SQS::Queue
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      Subscription: !If
        - HasEmail
        - [{Protocol: email, Endpoint: !Ref AlertEmail}]
        - !Ref AWS::NoValue
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties: {}
  SubmitFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/submit/
      Handler: app.lambda_handler
      Timeout: 120
      Environment:
        Variables:
          STATE_MACHINE_ARN: !Ref Machine
      Events:
        Intake:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig: {MaximumConcurrency: !Ref MaxFilesInFlight}
  CheckFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/check/
      Handler: app.lambda_handler
  FinishFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/finish/
      Handler: app.lambda_handler
      Environment:
        Variables:
          TOPIC_ARN: !Ref Topic
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: machine.asl.json
      DefinitionSubstitutions:
        CheckArn: !GetAtt CheckFunction.Arn
        FinishArn: !GetAtt FinishFunction.Arn
"""

MACHINE = {
    "StartAt": "Wait",
    "States": {
        "Wait": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Check"},
        "Check": {
            "Type": "Task",
            "Resource": "${CheckArn}",
            "ResultPath": "$.check",
            "Retry": [
                {
                    "ErrorEquals": ["Flaky"],
                    "IntervalSeconds": 30,
                    "MaxAttempts": 5,
                    "BackoffRate": 2,
                }
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Finish"}],
            "Next": "Finish",
        },
        "Finish": {"Type": "Task", "Resource": "${FinishArn}", "End": True},
    },
}

SUBMIT = """\
import json, os, boto3
from urllib.parse import unquote_plus

def lambda_handler(event, context):
    failures = []
    for message in event["Records"]:
        body = json.loads(message["body"])
        for record in body.get("Records", []):
            key = unquote_plus(record["s3"]["object"]["key"])
            version = record["s3"]["object"].get("versionId")
            pk = f"FILE#{record['s3']['bucket']['name']}/{key}#{version}"
            first = message["attributes"]["ApproximateReceiveCount"] == "1"
            if key.endswith("retry.xml") and first:
                failures.append({"itemIdentifier": message["messageId"]})
                continue
            if key.endswith("poison.xml"):
                raise ValueError("poison")
            boto3.client("dynamodb").put_item(
                TableName=os.environ["TABLE_NAME"],
                Item={"pk": {"S": pk}, "phase": {"S": "submitted"},
                      "context": {"S": context.function_name}},
            )
            boto3.client("stepfunctions").start_execution(
                stateMachineArn=os.environ["STATE_MACHINE_ARN"],
                name=pk.replace("/", "-").replace("#", "-").replace(".", "-")[-80:],
                input=json.dumps({"pk": pk, "key": key, "wait": 60, "uri": (
                    f"s3://{record['s3']['bucket']['name']}/{key} (version {version})")}),
            )
    return {"batchItemFailures": failures}
"""

CHECK = """\
class Flaky(Exception):
    pass

class Broken(Exception):
    pass

CALLS = {}

def lambda_handler(event, context):
    CALLS[event["pk"]] = CALLS.get(event["pk"], 0) + 1
    if "broken" in event["key"]:
        raise Broken("never works")
    if "flaky" in event["key"] and CALLS[event["pk"]] <= 2:
        raise Flaky("not yet")
    assert context.get_remaining_time_in_millis() > 0
    return {"calls": CALLS[event["pk"]], "arn": context.invoked_function_arn}
"""

FINISH = """\
import json, os, boto3

def lambda_handler(event, context):
    outcome = "failed" if "error" in event else "complete"
    boto3.client("dynamodb").update_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": event["pk"]}},
        UpdateExpression="SET phase = :d, outcome = :o, detail = :e",
        ExpressionAttributeValues={":d": {"S": "done"}, ":o": {"S": outcome},
                                   ":e": {"S": json.dumps(event.get("error") or event["check"])}},
    )
    boto3.client("sns").publish(TopicArn=os.environ["TOPIC_ARN"], Subject=f"mini {outcome}",
                                Message=f"File:        {event['uri']}\\n",
                                MessageAttributes={"outcome": {"DataType": "String",
                                                               "StringValue": outcome}})
    # As the real finish step does: the record says when its alert went out.
    boto3.client("dynamodb").update_item(
        TableName=os.environ["TABLE_NAME"], Key={"pk": {"S": event["pk"]}},
        UpdateExpression="SET alerted = :t", ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    return {"outcome": outcome}
"""


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(MINI_TEMPLATE)
    (tmp_path / "machine.asl.json").write_text(json.dumps(MACHINE))
    for name, code in (("submit", SUBMIT), ("check", CHECK), ("finish", FINISH)):
        (tmp_path / "functions" / name).mkdir(parents=True)
        (tmp_path / "functions" / name / "app.py").write_text(textwrap.dedent(code))
    return tmp_path / "template.yaml"


def test_short_and_long_forms_read_alike(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources: {}\n"
        "Short: [!Ref A, !GetAtt B.Arn, !Sub 'x-${A}', !Join [',', [a, b]],"
        " !Select [0, !Split [',', 'p,q']], !If [C, 1, 2], !FindInMap [M, k, v]]\n"
        "Long: [{Ref: A}, {'Fn::GetAtt': [B, Arn]}, {'Fn::Sub': 'x-${A}'},"
        " {'Fn::Join': [',', [a, b]]}, {'Fn::Select': [0, {'Fn::Split': [',', 'p,q']}]},"
        " {'Fn::If': [C, 1, 2]}, {'Fn::FindInMap': [M, k, v]}]\n"
    )
    document = load_yaml(path)
    assert document["Short"] == document["Long"]


def test_parameters_are_checked(mini: Path) -> None:
    with pytest.raises(TemplateError, match="not one of"):
        Template.load(mini, {"Stage": "staging"})
    with pytest.raises(TemplateError, match="below"):
        Template.load(mini, {"MaxFilesInFlight": "1"})
    with pytest.raises(TemplateError, match="no parameters"):
        Template.load(mini, {"Nope": "1"})


def test_unknown_resource_types_fail_loudly(mini: Path) -> None:
    mini.write_text(MINI_TEMPLATE + "  Odd:\n    Type: AWS::EC2::Instance\n")
    with pytest.raises(TemplateError, match="AWS::EC2::Instance"), LocalStack(mini):
        pass


def test_conflicting_environments_fail_loudly(mini: Path) -> None:
    text = MINI_TEMPLATE.replace(
        "          TOPIC_ARN: !Ref Topic\n",
        "          TOPIC_ARN: !Ref Topic\n          TABLE_NAME: other\n",
    )
    mini.write_text(text)
    with pytest.raises(TemplateError, match="TABLE_NAME"), LocalStack(mini):
        pass


def test_the_account_follows_the_template(mini: Path) -> None:
    overrides = {"Stage": "production", "AlertEmail": "ops@example.com"}
    with LocalStack(mini, parameters=overrides) as stack:
        assert stack.bucket == "mini-123456789012-capss-local"
        versioning = stack.client("s3").get_bucket_versioning(Bucket=stack.bucket)
        assert versioning["Status"] == "Enabled"
        submit = stack.client("lambda").get_function_configuration(
            FunctionName=stack.account.functions["SubmitFunction"].name
        )
        variables = submit["Environment"]["Variables"]
        assert variables["BASE_URL"] == "https://capss.doj.ca.gov"
        assert variables["STATE_MACHINE_ARN"] == stack.state_machine_arn
        assert submit["Timeout"] == 120
        assert submit["Runtime"] == "python3.13"
        definition = json.loads(
            stack.client("stepfunctions").describe_state_machine(
                stateMachineArn=stack.state_machine_arn
            )["definition"]
        )
        check = definition["States"]["Check"]["Resource"]
        assert check.endswith(":function:capss-local-CheckFunction")
        topic = next(iter(stack.account.topics.values()))
        subscriptions = stack.client("sns").list_subscriptions_by_topic(TopicArn=topic)
        protocols = {s["Protocol"] for s in subscriptions["Subscriptions"]}
        assert protocols == {"email", "sqs"}
        assert stack.poller is not None
        assert stack.poller.workers == 3
        assert stack.account.skipped == ["Alarm"]


def test_files_go_through_handlers_retries_and_catches(mini: Path) -> None:
    with LocalStack(mini, clock_scale=0.0001) as stack:
        files = [
            stack.drop(b"<a/>", "incoming/clean.xml"),
            stack.drop(b"<a/>", "incoming/flaky.xml"),
            stack.drop(b"<a/>", "incoming/broken.xml"),
            stack.drop(b"<a/>", "incoming/retry.xml"),
        ]
        outcomes = {o.file.name: o for o in stack.wait(files, timeout=30)}
        assert {name: o.outcome for name, o in outcomes.items()} == {
            "clean.xml": "complete",
            "flaky.xml": "complete",
            "broken.xml": "failed",
            "retry.xml": "complete",
        }
        broken = json.loads(outcomes["broken.xml"].record["detail"])
        assert broken["Error"] == "Broken"
        assert json.loads(broken["Cause"])["errorType"] == "Broken"
        flaky = json.loads(outcomes["flaky.xml"].record["detail"])
        assert flaky["calls"] == 3
        assert flaky["arn"] == stack.account.functions["CheckFunction"].arn
        assert outcomes["clean.xml"].record["context"] == "capss-local-SubmitFunction"
        assert [a.subject for a in outcomes["broken.xml"].alerts] == ["mini failed"]
        assert outcomes["broken.xml"].alerts[0].attributes == {"outcome": "failed"}
        # Four Wait states of 60 s; the flaky file's two retries back off 30 s then 60 s.
        assert stack.clock.waits == [60.0] * 4
        assert sorted(stack.clock.retries) == [30.0, 60.0]
        assert stack.clock.redeliveries == [720.0]
        assert stack.poller is not None
        assert stack.poller.stats.test_events == 1
        assert {i.error_type for i in stack.host.failures()} == {"Flaky", "Broken"}


def test_a_poison_message_ends_in_the_dead_letter_queue(mini: Path) -> None:
    with LocalStack(mini, clock_scale=0.0001) as stack:
        stack.drop(b"<a/>", "incoming/poison.xml")
        dlq = stack.account.queues["DeadLetters"].url
        sqs = stack.client("sqs")
        for _ in range(200):
            if sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the poison message never reached the dead-letter queue")
        assert stack.poller is not None
        assert stack.poller.stats.function_errors == 3
        assert {i.error_type for i in stack.host.failures()} == {"ValueError"}


def test_no_message_is_lost_while_others_are_deleted(aws: None) -> None:
    """moto's DeleteMessage rebuilt the message list while SendMessage appended to it: a
    message sent meanwhile vanished (1 of 1,000 files never reached the function)."""
    sent = 2000
    received: set[str] = set()
    errors: list[BaseException] = []
    receiving = threading.Lock()  # as the stack's poller receives
    sending_done = threading.Event()
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads change hands often enough to hit the window
    with thread_safe_queues():
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="race")["QueueUrl"]

        def consume() -> None:
            idle = 0
            while idle < 100:
                messages = []
                try:
                    with receiving:
                        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
                    messages = answer.get("Messages", [])
                    time.sleep(0.001)  # a handler's work: the queue grows meanwhile
                    for message in messages:
                        received.add(message["Body"])
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                except Exception as error:
                    errors.append(error)
                idle = idle + 1 if sending_done.is_set() and not messages else 0

        consumers = [threading.Thread(target=consume) for _ in range(3)]
        try:
            for consumer in consumers:
                consumer.start()
            for number in range(sent):
                sqs.send_message(QueueUrl=url, MessageBody=str(number))
            sending_done.set()
            for consumer in consumers:
                consumer.join()
        finally:
            sys.setswitchinterval(switch)
    assert errors == []
    assert len(received) == sent


def test_definitions_parse_side_by_side(aws: None) -> None:
    """moto kept the parser's query-language scopes in a class attribute: two executions
    parsing at once popped each other's, and one died (IndexError), its file never polled."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import (  # noqa: PLC0415
        AmazonStateLanguageParser,
    )
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor  # noqa: PLC0415

    definition = re.sub(
        r"\$\{\w+\}",
        "arn:aws:lambda:us-east-1:123456789012:function:step",
        (ROOT / "statemachine" / "poller.asl.json").read_text(encoding="utf-8"),
    )
    errors: list[BaseException] = []

    def parse() -> None:
        try:
            for _ in range(15):
                AmazonStateLanguageParser.parse(definition)
        except BaseException as error:
            errors.append(error)

    with thread_safe_asl_parser():
        one, other = Preprocessor(), Preprocessor()
        one._query_language_per_scope.append("a scope")
        assert other._query_language_per_scope == []  # each parse its own, none shared
        threads = [threading.Thread(target=parse) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert Preprocessor._query_language_per_scope == []  # moto's own again, untouched


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_wait_that_cannot_end_fails_promptly_naming_its_files(mini: Path) -> None:
    never = DroppedFile("never.xml", "nowhere", "incoming/never.xml", None)
    with LocalStack(mini, clock_scale=0.0001) as stack:
        started = time.monotonic()
        with pytest.raises(StackTimeout, match="nothing moved for 1 s: 1 file"):
            stack.wait([never], timeout=600, stall=1)
        assert time.monotonic() - started < 30
        dying = threading.Thread(target=lambda: 1 / 0, name="execution")
        dying.start()
        dying.join()
        with pytest.raises(StackTimeout, match="execution: ZeroDivisionError") as raised:
            stack.wait([never], timeout=600)
        assert "s3://nowhere/incoming/never.xml" in str(raised.value)
