"""`capss token|validate|submit|status`: the commands that talk to CAPSS as the DOJ's curl steps do.

Each command returns its exit code (`capss.cli.exits`) and writes one result: a JSON
document on stdout with --json, text otherwise, also when it fails.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit

from capss.cli import lazy
from capss.cli.exits import FOR_OUTCOME, CommandError, Exit, for_error
from capss.cli.output import Output, display, error_json, result_json
from capss.client.api import SANDBOX_URL, Api
from capss.client.tls import DEFAULT_CIPHERS
from capss.errors import CapssError, JobNotFound, TransientError
from capss.kinds import ON_DUP_CHOICES, ON_ERROR_CHOICES, SKIP_DUPLICATES, FileKind
from capss.outcome import Counts, Outcome
from capss.pipeline import advice

if TYPE_CHECKING:
    from capss.client.client import CapssClient, ClientConfig, UploadReceipt
    from capss.client.status import StatusResult
    from capss.intake.report import ValidationReport

Subcommands = Any
"""argparse's private _SubParsersAction, which has no public name."""
Command = Callable[[argparse.Namespace, Output], Exit]

_API_CHOICES = tuple(api.value for api in Api)
_TOKEN_PATHS = ("/oauth2/token", "/oauth/token", "/api/")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's default beside it (a variable's is in its text); examples kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def register(commands: Subcommands) -> None:
    """Adds token, validate, submit and status to `capss`."""
    output = argparse.ArgumentParser(add_help=False)
    shown = output.add_argument_group("output")
    shown.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    shown.add_argument("--quiet", "-q", action="store_true", help="no progress or notes")

    capss = argparse.ArgumentParser(add_help=False)
    group = capss.add_argument_group("CAPSS connection (each option also reads its variable)")
    group.add_argument(
        "--base-url", help=f"CAPSS base URL, no path [CAPSS_BASE_URL or {SANDBOX_URL}]"
    )
    group.add_argument("--api", choices=_API_CHOICES, help="API generation [CAPSS_API or current]")
    group.add_argument("--client-id", help="API client id [CAPSS_CLIENT_ID]")
    group.add_argument(
        "--client-secret",
        help="API client secret [CAPSS_CLIENT_SECRET; prefer the variable: others can see"
        " a command line]",
    )
    group.add_argument(
        "--ca-bundle", help="PEM file of CA certificates to trust for CAPSS [CAPSS_CA_BUNDLE]"
    )
    group.add_argument(
        "--tls-ciphers", help=f"OpenSSL cipher string [CAPSS_TLS_CIPHERS or {DEFAULT_CIPHERS}]"
    )

    intake = argparse.ArgumentParser(add_help=False)
    checks = intake.add_argument_group("validation")
    checks.add_argument("--update", action="store_true", help="item update files (corrections)")
    checks.add_argument("--xsd", type=Path, help="the DOJ's official XSD, enforced too [CAPSS_XSD]")
    checks.add_argument("--strict", action="store_true", help="treat warnings as errors")

    def add(
        name: str,
        run: Command,
        parents: list[argparse.ArgumentParser],
        summary: str,
        example: str,
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            name,
            parents=parents,
            help=summary,
            description=summary,
            epilog=f"example:\n  {example}",
            formatter_class=_Help,
        )
        parser.set_defaults(command=run)
        return parser

    add(
        "token",
        _token,
        [capss, output],
        "get a token: shows its type, scope, license and expiry, never the token itself",
        "CAPSS_CLIENT_ID=apitest CAPSS_CLIENT_SECRET=... capss token",
    )
    validate = add(
        "validate",
        _validate,
        [intake, output],
        "check files as the bridge does, without sending them",
        "capss validate --json day-0300.xml day-0301.xml",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE", help="XML files")
    submit = add(
        "submit",
        _submit,
        [intake, capss, output],
        "validate a file, send it to CAPSS and (with --wait) follow it until CAPSS is done",
        "capss submit day-0300.xml --wait",
    )
    submit.add_argument("file", type=Path, metavar="FILE", help="the XML file to send")
    submit.add_argument(
        "--on-dup",
        choices=ON_DUP_CHOICES,
        default=SKIP_DUPLICATES,
        help=f"CAPSS's onDup ({SKIP_DUPLICATES}: skip what CAPSS has, spelled as the API"
        " generation accepts it)",
    )
    submit.add_argument(
        "--on-error", choices=ON_ERROR_CHOICES, default="submit", help="CAPSS's onError"
    )
    submit.add_argument("--wait", action="store_true", help="wait until CAPSS has processed it")
    submit.add_argument("--timeout", type=_seconds, default=600.0, help="with --wait: seconds")
    submit.add_argument(
        "--poll-interval", type=_seconds, default=5.0, help="with --wait: seconds between checks"
    )
    status = add(
        "status",
        _status,
        [capss, output],
        "check a status link once",
        "capss status https://capss-sb.doj.ca.gov/api/bulkimport/status/12345",
    )
    status.add_argument("url", metavar="URL", help="the status link CAPSS returned")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds, 0 or more")
    return value


# -- settings ------------------------------------------------------------------------------


def _setting(args: argparse.Namespace, option: str, variable: str, default: str | None) -> Any:
    """An option, else its variable, else the default; a variable is checked as the option is."""
    value = getattr(args, option.lstrip("-").replace("-", "_"))
    if value is not None:
        return value
    value = os.environ.get(variable) or default
    if option == "--api" and value not in _API_CHOICES:
        raise CommandError(
            f"{variable}={value!r} is not one of {', '.join(_API_CHOICES)}",
            code="usage",
            exit=Exit.USAGE,
            hint=f"Set {variable} to current or legacy, or unset it.",
        )
    return value


def _config(args: argparse.Namespace) -> ClientConfig:
    client_id = _setting(args, "--client-id", "CAPSS_CLIENT_ID", None)
    secret = _setting(args, "--client-secret", "CAPSS_CLIENT_SECRET", None)
    if not client_id or not secret:
        raise CommandError(
            "no CAPSS client id and secret",
            code="no_credentials",
            exit=Exit.CONFIG,
            hint="Set CAPSS_CLIENT_ID and CAPSS_CLIENT_SECRET (or give --client-id and"
            " --client-secret) from CAPSS's API Client page.",
        )
    base_url = _setting(args, "--base-url", "CAPSS_BASE_URL", SANDBOX_URL)
    _check_base_url(base_url)
    return lazy.client.ClientConfig(
        base_url=base_url,
        api=Api(_setting(args, "--api", "CAPSS_API", Api.CURRENT.value)),
        client_id=client_id,
        client_secret=secret,
        ca_bundle=_setting(args, "--ca-bundle", "CAPSS_CA_BUNDLE", None),
        tls_ciphers=_setting(args, "--tls-ciphers", "CAPSS_TLS_CIPHERS", DEFAULT_CIPHERS),
    )


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CommandError(
            f"the CAPSS base URL {base_url!r} is not an https:// address",
            code="base_url",
            exit=Exit.CONFIG,
            hint=f"Give CAPSS's address, e.g. --base-url {SANDBOX_URL} (CAPSS_BASE_URL).",
        )
    path = parts.path.rstrip("/")
    if any(path.endswith(token.rstrip("/")) or token in path + "/" for token in _TOKEN_PATHS):
        root = f"{parts.scheme}://{parts.netloc}"
        raise CommandError(
            f"the CAPSS base URL {base_url!r} includes an endpoint path",
            code="base_url",
            exit=Exit.CONFIG,
            hint=f"Give the base URL only, e.g. {root}: capss adds /oauth2/token and"
            " /api/... itself (CAPSS_BASE_URL, --base-url).",
        )


def _client(config: ClientConfig) -> CapssClient:
    """httpx loads only for the commands that talk to CAPSS: validate and --help stay quick."""
    return lazy.client.CapssClient(config)


def _xsd(args: argparse.Namespace) -> Path | None:
    """The official XSD, checked before any file: a broken one is the setting's fault."""
    given = args.xsd if args.xsd is not None else os.environ.get("CAPSS_XSD") or None
    if given is None:
        return None
    path = Path(given)
    source = "--xsd" if args.xsd is not None else "CAPSS_XSD"
    try:
        lazy.xsd.compile_schema(path)
    except lazy.reader.Rejected as unusable:
        raise CommandError(
            f"{source} {display(path)}: {unusable.problem.message}",
            code="xsd_unusable",
            exit=Exit.CONFIG,
            hint=f"Fix {source} (the DOJ's official XSD) or leave it out; the files were not"
            " checked.",
        ) from None
    return path


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise CommandError(
            f"{display(path)} is a directory, not a file",
            code="not_a_file",
            exit=Exit.USAGE,
            hint="Name the XML files themselves (e.g. a shell glob: dir/*.xml).",
        )
    if not path.exists():
        raise CommandError(
            f"{display(path)}: no such file",
            code="no_such_file",
            exit=Exit.USAGE,
            hint="Check the path; nothing was validated or sent.",
        )


def _report(path: Path, kind: FileKind, xsd: Path | None) -> ValidationReport:
    return lazy.validate.validate_path(path, kind, xsd=xsd)


def _kind(args: argparse.Namespace) -> FileKind:
    return FileKind.ITEM_UPDATES if args.update else FileKind.TRANSACTIONS


def _passes(report: ValidationReport, *, strict: bool) -> bool:
    return report.ok and not (strict and report.warnings)


# -- token ---------------------------------------------------------------------------------


def _token(args: argparse.Namespace, out: Output) -> Exit:
    with _client(_config(args)) as client:
        info = client.token()
    if out.as_json:
        out.document(
            {
                "token_type": info.token_type,
                "scope": info.scope,
                "expires_at": info.expires_at.isoformat(),
                "license_id": info.license_id,
                "token_prefix": info.token_prefix,
                "error": None,
            },
            Exit.OK,
        )
    else:
        print(info)
    return Exit.OK


# -- validate ------------------------------------------------------------------------------


def _validate(args: argparse.Namespace, out: Output) -> Exit:
    xsd = _xsd(args)
    results, codes = [], []
    for path in args.files:
        name = display(path)
        try:
            _check_file(path)
        except CommandError as error:
            out.error(error)
            results.append(result_json(name, None, error=error))
            codes.append(error.exit)
            continue
        report = _report(path, _kind(args), xsd)
        passed = _passes(report, strict=args.strict)
        codes.append(Exit.OK if passed else Exit.REJECTED)
        if not out.as_json:
            print(report.format_text(name))
        results.append(
            result_json(
                name,
                None if passed else Outcome.REJECTED,
                report=report.to_json(),
                next_step=None if passed else _fix_step(report, strict=args.strict),
            )
        )
    code = max(codes, key=lambda c: (c is Exit.USAGE, c is Exit.REJECTED))
    if out.as_json:
        out.document({"files": results, "error": None}, code)
    return code


def _fix_step(report: ValidationReport, *, strict: bool) -> str:
    return advice.CLI_FIX_FILE if not report.ok or not strict else advice.CLI_STRICT


# -- submit --------------------------------------------------------------------------------


def _submit(args: argparse.Namespace, out: Output) -> Exit:
    path, kind = args.file, _kind(args)
    name = display(path)
    _check_file(path)
    xsd = _xsd(args)
    config = _config(args)
    report = _report(path, kind, xsd)
    if not out.as_json and report.problems:
        # Warnings too, before sending: they are easiest to act on now.
        out.note(report.format_text(name).replace("\n", "\ncapss: "))
    if not _passes(report, strict=args.strict):
        step = _fix_step(report, strict=args.strict)
        out.note(f"{name} was not sent. {step}")
        return _finish(
            out,
            result_json(name, Outcome.REJECTED, report=report.to_json(), next_step=step),
            Exit.REJECTED,
        )
    with _client(config) as client:
        try:
            client.check_license(report.license_number)
            out.note(f"sending {name} ({report.size} bytes) to {config.base_url}")
            with path.open("rb") as fileobj:
                receipt = client.upload(
                    cast(BinaryIO, _Sending(fileobj, report.size, name, out))
                    if report.size >= _BIG
                    else fileobj,
                    display(path.name),
                    kind,
                    args.on_dup,
                    args.on_error,
                )
        except KeyboardInterrupt:
            return _interrupted_upload(out, name, report)
        except CapssError as error:
            code = for_error(error, uploading=True)
            out.error(error)
            maybe = advice.CLI_MAYBE_SENT if code is Exit.MAYBE_SENT else None
            return _finish(
                out,
                result_json(name, None, report=report.to_json(), next_step=maybe, error=error),
                code,
            )
        tries = f"{receipt.attempts} attempt{'s' if receipt.attempts != 1 else ''}"
        out.note(f"{name} accepted by CAPSS as submission {receipt.submission_id} ({tries})")
        followed = _Followed(name, receipt, report)
        try:
            if args.wait or receipt.completed:
                _wait(
                    client,
                    followed,
                    out,
                    timeout=args.timeout if args.wait else None,
                    interval=args.poll_interval,
                )
        except KeyboardInterrupt:
            return _finish(out, followed.interrupted(out), Exit.INTERRUPTED)
        except CapssError as error:
            out.error(error)
            return _finish(out, followed.result(error=error), Exit.MAYBE_SENT)
    result = followed.result()
    if not out.as_json:
        _show(result)
    if not args.wait and followed.outcome is Outcome.PROCESSING:
        return _finish(out, result, Exit.OK)
    return _finish(out, result, FOR_OUTCOME[followed.outcome])


_BIG = 1024 * 1024
"""Files from this size on show how much of them went out."""


class _Sending(io.BufferedIOBase):
    """The file as httpx streams it, telling the person how much of it went out."""

    def __init__(self, fileobj: BinaryIO, size: int, name: str, out: Output) -> None:
        self._file, self._size, self._name, self._out = fileobj, size, name, out
        self._shown = -1

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._file.read(-1 if size is None else size)
        tenths = self._file.tell() * 10 // max(self._size, 1)
        if tenths != self._shown:
            self._shown = tenths
            self._out.progress(f"sending {self._name}: {tenths * 10} %")
        return chunk

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


def _interrupted_upload(out: Output, name: str, report: ValidationReport) -> Exit:
    error = CommandError(
        f"interrupted while sending {name}",
        code="interrupted",
        exit=Exit.INTERRUPTED,
        hint=advice.CLI_MAYBE_SENT,
    )
    out.error(error)
    return _finish(out, result_json(name, None, report=report.to_json(), error=error), error.exit)


class _Followed:
    """A file CAPSS accepted, and what its status link said last."""

    def __init__(self, name: str, receipt: UploadReceipt, report: ValidationReport) -> None:
        self.name = name
        self.receipt = receipt
        self.report = report
        self.status: StatusResult | None = None
        self.outcome = Outcome.COMPLETE if receipt.completed else Outcome.PROCESSING

    def result(self, error: CapssError | None = None) -> dict[str, Any]:
        status = self.status
        step = None
        if self.receipt.status_url and (error or self.outcome is Outcome.TIMED_OUT):
            step = advice.cli_follow(self.receipt.status_url)
        return result_json(
            self.name,
            self.outcome,
            submission_id=self.receipt.submission_id,
            status_url=self.receipt.status_url,
            counts=status.counts if status else None,
            messages=status.messages if status else (),
            report=self.report.to_json(),
            completed_at=_iso(status),
            next_step=step or _next_step(self.outcome, status),
            error=error,
        )

    def interrupted(self, out: Output) -> dict[str, Any]:
        link = self.receipt.status_url
        error = CommandError(
            f"interrupted while waiting: CAPSS has {self.name} as submission"
            f" {self.receipt.submission_id}, status link {link}",
            code="interrupted",
            exit=Exit.INTERRUPTED,
            hint=advice.cli_follow(link) if link else advice.CLI_LOOK_UP,
        )
        out.error(error)
        return self.result(error)


def _wait(
    client: CapssClient, followed: _Followed, out: Output, *, timeout: float | None, interval: float
) -> None:
    """Polls the status link until CAPSS finishes or `timeout` seconds pass (None: once)."""
    url = followed.receipt.status_url
    started = time.monotonic()
    polls = 0
    while url is not None:
        polls += 1
        note = ""
        try:
            followed.status = client.status(url)
        except (JobNotFound, TransientError) as error:
            # Within the budget a just-created job may not show yet, and CAPSS may hiccup.
            note = f" ({type(error).__name__})"
        status = followed.status
        if status is not None and status.outcome.is_final:
            followed.outcome = status.outcome
            return
        elapsed = time.monotonic() - started
        if timeout is None:
            return
        if elapsed >= timeout:
            followed.outcome = Outcome.TIMED_OUT
            return
        wait = status.retry_after if status and status.retry_after is not None else interval
        wait = max(0.0, min(wait, timeout - elapsed))
        out.progress(
            f"{followed.name}: processing, {elapsed:.0f} s elapsed, check {polls}{note},"
            f" next in {wait:.0f} s"
        )
        time.sleep(wait)


def _next_step(outcome: Outcome, status: StatusResult | None) -> str | None:
    return advice.cli_next_step(outcome, status.counts if status else Counts())


def _iso(status: StatusResult | None) -> str | None:
    return status.completed_at.isoformat() if status and status.completed_at else None


# -- status --------------------------------------------------------------------------------


def _status(args: argparse.Namespace, out: Output) -> Exit:
    with _client(_config(args)) as client:
        status = client.status(args.url)
    result = result_json(
        None,
        status.outcome,
        status_url=args.url,
        counts=status.counts,
        messages=status.messages,
        completed_at=_iso(status),
        next_step=_next_step(status.outcome, status),
    )
    if not out.as_json:
        _show(result)
    return _finish(out, result, FOR_OUTCOME[status.outcome])


# -- showing -------------------------------------------------------------------------------


def _finish(out: Output, result: dict[str, Any], code: Exit) -> Exit:
    if out.as_json:
        out.document(result, code)
    return code


def _show(result: dict[str, Any]) -> None:
    print(f"{result['file'] or result['status_url']}: {result['outcome']}")
    if result["submission_id"]:
        print(f"  submission: {result['submission_id']}")
    if result["file"] and result["status_url"]:
        print(f"  status link: {result['status_url']}")
    counts = result["counts"]
    # While CAPSS works on a file its counts are partial: shown once it has finished.
    finished = result["outcome"] in (Outcome.COMPLETE, Outcome.COMPLETE_WITH_ISSUES, Outcome.FAILED)
    if finished and counts != Counts().to_json():
        shown = ", ".join(
            f"{name} {'not reported' if value is None else value}" for name, value in counts.items()
        )
        print(f"  counts: {shown}")
    for message in result["messages"]:
        print(f"  {message}")
    if result["next_step"]:
        print(f"  next: {result['next_step']}")


def failed(args: argparse.Namespace, out: Output, error: CapssError) -> Exit:
    """A command that failed before it had a result: the error line, and the JSON document."""
    code = for_error(error)
    out.error(error)
    if out.as_json:
        file = getattr(args, "file", None)
        document = (
            {"files": [], "error": error_json(error)}
            if hasattr(args, "files")
            else result_json(
                display(file) if file else None,
                None,
                status_url=getattr(args, "url", None),
                error=error,
            )
        )
        out.document(document, code)
    return code
