"""`capss`: the ops tool that talks to CAPSS directly, as the DOJ's curl steps do, but safely.

Errors end in one line on stderr, `capss: error: <message> (<hint>)`, and never a
traceback, a secret or a token. Exit codes: 0 done (a submitted file completed, or
without --wait was accepted), 1 not done, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from capss.cli import convert
from capss.client.api import Api
from capss.client.client import SANDBOX_URL, CapssClient, ClientConfig, UploadReceipt
from capss.client.status import StatusResult
from capss.client.tls import DEFAULT_CIPHERS
from capss.errors import CapssError, JobNotFound, TransientError
from capss.intake.report import problem_text
from capss.kinds import FileKind
from capss.outcome import Counts, FileResult, Outcome
from capss.pipeline.settings import ON_DUP_CHOICES, ON_ERROR_CHOICES

EXIT_OK, EXIT_NOT_DONE, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except _UsageError as error:
        print(f"capss: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CapssError as error:
        print(f"capss: error: {error} ({error.hint})", file=sys.stderr)
        return EXIT_NOT_DONE
    except KeyboardInterrupt:
        print("capss: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    env = os.environ
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("CAPSS connection (every option also reads its variable)")
    group.add_argument(
        "--base-url",
        default=env.get("CAPSS_BASE_URL", SANDBOX_URL),
        help="CAPSS base URL [CAPSS_BASE_URL; default %(default)s]",
    )
    group.add_argument(
        "--api",
        choices=[api.value for api in Api],
        default=env.get("CAPSS_API", Api.CURRENT.value),
        help="API generation [CAPSS_API; default %(default)s]",
    )
    group.add_argument("--client-id", default=env.get("CAPSS_CLIENT_ID"), help="[CAPSS_CLIENT_ID]")
    group.add_argument(
        "--client-secret",
        default=env.get("CAPSS_CLIENT_SECRET"),
        help="[CAPSS_CLIENT_SECRET; prefer the variable: the command line is visible to others]",
    )
    group.add_argument(
        "--ca-bundle",
        default=env.get("CAPSS_CA_BUNDLE"),
        help="PEM file of CA certificates to trust for CAPSS [CAPSS_CA_BUNDLE]",
    )
    group.add_argument(
        "--tls-ciphers",
        default=env.get("CAPSS_TLS_CIPHERS", DEFAULT_CIPHERS),
        help="OpenSSL cipher string [CAPSS_TLS_CIPHERS; default %(default)s]",
    )
    group.add_argument("--json", action="store_true", help="print JSON instead of text")

    intake = argparse.ArgumentParser(add_help=False)
    intake.add_argument(
        "--xsd",
        type=Path,
        default=env.get("CAPSS_XSD") or None,
        help="the DOJ's official XSD: enforced too [CAPSS_XSD]",
    )

    parser = argparse.ArgumentParser(
        prog="capss", description="Talk to CAPSS, the California DOJ's pawn and secondhand system."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    token = commands.add_parser(
        "token", parents=[common], help="get a token; shows its type, scope and expiry"
    )
    token.set_defaults(command=_token)

    validate = commands.add_parser(
        "validate", parents=[common, intake], help="check files before sending them"
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument("--update", action="store_true", help="the files are item updates")
    validate.set_defaults(command=_validate)

    submit = commands.add_parser(
        "submit", parents=[common, intake], help="validate and send a file"
    )
    submit.add_argument("file", type=Path, metavar="FILE")
    submit.add_argument("--update", action="store_true", help="the file is an item update")
    submit.add_argument("--on-dup", choices=ON_DUP_CHOICES, default="submitWithoutDup")
    submit.add_argument("--on-error", choices=ON_ERROR_CHOICES, default="submit")
    submit.add_argument("--wait", action="store_true", help="wait until CAPSS has processed it")
    submit.add_argument(
        "--timeout", type=_seconds, default=600.0, help="with --wait: seconds (default 600)"
    )
    submit.add_argument(
        "--poll-interval", type=_seconds, default=5.0, help="with --wait: seconds (default 5)"
    )
    submit.set_defaults(command=_submit)

    status = commands.add_parser("status", parents=[common], help="check a status link once")
    status.add_argument("url", metavar="URL", help="the status link CAPSS returned")
    status.set_defaults(command=_status)
    convert.register(commands)
    return parser


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _client(args: argparse.Namespace) -> CapssClient:
    if not args.client_id or not args.client_secret:
        raise _UsageError(
            "no CAPSS client id and secret: set CAPSS_CLIENT_ID and CAPSS_CLIENT_SECRET "
            "(or give --client-id and --client-secret)"
        )
    return CapssClient(
        ClientConfig(
            base_url=args.base_url,
            api=Api(args.api),
            client_id=args.client_id,
            client_secret=args.client_secret,
            ca_bundle=args.ca_bundle,
            tls_ciphers=args.tls_ciphers,
        )
    )


def _token(args: argparse.Namespace) -> int:
    with _client(args) as client:
        info = client.token()
    if args.json:
        _print_json(
            {
                "token_type": info.token_type,
                "scope": info.scope,
                "expires_at": info.expires_at.isoformat(),
                "license_id": info.license_id,
                "token_prefix": info.token_prefix,
            }
        )
    else:
        print(info)
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    kind = FileKind.ITEM_UPDATES if args.update else FileKind.TRANSACTIONS
    reports = [(str(path), _validate_path(path, kind, args.xsd)) for path in args.files]
    if args.json:
        _print_json({"files": [report.to_json(name) for name, report in reports]})
    else:
        for name, report in reports:
            print(report.format_text(name))
    return EXIT_OK if all(report.ok for _, report in reports) else EXIT_NOT_DONE


def _validate_path(path: Path, kind: FileKind, xsd: Path | None) -> Any:
    from capss.intake.validate import validate_path  # noqa: PLC0415 - lxml only when validating

    return validate_path(path, kind, xsd=xsd)


def _submit(args: argparse.Namespace) -> int:
    kind = FileKind.ITEM_UPDATES if args.update else FileKind.TRANSACTIONS
    name = args.file.name
    report = _validate_path(args.file, kind, args.xsd)
    if not report.ok:
        if args.json:
            problems = tuple(problem_text(p) for p in report.to_json()["problems"])
            _print_json(FileResult(name, Outcome.REJECTED, messages=problems).to_json())
        else:
            print(report.format_text(str(args.file)), file=sys.stderr)
            print(f"capss: {name} was not sent: correct it and submit again", file=sys.stderr)
        return EXIT_NOT_DONE
    with _client(args) as client:
        client.check_license(report.license_number)
        with args.file.open("rb") as fileobj:
            receipt = client.upload(fileobj, name, kind, args.on_dup, args.on_error)
        print(
            f"capss: {name} accepted by CAPSS as submission {receipt.submission_id}"
            f" ({receipt.attempts} attempt{'s' if receipt.attempts != 1 else ''})",
            file=sys.stderr,
        )
        if args.wait or receipt.completed:
            result = _wait(
                client,
                receipt,
                name,
                timeout=args.timeout if args.wait else None,
                interval=args.poll_interval,
            )
        else:
            result = FileResult(name, Outcome.PROCESSING, receipt.submission_id, receipt.status_url)
    _show(result, args.json)
    done = {Outcome.COMPLETE} if args.wait else {Outcome.COMPLETE, Outcome.PROCESSING}
    return EXIT_OK if result.outcome in done else EXIT_NOT_DONE


def _wait(
    client: CapssClient,
    receipt: UploadReceipt,
    name: str,
    *,
    timeout: float | None,
    interval: float,
) -> FileResult:
    """Polls the status link until CAPSS finishes or `timeout` seconds pass (None: once)."""
    started = time.monotonic()
    status: StatusResult | None = None
    polls = 0
    note = ""
    while receipt.status_url is not None:
        polls += 1
        try:
            status = client.status(receipt.status_url)
            note = ""
        except (JobNotFound, TransientError) as error:
            # Within the budget a just-created job may not show yet, and CAPSS may hiccup.
            note = f" ({type(error).__name__})"
        if status is not None and status.outcome.is_final:
            break
        elapsed = time.monotonic() - started
        if timeout is None or elapsed >= timeout:
            break
        print(f"capss: {name}: processing, {elapsed:.0f} s, poll {polls}{note}", file=sys.stderr)
        wait = status.retry_after if status and status.retry_after is not None else interval
        time.sleep(max(0.0, min(wait, timeout - elapsed)))
    unfinished = Outcome.PROCESSING if timeout is None else Outcome.TIMED_OUT
    if status is None:
        if receipt.completed and receipt.status_url is None:
            return FileResult(name, Outcome.COMPLETE, receipt.submission_id)
        return FileResult(name, unfinished, receipt.submission_id, receipt.status_url)
    return FileResult(
        name,
        status.outcome if status.outcome.is_final else unfinished,
        receipt.submission_id,
        receipt.status_url,
        status.counts,
        status.messages,
    )


def _status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        result = client.status(args.url)
    if args.json:
        _print_json(
            {
                "status_url": args.url,
                "outcome": result.outcome.value,
                "counts": result.counts.to_json(),
                "messages": list(result.messages),
                "completed_at": result.completed_at.isoformat() if result.completed_at else None,
                "http_status": result.http_status,
                "raw": result.raw,
            }
        )
    else:
        _show(
            FileResult(args.url, result.outcome, counts=result.counts, messages=result.messages),
            False,
        )
    return EXIT_OK if result.outcome in (Outcome.COMPLETE, Outcome.PROCESSING) else EXIT_NOT_DONE


def _show(result: FileResult, as_json: bool) -> None:
    if as_json:
        _print_json(result.to_json())
        return
    print(f"{result.file}: {result.outcome.value}")
    if result.submission_id:
        print(f"  submission: {result.submission_id}")
    if result.status_url:
        print(f"  status link: {result.status_url}")
    if result.counts != Counts():
        shown = ", ".join(
            f"{name} {'-' if value is None else value}"
            for name, value in result.counts.to_json().items()
        )
        print(f"  counts: {shown}")
    for message in result.messages:
        print(f"  {message}")


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))
