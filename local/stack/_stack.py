"""The emulated AWS account as one object: start it, drop files, wait, read what happened."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from capss import telemetry
from capss.aws import wiring
from capss.aws.dynamodb import ClientTable, DynamoRecordStore
from capss.aws.stores import DynamoStoreRegister
from capss.compliance.stores import ExpectedStore
from capss.outcome import Outcome
from capss.pipeline.events import SOURCE as EVENT_SOURCE
from capss.pipeline.records import FileRecord
from capss.pipeline.uploaders import uploader_pattern

from local.stack import _limits as limits
from local.stack import _ttl as ttl
from local.stack._account import AccountBuilder
from local.stack._asl import thread_safe_asl_parser
from local.stack._clock import ScaledClock
from local.stack._eventbridge import ExecutionWatcher
from local.stack._invoke import FunctionHost, patched_lambda
from local.stack._queue import QueuePoller, thread_safe_queues
from local.stack._resources import Account, LocalFunction, SqsTrigger
from local.stack._s3events import (
    LOCAL_ADDRESS,
    LOCAL_UPLOADER,
    uploading_as,
    versioned_notifications,
)
from local.stack._template import ACCOUNT_ID, REGION, Template, TemplateError

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
LOCAL_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true"}
"""Added to every function's environment: no X-Ray daemon here. Metrics stay on: their
embedded-metric-format lines go to the handlers' log, as Lambda's would to CloudWatch."""


@dataclass(frozen=True)
class DroppedFile:
    """One object version put into the intake bucket."""

    name: str
    bucket: str
    key: str
    version_id: str | None

    @property
    def pk(self) -> str:
        return f"FILE#{self.bucket}/{self.key}#{self.version_id or 'null'}"

    @property
    def uri(self) -> str:
        version = f" (version {self.version_id})" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{version}"


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str
    attributes: dict[str, str]


@dataclass
class FileOutcome:
    file: DroppedFile
    record: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return str(self.record.get("outcome", "processing"))

    def to_json(self) -> dict[str, Any]:
        """The documented per-file JSON (the library's own view of the record) and more."""
        documented = (
            FileRecord.from_item(self.record).result().to_json()
            if self.record
            else {"file": self.file.name, "outcome": self.outcome}
        )
        return {
            **documented,
            "file": self.file.name,
            "key": self.file.key,
            "version_id": self.file.version_id,
            "problems": list(self.record.get("problems") or []),
            "alerts": [
                {"subject": alert.subject, "body": alert.body, "attributes": alert.attributes}
                for alert in self.alerts
            ],
            "events": [event["detail"]["outcome"] for event in self.events],
        }


class FunctionFailed(Exception):
    """A function invoked by the local stack raised."""


class StackTimeout(Exception):
    """Not every file reached a final outcome in time."""


STALL_SECONDS = 120.0
"""A wait in which nothing moves this long is stuck, not slow (the scaled clock turns a
15-minute poll wait into a second)."""


@contextlib.contextmanager
def _deaths_recorded(deaths: list[str]) -> Iterator[None]:
    """Each exception that ends a thread, kept (and still printed): moto runs an execution
    in a thread of its own, and one that dies leaves the execution RUNNING for ever."""
    previous = threading.excepthook

    def record(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "a thread"
        deaths.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}")
        previous(args)

    threading.excepthook = record
    try:
        yield
    finally:
        threading.excepthook = previous


class LocalStack:
    """The template's resources in moto, the real handlers behind them, a bounded intake poller.

    Use as a context manager; everything AWS happens inside it. `environment` overrides
    function variables for the local run (the simulator's CAPSS_BASE_URL, CAPSS_CA_BUNDLE);
    `parameters` overrides template parameter defaults.
    """

    def __init__(
        self,
        template: Path = TEMPLATE,
        *,
        parameters: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        clock_scale: float = 0.001,
        log: IO[str] | None = None,
        stack_name: str = "capss-local",
    ) -> None:
        self.template = Template.load(template, parameters, stack_name=stack_name)
        self.clock = ScaledClock(scale=clock_scale)
        self.log: IO[str] = log if log is not None else io.StringIO()
        self._overrides = dict(environment or {})
        self._exit = contextlib.ExitStack()
        self.account = Account()
        self.host = FunctionHost({})
        self.poller: QueuePoller | None = None
        self.watcher: ExecutionWatcher | None = None
        self.inbox_url = ""
        self.pos_url = ""
        self._events: list[dict[str, Any]] = []
        self._alerts: list[Alert] = []
        self._alerts_lock = threading.Lock()
        self.thread_deaths: list[str] = []
        """Threads of the stack (an execution's, a poller's) that died of an exception."""

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def _start(self) -> None:
        from moto import mock_aws  # noqa: PLC0415

        self._exit.enter_context(_environ(FAKE_CREDENTIALS))
        self._exit.enter_context(
            mock_aws(
                config={
                    "stepfunctions": {"execute_state_machine": True},
                    "lambda": {"use_docker": False},
                }
            )
        )
        self._exit.enter_context(versioned_notifications())
        import boto3  # noqa: PLC0415

        self.session = boto3.session.Session(region_name=REGION)
        self.account = AccountBuilder(self.template, self.session).build()
        environment = _union_environment(self.account.functions.values())
        environment.update(LOCAL_ENVIRONMENT)
        environment.update(self._overrides)
        self.environment = environment
        self._exit.enter_context(_environ(environment))
        self._configure_functions(environment)
        self._exit.enter_context(self.clock.installed())
        self._exit.enter_context(limits.enforced())
        self._exit.enter_context(thread_safe_queues())
        self._exit.enter_context(thread_safe_asl_parser())
        self._exit.enter_context(_deaths_recorded(self.thread_deaths))
        self.host = FunctionHost(self.account.functions, before_handler=_routed_to(self.log))
        self._exit.enter_context(patched_lambda(self.host))
        self._exit.enter_context(_quiet_moto())
        self._exit.enter_context(_handler_output(self.log))
        _reset_library()
        # As ops does once after a deploy (`capss submissions reindex`): the table is new.
        DynamoRecordStore(self.session.resource("dynamodb").Table(self.table)).fill_index()
        if "STORES_TABLE_NAME" in self.environment:
            # The chain's own export job, as a deployment registers it; a bare test template
            # without the register has no uploader check to satisfy.
            self.set_chain_uploaders([LOCAL_UPLOADER])
        self._subscribe_inbox()
        self._subscribe_pos()
        self._start_poller()
        self._start_watcher()

    def _configure_functions(self, environment: dict[str, str]) -> None:
        """moto's copies of the functions get the local values too (get_function_configuration)."""
        client = self.client("lambda")
        for function in self.account.functions.values():
            variables = dict(function.environment)
            variables.update({k: v for k, v in environment.items() if k in self._overrides})
            variables.update(LOCAL_ENVIRONMENT)
            client.update_function_configuration(
                FunctionName=function.name, Environment={"Variables": variables}
            )

    def _subscribe_inbox(self) -> None:
        """An SQS queue on the alert topic, filtered as the template filters ops' address:
        the alert emails as ops reads them (the stores' own copies not among them)."""
        sqs = self.client("sqs")
        self.inbox_url = sqs.create_queue(QueueName="capss-local-alert-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        # A template without ops' filtered subscription (the machinery tests' own) sends ops all.
        ops = self.template.resources.get("AlertEmailSubscription", {}).get("Properties", {})
        policy = {"FilterPolicy": json.dumps(ops["FilterPolicy"])} if "FilterPolicy" in ops else {}
        for topic_arn in self.account.topics.values():
            self.client("sns").subscribe(
                TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn, Attributes=policy
            )

    def _subscribe_pos(self) -> None:
        """A rule on each outcome bus, as a POS would write it, delivering to an SQS queue."""
        sqs = self.client("sqs")
        self.pos_url = sqs.create_queue(QueueName="capss-local-pos-events")["QueueUrl"]
        pos_arn = sqs.get_queue_attributes(QueueUrl=self.pos_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = self.client("events")
        for bus in self.account.event_buses.values():
            events.put_rule(
                Name="capss-local-pos",
                EventBusName=bus,
                EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
            )
            events.put_targets(
                Rule="capss-local-pos", EventBusName=bus, Targets=[{"Id": "pos", "Arn": pos_arn}]
            )

    def _start_poller(self) -> None:
        triggers: list[tuple[LocalFunction, SqsTrigger]] = [
            (function, trigger)
            for function in self.account.functions.values()
            for trigger in function.sqs_triggers
        ]
        if len(triggers) != 1:
            raise TemplateError(f"expected one SQS-triggered function, found {len(triggers)}")
        function, trigger = triggers[0]
        workers = trigger.maximum_concurrency or 1
        self.poller = QueuePoller(
            sqs=self.client("sqs"),
            lambda_client=self.client("lambda"),
            queue=self.account.queues[trigger.queue_logical_id],
            function_name=function.name,
            batch_size=trigger.batch_size,
            workers=workers,
            report_batch_item_failures=trigger.report_batch_item_failures,
            clock=self.clock,
        )
        self.poller.start()
        self._exit.callback(self.poller.stop)

    def _start_watcher(self) -> None:
        watches = [
            (function.name, self.account.state_machines[watch.state_machine_logical_id], watch)
            for function in self.account.functions.values()
            for watch in function.execution_watches
        ]
        self.watcher = ExecutionWatcher(self.client("stepfunctions"), self.host, watches)
        self.watcher.start()
        self._exit.callback(self.watcher.stop)

    # -- the account -----------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    def _single(self, resources: Mapping[str, Any], what: str) -> Any:
        if len(resources) != 1:
            raise TemplateError(f"expected one {what} in the template, found {len(resources)}")
        return next(iter(resources.values()))

    @property
    def bucket(self) -> str:
        return str(self._single(self.account.buckets, "bucket"))

    @property
    def table(self) -> str:
        """The submissions table: the one the functions' TABLE_NAME names."""
        return self.environment["TABLE_NAME"]

    @property
    def stores_table(self) -> str:
        return self.environment["STORES_TABLE_NAME"]

    def outputs(self) -> dict[str, str]:
        """The template's Outputs as CloudFormation would give them (what `capss --stack` reads)."""
        declared = self.template.document.get("Outputs") or {}
        return {
            name: str(self.template.resolve(spec["Value"]))
            for name, spec in declared.items()
            if "Condition" not in spec or self.template.condition(spec["Condition"])
        }

    def connection(self, endpoint_url: str | None = None) -> dict[str, Any]:
        """What `capss --local FILE` reads: the account's endpoint, outputs and parameters."""
        state: dict[str, Any] = {
            "stack": self.template.stack_name,
            "region": REGION,
            "outputs": self.outputs(),
            "parameters": dict(self.template.parameters),
            # The functions' CAPSS here (the simulator), for `capss submissions status`.
            "capss_base_url": self.environment.get("CAPSS_BASE_URL", ""),
        }
        if self.environment.get("CAPSS_CA_BUNDLE"):
            state["capss_ca_bundle"] = self.environment["CAPSS_CA_BUNDLE"]
        if endpoint_url:
            state["endpoint_url"] = endpoint_url
        return state

    def run_schedule(self, event_id: str, at: datetime) -> Any:
        """One run of a function's schedule (by its event id), at `at` as Scheduler would
        stamp it: the function's answer, or FunctionFailed."""
        for function in self.account.functions.values():
            for schedule in function.schedules:
                if schedule.event_id == event_id:
                    if not schedule.enabled:
                        raise TemplateError(f"the schedule {event_id} is disabled")
                    payload = schedule.input.replace(
                        "<aws.scheduler.scheduled-time>",
                        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    )
                    answer, error = self.host.invoke(function.name, payload)
                    if error:
                        raise FunctionFailed(f"{event_id}: {answer.decode()[:2000]}")
                    return json.loads(answer)
        raise TemplateError(f"no schedule {event_id} in the template")

    def travel(self, by: timedelta) -> int:
        """Moves the stack's calendar ahead by `by`, then lets DynamoDB's Time to Live do what
        it would have done by then (`_ttl`); returns how many items it deleted."""
        now = self.clock.travel(by)
        return ttl.sweep(self.client("dynamodb"), list(self.account.tables.values()), now)

    @property
    def state_machine_arn(self) -> str:
        return str(self._single(self.account.state_machines, "state machine"))

    @property
    def intake_queue_url(self) -> str:
        assert self.poller is not None
        return self.poller.queue.url

    def put_secret(
        self,
        license_number: str,
        client_id: str,
        client_secret: str,
        *,
        api: str | None = None,
        base_url: str | None = None,
    ) -> str:
        """The license's CAPSS client, where the functions look for it (a new version of
        the secret when it exists: a rotation)."""
        name = f"{self.environment.get('CAPSS_SECRET_PREFIX', 'capss/')}{license_number}"
        value: dict[str, str] = {"client_id": client_id, "client_secret": client_secret}
        if api:
            value["api"] = api
        if base_url:
            value["base_url"] = base_url
        secrets = self.client("secretsmanager")
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps(value))
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))
        return name

    @property
    def register(self) -> DynamoStoreRegister:
        return DynamoStoreRegister(ClientTable(self.client("dynamodb"), self.stores_table))

    def set_chain_uploaders(self, principals: list[str]) -> None:
        """Who may file for every license (the stack starts with `LOCAL_UPLOADER`)."""
        self.register.put_chain_uploaders(frozenset(uploader_pattern(p) for p in principals))

    def add_store_uploader(self, license_number: str, principal: str) -> None:
        """Lets `principal` file for `license_number` (registering the store if it is not)."""
        found = {store.license: store for store in self.register.stores()}
        store = found.get(license_number) or ExpectedStore(license=license_number)
        uploaders = store.uploaders | {uploader_pattern(principal)}
        self.register.put_store(dataclasses.replace(store, uploaders=uploaders))

    def drop(
        self,
        data: bytes,
        key: str,
        *,
        metadata: Mapping[str, str] | None = None,
        uploader: str | None = LOCAL_UPLOADER,
        address: str = LOCAL_ADDRESS,
    ) -> DroppedFile:
        """PUT an object into the intake bucket: S3 notifies the queue, the pipeline runs.

        Its S3 event names `uploader` as the principal that put it (None: no identity)."""
        with uploading_as(uploader, address):
            answer = self.client("s3").put_object(
                Bucket=self.bucket, Key=key, Body=data, Metadata=dict(metadata or {})
            )
        return DroppedFile(key.rsplit("/", 1)[-1], self.bucket, key, answer.get("VersionId"))

    def drop_file(
        self,
        path: Path,
        license_number: str | None,
        *,
        update: bool = False,
        name: str | None = None,
        metadata: Mapping[str, str] | None = None,
        uploader: str | None = LOCAL_UPLOADER,
    ) -> DroppedFile:
        """Under its license's folder, or straight under the kind's when it has none known."""
        csv = path.suffix.lower() == ".csv"
        kind = "item-updates" if update else "csv" if csv else "transactions"
        folder = f"incoming/{kind}/{license_number}" if license_number else f"incoming/{kind}"
        return self.drop(
            path.read_bytes(), f"{folder}/{name or path.name}", metadata=metadata, uploader=uploader
        )

    def notification_for(self, dropped: DroppedFile) -> str:
        """The S3 notification body the intake queue got for a dropped file."""
        assert self.poller is not None
        for body in self.poller.stats.bodies:
            for record in json.loads(body).get("Records", []):
                obj = record["s3"]["object"]
                same_key = _unquote(obj["key"]) == dropped.key
                if same_key and obj.get("versionId") == dropped.version_id:
                    return body
        raise LookupError(f"no notification for {dropped.uri} reached the function yet")

    def redeliver(self, dropped: DroppedFile) -> None:
        """The same S3 event once more (S3 and SQS deliver at least once)."""
        self.client("sqs").send_message(
            QueueUrl=self.intake_queue_url, MessageBody=self.notification_for(dropped)
        )

    # -- what happened -----------------------------------------------------------------------

    def record(self, dropped: DroppedFile) -> dict[str, Any] | None:
        item = (
            self.client("dynamodb")
            .get_item(TableName=self.table, Key={"pk": {"S": dropped.pk}}, ConsistentRead=True)
            .get("Item")
        )
        return plain_item(item) if item else None

    def running_executions(self) -> int:
        pages = (
            self.client("stepfunctions")
            .get_paginator("list_executions")
            .paginate(stateMachineArn=self.state_machine_arn, statusFilter="RUNNING")
        )
        while True:
            try:
                return sum(len(page["executions"]) for page in pages)
            except AttributeError:
                continue  # moto listed an execution it is still creating (no status yet)

    def alerts(self) -> list[Alert]:
        """Every alert published so far, in order, as the ops person reads it."""
        with self._alerts_lock:
            for body in _take_messages(self.inbox_url):
                envelope = json.loads(body)
                self._alerts.append(
                    Alert(
                        subject=str(envelope.get("Subject") or ""),
                        body=str(envelope.get("Message") or ""),
                        attributes={
                            name: str(value.get("Value"))
                            for name, value in (envelope.get("MessageAttributes") or {}).items()
                        },
                    )
                )
            return list(self._alerts)

    def events(self) -> list[dict[str, Any]]:
        """Every outcome event delivered to the POS's rule so far, in arrival order."""
        with self._alerts_lock:
            self._events += [json.loads(body) for body in _take_messages(self.pos_url)]
            return list(self._events)

    def events_for(self, dropped: DroppedFile) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events()
            if event["detail"].get("key") == dropped.key
            and event["detail"].get("version_id") == dropped.version_id
        ]

    def alerts_for(self, dropped: DroppedFile) -> list[Alert]:
        return _alerts_about(self.alerts(), dropped)

    def wait(
        self,
        files: list[DroppedFile],
        *,
        timeout: float = 60.0,
        progress: Callable[[FileOutcome], None] | None = None,
        stall: float = STALL_SECONDS,
    ) -> list[FileOutcome]:
        """Until every file has its final outcome (and its alert, where one is owed) and no
        poller execution runs; in drop order.

        Fails at once when a thread of the stack died (an execution that will never end),
        and after `stall` seconds in which nothing moved (no file final, no execution ended,
        no function invoked), naming the files still open, instead of waiting out `timeout`.
        """
        deadline = time.monotonic() + timeout
        final: dict[DroppedFile, dict[str, Any]] = {}
        moved, marker = time.monotonic(), (-1, -1, -1)
        while True:
            for dropped in files:
                if dropped in final:
                    continue
                record = self.record(dropped)
                if record and _settled(record, announced=bool(self.account.event_buses)):
                    final[dropped] = record
                    if progress:
                        progress(FileOutcome(dropped, record))
            running = self.running_executions()
            if (
                len(final) == len(set(files))
                and running == 0
                and (self.watcher is None or self.watcher.pending == 0)
            ):
                break
            now = time.monotonic()
            if (len(final), running, len(self.host.invocations)) != marker:
                moved, marker = now, (len(final), running, len(self.host.invocations))
            why = None
            if self.thread_deaths:
                why = f"a thread of the local stack died ({self.thread_deaths[0][:300]})"
            elif now - moved > stall:
                why = f"nothing moved for {stall:.0f} s"
            elif now > deadline:
                why = f"after {timeout:.0f} s"
            if why:
                missing = [f.uri for f in files if f not in final]
                raise StackTimeout(
                    f"{why}: {len(missing)} file(s) without a final outcome"
                    f" {missing[:5]}, {running} execution(s) running;"
                    f" function failures: {self.host.failures()[-3:]}"
                )
            # Reading every pending record competes with the handlers for the GIL: poll less
            # often when many files are pending.
            time.sleep(min(0.05 + 0.002 * (len(files) - len(final)), 0.5))
        # A last read: the finish step may have added to a record seen final earlier. The
        # alerted flag is saved just before the send: give a flagged alert its moment.
        results = self._outcomes([(f, self.record(f) or final[f]) for f in files])
        settle = time.monotonic() + 5
        while time.monotonic() < settle and any(
            r.record.get("alerted") and not r.alerts for r in results
        ):
            time.sleep(0.05)
            results = self._outcomes([(r.file, r.record) for r in results])
        return results

    def _outcomes(self, files: list[tuple[DroppedFile, dict[str, Any]]]) -> list[FileOutcome]:
        """Each file with its alerts and events, the inboxes read once for all of them."""
        alerts = self.alerts()
        events: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for event in self.events():
            detail = event["detail"]
            events.setdefault((detail.get("key"), detail.get("version_id")), []).append(event)
        return [
            FileOutcome(
                dropped,
                record,
                _alerts_about(alerts, dropped),
                events.get((dropped.key, dropped.version_id), []),
            )
            for dropped, record in files
        ]


