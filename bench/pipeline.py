"""What a file costs, counted on the local stack: CAPSS requests, Step Functions
transitions, Lambda invocations, DynamoDB writes and SNS messages, per outcome path.

The real template, handlers, ASL and simulator (`local.stack`); waits are scaled down.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from capss.aws import dynamodb

from bench.schedule import bridge_checks
from local.simulator import CapssSimulator
from local.stack import TEMPLATE, DroppedFile, LocalStack

SAMPLES = Path(__file__).resolve().parent.parent / "events" / "files"
WRITES = ("put_item", "update_item", "delete_item")

PRICES = {
    "date": "2025 list prices, us-east-1 (AWS pricing pages)",
    "step_functions_per_transition": 0.025 / 1000,
    "lambda_per_request": 0.20 / 1_000_000,
    "dynamodb_per_write_request_unit": 0.625 / 1_000_000,
    "sns_email_per_message": 2.00 / 100_000,
}
"""Duration (GB-s), SQS, S3 and KMS requests are left out: alike for both pollers."""


class _WriteCounter:
    """Counts the record store's writes and their size in 1 KB units (write request units),
    in all and by the function that made them (the local stack names each invocation's
    thread after its function)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.units = 0
        self.units_by: Counter[str] = Counter()
        self._call = dynamodb.ClientTable._call

    def __enter__(self) -> _WriteCounter:
        counter, original = self, self._call

        def counted(table: Any, operation: str, request: dict[str, Any]) -> dict[str, Any]:
            answer = original(table, operation, request)
            if operation in WRITES:
                units = _units(table, request)
                counter.requests[operation] += 1
                counter.units += units
                counter.units_by[threading.current_thread().name.removesuffix("-invoke")] += units
            return answer

        dynamodb.ClientTable._call = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        dynamodb.ClientTable._call = self._call  # type: ignore[method-assign]


