"""What `capss` exits with, and the machine-readable code of every error it reports.

The exit-code tables in docs/operations.md are `exit_table()`'s and `ops_exit_table()`'s
output (tests hold both equal to the doc, and run every ops command in text and JSON against
`OPS_EXITS`), so a script's `case $?` and the documentation cannot drift apart.
"""

from __future__ import annotations

import enum
import re

from capss.errors import (
    BadCredentials,
    CapssError,
    ForeignLinkRefused,
    InputError,
    JobNotFound,
    NeedsPersonError,
    ProtocolError,
    RequestRejected,
    TlsFailure,
    TransientError,
)
from capss.outcome import Outcome


class Exit(enum.IntEnum):
    OK = 0
    REJECTED = 1
    USAGE = 2
    ISSUES = 3
    MAYBE_SENT = 4
    RETRY = 5
    CONFIG = 6
    REFUSED = 7
    INTERRUPTED = 130
    PIPE_CLOSED = 141


MEANINGS = {
    Exit.OK: (
        "done: the file is `complete` (without `--wait`: CAPSS accepted it); `validate`: every"
        " file is valid; `status`: the job is `complete` or still `processing`"
    ),
    Exit.REJECTED: (
        "the file failed validation (or has warnings under `--strict`): nothing was sent, fix"
        " the file; `monitor`: stores or files need action"
    ),
    Exit.USAGE: (
        "the command line is wrong: an unknown option, a bad value (also in a `CAPSS_*`"
        " variable), a path that is missing or not a file; for an ops command, input it cannot"
        " use (a bad stores CSV, an unknown file id, `resubmit` without `--force` of a file"
        " CAPSS may have)"
    ),
    Exit.ISSUES: "CAPSS finished with error items or duplicates (`complete_with_issues`)",
    Exit.MAYBE_SENT: (
        "CAPSS may have the file (`timed_out`, an upload without a readable answer, a failure"
        " after CAPSS accepted it, a status link CAPSS does not show yet (404)): do not send it"
        " again blindly, follow it with `capss status <link>`"
    ),
    Exit.RETRY: (
        "nothing reached CAPSS and trying again is safe: network down, connection refused,"
        " CAPSS busy (503, 429) or failing before the upload"
    ),
    Exit.CONFIG: (
        "configuration: credentials, TLS (`--ca-bundle`, `--tls-ciphers`), the base URL, a"
        " status link to another host, an unusable `--xsd`, a client of another license"
    ),
    Exit.REFUSED: "CAPSS refused the file or failed the job: nothing was saved, read its message",
    Exit.INTERRUPTED: (
        "interrupted (Ctrl-C); after an upload CAPSS has the file: the submission id and status"
        " link are printed"
    ),
    Exit.PIPE_CLOSED: "the output was closed early (e.g. piped into `head`)",
}

FOR_OUTCOME = {
    Outcome.COMPLETE: Exit.OK,
    Outcome.PROCESSING: Exit.OK,
    Outcome.REJECTED: Exit.REJECTED,
    Outcome.COMPLETE_WITH_ISSUES: Exit.ISSUES,
    Outcome.TIMED_OUT: Exit.MAYBE_SENT,
    Outcome.FAILED: Exit.REFUSED,
}


