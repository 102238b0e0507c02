"""`capss stores|submissions|resubmit|redrive|report`: operating a deployed bridge.

Each command finds the stack by `--stack NAME` (its CloudFormation outputs) or by
`--local FILE` (what `python -m local serve` writes), and follows `capss`'s conventions:
`--json` for JSON, one error line on stderr, exit 0 done, 1 not done, 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capss.cli import lazy
from capss.kinds import ON_DUP_CHOICES
from capss.outcome import Outcome

if TYPE_CHECKING:
    from capss.aws.ops import Stack
    from capss.compliance.report import ComplianceReport
    from capss.compliance.stores import ExpectedStore
    from capss.pipeline.records import FileRecord

EXIT_OK, EXIT_NOT_DONE = 0, 1
IMPORT_COLUMNS = (
    "license",
    "name",
    "days",
    "timezone",
    "closures",
    "email",
    "first_day",
    "quiet_days",
)
STORE_FIELDS = ("name", "days", "timezone", "email", "first_day", "quiet_days")
"""What a change to a registered store replaces when given (closures are added)."""

Command = Callable[[argparse.Namespace], int]


def register(commands: Any) -> None:
    """Adds the ops commands to `capss`'s subcommands."""
    env = os.environ
    where = argparse.ArgumentParser(add_help=False)
    group = where.add_argument_group("which bridge (one of)")
    group.add_argument(
        "--stack", default=env.get("CAPSS_STACK"), help="CloudFormation stack name [CAPSS_STACK]"
    )
    group.add_argument(
        "--local",
        type=Path,
        default=env.get("CAPSS_LOCAL") or None,
        help="the file `python -m local serve` wrote [CAPSS_LOCAL]",
    )
    group.add_argument("--region", default=None, help="AWS region of the stack")
    group.add_argument("--json", action="store_true", help="print JSON instead of text")
    _register_stores(commands, where)
    _register_files(commands, where)


def _register_stores(commands: Any, where: argparse.ArgumentParser) -> None:
    stores = commands.add_parser("stores", help="the register of stores expected to report")
    store_commands = stores.add_subparsers(required=True, metavar="ACTION")
    add = store_commands.add_parser(
        "add", parents=[where], help="register a store, or change one (closures are added)"
    )
    add.add_argument("license", metavar="LICENSE")
    add.add_argument("--name", help="how ops calls the store")
    add.add_argument("--days", help='days it trades, e.g. "Mon-Sat" (the default) or "Tue-Sun"')
    add.add_argument("--timezone", help="IANA zone (default America/Los_Angeles)")
    add.add_argument(
        "--closures", nargs="+", default=[], metavar="DATE", help="dates it is closed (YYYY-MM-DD)"
    )
    add.add_argument("--email", help="also send this store's alerts here (SNS, filtered)")
    add.add_argument(
        "--api-key",
        metavar="KEYID",
        help="the id of an upload endpoint API key that may then upload for this license",
    )
    add.add_argument(
        "--first-day",
        metavar="DATE",
        help="the first day a report is owed (default for a new store: today, its zone)",
    )
    add.add_argument(
        "--quiet-days",
        metavar="N",
        help="for a store that does not trade every open day: open days in a row without a"
        " file before the monitor names them (default 0)",
    )
    add.add_argument(
        "--uploader",
        nargs="+",
        default=[],
        metavar="PRINCIPAL",
        help="may file for this license: an IAM user's id (AIDA...), a role's (AROA..., any"
        " session) or a role session's (AROA...:session)",
    )
    add.add_argument(
        "--remove-uploader", nargs="+", default=[], metavar="PRINCIPAL", help="may no longer"
    )
    _bind(add, _stores_add)
    key = store_commands.add_parser(
        "key",
        parents=[where],
        help="which licenses an upload endpoint API key uploads for (all keys without KEYID)",
    )
    key.add_argument("key_id", nargs="?", metavar="KEYID", help="the API key's id, not its value")
    key.add_argument("licenses", nargs="*", metavar="LICENSE", help="also upload for these")
    key.add_argument("--remove", action="store_true", help="the key uploads for no license")
    _bind(key, _stores_key)
    quiet = store_commands.add_parser(
        "quiet", parents=[where], help="say a store had nothing to report on these days"
    )
    quiet.add_argument("license", metavar="LICENSE")
    quiet.add_argument("dates", nargs="+", metavar="DATE", help="YYYY-MM-DD")
    _bind(quiet, _stores_quiet)
    chain = store_commands.add_parser(
        "chain-uploader",
        parents=[where],
        help="who may file for every license (the chain's own export job): list, add, remove",
    )
    chain.add_argument("principals", nargs="*", metavar="PRINCIPAL", help="AIDA..., AROA...")
    chain.add_argument("--remove", action="store_true", help="remove them instead of adding")
    _bind(chain, _stores_chain_uploader)
    policy = store_commands.add_parser(
        "policy",
        parents=[where],
        help="the IAM policy that lets an uploader drop files for these licenses only",
    )
    policy.add_argument(
        "licenses", nargs="*", metavar="LICENSE", help="none: the chain's own uploader's policy"
    )
    _bind(policy, _stores_policy)
    _bind(store_commands.add_parser("list", parents=[where], help="the stores"), _stores_list)
    remove = store_commands.add_parser(
        "remove",
        parents=[where],
        help="stop expecting a store after its last day (past reports keep it)",
    )
    remove.add_argument("license", metavar="LICENSE")
    remove.add_argument(
        "--last-day", type=_date, metavar="DATE", help="its last trading day (default: today)"
    )
    _bind(remove, _stores_remove)
    load = store_commands.add_parser(
        "import",
        parents=[where],
        help=f"add or change stores from a CSV ({','.join(IMPORT_COLUMNS)})",
    )
    load.add_argument("file", type=Path, metavar="FILE.csv")
    _bind(load, _stores_import)


