"""The emulated AWS account built from template.yaml, running the real handlers in process."""

from __future__ import annotations

from local.stack._clock import ScaledClock
from local.stack._invoke import TIMED_OUT, FunctionHost, Invocation, Killed, LambdaContext
from local.stack._limits import HISTORY_EVENTS, PAYLOAD_BYTES
from local.stack._resources import Account, LocalFunction, LocalQueue, Schedule, SqsTrigger
from local.stack._stack import (
    TEMPLATE,
    Alert,
    DroppedFile,
    FileOutcome,
    FunctionFailed,
    LocalStack,
    StackTimeout,
)
from local.stack._template import Template, TemplateError, table_definition

__all__ = [
    "table_definition",
    "TEMPLATE",
    "HISTORY_EVENTS",
    "PAYLOAD_BYTES",
    "TIMED_OUT",
    "Account",
    "Alert",
    "DroppedFile",
    "FileOutcome",
    "FunctionFailed",
    "FunctionHost",
    "Invocation",
    "Killed",
    "LambdaContext",
    "LocalFunction",
    "LocalQueue",
    "LocalStack",
    "ScaledClock",
    "Schedule",
    "SqsTrigger",
    "StackTimeout",
    "Template",
    "TemplateError",
]
