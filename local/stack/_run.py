"""`python -m local run FILE...`: files through the whole emulated pipeline, one JSON out."""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from capss.outcome import Outcome

from local.stack._s3events import LOCAL_UPLOADER
from local.stack._stack import TEMPLATE, DroppedFile, FileOutcome, LocalStack, StackTimeout

EXIT_NEEDS_PERSON = 3
"""Some file ended in an outcome a person must act on (its alert is in the JSON)."""
EXIT_UNFINISHED = 4
"""Some file had no final outcome within --timeout."""


@dataclass
class Capss:
    """Where CAPSS is for this run: the built-in simulator or a server given by URL."""

    base_url: str
    ca_bundle: str | None
    api: str | None
    simulator: Any | None = None
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    """license -> (client id, client secret)."""

    def client_for(self, license_number: str) -> tuple[str, str]:
        return self.clients[license_number] if self.simulator is not None else self.clients["*"]


def license_in(path: Path) -> str | None:
    """The dealer license a transactions or item update file names (the first one found)."""
    from lxml import etree  # noqa: PLC0415

    try:
        for event, element in etree.iterparse(
            str(path),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        ):
            if event == "start" and element.get("licenseNumber"):
                return str(element.get("licenseNumber")).strip()
            if (
                event == "end"
                and etree.QName(element).localname == "licenseNumber"
                and element.text
                and element.text.strip()
            ):
                return str(element.text).strip()
    except etree.XMLSyntaxError:
        return None
    return None


def progress_text(stream: IO[str], started: float) -> Callable[[str], None]:
    def say(text: str) -> None:
        print(f"  {time.monotonic() - started:6.2f} s  {text}", file=stream, flush=True)

    return say


def progress_line(stream: IO[str], started: float) -> Any:
    """A line per file version as it reaches its outcome (once, across several waits)."""
    shown: set[str] = set()
    say = progress_text(stream, started)

    def show(result: FileOutcome) -> None:
        if result.file.pk in shown:
            return
        shown.add(result.file.pk)
        say(f"{result.outcome:<21} {result.file.key}")

    return show


@contextlib.contextmanager
def capss_for(args: argparse.Namespace, licenses: set[str], **simulator: Any) -> Iterator[Capss]:
    if args.capss_url:
        if not (args.client_id and args.client_secret):
            raise SystemExit("--capss-url needs --client-id and --client-secret")
        yield Capss(
            base_url=args.capss_url.rstrip("/"),
            ca_bundle=args.ca_bundle,
            api=args.api,
            clients={"*": (args.client_id, args.client_secret)},
        )
        return
    from local.simulator import CapssSimulator  # noqa: PLC0415

    sim = CapssSimulator(**simulator)
    clients = {}
    for license_number in sorted(licenses):
        client_id, secret = f"local-{license_number}", secrets.token_urlsafe(16)
        sim.add_client(client_id, secret, license_number=license_number)
        clients[license_number] = (client_id, secret)
    with sim:
        yield Capss(sim.base_url, sim.ca_pem_path, args.api, simulator=sim, clients=clients)


def stack_environment(capss: Capss) -> dict[str, str]:
    environment = {"CAPSS_BASE_URL": capss.base_url}
    if capss.ca_bundle:
        environment["CAPSS_CA_BUNDLE"] = capss.ca_bundle
    if capss.api:
        environment["CAPSS_API"] = capss.api
    return environment