def _take_messages(queue_url: str) -> list[str]:
    """Every message in one of the stack's own inboxes, taken at once from moto's queue.

    moto's ReceiveMessage walks the whole queue for each message it returns: emptying an
    inbox of the 2,000 outcome events of a 1,000-file run that way took many minutes.
    """
    from moto.sqs.models import sqs_backends  # noqa: PLC0415

    queue = sqs_backends[ACCOUNT_ID][REGION].get_queue(queue_url.rsplit("/", 1)[-1])
    with queue._messages_lock:  # SendMessage appends under it
        taken, queue._messages = queue._messages, []
    return [message.body for message in taken]


def _alerts_about(alerts: list[Alert], dropped: DroppedFile) -> list[Alert]:
    marker = f"{dropped.uri}\n"
    return [alert for alert in alerts if marker in alert.body]


def _settled(item: dict[str, Any], *, announced: bool) -> bool:
    """Final, alerted where a person must act and, on a stack with an outcome bus, announced:
    the last try's give-up is final too, though its phase stays open for a redrive."""
    # Only these fields: moto applies an UpdateItem in place, so a read can see a record
    # half written.
    outcome = Outcome(item.get("outcome", Outcome.PROCESSING))
    alerted = bool(item.get("alerted")) or not outcome.needs_person
    return (
        outcome.is_final and alerted and (not announced or item.get("announced") == outcome.value)
    )


