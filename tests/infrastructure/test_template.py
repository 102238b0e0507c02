"""template.yaml keeps the stack's contract: names, environment, wiring, security settings."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from capss.aws.dynamodb import BY_LICENSE_ATTRIBUTES, PENDING_INDEX
from capss.aws.sns import OPS_FILTER_POLICY
from capss.aws.stores import API_KEY_PREFIX
from capss.client.api import Api
from capss.kinds import ON_DUP_CHOICES, ON_ERROR_CHOICES, CustomerFields
from capss.pipeline.converted import converted_key
from capss.pipeline.onfile import on_file_key
from capss.pipeline.records import RETENTION_DAYS, FileRecord
from capss.pipeline.settings import (
    FinishSettings,
    MonitorSettings,
    PresignSettings,
    StatusSettings,
    SubmitSettings,
)

from local.stack._template import Template
from tests.infrastructure.cfn import (
    ROOT,
    TEMPLATE,
    as_list,
    of_type,
    policy_documents,
    statements,
)

Resources = dict[str, dict[str, Any]]

FUNCTIONS = {
    "SubmitFunction": "functions/submit/",
    "StatusFunction": "functions/status/",
    "FinishFunction": "functions/finish/",
    "MonitorFunction": "functions/monitor/",
    "PresignFunction": "functions/presign/",
}

SETTINGS = {
    "SubmitFunction": SubmitSettings,
    "StatusFunction": StatusSettings,
    "FinishFunction": FinishSettings,
    "MonitorFunction": MonitorSettings,
    "PresignFunction": PresignSettings,
}
READ_BY_POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
}
OPTIONAL = {"CAPSS_CA_BUNDLE", "POLL_MAX_WAIT_SECONDS", "POLL_WAIT_SHARE", "POLL_BUDGET_SECONDS"}
"""Variables the code reads with a default of its own where the template may leave them out."""


class _Reads(dict[str, str]):
    """An environment that remembers which variables the code asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def _deployed_environment(name: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """A function's environment as CloudFormation resolves it with the parameters' defaults."""
    stack = Template.load(TEMPLATE, overrides)
    stack.refs.update({logical: f"local-{logical}" for logical in stack.resources})
    stack.attributes.update({logical: {"Arn": f"arn:{logical}"} for logical in stack.resources})
    variables = {
        **stack.globals_for("Function")["Environment"]["Variables"],
        **stack.resources[name]["Properties"]["Environment"]["Variables"],
    }
    return {key: str(value) for key, value in stack.resolve(variables).items()}


def _properties(resources: Resources, name: str) -> dict[str, Any]:
    props: dict[str, Any] = resources[name]["Properties"]
    return props


def _defines_handler(app: Path, name: str) -> bool:
    tree = ast.parse(app.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body)


def test_every_function_points_at_a_lambda_handler(resources: Resources) -> None:
    functions = of_type(resources, "AWS::Serverless::Function")
    assert {name: spec["Properties"]["CodeUri"] for name, spec in functions.items()} == FUNCTIONS
    for name, spec in functions.items():
        module, _, handler = spec["Properties"]["Handler"].rpartition(".")
        app = ROOT / spec["Properties"]["CodeUri"] / f"{module}.py"
        assert app.is_file(), f"{name}: {app} is missing"
        assert _defines_handler(app, handler), f"{name}: {app.name} has no def {handler}"


def test_globals_follow_the_runtime_contract(template: dict[str, Any]) -> None:
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Timeout"] == 60
    assert function["MemorySize"] == 512
    assert function["Tracing"] == "Active"
    assert function["Layers"] == [{"Ref": "CapssLayer"}]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_function_is_given_exactly_the_settings_its_code_reads(name: str) -> None:
    deployed = _deployed_environment(name)
    environment = _Reads(deployed)
    SETTINGS[name].from_env(environment)
    given = set(deployed) - READ_BY_POWERTOOLS
    assert given - environment.asked == set(), f"{name} is given variables its code never reads"
    unset = environment.asked - given
    assert unset <= OPTIONAL, f"{name} reads variables the template does not set: {unset}"


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_default_parameters_deploy_the_codes_own_defaults(name: str) -> None:
    deployed = _deployed_environment(name)
    required = {"TABLE_NAME", "STORES_TABLE_NAME", "TOPIC_ARN", "STATE_MACHINE_ARN"}
    required |= {"CAPSS_BASE_URL", "STACK_NAME", "INTAKE_DLQ_ARN"}
    required |= {"EVENT_BUS_NAME", "BUCKET_NAME", "REPORTS_BUCKET"}  # the stack's own names
    bare = {key: value for key, value in deployed.items() if key in required}
    assert SETTINGS[name].from_env(deployed) == SETTINGS[name].from_env(bare)


def test_parameter_choices_are_the_codes_choices(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert tuple(parameters["OnDup"]["AllowedValues"]) == ON_DUP_CHOICES
    assert tuple(parameters["OnError"]["AllowedValues"]) == ON_ERROR_CHOICES
    assert parameters["CapssApi"]["AllowedValues"] == [api.value for api in Api]
    assert parameters["CustomerFields"]["AllowedValues"] == [c.value for c in CustomerFields]


def test_parameters_reach_the_settings() -> None:
    overrides = {
        "CapssApi": "legacy",
        "AlertOnComplete": "true",
        "PollBudgetSeconds": "7200",
        "CustomerFields": "reject",
        "RetentionDays": "2000",
    }
    submit = SubmitSettings.from_env(_deployed_environment("SubmitFunction", overrides))
    assert submit.customer_fields is CustomerFields.REJECT
    assert submit.retention_days == 2000
    status = StatusSettings.from_env(_deployed_environment("StatusFunction", overrides))
    finish = FinishSettings.from_env(_deployed_environment("FinishFunction", overrides))
    assert submit.capss.api == "legacy"
    assert submit.alert_on_complete
    assert finish.alert_on_complete
    assert status.poll.budget_seconds == 7200
    assert submit.deployment.intake_dlq_arn == "arn:IntakeDeadLetterQueue"
    assert finish.deployment.stack_name == submit.deployment.stack_name


def test_parameters_are_described_and_bounded(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for name, spec in parameters.items():
        assert spec.get("Description"), f"{name} has no description"
        if spec["Type"] == "Number":
            assert "AllowedValues" in spec or {"MinValue", "MaxValue"} <= set(spec), name
    # AWS refuses a maximum concurrency below 2 on an SQS event source.
    assert parameters["MaxFilesInFlight"]["MinValue"] == 2


@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("OfficialXsdS3Uri", ["", "s3://doj-xsd/capss/bulk.xsd"], ["https://x/y.xsd", "s3://b"]),
        ("AlertEmail", ["none", "ops@example.com"], ["", "ops", "a b@example.com"]),
        ("PollWaitShare", ["0", "0.5", "1", "0.25", "1.99"], ["2", "-0.5", ".5", "0.", "x"]),
        ("SecretPrefix", ["capss/", "prod/capss-"], ["", "capss/*"]),
    ],
)
def test_parameter_patterns(
    template: dict[str, Any], name: str, good: list[str], bad: list[str]
) -> None:
    pattern = re.compile(template["Parameters"][name]["AllowedPattern"])
    assert all(pattern.fullmatch(value) for value in good)
    assert not any(pattern.fullmatch(value) for value in bad)


def test_a_deploy_without_an_alert_recipient_fails_unless_opted_out(
    template: dict[str, Any],
) -> None:
    """Defect 8: with no default, CloudFormation refuses a deploy that names no recipient,
    and an empty value fails the pattern with a message saying what to give."""
    spec = template["Parameters"]["AlertEmail"]
    assert "Default" not in spec
    assert not re.fullmatch(spec["AllowedPattern"], "")
    assert "none" in spec["ConstraintDescription"]
    assert template["Conditions"]["HasAlertEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlertEmail"}, "none"]}]
    }


