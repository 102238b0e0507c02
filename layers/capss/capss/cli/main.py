"""`capss`: the ops tool that talks to CAPSS directly, as the DOJ's curl steps do, but safely.

Every failure ends in one line on stderr, `capss: error: <message> (<hint>)`, and with --json
in one JSON document on stdout as well; never a traceback, a secret or a token. The exit
codes are `capss.cli.exits.Exit`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

# httpx's __init__ imports its own command line (click, rich, pygments: 40 to 130 ms) whenever
# they are installed, as in a dev virtualenv; `capss` never runs it, and httpx falls back to
# a stub when that import fails, which a None in sys.modules makes it do (the documented way
# to block an import; typeshed's sys.modules admits only modules).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from capss.cli import commands, convert, lazy, ops  # noqa: E402 - after the line above
from capss.cli.exits import CommandError, Exit  # noqa: E402
from capss.cli.output import Output, result_json  # noqa: E402
from capss.errors import CapssError  # noqa: E402

SUBCOMMANDS: tuple[Callable[[commands.Subcommands], None], ...] = (
    commands.register,
    ops.register,
    convert.register,
)
"""Each module's `register` adds its subcommands; a new module joins with one entry here."""


class _BadUsage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage errors come back to `main`, which also answers them in JSON when asked."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise _BadUsage(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="capss",
        description="Talk to CAPSS, the California DOJ's pawn and secondhand dealer system.",
        epilog="Run `capss COMMAND --help` for a command's options and an example.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    subcommands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)
    for register in SUBCOMMANDS:
        register(subcommands)
    return parser


class _Version(argparse.Action):
    """Looks the version up only when asked: importlib.metadata costs every command 20 to 50 ms."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        try:
            version = lazy.metadata.version("capss-bridge")
        except lazy.metadata.PackageNotFoundError:
            version = "unknown"
        print(f"{parser.prog} {version}")
        parser.exit()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _tolerant(sys.stdout)
    _tolerant(sys.stderr)
    try:
        return _run(argv)
    except BrokenPipeError:
        # The reader went away (`capss ... | head`): say nothing more, and let the
        # interpreter's final flush write to /dev/null instead of failing again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.PIPE_CLOSED


def _run(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except _BadUsage as usage:
        return _usage(usage, argv)
    out = Output(as_json=args.json, quiet=getattr(args, "quiet", False))
    command: commands.Command = args.command
    try:
        return command(args, out)
    except _BadUsage as usage:
        # A command may still find its arguments wrong once it reads them together.
        return _usage(usage, argv)
    except CapssError as error:
        return commands.failed(args, out, error)
    except KeyboardInterrupt:
        interrupted = CommandError(
            "interrupted before anything was sent", code="interrupted", exit=Exit.INTERRUPTED
        )
        return commands.failed(args, out, interrupted)


def _usage(usage: _BadUsage, argv: list[str]) -> int:
    print(usage, file=sys.stderr)
    if "--json" in argv:
        error = CommandError(str(usage), code="usage", exit=Exit.USAGE, hint="See --help.")
        Output(as_json=True, quiet=True).document(result_json(None, None, error=error), error.exit)
    return Exit.USAGE


def _tolerant(stream: object) -> None:
    """Text the terminal cannot encode is escaped instead of crashing the command."""
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")