def _union_environment(functions: Any) -> dict[str, str]:
    """All handlers share this process, so their variables must agree where they overlap."""
    union: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function in functions:
        for name, value in function.environment.items():
            if name in union and union[name] != value:
                raise TemplateError(
                    f"{function.logical_id} sets {name}={value!r} but {owner[name]} sets"
                    f" {union[name]!r}: the local stack runs every handler in one process"
                )
            union[name], owner[name] = value, function.logical_id
    return union


@contextlib.contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _quiet_moto() -> Iterator[None]:
    """Expected failures (Retry, Catch) are logged by moto's ASL interpreter as errors."""
    names = ("moto.stepfunctions.parser", "moto")
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


class _ThreadRoutedOutput(io.TextIOBase):
    """stdout for the thread that started the stack; `log` for every other (the handlers')."""

    def __init__(self, owner_stream: IO[str], log: IO[str], owner: int | None = None) -> None:
        self._owner = threading.get_ident() if owner is None else owner
        self._owner_stream = owner_stream
        self._log = log

    def _target(self) -> IO[str]:
        return self._owner_stream if threading.get_ident() == self._owner else self._log

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()


@contextlib.contextmanager
def _handler_output(log: IO[str]) -> Iterator[None]:
    """Handler output (Powertools logs and metrics print to stdout) goes to `log`.

    The library's logger writes to the stream it found at import, so it is pointed at
    `log` too; other threads' prints (the handlers run on the poller's and Step
    Functions' threads) are routed there, the caller's own prints are not.
    """
    handler = telemetry.logger.registered_handler
    saved_stream = handler.setStream(log) if isinstance(handler, logging.StreamHandler) else None
    saved_stdout = sys.stdout
    sys.stdout = _ThreadRoutedOutput(saved_stdout, log)
    try:
        yield
    finally:
        sys.stdout = saved_stdout
        if saved_stream is not None and isinstance(handler, logging.StreamHandler):
            handler.setStream(saved_stream)


def _routed_to(log: IO[str]) -> Callable[[], None]:
    """Puts the handlers' router back on stdout when someone replaced it since the stack
    started (pytest swaps in its own capture between a fixture's setup and the test)."""
    owner = threading.get_ident()

    def reroute() -> None:
        current = sys.stdout
        if not isinstance(current, _ThreadRoutedOutput):
            sys.stdout = _ThreadRoutedOutput(current, log, owner)

    return reroute


def _reset_library() -> None:
    """A fresh account: the library's cold-start caches must not keep the last one's clients."""
    wiring.reset()


def _unquote(key: str) -> str:
    from urllib.parse import unquote_plus  # noqa: PLC0415

    return unquote_plus(key)


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

    deserializer = TypeDeserializer()
    return {key: _plain(deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value) if value == int(value) else float(value)
    return value