def test_capss_environments_map_to_the_doj_hosts(template: dict[str, Any]) -> None:
    assert template["Mappings"]["CapssEnvironments"] == {
        "sandbox": {"BaseUrl": "https://capss-sb.doj.ca.gov"},
        "production": {"BaseUrl": "https://capss.doj.ca.gov"},
    }


def test_conditions_exist_and_are_used(template: dict[str, Any]) -> None:
    assert {"HasAlertEmail", "HasXsd"} <= set(template["Conditions"])
    text = TEMPLATE.read_text(encoding="utf-8")
    for name in template["Conditions"]:
        assert len(re.findall(rf"\b{name}\b", text)) >= 2, f"condition {name} is never used"
    subscription = template["Resources"]["AlertEmailSubscription"]
    assert subscription["Condition"] == "HasAlertEmail"
    assert subscription["Properties"]["Protocol"] == "email"


def test_intake_bucket_is_private_encrypted_versioned_and_tls_only(resources: Resources) -> None:
    bucket = _properties(resources, "IntakeBucket")
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    policies = [
        spec["Properties"]
        for spec in of_type(resources, "AWS::S3::BucketPolicy").values()
        if spec["Properties"]["Bucket"] == {"Ref": "IntakeBucket"}
    ]
    assert len(policies) == 1
    denials = [
        s
        for s in policies[0]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny"
        and s["Principal"] == "*"
        and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    ]
    assert len(denials) == 1
    assert {"Fn::GetAtt": ["IntakeBucket", "Arn"]} in denials[0]["Resource"]
    assert {"Fn::Sub": "${IntakeBucket.Arn}/*"} in denials[0]["Resource"]


