"""`python -m local reliability [--short]` (`make reliability`): the fault suite.

Each scenario runs files through the whole local stack (the real template, handlers and
state machine, AWS's limits enforced) against the CAPSS simulator with faults injected, and
yields one row: how many files reached a final recorded outcome, CAPSS uploads per file, the
alerts owed and sent, files lost, files whose items CAPSS saved twice, and secrets, tokens or
the canary customer's data (each file carries it; `local/canary.py`) found in anything the
system wrote. The command exits 1 on any loss, duplicate, leak or
file without an outcome, or a person owed an alert who got none.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from capss.outcome import Outcome
from capss.pipeline.poll import MAX_POLLS, next_wait
from capss.pipeline.settings import PollSettings

from local.canary import Written, canaries_in, with_canary, written
from local.simulator import CapssSimulator, Fault
from local.stack import (
    HISTORY_EVENTS,
    TEMPLATE,
    DroppedFile,
    FileOutcome,
    Killed,
    LocalStack,
    StackTimeout,
)
from local.stack._stack import ROOT

SAMPLES = ROOT / "events" / "files"
LICENSE = "000000300"
CLIENT = ("rel-300", "rel-secret-300-xyz")
ROTATED_SECRET = "rel-secret-300-rotated"
PREFIX = f"incoming/transactions/{LICENSE}"
HOSTILE = ROOT / "tests" / "unit" / "intake" / "corpus"

Faults = Callable[[int], list[Fault]]


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: Faults = lambda n: []
    simulator: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    kill: str | None = None
    """A step of the submit function where each file's first attempt is stopped (a timeout;
    "converting the CSV" stops every attempt, as running out of memory would)."""
    csv: bool = False
    """Each file is a CSV export (incoming/csv/), converted by the submit function."""
    invalid: bool = False
    """Each file fails validation: `rejected`, with its alert sent by the submit function."""
    sweep: bool = False
    """The finish function's Sweep schedule runs all along, its clock minutes ahead (the
    scaled clock's view of the time the scenario takes)."""
    check: Callable[[LocalStack, list[FileOutcome]], list[str]] | None = None
    """What else every file must show; each line returned fails the row."""
    deliveries: int = 1
    """How many times each S3 event reaches the queue."""
    redrop: bool = False
    """Each file's bytes are dropped again under another key once it is final."""
    hostile: bool = False
    """The hostile-file corpus: every file `rejected` with an alert, CAPSS never asked."""
    files: int | None = None
    """Files for this scenario whatever the suite's count (the load scenario)."""
    rotate: bool = False
    """At the first status check the client secret is rotated: the new one put into Secrets
    Manager, the old one and its tokens revoked at CAPSS."""
    expect: Outcome | None = None
    """The outcome every file must end with (beyond final and alerted)."""


def _errors_body(n: int) -> dict[str, Any]:
    """A finished job whose CAPSS answer quotes thousands of error items."""
    return {
        "fileName": "x.xml",
        "status": 200,
        "statusMessage": "complete",
        "isUploaded": True,
        "hasErrors": True,
        "hasDuplicates": False,
        "errorMessages": [f"Item {i}: serial number is invalid for this article" for i in range(n)],
        "jobStatisticsMessageList": [f"Total Items: {n}", "Saved Items: 0", f"Error Items: {n}"],
    }


UNKNOWN_WORD = "Error processing file"
UNKNOWN_STATUS = {
    "fileName": "x.xml",
    "status": 200,
    "statusMessage": UNKNOWN_WORD,
    "isUploaded": True,
    "hasErrors": False,
    "hasDuplicates": False,
    "errorMessages": [],
    "jobStatisticsMessageList": [],
}
"""A 200 whose status word the bridge does not know (neither running, complete nor failed)."""
DAY = 86_400


