"""moto's Step Functions parser made safe for executions started side by side, as AWS is.

moto 5.2.5's ASL `Preprocessor` keeps its stack of query-language scopes in a class attribute
(`_query_language_per_scope`), shared by every parse in the process: two executions parsing
their definition at once push and pop each other's scopes, and one dies in
`_get_current_query_language` (`IndexError: list index out of range`). That execution's
thread ends without a trace in its history, so its file's poller never runs. Each parse now
keeps its own stack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock


def _own_scopes(preprocessor: Any) -> list[Any]:
    scopes: list[Any] = preprocessor.__dict__.setdefault("_own_query_language_scopes", [])
    return scopes


@contextlib.contextmanager
def thread_safe_asl_parser() -> Iterator[None]:
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor  # noqa: PLC0415

    with mock.patch.object(Preprocessor, "_query_language_per_scope", property(_own_scopes)):
        yield