def test_new_files_under_incoming_reach_the_queue(resources: Resources) -> None:
    bucket = resources["IntakeBucket"]
    assert bucket["DependsOn"] == "IntakeQueuePolicy"
    (config,) = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Event"] == "s3:ObjectCreated:*"
    assert config["Queue"] == {"Fn::GetAtt": ["IntakeQueue", "Arn"]}
    assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "incoming/"}]

    policy = _properties(resources, "IntakeQueuePolicy")
    assert policy["Queues"] == [{"Ref": "IntakeQueue"}]
    (allow,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # The policy names the bucket by the same expression the bucket's name uses (no cycle).
    source = allow["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    name = bucket["Properties"]["BucketName"]["Fn::Sub"]
    assert source[0] == "arn:${AWS::Partition}:s3:::" + name[0]
    assert source[1] == name[1]


def test_bucket_name_is_valid_for_any_account_and_stack(resources: Resources) -> None:
    text, _ = resources["IntakeBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    longest = text.replace("${AWS::AccountId}", "123456789012").replace(
        "${StackUuid}", "4a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
    )
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", longest), longest


def test_intake_queue_retries_five_times_then_dead_letters(resources: Resources) -> None:
    queue = _properties(resources, "IntakeQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    submit_timeout = _properties(resources, "SubmitFunction")["Timeout"]
    assert submit_timeout == 300
    # The submit function's last try records and alerts: it must know which try is last.
    submit_env = _properties(resources, "SubmitFunction")["Environment"]["Variables"]
    assert int(submit_env["INTAKE_MAX_RECEIVES"]) == queue["RedrivePolicy"]["maxReceiveCount"]
    assert queue["VisibilityTimeout"] >= 6 * submit_timeout
    dlq = _properties(resources, "IntakeDeadLetterQueue")
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True


def test_submit_reads_the_queue_one_file_at_a_time_with_bounded_concurrency(
    resources: Resources,
) -> None:
    events = _properties(resources, "SubmitFunction")["Events"]
    (event,) = events.values()
    assert event["Type"] == "SQS"
    assert event["Properties"] == {
        "Queue": {"Fn::GetAtt": ["IntakeQueue", "Arn"]},
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "MaxFilesInFlight"}},
    }


def test_layer_is_built_for_the_runtime_and_architecture(
    template: dict[str, Any], resources: Resources
) -> None:
    layer = resources["CapssLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    runtime = template["Globals"]["Function"]["Runtime"]
    assert layer["Metadata"]["BuildMethod"] == runtime
    props = layer["Properties"]
    assert props["ContentUri"] == "layers/capss/"
    assert props["CompatibleRuntimes"] == [runtime]
    assert props["CompatibleArchitectures"] == template["Globals"]["Function"]["Architectures"]
    content = ROOT / props["ContentUri"]
    assert (content / "requirements.txt").is_file()
    assert (content / "capss" / "__init__.py").is_file()


def test_state_machine_is_wired_to_the_poller_definition(resources: Resources) -> None:
    machine = _properties(resources, "PollerStateMachine")
    assert machine["Type"] == "STANDARD"
    assert machine["DefinitionUri"] == "statemachine/poller.asl.json"
    assert machine["DefinitionSubstitutions"] == {
        "StatusFunctionArn": {"Fn::GetAtt": ["StatusFunction", "Arn"]},
        "FinishFunctionArn": {"Fn::GetAtt": ["FinishFunction", "Arn"]},
    }
    invoked = [
        p["LambdaInvokePolicy"]["FunctionName"]
        for p in machine["Policies"]
        if "LambdaInvokePolicy" in p
    ]
    assert invoked == [{"Ref": "StatusFunction"}, {"Ref": "FinishFunction"}]


def test_submissions_table(resources: Resources) -> None:
    table = _properties(resources, "SubmissionsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    index, pending = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-license"
    assert index["KeySchema"] == [
        {"AttributeName": "license", "KeyType": "HASH"},
        {"AttributeName": "received_at", "KeyType": "RANGE"},
    ]
    # What the index's readers need; a "still processing" status check writes none of it.
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": list(BY_LICENSE_ATTRIBUTES),
    }
    # Sparse, keys only: the sweep finds the alerts left pending without a scan of the table.
    assert pending == {
        "IndexName": PENDING_INDEX,
        "KeySchema": [{"AttributeName": "alert_pending", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"pk": "S", "license": "S", "received_at": "S", "alert_pending": "S"}
    assert resources["SubmissionsTable"]["DeletionPolicy"] == "Retain"


def test_alert_topic_is_encrypted_with_a_key_cloudwatch_may_use(resources: Resources) -> None:
    topic = _properties(resources, "AlertTopic")
    assert topic["KmsMasterKeyId"] == {"Ref": "AlertTopicKey"}
    key = _properties(resources, "AlertTopicKey")
    assert key["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["KeyPolicy"]["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals


def test_every_function_and_the_poller_log_with_retention(resources: Resources) -> None:
    groups = of_type(resources, "AWS::Logs::LogGroup")
    for spec in groups.values():
        assert spec["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for name in FUNCTIONS:
        target = _properties(resources, name)["LoggingConfig"]["LogGroup"]["Ref"]
        assert target in groups
        assert groups[target]["Properties"]["LogGroupName"]["Fn::Sub"].startswith("/aws/lambda/")
    logging = _properties(resources, "PollerStateMachine")["Logging"]
    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    assert "${PollerLogGroup}" in destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::Sub"]


def _alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(namespace, metric, dimension value) of each metric an alarm watches."""
    if "MetricName" in alarm:
        return [(alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"][0]["Value"])]
    found = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            found.append(
                (metric["Namespace"], metric["MetricName"], metric["Dimensions"][0]["Value"])
            )
    return found


def test_alarms_cover_dead_letters_poller_failures_and_function_errors(
    resources: Resources,
) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    # The missed-store-days alarm is no email of its own (test_dashboard holds it).
    del alarms["MissedStoreDaysAlarm"]
    watched = set()
    for name, spec in alarms.items():
        props = spec["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlertTopic"}], name
        assert props["AlarmDescription"], name
        assert props["TreatMissingData"] == "notBreaching", name
        watched |= {
            (namespace, metric, str(value)) for namespace, metric, value in _alarm_metrics(props)
        }
    machine = str({"Ref": "PollerStateMachine"})
    expected = {
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            str({"Fn::GetAtt": ["IntakeDeadLetterQueue", "QueueName"]}),
        ),
        ("AWS/States", "ExecutionsFailed", machine),
        ("AWS/States", "ExecutionsTimedOut", machine),
        ("AWS/States", "ExecutionsAborted", machine),
    } | {("AWS/Lambda", "Errors", str({"Ref": name})) for name in FUNCTIONS}
    assert expected <= watched


def test_outputs_name_what_operators_need(template: dict[str, Any]) -> None:
    values = {name: output["Value"] for name, output in template["Outputs"].items()}
    assert values == {
        "IntakeBucketName": {"Ref": "IntakeBucket"},
        "IntakeQueueUrl": {"Ref": "IntakeQueue"},
        "IntakeDeadLetterQueueUrl": {"Ref": "IntakeDeadLetterQueue"},
        "SubmissionsTableName": {"Ref": "SubmissionsTable"},
        "AlertTopicArn": {"Ref": "AlertTopic"},
        "PollerStateMachineArn": {"Ref": "PollerStateMachine"},
        "CapssBaseUrl": {
            "Fn::FindInMap": ["CapssEnvironments", {"Ref": "CapssEnvironment"}, "BaseUrl"]
        },
        "StoresTableName": {"Ref": "StoresTable"},
        "MonitorFunctionName": {"Ref": "MonitorFunction"},
        "DashboardName": {"Ref": "Dashboard"},
        "OutcomeEventBusName": {"Ref": "OutcomeEventBus"},
        "OutcomeEventBusArn": {"Fn::GetAtt": ["OutcomeEventBus", "Arn"]},
        "PosUploaderPolicyArn": {"Ref": "PosUploaderPolicy"},
        "IntakeAccessLogBucketName": {"Ref": "IntakeAccessLogBucket"},
        "PosVendorRoleArn": {"Fn::GetAtt": ["PosVendorRole", "Arn"]},
        "UploadApiUrl": {
            "Fn::Sub": "https://${UploadApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1/uploads"
        },
    }


def test_the_monitor_runs_twice_a_day_in_pacific_time_at_the_chosen_hours(
    resources: Resources,
) -> None:
    events = _properties(resources, "MonitorFunction")["Events"]
    stack = Template.load(
        TEMPLATE,
        {
            "MonitorEarlyHour": "11",
            "MonitorFinalHour": "6",
            "DailyDigest": "true",
            "DigestHour": "8",
            "MonthlyPage": "true",
        },
    )
    runs = {}
    for name, event in events.items():
        assert event["Type"] == "ScheduleV2"
        props = stack.resolve(event["Properties"])
        assert props["ScheduleExpressionTimezone"] == "America/Los_Angeles"
        assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        assert props.get("State", "ENABLED") == "ENABLED"
        runs[name] = (props["ScheduleExpression"], json.loads(props["Input"]))
    assert runs == {
        "EarlyWarning": (
            "cron(0 11 * * ? *)",
            {"check": "early", "time": "<aws.scheduler.scheduled-time>"},
        ),
        "FinalCheck": (
            "cron(0 6 * * ? *)",
            {"check": "final", "time": "<aws.scheduler.scheduled-time>"},
        ),
        "Digest": (
            "cron(0 8 * * ? *)",
            {"check": "digest", "time": "<aws.scheduler.scheduled-time>"},
        ),
        # The month's first seven days after the final check: the function writes last
        # month's page on the first business day among them.
        "MonthPage": (
            "cron(30 6 1-7 * ? *)",
            {"check": "month_page", "time": "<aws.scheduler.scheduled-time>"},
        ),
    }
    # The digest and the monthly page are optional: off unless asked for.
    for optional in ("Digest", "MonthPage"):
        default = Template.load(TEMPLATE).resolve(events[optional]["Properties"])
        assert default["State"] == "DISABLED"


def test_the_store_register_is_its_own_retained_encrypted_table(resources: Resources) -> None:
    table = resources["StoresTable"]
    assert table["DeletionPolicy"] == "Retain"
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_the_presigned_upload_endpoint_is_off_by_default_and_needs_an_api_key(
    resources: Resources,
) -> None:
    optional = ("UploadApi", "PresignFunction", "PresignFunctionLogGroup")
    assert not any(Template.load(TEMPLATE).included(name) for name in optional)
    enabled = Template.load(TEMPLATE, {"PresignedUploads": "enabled"})
    assert all(enabled.included(name) for name in optional)
    auth = _properties(resources, "UploadApi")["Auth"]
    assert auth["ApiKeyRequired"] is True
    assert auth["UsagePlan"]["CreateUsagePlan"] == "PER_API"
    assert {"Throttle", "Quota"} <= set(auth["UsagePlan"])
    (event,) = _properties(resources, "PresignFunction")["Events"].values()
    assert event["Properties"]["Auth"] == {"ApiKeyRequired": True}
    assert event["Properties"]["RestApiId"] == {"Ref": "UploadApi"}
    # Beyond signing PUTs: reading one kind of item of the register, the key bindings.
    granted = [
        statement
        for policy in _properties(resources, "PresignFunction")["Policies"]
        for statement in policy["Statement"]
    ]
    (read,) = [statement for statement in granted if "dynamodb" in str(statement["Action"])]
    assert read["Action"] == "dynamodb:GetItem"
    assert read["Resource"] == {"Fn::GetAtt": ["StoresTable", "Arn"]}
    leading = read["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert leading == [f"{API_KEY_PREFIX}*"]


def test_ops_subscription_takes_every_alert_but_the_stores_own_copies(
    resources: Resources,
) -> None:
    """The filter the code's per-store copies are made to miss (`Alert.for_store`)."""
    subscription = _properties(resources, "AlertEmailSubscription")
    assert subscription["FilterPolicy"] == OPS_FILTER_POLICY


def test_outcome_events_go_to_the_bridges_own_bus_only(resources: Resources) -> None:
    bus = {"Fn::GetAtt": ["OutcomeEventBus", "Arn"]}
    granted = [
        (where, statement)
        for where, document in policy_documents(resources)
        for statement in statements(document)
        if "events:" in str(statement.get("Action"))
    ]
    assert {where.split(".")[0] for where, _ in granted} == {"SubmitFunctionRole", "FinishFunction"}
    for _where, statement in granted:
        assert statement["Action"] == "events:PutEvents"
        assert statement["Resource"] == bus


def _submit_statements(overrides: dict[str, str]) -> list[dict[str, Any]]:
    """The submit role's statements as CloudFormation would resolve them for these parameters."""
    stack = Template.load(TEMPLATE, overrides)
    stack.refs.update(
        {
            name: f"capss-local-{name}"
            for name in (
                "SubmitFunctionLogGroup",
                "PollerStateMachine",
                "AlertTopic",
                "AlertTopicKey",
            )
        }
    )
    for name in (
        "IntakeQueue",
        "IntakeBucket",
        "SubmissionsTable",
        "StoresTable",
        "OutcomeEventBus",
    ):
        stack.attributes[name] = {"Arn": f"arn:aws:test:::{name}"}
    (policy,) = stack.resolve(_properties(stack.resources, "SubmitFunctionRole")["Policies"])
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_official_xsd_is_readable_only_when_configured() -> None:
    without = _submit_statements({})
    assert "OfficialXsd" not in {s["Sid"] for s in without}
    with_xsd = _submit_statements({"OfficialXsdS3Uri": "s3://doj-xsd/capss/bulk-upload.xsd"})
    (statement,) = [s for s in with_xsd if s["Sid"] == "OfficialXsd"]
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == "arn:aws:s3:::doj-xsd/capss/bulk-upload.xsd"


def test_secrets_are_readable_by_prefix_only(resources: Resources) -> None:
    expected = {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
        ":secret:${SecretPrefix}*"
    }
    submit = _properties(resources, "SubmitFunctionRole")["Policies"][0]["PolicyDocument"]
    (secrets,) = [s for s in submit["Statement"] if s.get("Sid") == "LicenseSecrets"]
    assert secrets["Resource"] == expected
    status = _properties(resources, "StatusFunction")["Policies"]
    assert {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": expected}} in status
    assert all(
        "secretsmanager" not in str(policy)
        for policy in as_list(_properties(resources, "FinishFunction")["Policies"])
    )


def test_the_finish_function_sweeps_every_five_minutes(resources: Resources) -> None:
    """A file whose S3 event reached the dead-letter queue with no outcome, or an alert left
    pending, is told within minutes; the run carries its scheduled time."""
    finish = resources["FinishFunction"]["Properties"]
    sweep = finish["Events"]["Sweep"]
    assert sweep["Type"] == "ScheduleV2"
    assert sweep["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert json.loads(sweep["Properties"]["Input"]) == {
        "sweep": True,
        "time": "<aws.scheduler.scheduled-time>",
    }
    variables = finish["Environment"]["Variables"]
    assert variables["INTAKE_DLQ_ARN"] == {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]}
    # The alarm says what is true: each file there is told on its own, by one path or the other.
    alarm = resources["IntakeDeadLetterAlarm"]["Properties"]["AlarmDescription"]
    assert "sweep" in alarm
    assert "capss redrive" in alarm


def test_a_stopped_poller_reaches_the_finish_function_through_eventbridge(
    resources: Resources,
) -> None:
    """Defect 3a: every poller execution that fails, times out or is aborted (its last step
    never ran, or failed for good) is handed to the finish function, which records `failed`
    and alerts; EventBridge keeps trying for a day."""
    rule = resources["FinishFunction"]["Properties"]["Events"]["PollerStopped"]
    assert rule["Type"] == "EventBridgeRule"
    pattern = rule["Properties"]["Pattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "PollerStateMachine"}]
    assert rule["Properties"]["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400


def test_intake_access_logs_are_optional_and_expire() -> None:
    assert not Template.load(TEMPLATE).included("IntakeAccessLogBucket")
    stack = Template.load(TEMPLATE, {"IntakeAccessLogs": "enabled", "AccessLogDays": "90"})
    assert stack.included("IntakeAccessLogBucket")
    assert stack.included("IntakeAccessLogBucketPolicy")
    stack.refs["IntakeAccessLogBucket"] = "capss-access-logs"
    logging = stack.resolve(stack.resources["IntakeBucket"]["Properties"]["LoggingConfiguration"])
    assert logging == {"DestinationBucketName": "capss-access-logs", "LogFilePrefix": "intake/"}
    (rule,) = stack.resolve(
        stack.resources["IntakeAccessLogBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    )
    assert str(rule["ExpirationInDays"]) == "90"
    without = Template.load(TEMPLATE)
    # A list drops AWS::NoValue: the bucket gets no LoggingConfiguration at all.
    assert (
        without.resolve([without.resources["IntakeBucket"]["Properties"]["LoggingConfiguration"]])
        == []
    )


def test_what_the_bridge_keeps_expires_after_the_retention_parameter(
    template: dict[str, Any], resources: Resources
) -> None:
    retention = template["Parameters"]["RetentionDays"]
    # Three years at least (B&P 21628; docs/design.md, "Personal data and retention").
    assert retention["Default"] == RETENTION_DAYS
    assert retention["MinValue"] == 1096 <= RETENTION_DAYS
    rules = {
        r["Id"]: r
        for r in _properties(resources, "IntakeBucket")["LifecycleConfiguration"]["Rules"]
    }
    assert all(rule["Status"] == "Enabled" for rule in rules.values())
    days = {"Ref": "RetentionDays"}
    # Every replaced version, wherever it is, once it has been replaced this long.
    assert rules["expire-replaced-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": days
    }
    assert "Prefix" not in rules["expire-replaced-versions"]
    # The copies the bridge writes (CSV conversions, on-file copies), never a current original.
    copies = rules["expire-bridge-copies"]
    assert copies["ExpirationInDays"] == days
    key = "incoming/transactions/000000300/day.xml"
    assert converted_key(key).startswith(copies["Prefix"])
    assert on_file_key(key).startswith(copies["Prefix"])
    # A current original stays until the chain's own rule removes it.
    expiring_current = [
        r["Id"] for r in rules.values() if {"ExpirationInDays", "ExpirationDate"} & set(r)
    ]
    assert expiring_current == ["expire-bridge-copies"]
    assert not copies["Prefix"].startswith("incoming")
    # Records: the table's TTL attribute is the one the submit function writes.
    table = _properties(resources, "SubmissionsTable")
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    submit_env = _properties(resources, "SubmitFunction")["Environment"]["Variables"]
    assert submit_env["RETENTION_DAYS"] == days
    assert "expires_at" in FileRecord.__dataclass_fields__
