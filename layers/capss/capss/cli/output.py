"""What `capss` shows: one JSON document on stdout, or text; progress and notes on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from capss.cli.exits import Exit, error_code
from capss.errors import CapssError
from capss.outcome import Counts, Outcome

RESULT_KEYS = (
    "file",
    "outcome",
    "submission_id",
    "status_url",
    "counts",
    "messages",
    "problems",
    "validation",
    "completed_at",
    "next_step",
    "error",
)
"""One file's result, whichever command produced it (docs/operations.md lists them)."""


def display(path: Path | str) -> str:
    """A file name as people read it; bytes that are not UTF-8 are read as Windows-1252.

    Names from the command line keep undecodable bytes as lone surrogates, which no
    terminal, JSON reader or multipart header takes.
    """
    raw = os.fsencode(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def error_json(error: CapssError) -> dict[str, str]:
    return {"code": error_code(error), "message": str(error), "hint": error.hint}


def result_json(
    file: str | None,
    outcome: Outcome | None,
    *,
    submission_id: str | None = None,
    status_url: str | None = None,
    counts: Counts | None = None,
    messages: Iterable[str] = (),
    report: Mapping[str, Any] | None = None,
    completed_at: str | None = None,
    next_step: str | None = None,
    error: CapssError | None = None,
) -> dict[str, Any]:
    """One file's result, the same shape for `validate`, `submit` and `status`."""
    facts = dict(report) if report is not None else None
    problems = facts.pop("problems", []) if facts is not None else []
    if facts is not None:
        facts.pop("file", None)
    values = (
        file,
        outcome.value if outcome is not None else None,
        submission_id,
        status_url,
        (counts or Counts()).to_json(),
        list(messages),
        problems,
        facts,
        completed_at,
        next_step,
        error_json(error) if error is not None else None,
    )
    return dict(zip(RESULT_KEYS, values, strict=True))


class Output:
    """Where the command writes: stdout for the result, stderr for progress, notes and errors."""

    def __init__(self, *, as_json: bool, quiet: bool, err: TextIO | None = None) -> None:
        self.as_json = as_json
        self.quiet = quiet
        self._err = err or sys.stderr
        self._in_place = self._err.isatty()
        self._progress_shown = False

    def note(self, text: str) -> None:
        """A line for the person watching (suppressed by --quiet)."""
        if not self.quiet:
            self._end_progress()
            print(f"capss: {text}", file=self._err)

    def progress(self, text: str) -> None:
        """A line that updates in place on a terminal, one line each otherwise."""
        if self.quiet:
            return
        if self._in_place:
            self._err.write(f"\r\x1b[Kcapss: {text}")
            self._err.flush()
            self._progress_shown = True
        else:
            print(f"capss: {text}", file=self._err)

    def error(self, error: CapssError) -> None:
        self._end_progress()
        print(f"capss: error: {error} ({error.hint})", file=self._err)

    def document(self, data: dict[str, Any], code: Exit) -> None:
        self._end_progress()
        print(json.dumps({**data, "exit_code": int(code)}, indent=2, default=str))

    def _end_progress(self) -> None:
        if self._progress_shown:
            self._err.write("\n")
            self._progress_shown = False
