"""What the emulated account holds, as plain values: the other modules of the local stack
read these and import nothing back, so the account builder, the function host and the
execution watcher form no circle."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


@dataclass(frozen=True)
class ExecutionWatch:
    """One function's rule: these statuses of this state machine (by logical id)."""

    function_logical_id: str
    state_machine_logical_id: str
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class SqsTrigger:
    """A function's SQS event: the local queue poller plays the event source mapping."""

    queue_logical_id: str
    batch_size: int
    maximum_concurrency: int | None
    report_batch_item_failures: bool


@dataclass(frozen=True)
class Schedule:
    """A function's EventBridge Scheduler event: the local stack runs it on request."""

    event_id: str
    expression: str
    timezone: str
    input: str
    enabled: bool = True


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, str]
    sqs_triggers: tuple[SqsTrigger, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    execution_watches: tuple[ExecutionWatch, ...] = ()


@dataclass(frozen=True)
class LocalQueue:
    logical_id: str
    url: str
    arn: str
    visibility_timeout: int
    max_receive_count: int | None


@dataclass
class Account:
    """What was created, by logical id."""

    buckets: dict[str, str] = field(default_factory=dict)
    queues: dict[str, LocalQueue] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    event_buses: dict[str, str] = field(default_factory=dict)
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    layers: dict[str, Path] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