def _register_files(commands: Any, where: argparse.ArgumentParser) -> None:
    submissions = commands.add_parser("submissions", help="the files the bridge received")
    file_commands = submissions.add_subparsers(required=True, metavar="ACTION")
    listing = file_commands.add_parser("list", parents=[where], help="files received since a date")
    listing.add_argument("--license")
    listing.add_argument("--since", type=_date, help="YYYY-MM-DD (default: 7 days ago)")
    listing.add_argument("--outcome", choices=[o.value for o in Outcome])
    _bind(listing, _submissions_list)
    show = file_commands.add_parser("show", parents=[where], help="one file's whole story")
    show.add_argument("file", metavar="FILE_ID|KEY")
    _bind(show, _submissions_show)

    status = file_commands.add_parser(
        "status", parents=[where], help="ask CAPSS now, with the license's stored client"
    )
    status.add_argument("file", metavar="FILE_ID|KEY")
    _bind(status, _submissions_status)

    resubmit = commands.add_parser(
        "resubmit", parents=[where], help="send a file version again, as a new recorded file"
    )
    resubmit.add_argument("file", metavar="FILE_ID|KEY")
    resubmit.add_argument(
        "--on-dup", choices=ON_DUP_CHOICES, help="what CAPSS does with duplicates"
    )
    resubmit.add_argument(
        "--force", action="store_true", help="send even though CAPSS may already have it"
    )
    _bind(resubmit, _resubmit)

    redrive = commands.add_parser(
        "redrive", parents=[where], help="move the intake dead-letter queue back to the queue"
    )
    redrive.add_argument("--dry-run", action="store_true", help="only list what would move")
    _bind(redrive, _redrive)

    monitor = commands.add_parser(
        "monitor", parents=[where], help="run the missed-report check now (as the schedule does)"
    )
    monitor.add_argument("--check", choices=("early", "final"), default="final")
    monitor.add_argument("--time", help="judge as of this ISO time with its zone (default: now)")
    _bind(monitor, _monitor)

    report = commands.add_parser(
        "report",
        parents=[where],
        help="per store and day: each day's state, per-store figures, totals",
    )
    report.add_argument("--since", type=_date, required=True, help="YYYY-MM-DD")
    report.add_argument("--until", type=_date, help="YYYY-MM-DD (default: yesterday)")
    report.add_argument(
        "--format",
        choices=("table", "csv", "html"),
        default="table",
        help="html: the month page, one self-contained file (--json: the same as JSON)",
    )
    report.add_argument("--output", type=Path, metavar="FILE", help="write here, not to stdout")
    _bind(report, _report)