class CommandError(CapssError):
    """A failure the command finds itself: a path, a setting, a file it will not send."""

    def __init__(self, message: str, *, code: str, exit: Exit, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.exit = exit


def exit_table() -> str:
    """The table of exit codes docs/operations.md shows."""
    rows = [f"| {code.value} | {MEANINGS[code]} |" for code in Exit]
    return "\n".join(["| exit | meaning |", "| --- | --- |", *rows])


def for_error(error: CapssError, *, uploading: bool = False) -> Exit:
    """What a script may do after this error; `uploading`: it ended the file's upload."""
    if isinstance(error, CommandError):
        return error.exit
    if isinstance(error, InputError):
        return Exit.USAGE
    if isinstance(error, JobNotFound):
        # CAPSS may not show a job it just took: checking again is the step, not a setting.
        return Exit.MAYBE_SENT
    maybe_sent = isinstance(error, TransientError) and error.maybe_accepted
    if uploading and (maybe_sent or isinstance(error, ProtocolError)):
        return Exit.MAYBE_SENT
    if isinstance(error, RequestRejected):
        return Exit.REFUSED
    if isinstance(error, TransientError):
        return Exit.RETRY
    return Exit.CONFIG


_CODES: tuple[tuple[type[CapssError], str], ...] = (
    (BadCredentials, "bad_credentials"),
    (TlsFailure, "tls_failure"),
    (ForeignLinkRefused, "foreign_link"),
    (JobNotFound, "job_not_found"),
    (RequestRejected, "refused_by_capss"),
    (ProtocolError, "unreadable_answer"),
)


def error_code(error: CapssError) -> str:
    """A stable snake_case name for the error, e.g. `bad_credentials`, `capss_unavailable`."""
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    if isinstance(error, CommandError):
        return error.code
    if type(error) is NeedsPersonError:
        return "configuration"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


OPS_EXITS: tuple[tuple[str, str, Exit], ...] = (
    (
        "every ops command",
        "the stack is not given, cannot be read, or AWS refused a call",
        Exit.USAGE,
    ),
    ("`stores add`", "the store is saved", Exit.OK),
    ("`stores add`", "a value it cannot use (days, time zone, date, license)", Exit.USAGE),
    ("`stores list`", "the stores are listed (also none)", Exit.OK),
    ("`stores remove`", "the store is removed", Exit.OK),
    ("`stores remove`", "the store was not registered, or was removed already", Exit.REJECTED),
    ("`stores quiet`", "the days are recorded as nothing to report", Exit.OK),
    ("`stores quiet`", "a date it cannot read", Exit.USAGE),
    ("`stores key`", "the keys' licenses are listed or set", Exit.OK),
    ("`stores key`", "`--remove` of a key bound to no license", Exit.REJECTED),
    ("`stores key`", "a key's value, or a license not registered", Exit.USAGE),
    ("`stores chain-uploader`", "the chain-wide uploaders are listed or set", Exit.OK),
    ("`stores chain-uploader`", "a principal it cannot use", Exit.USAGE),
    ("`stores policy`", "the upload policy is printed", Exit.OK),
    ("`stores policy`", "a license it cannot use", Exit.USAGE),
    ("`stores import`", "every row is saved", Exit.OK),
    ("`stores import`", "a row it cannot use: nothing is imported", Exit.USAGE),
    ("`submissions list`", "the files are listed (also none)", Exit.OK),
    ("`submissions reindex`", "the indexes are filled", Exit.OK),
    ("`submissions show`", "the file's story is shown", Exit.OK),
    ("`submissions show`", "no file has that id or key", Exit.USAGE),
    ("`submissions status`", "CAPSS says `complete` or `processing`", Exit.OK),
    ("`submissions status`", "CAPSS says `complete_with_issues`", Exit.ISSUES),
    ("`submissions status`", "CAPSS does not show the job (404)", Exit.MAYBE_SENT),
    ("`submissions status`", "CAPSS is busy or unreachable: ask again later", Exit.RETRY),
    ("`submissions status`", "CAPSS failed the job", Exit.REFUSED),
    ("`submissions status`", "the license's secret is missing or refused", Exit.CONFIG),
    ("`submissions status`", "the file has no status link: CAPSS never accepted it", Exit.USAGE),
    ("`resubmit`", "the file is sent again as a new version", Exit.OK),
    (
        "`resubmit`",
        "refused: still being processed, or CAPSS may have it and `--force` is not given",
        Exit.USAGE,
    ),
    ("`redrive`", "the dead letters are listed (`--dry-run`) or moved", Exit.OK),
    ("`monitor`", "no store, day or file needs action", Exit.OK),
    ("`monitor`", "stores, days or stuck files need action", Exit.REJECTED),
    ("`report`", "the days are listed", Exit.OK),
)
"""What each ops command exits with, in text and in JSON alike (`--json` changes the output,
never the code): the operations doc's table, and what the end-to-end test runs."""


def ops_exit_table() -> str:
    """The operations doc's table of the ops commands' exit codes."""
    rows = [f"| {command} | {when} | {code.value} |" for command, when, code in OPS_EXITS]
    return "\n".join(["| command | when | exit |", "| --- | --- | --- |", *rows])
