"""Lambda invokes in moto run the real handlers, in this process, like Lambda would.

Both of moto's entry points are patched: `LambdaSimpleBackend.invoke` (the Invoke API,
which Step Functions tasks and the queue poller use) and `LambdaFunction.invoke`
(S3/SQS/SNS triggers). A handler raising comes back as a Lambda function error whose
`errorType` is the exception's class name, so ASL Retry and Catch match on it.

A handler still running at its function's Timeout is reported as Lambda reports it
(`Sandbox.Timedout`, "Task timed out after N seconds"); its thread cannot be stopped, so a
fault that must stop a handler at a precise point raises `Killed` there instead.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from capss.telemetry import logger

from local.stack._resources import LocalFunction

TIMED_OUT = "Sandbox.Timedout"


class Killed(BaseException):
    """Raised inside a handler to stop it where it stands, as Lambda does at its timeout
    (a BaseException: no `except Exception` in the code under test catches it)."""


_active: FunctionHost | None = None
_active_lock = threading.Lock()


class LambdaContext:
    """What a handler gets as `context` (the attributes Powertools and handlers read)."""

    def __init__(self, function: LocalFunction) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    seconds: float
    error_type: str | None = None
    error_message: str | None = None


@dataclass
class FunctionHost:
    """Loads each function's handler on its first invoke (its cold start) and calls it."""

    functions: dict[str, LocalFunction]
    invocations: list[Invocation] = field(default_factory=list)
    before_handler: Callable[[], None] = lambda: None
    """Called on the handler's thread before it runs: the stack routes its output there."""
    _handlers: dict[str, Callable[..., Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def function(self, name_or_arn: str) -> LocalFunction:
        name = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        for function in self.functions.values():
            if name in (function.name, function.arn):
                return function
        raise KeyError(f"no local function {name_or_arn}")

    def handler(self, function: LocalFunction) -> Callable[..., Any]:
        with self._lock:
            if function.logical_id not in self._handlers:
                self._handlers[function.logical_id] = _load_handler(function)
            return self._handlers[function.logical_id]

    def invoke(self, name_or_arn: str, payload: bytes | str | None) -> tuple[bytes, str | None]:
        """The response payload and, when the handler raised, the function error kind."""
        function = self.function(name_or_arn)
        event = json.loads(payload) if payload else {}
        context = LambdaContext(function)
        started = time.monotonic()
        handler = self.handler(function)
        outcome: dict[str, Any] = {}

        def run() -> None:
            # Handlers run side by side in threads here: each thread's log lines carry its own
            # function and request, which the shared logger's Lambda context keys cannot.
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(
                function_name=function.name, function_request_id=context.aws_request_id
            )
            self.before_handler()
            try:
                outcome["result"] = handler(event, context)
            except Killed:
                outcome["killed"] = True
            except Exception as error:
                outcome["error"] = error

        worker = threading.Thread(target=run, name=f"{function.logical_id}-invoke", daemon=True)
        worker.start()
        worker.join(function.timeout)
        error = outcome.get("error")
        kind: str | None = None
        message = ""
        if worker.is_alive() or outcome.get("killed"):
            kind, message = TIMED_OUT, f"Task timed out after {function.timeout:.2f} seconds"
        elif isinstance(error, Exception):
            kind, message = type(error).__name__, str(error)
        if kind is not None:
            self.invocations.append(
                Invocation(
                    function.logical_id,
                    context.aws_request_id,
                    time.monotonic() - started,
                    kind,
                    message,
                )
            )
            body = {
                "errorType": kind,
                "errorMessage": message,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(error.__traceback__) if error else [],
            }
            return json.dumps(body).encode(), "Unhandled"
        result = outcome["result"]
        self.invocations.append(
            Invocation(function.logical_id, context.aws_request_id, time.monotonic() - started)
        )
        return json.dumps(result).encode(), None

    def failures(self) -> list[Invocation]:
        return [call for call in self.invocations if call.error_type]


def _load_handler(function: LocalFunction) -> Callable[..., Any]:
    module_name, _, attribute = function.handler.rpartition(".")
    path = function.code_dir / f"{module_name.replace('.', '/')}.py"
    # Every function's module is app.py: a unique name keeps them apart in sys.modules.
    unique = f"capss_local_{function.logical_id}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Callable[..., Any] = getattr(module, attribute)
    return handler


def _simple_invoke(
    backend: Any,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    host = _require_host()
    payload, error = host.invoke(function_name, body)
    if error:
        response_headers["x-amz-function-error"] = error
    return payload


def _function_invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
    host = _require_host()
    payload, error = host.invoke(function.function_arn, body)
    if error:
        response_headers["x-amz-function-error"] = error
    return payload


def _require_host() -> FunctionHost:
    if _active is None:
        raise RuntimeError("a Lambda invoke arrived while no local stack is running")
    return _active


@contextmanager
def patched_lambda(host: FunctionHost) -> Iterator[FunctionHost]:
    """moto's Lambda runs `host`'s handlers while the block runs (one stack per process)."""
    from moto.awslambda.models import LambdaFunction  # noqa: PLC0415
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    global _active  # noqa: PLW0603 - moto's classes are process-wide, so is the patch
    with _active_lock:
        if _active is not None:
            raise RuntimeError("another local stack is running in this process")
        _active = host
    saved = (LambdaSimpleBackend.invoke, LambdaFunction.invoke)
    LambdaSimpleBackend.invoke = _simple_invoke  # type: ignore[method-assign,assignment]
    LambdaFunction.invoke = _function_invoke  # type: ignore[method-assign,assignment]
    try:
        yield host
    finally:
        LambdaSimpleBackend.invoke, LambdaFunction.invoke = saved  # type: ignore[method-assign]
        with _active_lock:
            _active = None