def _bind(parser: argparse.ArgumentParser, command: Command) -> None:
    @functools.wraps(command)
    def run(args: argparse.Namespace, out: object = None) -> int:
        # `out` is main's output writer: these commands print their own tables and JSON.
        if bool(args.stack) == bool(args.local):
            parser.error("give the stack: --stack NAME or --local FILE (not both)")
        with lazy.aws_ops.aws_refusals():
            return command(args)

    parser.set_defaults(command=run)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _stack(args: argparse.Namespace) -> Stack:
    ops = lazy.aws_ops
    stack: Stack = ops.local(args.local) if args.local else ops.deployed(args.stack, args.region)
    return stack


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


# ---------------------------------------------------------------- stores


def _store_json(store: ExpectedStore) -> dict[str, Any]:
    item = store.to_item()
    item.pop("pk")
    return item


def _merged(stack: Stack, given: ExpectedStore, fields: set[str]) -> ExpectedStore:
    """A change to a registered store keeps what was not given; closures are added. A new
    store is owed from today (its zone) unless told; a removed one registered again is
    expected again (its last day cleared)."""
    current = {s.license: s for s in stack.register.stores()}.get(given.license)
    if current is None:
        today = datetime.now(given.zone).date()
        return dataclasses.replace(given, first_day=given.first_day or today)
    return dataclasses.replace(
        given,
        **{name: getattr(current, name) for name in STORE_FIELDS if name not in fields},
        closures=current.closures | given.closures,
        last_day=None,
        uploaders=current.uploaders | given.uploaders,
    )


def _save_store(
    stack: Stack, store: ExpectedStore, fields: set[str], removed: frozenset[str] = frozenset()
) -> ExpectedStore:
    store = _merged(stack, store, fields)
    if removed:
        store = dataclasses.replace(store, uploaders=store.uploaders - removed)
    stack.register.put_store(store)
    if store.email and "email" in fields:
        lazy.aws_ops.subscribe_store(stack, store.license, store.email)
    return store


def _stores_add(args: argparse.Namespace) -> int:
    stack = _stack(args)
    fields = {name for name in STORE_FIELDS if getattr(args, name) is not None}
    with _input_error():
        given = lazy.stores.ExpectedStore.parse(
            license_number=args.license,
            name=args.name or "",
            days=args.days or "",
            timezone=args.timezone or "",
            closures=args.closures,
            email=args.email,
            uploaders=args.uploader,
            first_day=args.first_day or "",
            quiet_days=args.quiet_days or "",
        )
        removed = lazy.stores.parse_uploaders(args.remove_uploader)
    key_id = lazy.presign.api_key_id(args.api_key) if args.api_key is not None else None
    store = _save_store(stack, given, fields, removed)
    if key_id:
        stack.upload_keys.bind(key_id, frozenset({store.license}))
    if args.json:
        _print_json({**_store_json(store), **({"api_key": key_id} if key_id else {})})
    else:
        print(
            f"capss: {store.license} is expected on {store.days_text} ({store.timezone})"
            f" from {store.first_day or 'any day'}"
        )
        if "email" in fields:
            print(f"capss: confirm the subscription mail sent to {store.email}")
        if args.uploader or args.remove_uploader:
            print(f"capss: {store.license} may be filed for by {_uploaders_text(stack, store)}")
        if key_id:
            print(f"capss: the API key {key_id} uploads for {store.license}")
    return EXIT_OK


@contextlib.contextmanager
def _input_error() -> Iterator[None]:
    """A register entry the command cannot use: exit 2 with the entry's own message."""
    try:
        yield
    except lazy.stores.StoreError as error:
        raise lazy.aws_ops.OpsError(str(error)) from None


