"""Every ops command in text and in JSON, on the local stack, exits as the operations doc's
table says (`capss.cli.exits.OPS_EXITS`): every row of the table is run here."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from capss.cli.exits import OPS_EXITS, ops_exit_table
from capss.cli.main import main

from local.simulator import Fault
from tests.e2e.conftest import Pipeline
from tests.e2e.test_monitor import day_file
from tests.e2e.test_ops_commands import Ops

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    command: str
    when: str
    argv: tuple[str, ...]
    before: Callable[[], object] = lambda: None
    after: Callable[[], object] = lambda: None


def test_the_doc_holds_the_ops_exit_table() -> None:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert any(ops_exit_table() in path.read_text(encoding="utf-8") for path in documents)


@pytest.mark.timeout(900)  # some fifty commands, each building its AWS clients
def test_every_ops_command_exits_as_the_table_says_in_text_and_json(
    pipeline: Callable[..., Pipeline], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops = Ops(pipeline(), tmp_path, capsys)
    p = ops.p
    clean = p.drop_bytes(day_file("000000300", date(2026, 11, 23), "EXC1"), "clean.xml")
    issues = p.drop("store-0300-error-items.xml")
    failing = day_file("000000300", date(2026, 11, 23), "EXF1").replace(
        b"<description>", b"<description>[sim:fail] ", 1
    )
    failed = p.drop_bytes(failing, "failed.xml")
    rejected = p.drop("store-0300-invalid.xml")
    outcomes = {f.file.pk: f.outcome for f in p.finish(clean, issues, failed, rejected)}
    assert outcomes == {
        clean.pk: "complete",
        issues.pk: "complete_with_issues",
        failed.pk: "failed",
        rejected.pk: "rejected",
    }
    good_csv, bad_csv = tmp_path / "stores.csv", tmp_path / "bad.csv"
    good_csv.write_text("license,name\n000000301,Oak Ave\n", encoding="utf-8")
    bad_csv.write_text("license,days\n000000302,Mon-Funday\n", encoding="utf-8")
    secrets = p.stack.client("secretsmanager")
    secret = secrets.get_secret_value(SecretId="capss/000000300")["SecretString"]

    def secret_value(value: str) -> Callable[[], object]:
        return lambda: secrets.put_secret_value(SecretId="capss/000000300", SecretString=value)

    status = ("submissions", "status")
    cases = [
        # Before any store is registered: nothing is due, nothing is stuck.
        Case("`monitor`", "no store, day or file needs action", ("monitor", "--check", "early")),
        Case(
            "`stores add`",
            "the store is saved",
            ("stores", "add", "000000300", "--first-day", "2026-11-02"),
        ),
        Case(
            "`stores add`",
            "a value it cannot use (days, time zone, date, license)",
            ("stores", "add", "000000300", "--days", "Mon-Funday"),
        ),
        Case("`stores list`", "the stores are listed (also none)", ("stores", "list")),
        Case("`stores key`", "the keys' licenses are listed or set", ("stores", "key")),
        Case(
            "`stores key`",
            "`--remove` of a key bound to no license",
            ("stores", "key", "abcde12345", "--remove"),
        ),
        Case(
            "`stores key`",
            "a key's value, or a license not registered",
            ("stores", "key", "abcde12345", "000000309"),
        ),
        Case(
            "`stores chain-uploader`",
            "the chain-wide uploaders are listed or set",
            ("stores", "chain-uploader"),
        ),
        Case(
            "`stores chain-uploader`",
            "a principal it cannot use",
            ("stores", "chain-uploader", "not a principal"),
        ),
        Case("`stores policy`", "the upload policy is printed", ("stores", "policy", "000000300")),
        Case("`stores policy`", "a license it cannot use", ("stores", "policy", "no/such")),
        Case("`stores import`", "every row is saved", ("stores", "import", str(good_csv))),
        Case(
            "`stores import`",
            "a row it cannot use: nothing is imported",
            ("stores", "import", str(bad_csv)),
        ),
        Case(
            "`stores remove`",
            "the store is removed",
            ("stores", "remove", "000000301"),
            before=lambda: ops.run("stores", "add", "000000301"),
        ),
        Case(
            "`stores remove`",
            "the store was not registered, or was removed already",
            ("stores", "remove", "000000309"),
        ),
        Case(
            "`stores quiet`",
            "the days are recorded as nothing to report",
            ("stores", "quiet", "000000300", "2026-11-20"),
        ),
        Case("`stores quiet`", "a date it cannot read", ("stores", "quiet", "000000300", "11/20")),
        Case(
            "`monitor`",
            "stores, days or stuck files need action",
            ("monitor", "--check", "final", "--time", "2026-11-25T15:00:00Z"),
        ),
        Case("`report`", "the days are listed", ("report", "--since", "2026-11-23")),
        Case("`submissions list`", "the files are listed (also none)", ("submissions", "list")),
        Case("`submissions reindex`", "the indexes are filled", ("submissions", "reindex")),
        Case("`submissions show`", "the file's story is shown", ("submissions", "show", clean.pk)),
        Case("`submissions show`", "no file has that id or key", ("submissions", "show", "nope")),
        Case("`submissions status`", "CAPSS says `complete` or `processing`", (*status, clean.pk)),
        Case("`submissions status`", "CAPSS says `complete_with_issues`", (*status, issues.pk)),
        Case("`submissions status`", "CAPSS failed the job", (*status, failed.pk)),
        Case(
            "`submissions status`",
            "CAPSS does not show the job (404)",
            (*status, clean.pk),
            before=lambda: p.sim.inject(Fault.not_found()),
        ),
        Case(
            "`submissions status`",
            "CAPSS is busy or unreachable: ask again later",
            (*status, clean.pk),
            before=lambda: p.sim.inject(Fault.error(503, "status", headers={"Retry-After": "120"})),
        ),
        Case(
            "`submissions status`",
            "the license's secret is missing or refused",
            (*status, clean.pk),
            before=secret_value("{}"),
            after=secret_value(secret),
        ),
        Case(
            "`submissions status`",
            "the file has no status link: CAPSS never accepted it",
            (*status, rejected.pk),
        ),
        Case(
            "`resubmit`",
            "refused: still being processed, or CAPSS may have it and `--force` is not given",
            ("resubmit", clean.pk),
        ),
        Case("`resubmit`", "the file is sent again as a new version", ("resubmit", rejected.pk)),
        Case(
            "`redrive`",
            "the dead letters are listed (`--dry-run`) or moved",
            ("redrive", "--dry-run"),
        ),
    ]
    expected = {(command, when): code for command, when, code in OPS_EXITS}
    seen = set()
    for case in cases:
        for form in ((), ("--json",)):
            case.before()
            code, out, err = ops.run(*case.argv, *form)
            case.after()
            assert code == expected[(case.command, case.when)], (case.argv, form, out, err)
            if form:
                json.loads(out)  # one JSON document, also when the command failed
            seen.add((case.command, case.when))

    # Without a stack, in either form: a usage error.
    for form in ((), ("--json",)):
        assert (
            main(["stores", "list", "--stack", "", *form])
            == expected[
                (
                    "every ops command",
                    "the stack is not given, cannot be read, or AWS refused a call",
                )
            ]
        )
    capsys.readouterr()
    seen.add(("every ops command", "the stack is not given, cannot be read, or AWS refused a call"))
    assert seen == set(expected)