def _alerted_with(outcome: str, text: str) -> Callable[[LocalStack, list[FileOutcome]], list[str]]:
    """Every file got an alert whose `outcome` attribute is `outcome` and whose body says `text`."""

    def check(local: LocalStack, results: list[FileOutcome]) -> list[str]:
        alerts = {r.file.name: local.alerts_for(r.file) for r in results}
        missing = [
            name
            for name, told in alerts.items()
            if not any(a.attributes.get("outcome") == outcome and text in a.body for a in told)
        ]
        return [f"no {outcome} alert saying {text!r}: {missing[:5]}"] if missing else []

    return check


def _waited_out_a_day(local: LocalStack, results: list[FileOutcome]) -> list[str]:
    """Each file's message was held as long as SQS allows, not refused back to 30 minutes."""
    from capss.pipeline.submit import SQS_MAX_VISIBILITY  # noqa: PLC0415

    held = sum(1 for seconds in local.clock.redeliveries if seconds >= SQS_MAX_VISIBILITY - 60)
    if held < len(results):
        return [f"{held} of {len(results)} messages held for a day's Retry-After"]
    return []


PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
GENERIC_500 = {"timestamp": "2026-12-01T05:00:00", "status": 500, "error": "Internal Server Error"}

SCENARIOS = (
    Scenario("clean, each S3 event three times, bytes re-dropped", deliveries=3, redrop=True),
    Scenario("token 5xx", lambda n: [Fault.error(500, "token", times=2 * n)]),
    Scenario("token refused (connection dropped)", lambda n: [Fault.dropped("token", times=n)]),
    Scenario("upload 503 before a job exists", lambda n: [Fault.error(503, "upload", times=2 * n)]),
    Scenario(
        "ambiguous upload: job created, answer lost",
        lambda n: [Fault.dropped("upload", after_accept=True, times=n)],
    ),
    Scenario(
        "ambiguous upload: job created, 502 from the gateway",
        lambda n: [Fault.error(502, "upload", after_accept=True, times=n)],
    ),
    Scenario("dropped connections anywhere", lambda n: [Fault.dropped("any", times=n)]),
    Scenario("status 503", lambda n: [Fault.error(503, "status", times=3 * n)]),
    Scenario(
        "status generic 500", lambda n: [Fault.error(500, "status", body=GENERIC_500, times=3 * n)]
    ),
    Scenario(
        "status proxy HTML",
        lambda n: [Fault(endpoint="status", status=502, body=PROXY_PAGE, times=3 * n)],
    ),
    Scenario("status malformed", lambda n: [Fault.malformed("status", times=2 * n)]),
    Scenario("status 404 for a while", lambda n: [Fault.not_found(times=2 * n)]),
    Scenario("401 after rotation mid-poll", rotate=True, expect=Outcome.COMPLETE),
    Scenario(
        "a job that never completes",
        simulator={"polls_to_complete": 10_000},
        parameters={"PollBudgetSeconds": "600", "MaxPollWaitSeconds": "240"},
    ),
    Scenario(
        "CAPSS answers 5,000 error items",
        lambda n: [Fault(endpoint="status", status=200, body=_errors_body(5000), times=n)],
    ),
    Scenario("handler timeout before the claim", kill="before claim"),
    Scenario("handler timeout after the claim", kill="after claim"),
    Scenario("handler timeout after the uploading save", kill="after uploading save"),
    Scenario("handler timeout after the upload, before the record", kill="after upload"),
    Scenario("hostile files dropped into S3", hostile=True),
    Scenario(
        "submit function killed for memory on a CSV",
        kill="converting the CSV",
        csv=True,
        sweep=True,
        expect=Outcome.FAILED,
        check=_alerted_with(Outcome.FAILED.value, "dead-letter queue"),
    ),
    Scenario(
        "function killed between marking and sending an alert",
        kill="between marking and sending the alert",
        invalid=True,
        sweep=True,
        expect=Outcome.REJECTED,
        check=_alerted_with(Outcome.REJECTED.value, "may have been sent once already"),
    ),
    Scenario(
        "a CAPSS status word the bridge does not know",
        lambda n: [Fault(endpoint="status", status=200, body=UNKNOWN_STATUS, times=100 * n)],
        parameters={"PollBudgetSeconds": "600", "MaxPollWaitSeconds": "240"},
        expect=Outcome.TIMED_OUT,
        check=_alerted_with("unknown_status", UNKNOWN_WORD),
    ),
    Scenario(
        "Retry-After of one day on the upload",
        lambda n: [Fault.error(503, "upload", times=n, headers={"Retry-After": str(DAY)})],
        expect=Outcome.COMPLETE,
        check=_waited_out_a_day,
    ),
    Scenario("1,000 files at once", files=1000),
)
MAX_FILES_IN_FLIGHT = 5
"""The template's default MaxFilesInFlight: CAPSS never sees more uploads at once."""
CHECK_STATE = "CheckStatus"
"""The poller's status check: its entries count the checks in a history."""
SECONDS_PER_FILE = 1.0
"""A scenario's wait allows this much per file (measured: 0.4 s a file at load 7)."""
TOKEN_REQUESTS = 10
"""A handful: the token is shared by every file of a license while it lasts."""
SHORT = (
    "clean, each S3 event three times, bytes re-dropped",
    "ambiguous upload: job created, answer lost",
    "status generic 500",
    "CAPSS answers 5,000 error items",
    "handler timeout after the uploading save",
    "hostile files dropped into S3",
)


