"""What the monitor, the stuck-file sweep, the listings and `capss report` read on a year of
100 stores' files (36,500 records), beside a scan of the same table.

The tables are the template's (moto, in process). Items read are the `ScannedCount` of every
Query and Scan (what DynamoDB bills, by size: read units are estimated from the records'
mean size, eventually consistent, 4 KB a half unit); moto's own `ConsumedCapacity` is a
fixed figure a request, so it is not used. One run of each: items read are the same every
run. Times are moto's, which evaluates an index query over the whole table: on DynamoDB a
query's time follows what it reads. So moto's time grows with stores x records, and the
100-store year takes long on a busy machine: `BENCH_STORES=10` builds 10 stores' year
(3,650 records) instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine

STORES = int(os.environ.get("BENCH_STORES", "100"))
DAYS = 365
NOW = datetime(2026, 12, 8, 15, tzinfo=UTC)
"""The final check of Tuesday 2026-12-08, 07:00 in California."""
OPEN_FILES = {"submitted": 50, "stuck": 10, "alert_owed": 5}
RUNS = 1


class _Reads:
    """Every DynamoDB Query and Scan in the process: requests and items read."""

    def __init__(self) -> None:
        self.requests = 0
        self.items = 0

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        from botocore.client import BaseClient  # noqa: PLC0415

        original = BaseClient._make_api_call

        def counted(client: Any, operation: str, request: dict[str, Any]) -> Any:
            answer = original(client, operation, request)
            if operation in ("Query", "Scan"):
                self.requests += 1
                self.items += int(answer.get("ScannedCount", 0))
            return answer

        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        try:
            yield
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]


def _licenses() -> list[str]:
    return [f"{300 + n:09d}" for n in range(STORES)]


def _record_items() -> Iterator[dict[str, Any]]:
    from capss.aws.dynamodb import index_keys  # noqa: PLC0415
    from capss.outcome import Counts, Outcome  # noqa: PLC0415
    from capss.pipeline.records import FileRecord, Phase, iso  # noqa: PLC0415

    first = NOW.date() - timedelta(days=DAYS)
    opened = 0
    for offset in range(DAYS):
        day = first + timedelta(days=offset)
        for number in _licenses():
            key = f"incoming/transactions/{number}/{day}.xml"
            sent = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
            record = FileRecord(
                pk=f"FILE#intake/{key}#v1",
                bucket="intake",
                key=key,
                version_id="v1",
                kind="transactions",
                phase=Phase.DONE,
                outcome=Outcome.COMPLETE,
                license=number,
                size=4200,
                sha256="0" * 64,
                received_at=iso(sent + timedelta(hours=3)),
                submitted_at=iso(sent + timedelta(hours=3, seconds=2)),
                completed_at=iso(sent + timedelta(hours=3, minutes=2)),
                updated_at=iso(sent + timedelta(hours=3, minutes=2)),
                submission_id=str(offset * STORES + opened),
                status_url=f"https://capss.doj.ca.gov/api/bulkimport/status/{offset}",
                on_dup="submitWithoutDups",
                on_error="submit",
                counts=Counts(transactions=6, items=12, saved=12, errors=0, duplicates=0),
                messages=["File processed successfully."],
                transactions=6,
                items=12,
                first_transaction_at=f"{day}T09:12:00",
                last_transaction_at=f"{day}T17:48:00",
                polls=4,
                upload_attempts=1,
                execution_arn=f"arn:aws:states:us-west-2:123456789012:execution:poller:{offset}",
                revision=4,
            )
            if offset == DAYS - 1 and opened < sum(OPEN_FILES.values()):
                _open(record, opened)
                opened += 1
            yield {**record.to_item(), **index_keys(record)}


def _open(record: Any, number: int) -> None:
    from capss.outcome import Outcome  # noqa: PLC0415
    from capss.pipeline.records import Phase, iso  # noqa: PLC0415

    submitted, stuck, _owed = OPEN_FILES.values()
    if number < submitted + stuck:
        record.phase, record.outcome = Phase.SUBMITTED, Outcome.PROCESSING
        record.completed_at = None
        # The stuck ones were left untouched since yesterday; the others are being polled.
        if number < submitted:
            record.updated_at = iso(NOW - timedelta(minutes=5))
    else:
        record.outcome, record.alerted = Outcome.FAILED, False


def _timed(run: Callable[[], Any], reads: _Reads) -> dict[str, Any]:
    times, result = [], None
    for _ in range(RUNS):
        reads.requests = reads.items = 0
        started = time.perf_counter()
        with reads.counting():
            result = run()
        times.append(time.perf_counter() - started)
    return {
        "requests": reads.requests,
        "items_read": reads.items,
        "seconds": round(statistics.median(times), 3),
        "result": result,
    }


def run() -> dict[str, Any]:
    from moto import mock_aws  # noqa: PLC0415

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
    }.items():
        os.environ.setdefault(name, value)
    with mock_aws(), time_machine.travel(NOW, tick=False):
        return _measure()


def _measure() -> dict[str, Any]:
    import boto3  # noqa: PLC0415
    from capss.aws.dynamodb import (  # noqa: PLC0415
        INDEX_FILLED_PK,
        ClientTable,
        DynamoRecordStore,
    )
    from capss.aws.stores import DynamoStoreRegister  # noqa: PLC0415
    from capss.compliance.calendar import BusinessCalendar  # noqa: PLC0415
    from capss.compliance.monitor import CheckKind, MonitorDeps, run_check  # noqa: PLC0415
    from capss.compliance.stores import ExpectedStore  # noqa: PLC0415

    from local.stack import TEMPLATE, table_definition  # noqa: PLC0415

    dynamodb = boto3.client("dynamodb")
    for logical_id, name in (("SubmissionsTable", "records"), ("StoresTable", "stores")):
        dynamodb.create_table(**table_definition(TEMPLATE, logical_id, name))
    resource = boto3.resource("dynamodb")
    started = time.perf_counter()
    sizes = []
    with resource.Table("records").batch_writer() as batch:
        for item in _record_items():
            sizes.append(len(json.dumps(item)))
            batch.put_item(Item=item)
        batch.put_item(Item={"pk": INDEX_FILLED_PK, "filled_at": NOW.isoformat()})
    register = DynamoStoreRegister(ClientTable(dynamodb, "stores"))
    for number in _licenses():
        register.put_store(ExpectedStore(license=number, name=f"Store {number[-3:]}"))
    build_s = time.perf_counter() - started
    mean_size = statistics.mean(sizes)

    records = DynamoRecordStore(ClientTable(dynamodb, "records"))
    deps = MonitorDeps(
        stores=register,
        history=records,
        # The stuck files' pollers stopped; the others were touched minutes ago.
        running=lambda _arn: False,
        alerts=_NoMail(),
        calendar=BusinessCalendar(frozenset()),
    )

    def check() -> int:
        found = run_check(
            CheckKind.FINAL,
            NOW,
            deps,
            chain_closures=frozenset(),
            lookback_days=7,
            stuck_after=timedelta(minutes=120),
        )
        return len(found["days"]) + len(found["stuck"])

    def scan() -> int:
        # Billed as any scan (every item read); COUNT spares moto serialising them back.
        table = ClientTable(dynamodb, "records")
        return sum(page["Count"] for page in _pages(table.scan, Select="COUNT"))

    def unindexed(read: Callable[[DynamoRecordStore], Any]) -> Callable[[], Any]:
        """The same read before `capss submissions reindex` filled the index: a scan."""

        def run() -> Any:
            marker = dynamodb.get_item(TableName="records", Key={"pk": {"S": INDEX_FILLED_PK}})
            dynamodb.delete_item(TableName="records", Key={"pk": {"S": INDEX_FILLED_PK}})
            try:
                return read(DynamoRecordStore(ClientTable(dynamodb, "records")))
            finally:
                dynamodb.put_item(TableName="records", Item=marker["Item"])

        return run

    week_ago = NOW - timedelta(days=7)
    reads = _Reads()
    rows = {
        "table scan": _timed(scan, reads),
        "sweep (index)": _timed(lambda: len(records.unfinished()), reads),
        "sweep (scan, index not filled)": _timed(
            unindexed(lambda store: len(store.unfinished())), reads
        ),
        f"monitor final check ({STORES} stores, 7 days)": _timed(check, reads),
        "submissions list, 7 days (index)": _timed(
            lambda: len(records.files_since(week_ago)), reads
        ),
        "submissions list, 7 days (scan, index not filled)": _timed(
            unindexed(lambda store: len(store.files_since(week_ago))), reads
        ),
        "submissions list --license, 7 days": _timed(
            lambda: len(records.files_for_license("000000300", week_ago)), reads
        ),
        f"report, November ({STORES} stores)": _timed(_report, reads),
    }
    for row in rows.values():
        row["read_units_estimate"] = round(row["items_read"] * mean_size / 4096 * 0.5, 1)
    assert rows["table scan"]["result"] == STORES * DAYS + 1  # and the index's filled mark
    return {
        "records": STORES * DAYS,
        # The last day's files are the open ones: with fewer stores than OPEN_FILES, fewer.
        "open_files": min(sum(OPEN_FILES.values()), STORES),
        "mean_record_bytes": round(mean_size),
        "build_s": round(build_s, 1),
        "runs": RUNS,
        "rows": rows,
    }


def _report() -> int:
    """`capss report --since 2026-11-01 --until 2026-11-30 --format csv`, as ops runs it."""
    from capss.cli.main import main  # noqa: PLC0415

    state = {
        "stack": "bench",
        "region": os.environ["AWS_DEFAULT_REGION"],
        "outputs": {"SubmissionsTableName": "records", "StoresTableName": "stores"},
        "parameters": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "local.json"
        path.write_text(json.dumps(state), encoding="utf-8")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(
                [
                    *("report", "--since", str(date(2026, 11, 1))),
                    *("--until", str(date(2026, 11, 30)), "--format", "csv", "--local", str(path)),
                ]
            )
    assert code == 0, code
    return len(out.getvalue().splitlines()) - 1


def _pages(operation: Callable[..., dict[str, Any]], **request: Any) -> Iterator[dict[str, Any]]:
    while True:
        answer = operation(**request)
        yield answer
        if "LastEvaluatedKey" not in answer:
            return
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


class _NoMail:
    def send(self, alert: Any) -> None:
        pass