def _units(table: Any, request: dict[str, Any]) -> int:
    """A write costs the item's size after it in 1 KB units (before, for a delete)."""
    item = request.get("Item")
    if item is None:
        found = table._client.get_item(TableName=table._name, Key=request["Key"])
        item = found.get("Item", {})
    size = sum(len(name) + len(str(value)) for name, value in item.items())
    return max(1, -(-size // 1024))


def _variant(name: str, tag: str) -> bytes:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    text = re.sub(
        r"<loanBuyNumber>([^<]+)</loanBuyNumber>",
        lambda m: f"<loanBuyNumber>{m.group(1)[:8]}{tag}</loanBuyNumber>",
        text,
    )
    return text.encode()


def _licensed(data: bytes, number: str) -> bytes:
    return data.replace(b'licenseNumber="000000300"', f'licenseNumber="{number}"'.encode())


def _transitions(stack: LocalStack) -> int:
    sfn = stack.client("stepfunctions")
    total = 0
    for page in sfn.get_paginator("list_executions").paginate(
        stateMachineArn=stack.state_machine_arn
    ):
        for execution in page["executions"]:
            events = sfn.get_execution_history(
                executionArn=execution["executionArn"], maxResults=1000
            )["events"]
            total += sum(1 for event in events if event["type"].endswith("StateEntered"))
    return total


def scenario(
    files: list[tuple[str, bytes]], *, polls: int = 1, licenses: int = 1
) -> dict[str, Any]:
    """Drops the files (name, bytes) and counts what they cost, per file."""
    numbers = [f"{300 + i:09d}" for i in range(licenses)]
    with ExitStack() as stack:
        sim = stack.enter_context(CapssSimulator(polls_to_complete=polls))
        for number in numbers:
            sim.add_client(f"bench-{number}", f"secret-{number}", license_number=number)
        local = stack.enter_context(
            LocalStack(
                TEMPLATE,
                environment={
                    "CAPSS_BASE_URL": sim.base_url,
                    "CAPSS_CA_BUNDLE": str(sim.ca_pem_path),
                },
            )
        )
        for number in numbers:
            local.put_secret(number, f"bench-{number}", f"secret-{number}")
        writes = stack.enter_context(_WriteCounter())
        dropped: list[DroppedFile] = []
        for index, (name, data) in enumerate(files):
            number = numbers[index % licenses]
            key = f"incoming/transactions/{number}/{index}-{name}"
            dropped.append(local.drop(_licensed(data, number), key))
        results = local.wait(dropped, timeout=300)
        count = len(files)
        requests = Counter(request.endpoint for request in sim.requests)
        invocations = Counter(call.function for call in local.host.invocations)
        transitions = _transitions(local)
        alerts = len(local.alerts())
        return {
            "files": count,
            "outcomes": dict(Counter(result.outcome for result in results)),
            "capss_requests": {kind: n / count for kind, n in sorted(requests.items())},
            "transitions": transitions / count,
            "invocations": {name: n / count for name, n in sorted(invocations.items())},
            "dynamodb_writes": sum(writes.requests.values()) / count,
            "dynamodb_write_units": writes.units / count,
            "dynamodb_write_units_per_status_check": (
                writes.units_by["StatusFunction"] / invocations["StatusFunction"]
                if invocations["StatusFunction"]
                else None
            ),
            "sns_messages": alerts / count,
        }


def cost_per_1000(row: dict[str, Any]) -> float:
    per_file = (
        row["transitions"] * PRICES["step_functions_per_transition"]
        + sum(row["invocations"].values()) * PRICES["lambda_per_request"]
        + row["dynamodb_write_units"] * PRICES["dynamodb_per_write_request_unit"]
        + row["sns_messages"] * PRICES["sns_email_per_message"]
    )
    return round(per_file * 1000, 4)


def fixed_30s(checks: int) -> dict[str, float]:
    """A fixed 30-s Wait loop on a job the bridge notices at its Nth check."""
    seconds = bridge_checks(10_000)[checks - 1]
    status = -(-seconds // 30)
    return {
        "status_checks": status,
        # Wait, Task, Choice per check, then the last step: as the bridge's machine.
        "transitions": 3 * status + 1,
        "status_invocations": status,
    }


def run() -> dict[str, Any]:
    clean = (SAMPLES / "store-0300-clean.xml").read_bytes()
    paths = {
        "complete": [("clean.xml", clean)],
        "complete_with_issues": [
            ("errors.xml", (SAMPLES / "store-0300-error-items.xml").read_bytes())
        ],
        "rejected": [("invalid.xml", (SAMPLES / "store-0300-invalid.xml").read_bytes())],
    }
    outcome_rows = {}
    for outcome, files in paths.items():
        row = scenario(files, polls=1)
        row["cost_per_1000_files_usd"] = cost_per_1000(row)
        outcome_rows[outcome] = row
    checks_rows = {}
    for checks in (1, 3, 10):
        row = scenario([("clean.xml", clean)], polls=checks)
        row["cost_per_1000_files_usd"] = cost_per_1000(row)
        fixed = fixed_30s(checks)
        fixed_row = {
            "transitions": fixed["transitions"],
            "invocations": {"StatusFunction": fixed["status_invocations"]},
            "dynamodb_write_units": row["dynamodb_write_units"],
            "sns_messages": 0,
        }
        row["fixed_30s"] = {**fixed, "cost_per_1000_files_usd": cost_per_1000(fixed_row)}
        checks_rows[str(checks)] = row
    many = [(f"day-{i}.xml", _variant("store-0300-clean.xml", f"B{i:03d}")) for i in range(50)]
    return {
        "prices": PRICES,
        "by_outcome": outcome_rows,
        "by_checks": checks_rows,
        "50_files_one_license": scenario(many, polls=1, licenses=1),
        "50_files_50_licenses": scenario(many, polls=1, licenses=50),
    }