@dataclass
class Row:
    scenario: str
    files: int
    final: int = 0
    uploads_min: int = 0
    uploads_max: int = 0
    owed: int = 0
    sent: int = 0
    lost: int = 0
    duplicates: int = 0
    leaks: int = 0
    figures: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.final == self.files
            and self.lost == 0
            and self.duplicates == 0
            and self.leaks == 0
            and self.sent >= self.owed
            and not self.notes
        )


def variant(tag: str) -> bytes:
    """The clean sample with transactions of its own (no two files share an item), and the
    canary customer in its first transaction: sent as an "on file" copy, it must be found
    nowhere the bridge writes."""
    text = (SAMPLES / "store-0300-clean.xml").read_text(encoding="utf-8")
    text = re.sub(
        r"<loanBuyNumber>([^<]+)</loanBuyNumber>",
        lambda m: f"<loanBuyNumber>{m.group(1)[:6]}{tag}</loanBuyNumber>",
        text,
    )
    return with_canary(text.encode())


def hostile_files() -> list[tuple[str, bytes]]:
    """(key, bytes) of each corpus file that must be rejected, in the folder it expects."""
    manifest = json.loads((HOSTILE / "manifest.json").read_text(encoding="utf-8"))
    return [
        (
            f"incoming/transactions/{entry.get('expected_license', LICENSE)}/{entry['file']}",
            (HOSTILE / entry["file"]).read_bytes(),
        )
        for entry in manifest["files"]
        # Templates need a canary the unit test plants; item updates go under another prefix.
        if entry.get("ok") is False
        and not entry.get("template")
        and entry.get("kind", "transactions") == "transactions"
    ]