def _uploaders_text(stack: Stack, store: ExpectedStore) -> str:
    chain = stack.register.chain_uploaders()
    named = [*sorted(store.uploaders), *(f"{p} (chain-wide)" for p in sorted(chain))]
    return ", ".join(named) or "nobody: its files will be rejected"


def _stores_chain_uploader(args: argparse.Namespace) -> int:
    stack = _stack(args)
    register = stack.register
    with _input_error():
        given = lazy.stores.parse_uploaders(args.principals)
    chain = register.chain_uploaders()
    if given:
        chain = chain - given if args.remove else chain | given
        register.put_chain_uploaders(chain)
    if args.json:
        _print_json({"chain_uploaders": sorted(chain)})
    elif chain:
        print(f"capss: may file for every license: {', '.join(sorted(chain))}")
    else:
        print(
            "capss: no chain-wide uploader: only each store's registered uploaders may file"
            " (capss stores add LICENSE --uploader PRINCIPAL)"
        )
    return EXIT_OK


def _stores_policy(args: argparse.Namespace) -> int:
    stack = _stack(args)
    with _input_error():
        licenses = [lazy.stores.ExpectedStore(license=n).license for n in args.licenses]
    access = lazy.upload_access
    arn = access.bucket_arn(stack.output("IntakeBucketName"), stack.session.region_name)
    _print_json(access.upload_policy(arn, licenses))
    return EXIT_OK


def _stores_key(args: argparse.Namespace) -> int:
    stack = _stack(args)
    keys = stack.upload_keys
    if args.key_id is None:
        if args.licenses or args.remove:
            raise lazy.aws_ops.OpsError("name the key: capss stores key KEYID [LICENSE...]")
        bindings = keys.bindings()
    else:
        key_id = lazy.presign.api_key_id(args.key_id)
        if args.remove and args.licenses:
            raise lazy.aws_ops.OpsError("--remove takes the key's every license: give no LICENSE")
        if args.remove:
            removed = keys.unbind(key_id)
            print(f"capss: {key_id} {'uploads for no license now' if removed else 'was not bound'}")
            return EXIT_OK if removed else EXIT_NOT_DONE
        if args.licenses:
            registered = {s.license for s in stack.register.stores()}
            unknown = sorted(set(args.licenses) - registered)
            if unknown:
                raise lazy.aws_ops.OpsError(
                    f"not registered: {' '.join(unknown)[:200]} (capss stores add LICENSE first)"
                )
            keys.bind(key_id, frozenset(args.licenses))
        bindings = {key_id: keys.licenses_for_key(key_id)}
    if args.json:
        _print_json(
            {"api_keys": [{"id": k, "licenses": sorted(v)} for k, v in sorted(bindings.items())]}
        )
        return EXIT_OK
    rows = [["api key id", "uploads for"]]
    rows += [[k, " ".join(sorted(v)) or "(no license)"] for k, v in sorted(bindings.items())]
    print(_table(rows))
    return EXIT_OK