def parameters(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param wants NAME=VALUE, got {pair!r}")
        values[name] = value
    return values


LAST_LOG = Path(tempfile.gettempdir()) / "capss-local-last.log"
"""The handlers' logs of the latest run: replaced by each run, so they never pile up."""


def open_log(args: argparse.Namespace) -> IO[str]:
    """Handler logs: on stderr with --verbose, else in --log or the latest-run file."""
    if args.verbose:
        return sys.stderr
    return open(args.log or LAST_LOG, "w", encoding="utf-8")


def metadata_for(pairs: list[str], files: list[Path]) -> dict[Path, dict[str, str]]:
    """`NAME=VALUE` for every file, `FILE::NAME=VALUE` for the file given as FILE."""
    chosen: dict[Path, dict[str, str]] = {path: {} for path in files}
    for pair in pairs:
        target, sep, setting = pair.rpartition("::")
        name, equals, value = setting.partition("=")
        if not equals or not name:
            raise SystemExit(f"--metadata wants [FILE::]NAME=VALUE, got {pair!r}")
        matching = [path for path in files if not sep or str(path) == target]
        if not matching:
            raise SystemExit(f"--metadata {pair!r}: {target} is not one of the FILEs")
        for path in matching:
            chosen[path][name] = value
    return chosen


def requests_by_kind(sim: Any) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for request in sim.requests:
        kinds[request.endpoint] = kinds.get(request.endpoint, 0) + 1
    return kinds


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    files = [Path(name) for name in args.files]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    # A file naming no license still goes through: the bridge rejects it with its alert.
    licenses = {path: args.license or license_in(path) for path in files}
    known = sorted({number for number in licenses.values() if number})
    metadata = metadata_for(args.metadata, files)
    log = open_log(args)
    try:
        with (
            capss_for(args, set(known)) as capss,
            LocalStack(
                Path(args.template),
                parameters=parameters(args.param),
                environment=stack_environment(capss),
                clock_scale=args.clock_scale,
                log=log,
            ) as stack,
        ):
            for license_number in known:
                client_id, client_secret = capss.client_for(license_number)
                stack.put_secret(license_number, client_id, client_secret, api=capss.api)
            for license_number in args.uploader_for:
                stack.add_store_uploader(license_number, args.uploader)
            dropped: list[DroppedFile] = [
                stack.drop_file(
                    path,
                    licenses[path],
                    update=args.update,
                    metadata=metadata[path],
                    uploader=args.uploader,
                )
                for path in files
            ]
            say = progress_text(sys.stderr, started)
            say(f"dropped {len(dropped)} file(s) into s3://{stack.bucket}/incoming/")
            finished = True
            try:
                results = stack.wait(
                    dropped, timeout=args.timeout, progress=progress_line(sys.stderr, started)
                )
            except StackTimeout as error:
                print(f"timed out: {error}", file=sys.stderr)
                finished = False
                results = [
                    FileOutcome(f, stack.record(f) or {}, stack.alerts_for(f), stack.events_for(f))
                    for f in dropped
                ]
            document = {
                "files": [
                    {
                        key: value
                        for key, value in result.to_json().items()
                        if key not in ("key", "version_id", "problems")
                    }
                    for result in results
                ],
                "capss_requests": len(capss.simulator.requests) if capss.simulator else None,
                "capss_requests_by_kind": (
                    requests_by_kind(capss.simulator) if capss.simulator else None
                ),
                "max_in_flight": capss.simulator.max_in_flight if capss.simulator else None,
                "waits": stack.clock.waits,
                "retries": stack.clock.retries,
                "elapsed_seconds": round(time.monotonic() - started, 2),
            }
    finally:
        if log is not sys.stderr:
            log.close()
            print(f"handler logs: {log.name}", file=sys.stderr)
    json.dump(document, sys.stdout, indent=2)
    print()
    if not finished:
        return EXIT_UNFINISHED
    needs_person = any(Outcome(result.outcome).needs_person for result in results)
    return EXIT_NEEDS_PERSON if needs_person else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="XML files to send, or POS CSV exports (incoming/csv/<license>/, with --license)",
    )
    parser.add_argument(
        "--update", action="store_true", help="item update files (incoming/item-updates/)"
    )
    parser.add_argument("--capss-url", help="a CAPSS-compatible server instead of the simulator")
    parser.add_argument("--api", choices=("current", "legacy"), help="CAPSS API generation")
    parser.add_argument("--client-id", help="CAPSS API client id (with --capss-url)")
    parser.add_argument("--client-secret", help="CAPSS API client secret (with --capss-url)")
    parser.add_argument("--ca-bundle", help="PEM of the CA that signed the server's certificate")
    parser.add_argument(
        "--license-from-file",
        action="store_true",
        help="file each under the license its XML names (the default unless --license)",
    )
    parser.add_argument("--license", help="file every FILE under this license")
    parser.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="[FILE::]NAME=VALUE",
        help="S3 object metadata, e.g. capss-resend=true or capss-on-dup=cancel: for every"
        " FILE, or with FILE:: for that one",
    )
    parser.add_argument(
        "--uploader",
        default=LOCAL_UPLOADER,
        metavar="PRINCIPAL",
        help="the principal the S3 events name, e.g. AWS:AIDAEXAMPLESTORE0300 (default"
        " %(default)s, the chain's export job, registered for every license)",
    )
    parser.add_argument(
        "--uploader-for",
        nargs="+",
        default=[],
        metavar="LICENSE",
        help="register --uploader for these licenses only (without it, an --uploader other than"
        " the default is registered for none)",
    )
    common_arguments(parser)


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", default=str(TEMPLATE), help="the SAM template to build")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="template parameter"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait in all")
    parser.add_argument(
        "--clock-scale",
        type=float,
        default=0.001,
        help="real seconds per emulated second for Wait states, retries and redeliveries",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="the handlers' logs on stderr, not in --log"
    )
    parser.add_argument(
        "--log", help=f"file for the handlers' logs (default: {LAST_LOG}, replaced each run)"
    )