@contextlib.contextmanager
def killing(step: str | None) -> Iterator[None]:
    """Stops each file's first submit attempt at `step`, as Lambda's timeout would."""
    if step is None:
        yield
        return
    from capss.aws.dynamodb import DynamoRecordStore  # noqa: PLC0415
    from capss.aws.sns import SnsAlertSender  # noqa: PLC0415
    from capss.client.client import CapssClient  # noqa: PLC0415
    from capss.pipeline import submit  # noqa: PLC0415
    from capss.pipeline.records import Phase  # noqa: PLC0415

    killed: set[str] = set()
    lock = threading.Lock()

    def first(key: str) -> bool:
        with lock:
            if key in killed:
                return False
            killed.add(key)
            return True

    claim, save, upload = DynamoRecordStore.claim, DynamoRecordStore.save, CapssClient.upload
    # Replaced in the submit module's names: it imported the function itself.
    names = vars(submit)
    lease, convert = submit.LEASE, names["convert_export"]
    send = SnsAlertSender.send

    def killing_claim(self: Any, ref: Any, kind: str, span: timedelta) -> Any:
        if step == "before claim" and first(ref.pk):
            raise Killed
        answer = claim(self, ref, kind, span)
        if step == "after claim" and not answer.taken and first(ref.pk):
            raise Killed
        return answer

    def killing_save(self: Any, record: Any) -> None:
        save(self, record)
        if step == "after uploading save" and record.phase is Phase.UPLOADING and first(record.pk):
            raise Killed

    def killing_upload(self: Any, fileobj: Any, filename: str, *args: Any, **kw: Any) -> Any:
        receipt = upload(self, fileobj, filename, *args, **kw)
        if step == "after upload" and first(filename):
            raise Killed
        return receipt

    def killing_convert(*args: Any, **kw: Any) -> Any:
        if step == "converting the CSV":
            raise Killed  # every attempt: the export is as large each time
        return convert(*args, **kw)

    def killing_send(self: Any, alert: Any) -> None:
        # The record is saved marked pending (and alerted) before the send.
        about = alert.body.partition("File:")[2].partition("\n")[0]
        if step == "between marking and sending the alert" and about and first(about):
            raise Killed
        send(self, alert)

    DynamoRecordStore.claim = killing_claim  # type: ignore[method-assign,assignment]
    DynamoRecordStore.save = killing_save  # type: ignore[method-assign]
    CapssClient.upload = killing_upload  # type: ignore[method-assign]
    names["convert_export"] = killing_convert
    SnsAlertSender.send = killing_send  # type: ignore[method-assign]
    # The lease outlives the function's timeout in AWS (10 min against 5); here the queue's
    # backoff runs 1,000 times faster, so the dead attempt's lease must too.
    submit.LEASE = timedelta(seconds=1)
    try:
        yield
    finally:
        DynamoRecordStore.claim, DynamoRecordStore.save = claim, save  # type: ignore[method-assign]
        CapssClient.upload = upload  # type: ignore[method-assign]
        SnsAlertSender.send = send  # type: ignore[method-assign]
        submit.LEASE, names["convert_export"] = lease, convert


SWEEP_EVERY = 0.3
"""Seconds between sweeps: five minutes on the scaled clock."""
PENDING_FOR = 2.0
"""Seconds an alert stays pending before the sweep counts it left by a stopped function:
the sweep runs with its clock this much short of PENDING_AFTER ahead (a send takes ms)."""