def _stores_list(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stores = stack.register.stores()
    chain = sorted(stack.register.chain_uploaders())
    if args.json:
        _print_json({"stores": [_store_json(s) for s in stores], "chain_uploaders": chain})
        return EXIT_OK
    if not stores:
        print("no stores registered: capss stores add LICENSE (or capss stores import FILE.csv)")
    else:
        header = "license name days timezone first_day last_day quiet closures email uploaders"
        rows = [header.split()]
        rows += [
            [
                s.license,
                s.name,
                s.days_text,
                s.timezone,
                str(s.first_day or ""),
                str(s.last_day or ""),
                str(s.quiet_days or ""),
                " ".join(sorted(d.isoformat() for d in s.closures)),
                s.email or "",
                " ".join(sorted(s.uploaders)),
            ]
            for s in stores
        ]
        print(_table(rows))
    print(f"chain-wide uploaders: {' '.join(chain) or 'none'}")
    return EXIT_OK


def _stores_remove(args: argparse.Namespace) -> int:
    stack = _stack(args)
    store = {s.license: s for s in stack.register.stores()}.get(args.license)
    if store is None:
        print(f"capss: {args.license} was not registered")
        return EXIT_NOT_DONE
    if store.last_day and not args.last_day:
        print(f"capss: {args.license} was removed already: nothing is owed after {store.last_day}")
        return EXIT_NOT_DONE
    last = args.last_day or datetime.now(store.zone).date()
    stack.register.remove_store(args.license, last)
    stack.upload_keys.forget_license(args.license)
    print(f"capss: {args.license} removed: no report is owed after {last}")
    return EXIT_OK


def _stores_quiet(args: argparse.Namespace) -> int:
    stack = _stack(args)
    days = lazy.stores.parse_dates(args.dates, "dates")
    who = f"capss stores quiet ({os.environ.get('USER') or 'ops'})"
    for day in days:
        stack.register.record_quiet(args.license, day, who[:100])
    print(f"capss: {args.license}: nothing to report on {', '.join(d.isoformat() for d in days)}")
    return EXIT_OK


def _stores_import(args: argparse.Namespace) -> int:
    stack = _stack(args)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise lazy.aws_ops.OpsError(f"cannot read {args.file}: {error.strerror}") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "license" not in rows[0]:
        raise lazy.aws_ops.OpsError(
            f"{args.file}: expected a header row with {','.join(IMPORT_COLUMNS)}"
        )
    parsed = []
    for number, row in enumerate(rows, start=2):
        try:
            store = lazy.stores.ExpectedStore.parse(
                license_number=row.get("license") or "",
                name=row.get("name") or "",
                days=row.get("days") or "",
                timezone=row.get("timezone") or "",
                closures=[row.get("closures") or ""],
                email=row.get("email") or None,
                first_day=row.get("first_day") or "",
                quiet_days=row.get("quiet_days") or "",
            )
        except lazy.stores.StoreError as error:
            raise lazy.aws_ops.OpsError(
                f"{args.file}:{number}: {error} (nothing was imported)"
            ) from None
        fields = {name for name in STORE_FIELDS if row.get(name)}
        parsed.append((store, fields))
    for store, fields in parsed:
        _save_store(stack, store, fields)
    print(f"capss: {len(parsed)} store(s) imported")
    return EXIT_OK


# ---------------------------------------------------------------- submissions


def _submissions_list(args: argparse.Namespace) -> int:
    since = args.since or (datetime.now(UTC).date() - timedelta(days=7))
    moment = datetime.combine(since, time(), tzinfo=UTC)
    records = lazy.aws_ops.records_since(_stack(args), moment, args.license)
    if args.outcome:
        records = [r for r in records if r.outcome.value == args.outcome]
    if args.json:
        _print_json({"files": [_summary(r) for r in records]})
        return EXIT_OK
    rows = [["received", "license", "file", "outcome", "transactions", "file id"]]
    rows += [
        [
            r.received_at or "",
            r.license or "",
            r.name,
            r.outcome.value,
            _span(r),
            r.pk,
        ]
        for r in records
    ]
    print(_table(rows) if records else f"no files received since {since}")
    return EXIT_OK


def _span(record: FileRecord) -> str:
    first, last = record.first_transaction_at, record.last_transaction_at
    if not first or not last:
        return ""
    return first[:10] if first[:10] == last[:10] else f"{first[:10]}..{last[:10]}"


def _summary(record: FileRecord) -> dict[str, Any]:
    return {
        "file_id": record.pk,
        "key": record.key,
        "license": record.license,
        "received_at": record.received_at,
        "first_transaction_at": record.first_transaction_at,
        "last_transaction_at": record.last_transaction_at,
        **record.result().to_json(),
    }


def _submissions_show(args: argparse.Namespace) -> int:
    stack = _stack(args)
    record = lazy.aws_ops.find_record(stack, args.file)
    story = {
        **record.to_item(),
        "file_id": record.pk,
        "execution": lazy.aws_ops.execution(stack, record.execution_arn),
        # The table's TTL deletes the record about then (DynamoDB: within days after).
        "expires": (
            datetime.fromtimestamp(record.expires_at, UTC).isoformat(timespec="seconds")
            if record.expires_at
            else None
        ),
    }
    if args.json:
        _print_json(story)
        return EXIT_OK
    for name in (
        "file_id",
        "license",
        "kind",
        "outcome",
        "phase",
        "uploaded_by",
        "uploaded_from",
        "uploaded_at",
        "received_at",
        "submitted_at",
        "completed_at",
        "upload_attempts",
        "polls",
        "submission_id",
        "status_url",
        "on_dup",
        "on_error",
        "alerted",
        "duplicate_of",
        "customer_data",
        "expires",
        "error",
        "hint",
    ):
        if story.get(name) not in (None, "", 0):
            print(f"{name + ':':17}{story[name]}")
    print(f"{'transactions:':17}{record.transactions or 0} ({_span(record) or 'no dates'})")
    counts = record.counts.to_json()
    print(
        f"{'counts:':17}" + ", ".join(f"{k} {'-' if v is None else v}" for k, v in counts.items())
    )
    for title, lines in (
        ("Validation", [lazy.report.problem_text(p) for p in record.problems]),
        ("CAPSS said", record.messages),
        ("Bridge notes", record.notes),
    ):
        if lines:
            print(f"{title}:")
            print("\n".join(f"  - {line}" for line in lines))
    if story["execution"]:
        run = story["execution"]
        print(f"{'execution:':17}{run['status']} {run['arn']}")
    return EXIT_OK


def _submissions_status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    record = lazy.aws_ops.find_record(stack, args.file)
    result = lazy.aws_ops.capss_status(stack, record)
    answer = {
        "file_id": record.pk,
        "status_url": record.status_url,
        "outcome": result.outcome.value,
        "counts": result.counts.to_json(),
        "messages": list(result.messages),
    }
    if args.json:
        _print_json(answer)
    else:
        print(f"{record.name}: {answer['outcome']} (CAPSS, now)")
        counts = ", ".join(f"{k} {'-' if v is None else v}" for k, v in answer["counts"].items())
        print(f"  counts: {counts}")
        for message in answer["messages"]:
            print(f"  {message}")
    return EXIT_OK if result.outcome in (Outcome.COMPLETE, Outcome.PROCESSING) else EXIT_NOT_DONE


def _resubmit(args: argparse.Namespace) -> int:
    stack = _stack(args)
    record = lazy.aws_ops.find_record(stack, args.file)
    stuck = record.unattended()
    if not record.outcome.is_final and not stuck:
        raise lazy.aws_ops.OpsError(
            f"{record.name} is still being processed ({record.phase.value}): wait"
        )
    if (record.maybe_in_capss or record.submission_id) and not args.force:
        raise lazy.aws_ops.OpsError(
            f"CAPSS may already have {record.name} (submission"
            f" {record.submission_id or 'unanswered'}): look for it in CAPSS, then repeat with"
            " --force (and --on-dup skipDuplicates so CAPSS skips what it has)"
        )
    if stuck:
        # Ended first: an SQS redelivery that comes later finds it final and sends nothing.
        lazy.aws_ops.close_stuck(stack, record)
    version = lazy.aws_ops.resend(stack, record, args.on_dup)
    new_id = f"FILE#{record.bucket}/{record.key}#{version}"
    if args.json:
        _print_json({"file_id": new_id, "resent": record.pk})
    else:
        print(f"capss: {record.name} sent again as {new_id}: capss submissions show '{new_id}'")
    return EXIT_OK


def _redrive(args: argparse.Namespace) -> int:
    moved = lazy.aws_ops.dead_letters(_stack(args), move=not args.dry_run)
    if args.json:
        _print_json({"dry_run": args.dry_run, "messages": moved})
        return EXIT_OK
    verb = "would move" if args.dry_run else "moved"
    print(f"capss: {verb} {len(moved)} message(s) back to the intake queue")
    for message in moved:
        print(f"  {message['message_id']}: {' '.join(message['files'])}")
    return EXIT_OK


def _monitor(args: argparse.Namespace) -> int:
    event = {"check": args.check, **({"time": args.time} if args.time else {})}
    result = lazy.aws_ops.run_monitor(_stack(args), event)
    if args.json:
        _print_json(result)
        return EXIT_OK
    days, stuck = result.get("days", []), result.get("stuck", [])
    print(
        f"capss: {args.check} check of {result.get('stores', 0)} store(s): {len(days)} day(s)"
        f" and {len(stuck)} stuck file(s) need action"
        + ("; the alert was sent" if result.get("alerted") else "")
    )
    for day in days:
        print(
            f"  {day['license']} {day['store']}: {day['day']} due {day['deadline']}: {day['state']}"
        )
    for item in stuck:
        print(f"  {item['file_id']}: {item['why']}")
    return EXIT_OK if not days and not stuck else EXIT_NOT_DONE


# ---------------------------------------------------------------- report


def _parameter_dates(stack: Stack, name: str) -> list[date]:
    return lazy.stores.parse_dates([stack.parameters.get(name, "")], name)


def month_report(stack: Stack, since: date, until: date) -> ComplianceReport:
    """The period's report for every store ever registered, as the monitor would judge it."""
    extra = _parameter_dates(stack, "ExtraHolidays")
    return lazy.compliance_report.build_report(
        chain=stack.name,
        stores=stack.register.stores(),
        history=stack.records,
        calendar=lazy.calendar.BusinessCalendar(extra, _parameter_dates(stack, "RemovedHolidays")),
        extra_holidays=extra,
        chain_closures=frozenset(_parameter_dates(stack, "ChainClosures")),
        quiet=stack.register.quiet_days(since),
        since=since,
        until=until,
        now=datetime.now(UTC),
    )


def _report(args: argparse.Namespace) -> int:
    until = args.until or (datetime.now(UTC).date() - timedelta(days=1))
    report = month_report(_stack(args), args.since, until)
    if args.json:
        text = json.dumps(report.to_json(), indent=2) + "\n"
    elif args.format == "html":
        text = lazy.page.render_page(report)
    elif args.format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(_report_rows(report))
        text = buffer.getvalue()
    else:
        text = _report_text(report)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise lazy.aws_ops.OpsError(f"cannot write {args.output}: {error.strerror}") from None
    totals = report.totals
    print(
        f"capss: wrote {args.output} ({len(report.rows)} store(s), {len(report.dates)} day(s):"
        f" {totals.on_time} of {totals.due} due on time, {totals.missed} missed)",
        file=sys.stderr,
    )
    return EXIT_OK


def _report_rows(report: ComplianceReport) -> list[list[str]]:
    header = ["license", "store", "day", "deadline", "state", "items", "saved", "reached_capss_at"]
    return [
        header,
        *(
            [
                d.status.license,
                d.status.store,
                d.status.day.isoformat(),
                d.status.deadline.isoformat(),
                d.status.state.value,
                "" if d.status.items is None else str(d.status.items),
                "" if d.status.saved is None else str(d.status.saved),
                d.status.reached_capss_at or "",
            ]
            for row in report.rows
            for d in row.days
        ),
    ]


def _report_text(report: ComplianceReport) -> str:
    if not report.rows:
        return "no stores registered\n"
    summary = [
        ["license", "store", "due", "on time", "late", "partly", "processing", "missed", "rate"]
    ]
    named = [(row.store.license, row.store.name, row.summary) for row in report.rows]
    for license_number, name, figures in [*named, ("chain", "", report.totals)]:
        counts = (
            figures.due,
            figures.on_time,
            figures.late,
            figures.partly,
            figures.processing,
            figures.missed,
        )
        summary.append([license_number, name, *map(str, counts), figures.rate_text])
    return (
        f"{_table(_report_rows(report))}\n\n"
        f"{report.since} to {report.until}, made {report.generated_text}:"
        f" {report.calendar.text}\n\n{_table(summary)}\n"
    )
