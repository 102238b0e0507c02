"""The template's resources, created in moto with boto3: the emulated AWS account.

moto's CloudFormation applies neither the SAM transform nor `DefinitionSubstitutions`,
so each resource type the bridge uses is created here from its template properties.
Types that change nothing in a local run (alarms, log groups, policies) are listed
and skipped; any other type fails loudly, so a template change cannot drift silently.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

from local.stack._resources import (
    EXECUTION_STATUS_CHANGE,
    Account,
    ExecutionWatch,
    LocalFunction,
    LocalQueue,
    Schedule,
    SqsTrigger,
)
from local.stack._template import ACCOUNT_ID, PARTITION, REGION, Template, TemplateError

LOCAL_ROLE = "capss-local-execution"

SKIPPED_TYPES = frozenset(
    {
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Logs::LogGroup",
        "AWS::Logs::MetricFilter",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Lambda::Permission",
        "AWS::S3::BucketPolicy",
    }
)
"""Resources with no effect on what a file goes through locally."""


class _NotYet(TemplateError):
    """A resource refers to one not created yet: try it again later."""


def _fn_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs the real handler from CodeUri\n")
    return buffer.getvalue()


class AccountBuilder:
    """Creates each resource once its references can be resolved (CloudFormation's order)."""

    def __init__(self, template: Template, session: Any) -> None:
        self.template = template
        self.account = Account()
        self._client = lambda name: session.client(name, region_name=REGION)
        self._role_arn = ""

    def build(self) -> Account:
        iam = self._client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        self._role_arn = iam.create_role(
            RoleName=LOCAL_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        pending = [lid for lid in self.template.resources if self.template.included(lid)]
        while pending:
            postponed: list[str] = []
            reasons: dict[str, str] = {}
            for logical_id in pending:
                try:
                    self._create(logical_id)
                except _NotYet as reason:
                    postponed.append(logical_id)
                    reasons[logical_id] = str(reason)
            if len(postponed) == len(pending):
                raise TemplateError(f"circular or unresolvable references: {reasons}")
            pending = postponed
        return self.account

    def _resolve(self, value: Any) -> Any:
        try:
            return self.template.resolve(value)
        except TemplateError as error:
            if "not created yet" in str(error) or "not known locally" in str(error):
                raise _NotYet(str(error)) from None
            raise

    def _register(self, logical_id: str, ref: str, **attributes: str) -> None:
        self.template.refs[logical_id] = ref
        self.template.attributes[logical_id] = attributes

    def _create(self, logical_id: str) -> None:
        resource = self.template.resources[logical_id]
        kind = resource.get("Type", "")
        if kind in SKIPPED_TYPES:
            self.account.skipped.append(logical_id)
            self._register(logical_id, f"{self.template.stack_name}-{logical_id}")
            return
        creators = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Serverless::LayerVersion": self._layer,
            "AWS::Serverless::Function": self._function,
            "AWS::Serverless::StateMachine": self._state_machine,
            "AWS::IAM::Role": self._role,
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
        }
        if kind not in creators:
            raise TemplateError(
                f"{logical_id}: resource type {kind} is not known to the local stack"
                " (add it to local/stack/_account.py, or to SKIPPED_TYPES if it changes"
                " nothing locally)"
            )
        creators[kind](logical_id, resource.get("Properties") or {})

    def _name(self, logical_id: str, given: Any) -> str:
        return str(given) if given else f"{self.template.stack_name}-{logical_id}"

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        notification = self._resolve(props.get("NotificationConfiguration") or {})
        name = self._name(logical_id, self._resolve(props.get("BucketName"))).lower()
        s3 = self._client("s3")
        s3.create_bucket(Bucket=name)
        versioning = self._resolve(props.get("VersioningConfiguration") or {})
        if versioning.get("Status"):
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": versioning["Status"]}
            )
        unsupported = set(notification) - {"QueueConfigurations"}
        if unsupported:
            raise TemplateError(f"{logical_id}: notifications {sorted(unsupported)} not supported")
        queue_configs = [
            {
                "QueueArn": config["Queue"],
                "Events": [config["Event"]],
                **(
                    {
                        "Filter": {
                            "Key": {
                                "FilterRules": [
                                    {"Name": rule["Name"], "Value": rule["Value"]}
                                    for rule in config["Filter"]["S3Key"]["Rules"]
                                ]
                            }
                        }
                    }
                    if config.get("Filter")
                    else {}
                ),
            }
            for config in notification.get("QueueConfigurations", [])
        ]
        if queue_configs:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": queue_configs}
            )
        self.account.buckets[logical_id] = name
        self._register(
            logical_id,
            name,
            Arn=f"arn:{PARTITION}:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{REGION}.amazonaws.com",
        )

    def _queue(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        name = self._name(logical_id, props.get("QueueName"))
        attributes: dict[str, str] = {}
        visibility = int(props.get("VisibilityTimeout", 30))
        attributes["VisibilityTimeout"] = str(visibility)
        for key in ("MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attributes[key] = str(props[key])
        redrive = props.get("RedrivePolicy")
        max_receives = None
        if redrive:
            max_receives = int(redrive["maxReceiveCount"])
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                    "maxReceiveCount": max_receives,
                }
            )
        url = self._client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        self.account.queues[logical_id] = LocalQueue(logical_id, url, arn, visibility, max_receives)
        self._register(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _queue_policy(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        for url in props["Queues"]:
            self._client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )
        self._register(logical_id, logical_id)

    def _table(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        name = self._name(logical_id, props.get("TableName"))
        arguments: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if props.get("GlobalSecondaryIndexes"):
            arguments["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("ProvisionedThroughput"):
            arguments["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        if props.get("SSESpecification"):
            arguments["SSESpecification"] = {
                "Enabled": bool(props["SSESpecification"].get("SSEEnabled", True))
            }
        dynamodb = self._client("dynamodb")
        description = dynamodb.create_table(**arguments)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "Enabled": bool(ttl.get("Enabled")),
                    "AttributeName": ttl["AttributeName"],
                },
            )
        self.account.tables[logical_id] = name
        self._register(logical_id, name, Arn=description["TableArn"])

    def _topic(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        name = self._name(logical_id, props.get("TopicName"))
        attributes = {}
        if props.get("KmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = str(props["KmsMasterKeyId"])
        sns = self._client("sns")
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
        for subscription in props.get("Subscription", []):
            sns.subscribe(
                TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"]
            )
        self.account.topics[logical_id] = arn
        self._register(logical_id, arn, TopicName=name, TopicArn=arn)

    def _subscription(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        policy = props.get("FilterPolicy")
        arn = self._client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes={"FilterPolicy": json.dumps(policy)} if policy else {},
        )["SubscriptionArn"]
        self._register(logical_id, arn)

    def _event_bus(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        name = self._name(logical_id, props.get("Name"))
        arn = self._client("events").create_event_bus(Name=name)["EventBusArn"]
        self.account.event_buses[logical_id] = name
        self._register(logical_id, name, Arn=arn, Name=name)

    def _role(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        name = self._name(logical_id, props.get("RoleName"))
        arn = self._client("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"])
        )["Role"]["Arn"]
        self._register(logical_id, arn, Arn=arn, RoleId=name)

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        arguments: dict[str, Any] = {"Description": str(props.get("Description", logical_id))}
        if props.get("KeyPolicy"):
            arguments["Policy"] = json.dumps(props["KeyPolicy"])
        metadata = self._client("kms").create_key(**arguments)["KeyMetadata"]
        self._register(logical_id, metadata["KeyId"], Arn=metadata["Arn"], KeyId=metadata["KeyId"])

    def _kms_alias(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        self._client("kms").create_alias(
            AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"]
        )
        self._register(logical_id, str(props["AliasName"]))

    def _layer(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self._resolve(props)
        content = self.template.root / str(props["ContentUri"])
        if not content.is_dir():
            raise TemplateError(f"{logical_id}: ContentUri {content} is not a folder")
        self.account.layers[logical_id] = content
        arn = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:layer:{logical_id}:1"
        self._register(logical_id, arn, Arn=arn)

    def _function(self, logical_id: str, props: dict[str, Any]) -> None:
        merged = _merge_globals(self.template.globals_for("Function"), props)
        merged.pop("Events", None)
        merged = self._resolve(merged)
        runtime = str(merged.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise TemplateError(f"{logical_id}: runtime {runtime!r} cannot run in process")
        if merged.get("PackageType", "Zip") != "Zip":
            raise TemplateError(f"{logical_id}: only Zip functions run locally")
        code_dir = self.template.root / str(merged["CodeUri"])
        module, _, function = str(merged["Handler"]).rpartition(".")
        if not (code_dir / f"{module.replace('.', '/')}.py").is_file():
            raise TemplateError(f"{logical_id}: no {module}.py under {code_dir}")
        environment = {
            key: _text(value)
            for key, value in ((merged.get("Environment") or {}).get("Variables") or {}).items()
        }
        name = self._name(logical_id, merged.get("FunctionName"))
        arn = self._client("lambda").create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=self._role_arn,
            Handler=f"{module}.{function}",
            Code={"ZipFile": _fn_zip()},
            Timeout=int(merged.get("Timeout", 3)),
            MemorySize=int(merged.get("MemorySize", 128)),
            Environment={"Variables": environment},
        )["FunctionArn"]
        self.account.functions[logical_id] = LocalFunction(
            logical_id=logical_id,
            name=name,
            arn=arn,
            code_dir=code_dir,
            handler=f"{module}.{function}",
            timeout=int(merged.get("Timeout", 3)),
            memory_mb=int(merged.get("MemorySize", 128)),
            environment=environment,
            sqs_triggers=tuple(self._triggers(logical_id, props.get("Events") or {})),
            schedules=tuple(self._schedules(logical_id, props.get("Events") or {})),
            execution_watches=tuple(_watches(logical_id, props.get("Events") or {})),
        )
        self._register(logical_id, name, Arn=arn)

    def _triggers(self, logical_id: str, events: dict[str, Any]) -> list[SqsTrigger]:
        triggers = []
        for event_id, event in events.items():
            if event.get("Type") == "ScheduleV2":
                continue
            if event.get("Type") == "EventBridgeRule":
                continue  # _watches
            if event.get("Type") != "SQS":
                raise TemplateError(
                    f"{logical_id}.{event_id}: event type {event.get('Type')} is not run locally"
                )
            props = event.get("Properties") or {}
            queue = props.get("Queue")
            # The poller needs the queue's logical id, not its ARN.
            if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                target = queue["Fn::GetAtt"]
                queue_id = target[0] if isinstance(target, list) else str(target).split(".")[0]
            else:
                raise TemplateError(f"{logical_id}.{event_id}: Queue must be !GetAtt <Queue>.Arn")
            props = self._resolve({k: v for k, v in props.items() if k != "Queue"})
            if props.get("Enabled") is False:
                continue
            scaling = props.get("ScalingConfig") or {}
            triggers.append(
                SqsTrigger(
                    queue_logical_id=queue_id,
                    batch_size=int(props.get("BatchSize", 10)),
                    maximum_concurrency=(
                        int(scaling["MaximumConcurrency"])
                        if "MaximumConcurrency" in scaling
                        else None
                    ),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                )
            )
        return triggers

    def _schedules(self, logical_id: str, events: dict[str, Any]) -> list[Schedule]:
        schedules = []
        for event_id, event in events.items():
            if event.get("Type") != "ScheduleV2":
                continue
            props = self._resolve(event.get("Properties") or {})
            schedules.append(
                Schedule(
                    event_id=event_id,
                    expression=str(props["ScheduleExpression"]),
                    timezone=str(props.get("ScheduleExpressionTimezone", "UTC")),
                    input=str(props.get("Input", "{}")),
                    enabled=props.get("State", "ENABLED") == "ENABLED",
                )
            )
        return schedules

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> None:
        substitutions = self._resolve(props.get("DefinitionSubstitutions") or {})
        props = self._resolve({k: v for k, v in props.items() if k != "DefinitionSubstitutions"})
        if "Definition" in props:
            text = json.dumps(props["Definition"])
        else:
            text = (self.template.root / str(props["DefinitionUri"])).read_text(encoding="utf-8")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in substitutions:
                raise TemplateError(
                    f"{logical_id}: no DefinitionSubstitutions entry for ${{{name}}}"
                )
            return str(substitutions[name])

        definition = re.sub(r"\$\{([^}]+)\}", substitute, text)
        json.loads(definition)
        kind = str(props.get("Type", "STANDARD"))
        if kind != "STANDARD":
            raise TemplateError(f"{logical_id}: only STANDARD state machines run locally")
        name = self._name(logical_id, props.get("Name"))
        arn = self._client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=self._role_arn, type=kind
        )["stateMachineArn"]
        self.account.state_machines[logical_id] = arn
        self._register(logical_id, arn, Arn=arn, Name=name)


def _watches(logical_id: str, events: dict[str, Any]) -> list[ExecutionWatch]:
    """EventBridge rules on a state machine's execution status changes (the only kind run)."""
    watches = []
    for event_id, event in events.items():
        if event.get("Type") != "EventBridgeRule":
            continue
        pattern = (event.get("Properties") or {}).get("Pattern") or {}
        detail = pattern.get("detail") or {}
        machines = detail.get("stateMachineArn") or []
        if (
            pattern.get("source") != ["aws.states"]
            or pattern.get("detail-type") != [EXECUTION_STATUS_CHANGE]
            or len(machines) != 1
            or not isinstance(machines[0], dict)
            or "Ref" not in machines[0]
        ):
            raise TemplateError(
                f"{logical_id}.{event_id}: only rules on one state machine's (!Ref) execution"
                " status changes run locally"
            )
        watches.append(
            ExecutionWatch(logical_id, str(machines[0]["Ref"]), tuple(detail.get("status") or ()))
        )
    return watches


def _merge_globals(defaults: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (environment variables too), lists and scalars replace."""
    merged = dict(defaults)
    for key, value in props.items():
        if key == "Environment" and key in merged:
            variables = dict((merged[key] or {}).get("Variables") or {})
            variables.update((value or {}).get("Variables") or {})
            merged[key] = {"Variables": variables}
        else:
            merged[key] = value
    return merged


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