@contextlib.contextmanager
def sweeping(local: LocalStack, on: bool) -> Iterator[None]:
    """The finish function's Sweep schedule, run as Scheduler would, minutes passing fast."""
    if not on:
        yield
        return
    from capss.pipeline.sweep import PENDING_AFTER  # noqa: PLC0415

    stop = threading.Event()

    def run() -> None:
        while not stop.wait(SWEEP_EVERY):
            ahead = PENDING_AFTER - timedelta(seconds=PENDING_FOR)
            with contextlib.suppress(Exception):  # a failed run is retried by the next
                local.run_schedule("Sweep", datetime.now(UTC) + ahead)

    thread = threading.Thread(target=run, name="sweep", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def rotating(sim: CapssSimulator, local: LocalStack) -> Iterator[None]:
    """Rotates the client secret once, mid-poll: while files are followed and others sent."""
    stop = threading.Event()

    def rotate() -> None:
        while not stop.wait(0.01):
            if sim.count(endpoint="status"):
                local.put_secret(LICENSE, CLIENT[0], ROTATED_SECRET)
                sim.rotate_secret(CLIENT[0], ROTATED_SECRET)
                return

    thread = threading.Thread(target=rotate, name="rotation", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_scenario(scenario: Scenario, files: int, timeout: float) -> Row:
    simulator = {"polls_to_complete": 2, **scenario.simulator}
    with contextlib.ExitStack() as stack:
        sim = stack.enter_context(CapssSimulator(**simulator))
        sim.add_client(*CLIENT, license_number=LICENSE)
        local = stack.enter_context(
            LocalStack(
                TEMPLATE,
                parameters=scenario.parameters,
                environment={
                    "CAPSS_BASE_URL": sim.base_url,
                    "CAPSS_CA_BUNDLE": str(sim.ca_pem_path),
                },
                log=io.StringIO(),
            )
        )
        local.put_secret(LICENSE, *CLIENT)
        stack.enter_context(killing(scenario.kill))
        if scenario.rotate:
            stack.enter_context(rotating(sim, local))
        stack.enter_context(sweeping(local, scenario.sweep))
        sim.inject(*scenario.faults(files))
        if scenario.hostile:
            dropped = [local.drop(data, key) for key, data in hostile_files()]
        elif scenario.csv:
            export = (SAMPLES / "store-0300-aimsi-export.csv").read_bytes()
            dropped = [
                local.drop(export, f"incoming/csv/{LICENSE}/f{n:04d}.csv") for n in range(files)
            ]
        elif scenario.invalid:
            broken = (SAMPLES / "store-0300-invalid.xml").read_bytes()
            dropped = [local.drop(broken, f"{PREFIX}/bad-{n:04d}.xml") for n in range(files)]
        else:
            dropped = [
                local.drop(variant(f"{n:04d}"), f"{PREFIX}/f{n:04d}.xml") for n in range(files)
            ]
        for _ in range(scenario.deliveries - 1):
            for file in dropped:
                _redeliver(local, file)
        stalled: list[str] = []
        results = _wait(local, dropped, timeout, stalled)
        if scenario.redrop:
            again = [
                local.drop(variant(f"{n:04d}"), f"{PREFIX}/again-{n:04d}.xml") for n in range(files)
            ]
            results += _wait(local, again, timeout, stalled)
        row = _row(scenario, local, sim, results)
        row.notes += stalled
        return row


def _redeliver(local: LocalStack, file: DroppedFile) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            local.redeliver(file)
            return
        except LookupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _wait(
    local: LocalStack, files: list[DroppedFile], timeout: float, stalled: list[str]
) -> list[FileOutcome]:
    """Every file's outcome; a file still open when the wait ends is described in `stalled`.

    The wait grows with the work (`SECONDS_PER_FILE` each, at least `timeout`), and a long
    one reports its progress, so slowness under load is told apart from a file stuck.
    """
    started = time.monotonic()
    step = max(len(files) // 10, 1)
    settled = 0

    def progress(_: FileOutcome) -> None:
        nonlocal settled
        settled += 1
        if len(files) >= 100 and settled % step == 0:
            print(
                f"           {settled}/{len(files)} files final after"
                f" {time.monotonic() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    try:
        return local.wait(
            files, timeout=max(timeout, SECONDS_PER_FILE * len(files)), progress=progress
        )
    except StackTimeout as error:
        results = [FileOutcome(f, local.record(f) or {}, local.alerts_for(f)) for f in files]
        stalled.append(str(error)[:500])
        stalled += [_describe(local, r) for r in results if not Outcome(r.outcome).is_final][:3]
        return results


def _describe(local: LocalStack, result: FileOutcome) -> str:
    """What is known of a file without a final outcome: its record and its poller."""
    record = result.record
    shown = {
        name: record.get(name)
        for name in ("phase", "outcome", "alerted", "announced", "upload_attempts", "error")
    }
    execution = "none"
    if record.get("execution_arn"):
        try:
            execution = local.client("stepfunctions").describe_execution(
                executionArn=record["execution_arn"]
            )["status"]
        except local.client("stepfunctions").exceptions.ExecutionDoesNotExist:
            execution = "never started"
    return f"{result.file.name}: record {json.dumps(shown, default=str)[:400]}, poller {execution}"


def _row(
    scenario: Scenario, local: LocalStack, sim: CapssSimulator, results: list[FileOutcome]
) -> Row:
    row = Row(scenario.name, len(results))
    uploads: dict[str, int] = {}
    for request in sim.requests:
        if request.endpoint == "upload" and request.filename:
            uploads[request.filename] = uploads.get(request.filename, 0) + 1
    counts = [uploads.get(result.file.name, 0) for result in results]
    row.uploads_min, row.uploads_max = min(counts), max(counts)
    for result in results:
        outcome = Outcome(result.record.get("outcome", Outcome.PROCESSING.value))
        if outcome.is_final:
            row.final += 1
        else:
            row.lost += 1
        if outcome.needs_person:
            row.owed += 1
            row.sent += 1 if result.alerts else 0
    saving: dict[str, int] = {}
    for job in sim.jobs:
        if job.saved_items:
            saving[job.file_name] = saving.get(job.file_name, 0) + 1
    row.duplicates = sum(1 for jobs in saving.values() if jobs > 1)
    if scenario.hostile:
        wrong = [r.file.name for r in results if r.outcome != Outcome.REJECTED.value]
        if wrong or sim.requests:
            row.notes.append(f"not rejected unsent: {wrong[:5]}, {len(sim.requests)} requests")
        s3 = local.client("s3")
        for result in results:  # the original is never deleted or rewritten
            s3.head_object(
                Bucket=result.file.bucket, Key=result.file.key, VersionId=result.file.version_id
            )
    if scenario.expect is not None:
        other = [r.file.name for r in results if r.outcome != scenario.expect.value]
        if other:
            row.notes.append(f"not {scenario.expect.value}: {len(other)} {other[:5]}")
    if scenario.check is not None:
        row.notes += scenario.check(local, results)
    cli = _ops_output(local, results, row.notes)
    wrote = written(local)
    # The settings as the status function reads them from its environment.
    row.notes += history_notes(PollSettings.from_env(local.environment), wrote.histories)
    row.leaks = _leaks(wrote, sim, cli, row.notes)
    tokens = sim.count(endpoint="token")
    row.figures = f"uploads in flight at most {sim.max_in_flight}, {tokens} token requests"
    if scenario.files and (sim.max_in_flight > MAX_FILES_IN_FLIGHT or tokens > TOKEN_REQUESTS):
        row.notes.append(row.figures)
    return row


def _leaks(wrote: Written, sim: CapssSimulator, cli: list[str], notes: list[str]) -> int:
    """Secrets, issued tokens and the canary customer's values in logs, records, alerts, outcome
    events, executions' inputs and histories, and the `cli` output. CAPSS only ever received
    the files' "on file" copies, so a canary value anywhere is a leak (`notes` says where)."""
    texts = {**wrote.texts(), "ops command output": "\n".join(cli)}
    secrets = [CLIENT[1], ROTATED_SECRET, *sim.issued_tokens]
    everything = "\n".join(texts.values())
    leaks = sum(1 for text in secrets if text and text in everything)
    for place, text in texts.items():
        found = canaries_in(text)
        if found:
            notes.append(f"customer data in {place}: {len(found)} canary value(s)")
        leaks += len(found)
    return leaks


def worst_checks(poll: PollSettings) -> int:
    """Status checks of a job CAPSS never finishes: until the budget or `MAX_POLLS`, as
    `check_status` decides `within_budget`."""
    polls, waited, wait = 0, 0, poll.first_wait_seconds
    while True:
        polls += 1
        waited += wait
        wait = next_wait(waited, poll)
        if waited + wait > poll.budget_seconds or polls >= MAX_POLLS:
            return polls


def history_notes(poll: PollSettings, histories: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Executions past Step Functions' history limit, and whether the stack's poll settings
    let a job CAPSS never finishes get there at the cost per check these executions paid."""
    notes = [
        f"{name}: {len(events)} history events, over {HISTORY_EVENTS}"
        for name, events in histories.items()
        if len(events) > HISTORY_EVENTS
    ]
    costs = [
        len(events) / checks
        for events in histories.values()
        if (checks := sum(1 for e in events if _entered(e) == CHECK_STATE))
    ]
    if costs:
        checks = worst_checks(poll)
        if checks * max(costs) > HISTORY_EVENTS:
            notes.append(
                f"the poll settings allow {checks} checks at up to {max(costs):.1f} history"
                f" events each: over Step Functions' {HISTORY_EVENTS}"
            )
    return notes


def _entered(event: dict[str, Any]) -> str | None:
    details = event.get("stateEnteredEventDetails") or {}
    return details.get("name") if event.get("type") == "TaskStateEntered" else None


def _ops_output(local: LocalStack, results: list[FileOutcome], notes: list[str]) -> list[str]:
    """What ops reads from `capss` about the scenario's files, text and JSON, run as ops runs
    it (another process, against the account served on 127.0.0.1); `notes` gets a command
    that failed, so a scan of nothing cannot pass for a clean one."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    capss = Path(sys.executable).with_name("capss")
    followed = [r for r in results if r.record.get("status_url")] or results
    key = followed[0].file.key
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    commands = {
        ("submissions", "list", "--since", since): True,
        ("submissions", "show", key, "--json"): True,
        # Asks CAPSS with the license's stored secret: the one place a token is in hand.
        ("submissions", "status", key): False,
        ("submissions", "status", key, "--json"): False,
    }
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    output: list[str] = []
    try:
        host, port = server.get_host_and_port()
        with tempfile.TemporaryDirectory() as folder:
            state = Path(folder) / "local.json"
            state.write_text(json.dumps(local.connection(f"http://{host}:{port}")), "utf-8")
            running = {
                argv: subprocess.Popen(  # the four at once: each is mostly imports
                    [str(capss), *argv, "--local", str(state)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for argv in commands
            }
            for argv, process in running.items():
                stdout, stderr = process.communicate(timeout=120)
                output += [stdout, stderr]
                must_succeed = commands[argv]
                answered = process.returncode == 0 and stdout if must_succeed else stdout + stderr
                if not answered:
                    notes.append(
                        f"capss {' '.join(argv[:2])} exited {process.returncode}:"
                        f" {stderr.strip()[:300]}"
                    )
    finally:
        server.stop()
    return output


def table(rows: list[Row]) -> str:
    head = (
        "scenario",
        "files",
        "final",
        "uploads/file",
        "alerts owed/sent",
        "lost",
        "dup",
        "leaks",
        "CAPSS saw",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = (
            r.scenario,
            str(r.files),
            str(r.final),
            f"{r.uploads_min}-{r.uploads_max}",
            f"{r.owed}/{r.sent}",
            str(r.lost),
            str(r.duplicates),
            str(r.leaks),
            r.figures,
        )
        lines.append("| " + " | ".join(cells) + " |" + ("" if r.ok else " FAIL"))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    chosen = [
        s
        for s in SCENARIOS
        if (s.name in SHORT if args.short else not args.only or args.only in s.name)
    ]
    files = args.files or (4 if args.short else 20)
    started = time.monotonic()
    rows = []
    for scenario in chosen:
        row = run_scenario(scenario, scenario.files or files, timeout=args.timeout)
        rows.append(row)
        print(
            f"  {time.monotonic() - started:6.1f} s  {table([row]).splitlines()[-1]}",
            file=sys.stderr,
            flush=True,
        )
        for note in row.notes:
            print(f"           {note}", file=sys.stderr, flush=True)
    print(table(rows))
    print(
        f"\n{platform.machine()}, {platform.python_version()},"
        f" {datetime.now(UTC).date().isoformat()}, {time.monotonic() - started:.0f} s"
    )
    return 0 if all(row.ok for row in rows) else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--short", action="store_true", help="the short form run by make test")
    parser.add_argument("--files", type=int, default=0, help="files per scenario (20; short 4)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="seconds a scenario's wait allows at least (1 s a file when more)",
    )
    parser.add_argument("--only", default="", help="the scenarios whose name contains this")
