"""Least privilege: no `*` action anywhere, and `*` resources only where AWS allows nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.cfn import as_list, of_type, policy_documents, statements

Resources = dict[str, dict[str, Any]]

# Actions without resource-level permissions: AWS's documentation lists "*" as their only resource.
UNSCOPABLE_ACTIONS = frozenset(
    {
        # X-Ray: the submit function's own role (Tracing: Active).
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        # Step Functions' delivery of its logs to CloudWatch Logs.
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)

# SAM policy templates in use: each scopes its statements to the resource it is given.
POLICY_TEMPLATES = frozenset(
    {"LambdaInvokePolicy", "AWSSecretsManagerGetSecretValuePolicy", "SNSPublishMessagePolicy"}
)


def _all_statements(resources: Resources) -> list[tuple[str, dict[str, Any]]]:
    return [
        (where, statement)
        for where, document in policy_documents(resources)
        for statement in statements(document)
    ]


def test_policies_are_found(resources: Resources) -> None:
    places = {where.split(".")[0] for where, _ in _all_statements(resources)}
    assert {
        "SubmitFunctionRole",
        "FinishFunction",
        "MonitorFunction",
        "PollerStateMachine",
        "IntakeBucketPolicy",
        "IntakeQueuePolicy",
        "AlertTopicPolicy",
        "AlertTopicKey",
    } <= places


def test_the_status_function_reads_its_secrets_and_tells_an_unknown_status(
    resources: Resources,
) -> None:
    # Status checks leave CAPSS's answer in the poller's state: no table, no bucket. A status
    # word the bridge does not know is told on the alert topic, through its key.
    policies = resources["StatusFunction"]["Properties"]["Policies"]
    assert [list(policy) for policy in policies] == [
        ["AWSSecretsManagerGetSecretValuePolicy"],
        ["SNSPublishMessagePolicy"],
        ["Statement"],
    ]
    assert policies[1]["SNSPublishMessagePolicy"] == {
        "TopicName": {"Fn::GetAtt": ["AlertTopic", "TopicName"]}
    }
    (encryption,) = policies[2]["Statement"]
    assert encryption["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert encryption["Condition"]["StringEquals"]["kms:ViaService"]


def test_the_sweep_reads_the_dead_letters_and_the_pending_alerts_only(
    resources: Resources,
) -> None:
    (statements,) = [
        p["Statement"]
        for p in resources["FinishFunction"]["Properties"]["Policies"]
        if "Statement" in p
    ]
    by_sid = {statement["Sid"]: statement for statement in statements}
    # It reads the queue and shows each message again: it never deletes or sends one.
    assert by_sid["DeadLetters"]["Action"] == [
        "sqs:GetQueueUrl",
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
    ]
    assert by_sid["DeadLetters"]["Resource"] == {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]}
    assert by_sid["PendingAlerts"]["Action"] == "dynamodb:Scan"
    assert by_sid["PendingAlerts"]["Resource"] == {
        "Fn::Sub": "${SubmissionsTable.Arn}/index/alerts-pending"
    }


def test_no_statement_allows_every_action(resources: Resources) -> None:
    for where, statement in _all_statements(resources):
        assert "NotAction" not in statement, where
        actions = as_list(statement["Action"])
        assert "*" not in actions, f"{where}: Action '*'"
        if statement["Effect"] == "Allow" and not where.endswith("KeyPolicy"):
            assert not any(a.endswith(":*") for a in actions), f"{where}: {actions}"


def test_star_resources_only_where_nothing_can_be_named(resources: Resources) -> None:
    for where, statement in _all_statements(resources):
        if statement["Effect"] != "Allow":
            continue
        assert "NotResource" not in statement, where
        if "*" not in as_list(statement["Resource"]):
            continue
        if where.endswith("KeyPolicy"):
            # In a key policy "*" is the key itself.
            continue
        actions = set(as_list(statement["Action"]))
        assert actions <= UNSCOPABLE_ACTIONS, f"{where}: {actions - UNSCOPABLE_ACTIONS} on '*'"


def test_sam_policy_templates_and_no_managed_policies(resources: Resources) -> None:
    for kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
        for name, spec in of_type(resources, kind).items():
            for policy in as_list(spec["Properties"].get("Policies", [])):
                assert isinstance(policy, dict), f"{name}: managed policy {policy}"
                if "Statement" in policy:
                    continue
                (template_name,) = policy
                assert template_name in POLICY_TEMPLATES, f"{name}: {template_name}"
                assert "*" not in str(policy[template_name]).replace("${SecretPrefix}*", ""), name
    # A role may attach only the stack's own managed policies, never an AWS-managed one.
    own = [{"Ref": name} for name in of_type(resources, "AWS::IAM::ManagedPolicy")]
    for name, spec in of_type(resources, "AWS::IAM::Role").items():
        for arn in spec["Properties"].get("ManagedPolicyArns", []):
            assert arn in own, f"{name}: managed policy {arn}"


def test_the_submit_function_has_its_own_role(resources: Resources) -> None:
    # SAM would add AWSLambdaSQSQueueExecutionRole (every queue) to a role it generates.
    assert resources["SubmitFunction"]["Properties"]["Role"] == {
        "Fn::GetAtt": ["SubmitFunctionRole", "Arn"]
    }
    trust = resources["SubmitFunctionRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}


@pytest.mark.parametrize(
    ("owner", "sid", "actions", "resource"),
    [
        (
            "SubmitFunctionRole",
            "IncomingFiles",
            {
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObjectTagging",
                "s3:PutObjectVersionTagging",
            },
            {"Fn::Sub": "${IntakeBucket.Arn}/incoming/*"},
        ),
        (
            "SubmitFunctionRole",
            "ConvertedFiles",
            {"s3:PutObject"},
            {"Fn::Sub": "${IntakeBucket.Arn}/converted/*"},
        ),
        (
            "SubmitFunctionRole",
            "IntakeQueue",
            {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
            {"Fn::GetAtt": ["IntakeQueue", "Arn"]},
        ),
        (
            "SubmitFunctionRole",
            "StartPoller",
            {"states:StartExecution"},
            {"Ref": "PollerStateMachine"},
        ),
        ("SubmitFunctionRole", "Alerts", {"sns:Publish"}, {"Ref": "AlertTopic"}),
        (
            "SubmitFunctionRole",
            "Records",
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
            {"Fn::GetAtt": ["SubmissionsTable", "Arn"]},
        ),
        (
            "FinishFunction",
            "Records",
            {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
            {"Fn::GetAtt": ["SubmissionsTable", "Arn"]},
        ),
        (
            "MonitorFunction",
            "FileRecordsByLicense",
            {"dynamodb:Query"},
            {"Fn::Sub": "${SubmissionsTable.Arn}/index/by-license"},
        ),
        (
            "MonitorFunction",
            "FilesReceived",
            {"dynamodb:Scan"},
            {"Fn::GetAtt": ["SubmissionsTable", "Arn"]},
        ),
        (
            "MonitorFunction",
            "PollerRunning",
            {"states:DescribeExecution"},
            {
                "Fn::Sub": [
                    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
                    ":execution:${MachineName}:*",
                    {"MachineName": {"Fn::GetAtt": ["PollerStateMachine", "Name"]}},
                ]
            },
        ),
        (
            "MonitorFunction",
            "StoresAndChecks",
            {"dynamodb:Scan", "dynamodb:GetItem", "dynamodb:PutItem"},
            {"Fn::GetAtt": ["StoresTable", "Arn"]},
        ),
        (
            "MonitorFunction",
            "MonthlyPages",
            {"s3:PutObject"},
            {"Fn::Sub": "${IntakeBucket.Arn}/reports/*"},
        ),
        (
            "FinishFunction",
            "OutcomeTags",
            {"s3:PutObjectTagging", "s3:PutObjectVersionTagging"},
            {"Fn::Sub": "${IntakeBucket.Arn}/incoming/*"},
        ),
    ],
)
def test_each_grant_names_its_resource(
    resources: Resources, owner: str, sid: str, actions: set[str], resource: Any
) -> None:
    found = [
        statement
        for where, statement in _all_statements(resources)
        if where.split(".")[0] == owner and statement.get("Sid") == sid
    ]
    assert len(found) == 1, f"{owner} has no statement {sid}"
    assert actions <= set(as_list(found[0]["Action"]))
    assert resource in as_list(found[0]["Resource"])
