"""`capss` ops commands against the local stack, as ops would run them after `local serve`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from capss.cli.main import main

from tests.e2e.conftest import Pipeline
from tests.e2e.test_monitor import day_file
from tests.integration.compliance.month import dump_dom
from tests.integration.compliance.test_month_page import figures_of, shown

Start = Callable[..., Pipeline]


class Ops:
    def __init__(self, p: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.p = p
        self.state = tmp_path / "local.json"
        # In this process moto intercepts boto3 itself: the file needs no endpoint.
        self.state.write_text(json.dumps(p.stack.connection()), encoding="utf-8")
        self.capsys = capsys

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*argv, "--local", str(self.state)])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def json(self, *argv: str) -> Any:
        code, out, err = self.run(*argv, "--json")
        assert code == 0, err
        return json.loads(out)


@pytest.fixture
def ops(pipeline: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Ops:
    return Ops(pipeline(), tmp_path, capsys)


def test_stores_add_list_import_and_remove(ops: Ops, tmp_path: Path) -> None:
    code, out, _ = ops.run(
        "stores",
        "add",
        "000000300",
        "--name",
        "Main St",
        "--days",
        "Tue-Sun",
        "--first-day",
        "2026-11-02",
    )
    assert code == 0
    assert out == (
        "capss: 000000300 is expected on Tue Wed Thu Fri Sat Sun (America/Los_Angeles)"
        " from 2026-11-02\n"
    )
    # A closure added later keeps the rest of the entry.
    ops.run("stores", "add", "000000300", "--closures", "2026-12-24", "2026-12-31")
    csv_file = tmp_path / "stores.csv"
    csv_file.write_text(
        "license,name,days,timezone,closures,email,first_day\n"
        "000000301,Oak Ave,Mon-Fri,America/Los_Angeles,2026-12-24,oak@example.com,2026-11-09\n",
        encoding="utf-8",
    )
    assert ops.run("stores", "import", str(csv_file))[1] == "capss: 1 store(s) imported\n"
    assert ops.json("stores", "list")["stores"] == [
        {
            "license": "000000300",
            "name": "Main St",
            "days": "Tue Wed Thu Fri Sat Sun",
            "timezone": "America/Los_Angeles",
            "closures": ["2026-12-24", "2026-12-31"],
            "first_day": "2026-11-02",
        },
        {
            "license": "000000301",
            "name": "Oak Ave",
            "days": "Mon Tue Wed Thu Fri",
            "timezone": "America/Los_Angeles",
            "closures": ["2026-12-24"],
            "email": "oak@example.com",
            "first_day": "2026-11-09",
        },
    ]
    # The store's own email gets only its own alerts.
    sns = ops.p.stack.client("sns")
    topic = ops.p.stack.outputs()["AlertTopicArn"]
    (mail,) = [
        s
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if s["Protocol"] == "email"
    ]
    attributes = sns.get_subscription_attributes(SubscriptionArn=mail["SubscriptionArn"])
    assert json.loads(attributes["Attributes"]["FilterPolicy"]) == {"license": ["000000301"]}

    assert ops.run("stores", "remove", "000000301", "--last-day", "2026-11-30")[0] == 0
    assert ops.run("stores", "remove", "000000301")[:2] == (
        1,
        "capss: 000000301 was removed already: nothing is owed after 2026-11-30\n",
    )
    assert ops.run("stores", "remove", "000000309")[:2] == (
        1,
        "capss: 000000309 was not registered\n",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("license,days\n000000302,Mon-Funday\n", encoding="utf-8")
    code, _, err = ops.run("stores", "import", str(bad))
    assert code == 2
    assert err.startswith(f"capss: error: {bad}:2: days: 'Funday' is not one of")
    listed = ops.json("stores", "list")["stores"]
    assert [(s["license"], s.get("last_day")) for s in listed] == [
        ("000000300", None),
        ("000000301", "2026-11-30"),
    ]


def test_stores_key_binds_an_upload_api_key_to_registered_licenses(ops: Ops) -> None:
    key_id = "a1b2c3d4e5"
    code, out, _ = ops.run("stores", "add", "000000300", "--api-key", key_id)
    assert code == 0
    assert out.endswith(f"capss: the API key {key_id} uploads for 000000300\n")
    # A typo for a license nobody registered binds nothing.
    code, _, err = ops.run("stores", "key", key_id, "000000301")
    assert code == 2
    assert "not registered: 000000301" in err
    ops.run("stores", "add", "000000301")
    assert ops.json("stores", "key", key_id, "000000301") == {
        "api_keys": [{"id": key_id, "licenses": ["000000300", "000000301"]}]
    }
    # The key's value, given by mistake, is refused before anything is stored.
    value = "Wq3vK9xZ2mPb7LrT0yHs4NcE6uJd8GfA1iOk5QeX"
    code, _, err = ops.run("stores", "key", value, "000000300")
    assert code == 2
    assert "never give the key's value" in err
    assert value not in err
    keys = ops.p.stack.client("dynamodb").scan(TableName=ops.p.stack.stores_table)["Items"]
    assert value not in json.dumps(keys)

    # What the presign function reads: a store leaving the register leaves every key.
    assert ops.run("stores", "remove", "000000301")[0] == 0
    code, table, _ = ops.run("stores", "key")
    assert (code, table.splitlines()[2].split()) == (0, [key_id, "000000300"])
    assert ops.run("stores", "key", key_id, "--remove")[:2] == (
        0,
        f"capss: {key_id} uploads for no license now\n",
    )
    assert ops.json("stores", "key", key_id) == {"api_keys": [{"id": key_id, "licenses": []}]}
    assert ops.run("stores", "key", key_id, "--remove")[0] == 1


def test_submissions_list_show_and_resubmit(ops: Ops) -> None:
    p = ops.p
    clean = p.drop_bytes(day_file("000000300", date(2026, 11, 23), "OPS1"), "day.xml")
    invalid = p.drop("store-0300-invalid.xml")
    p.finish(clean, invalid)

    listed = ops.json("submissions", "list", "--license", "000000300")["files"]
    assert {(f["file"], f["outcome"]) for f in listed} == {
        ("day.xml", "complete"),
        ("store-0300-invalid.xml", "rejected"),
    }
    rejected = ops.json("submissions", "list", "--outcome", "rejected")["files"]
    assert [f["file_id"] for f in rejected] == [invalid.pk]
    code, table, _ = ops.run("submissions", "list")
    assert code == 0
    assert "2026-11-23" in table
    assert clean.pk in table

    story = ops.json("submissions", "show", clean.key)
    assert story["file_id"] == clean.pk
    assert story["submission_id"]
    assert story["execution"]["status"] == "SUCCEEDED"
    # CAPSS asked now, with the license's client from Secrets Manager.
    asked = ops.json("submissions", "status", clean.key)
    assert asked["outcome"] == "complete"
    assert asked["status_url"] == story["status_url"]
    code, _, err = ops.run("submissions", "status", invalid.pk)
    assert code == 2
    assert "has no status link: CAPSS never accepted it" in err
    code, text, _ = ops.run("submissions", "show", invalid.pk)
    assert code == 0
    assert "outcome:         rejected\n" in text
    assert "Validation:\n  - error (line " in text

    # CAPSS has the clean file: sending it again needs --force.
    code, _, err = ops.run("resubmit", clean.pk)
    assert code == 2
    assert "CAPSS may already have day.xml" in err
    code, out, _ = ops.run("resubmit", clean.pk, "--force", "--on-dup", "submitWithoutDup")
    assert code == 0
    new_id = out.split(" sent again as ")[1].split(":", 1)[0]
    assert new_id != clean.pk
    (again,) = [r for r in ops.json("submissions", "list")["files"] if r["file_id"] == new_id]
    resent = p.stack.wait([_dropped_from(p, new_id)])[0]
    assert resent.record["on_dup"] == "submitWithoutDup"
    assert resent.outcome in ("complete", "complete_with_issues")
    assert again["key"] == clean.key
    assert p.stack.record(clean)["outcome"] == "complete"  # type: ignore[index]

    code, _, err = ops.run("submissions", "show", "FILE#nope")
    assert (code, err) == (2, "capss: error: no record FILE#nope (see `capss COMMAND --help`)\n")


def test_resubmit_ends_a_stuck_file_then_sends_it_as_a_new_version(ops: Ops) -> None:
    p = ops.p
    dropped = p.drop_bytes(day_file("000000300", date(2026, 11, 24), "STK1"), "stuck.xml")
    p.finish(dropped)
    # As a crashed attempt whose message was lost leaves it: claimed, never sent, lease over.
    p.stack.client("dynamodb").update_item(
        TableName=p.stack.table,
        Key={"pk": {"S": dropped.pk}},
        UpdateExpression="SET phase = :claimed, outcome = :processing, lease_until = :over"
        " REMOVE submission_id, status_url, maybe_in_capss, alerted",
        ExpressionAttributeValues={
            ":claimed": {"S": "claimed"},
            ":processing": {"S": "processing"},
            ":over": {"S": "2026-11-24T00:00:00+00:00"},
        },
    )
    code, out, err = ops.run("resubmit", dropped.pk)
    assert code == 0, err
    new_id = out.split(" sent again as ")[1].split(":", 1)[0]
    closed = p.stack.record(dropped)
    assert closed is not None
    assert (closed["phase"], closed["outcome"], closed["alerted"]) == ("done", "failed", True)
    assert "sent again as a new version by `capss resubmit`" in closed["notes"][-1]
    resent = p.stack.wait([_dropped_from(p, new_id)])[0]
    assert resent.outcome in ("complete", "complete_with_issues")
    # Ended, it is no longer stuck, however long ago it was touched.
    later = ops.json("monitor", "--check", "early", "--time", "2027-01-05T18:00:00Z")
    assert later["stuck"] == []


def test_redrive_lists_then_moves_the_dead_letters(ops: Ops) -> None:
    p = ops.p
    dropped = p.drop("store-0300-clean.xml")
    p.finish(dropped)
    sqs = p.stack.client("sqs")
    dlq = p.stack.outputs()["IntakeDeadLetterQueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody=p.stack.notification_for(dropped))

    dry = ops.json("redrive", "--dry-run")
    assert [m["files"] for m in dry["messages"]] == [[dropped.uri]]
    assert _visible(p, dlq) == 1
    code, out, _ = ops.run("redrive")
    assert code == 0
    assert out.startswith("capss: moved 1 message(s) back to the intake queue\n")
    assert _visible(p, dlq) == 0
    # The redriven event finds the file final: nothing is sent twice.
    poller = p.stack.poller
    assert poller is not None
    _until(lambda: poller.stats.messages >= 2)
    assert p.uploads("store-0300-clean.xml") == 1


def test_report_and_monitor(ops: Ops, tmp_path: Path) -> None:
    p = ops.p
    ops.run("stores", "add", "000000300", "--name", "Main St", "--first-day", "2026-11-02")
    ops.run("stores", "add", "000000301", "--name", "Oak Ave", "--first-day", "2026-11-02")
    dropped = p.drop_bytes(day_file("000000300", date(2026, 11, 23), "REP1"), "day.xml")
    p.finish(dropped)
    code, csv_text, _ = ops.run(
        "report", "--since", "2026-11-23", "--until", "2026-11-23", "--format", "csv"
    )
    assert code == 0
    lines = csv_text.splitlines()
    assert lines[0] == "license,store,day,deadline,state,items,saved,reached_capss_at"
    # Sent today (after 2026-11-24): reported, but late.
    assert lines[1].startswith("000000300,Main St,2026-11-23,2026-11-24,reported_late,3,,")
    assert lines[2] == "000000301,Oak Ave,2026-11-23,2026-11-24,missing,,,"

    # The month page and the JSON of the same period: the same figures, as a browser shows them.
    period = ("report", "--since", "2026-11-22", "--until", "2026-11-23")
    report = ops.json(*period)
    assert report["totals"] | {"states": None} == {
        "due": 2,
        "on_time": 0,
        "late": 1,
        "partly_reported": 0,
        "processing": 0,
        "missed": 1,
        "on_time_rate": 0.0,
        "states": None,
    }
    page = tmp_path / "month.html"
    code, out, err = ops.run(*period, "--format", "html", "--output", str(page))
    assert (code, out) == (0, "")
    assert err == f"capss: wrote {page} (2 store(s), 2 day(s): 0 of 2 due on time, 1 missed)\n"
    dom = lxml.html.fromstring(dump_dom(page).output)
    assert {
        (row.get("data-license"), td.get("data-day")): td.get("data-state")
        for row in dom.xpath("//tbody/tr[@data-license]")
        for td in row.xpath("td[@data-state]")
    } == {(d["license"], d["day"]): d["state"] for d in report["days"]}
    assert {
        row.get("data-license"): figures_of(row) for row in dom.xpath("//tbody/tr[@data-license]")
    } == {store["license"]: shown(store) for store in report["stores"]}
    assert figures_of(dom.xpath("//tr[@data-chain]")[0]) == shown(report["totals"])
    # The table ends with the same figures per store and for the chain.
    code, text, _ = ops.run(*period)
    assert code == 0
    assert text.splitlines()[-5:] == [
        "license    store    due  on time  late  partly  processing  missed  rate",
        "---------  -------  ---  -------  ----  ------  ----------  ------  ----",
        "000000300  Main St  1    0        1     0       0           0       0.0%",
        "000000301  Oak Ave  1    0        0     0       0           1       0.0%",
        "chain               2    0        1     0       0           1       0.0%",
    ]

    # The early warning of Tuesday 10:00 in California (Monday's reports are due that day).
    code, out, _ = ops.run("monitor", "--check", "early", "--time", "2026-11-24T18:00:00Z")
    assert code == 1
    assert out == (
        "capss: early check of 2 store(s): 1 day(s) and 0 stuck file(s) need action;"
        " the alert was sent\n"
        "  000000301 Oak Ave: 2026-11-23 due 2026-11-24: missing\n"
    )


def test_a_command_without_its_stack_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAPSS_STACK", raising=False)
    monkeypatch.delenv("CAPSS_LOCAL", raising=False)
    assert main(["stores", "list"]) == 2
    assert "give the stack: --stack NAME or --local FILE" in capsys.readouterr().err


def _visible(p: Pipeline, url: str) -> int:
    answer = p.stack.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(answer["ApproximateNumberOfMessages"]) + int(
        answer["ApproximateNumberOfMessagesNotVisible"]
    )


def _until(done: Callable[[], bool], timeout: float = 30) -> None:
    import time  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the state asked for never came"
        time.sleep(0.05)


def _dropped_from(p: Pipeline, file_id: str) -> Any:
    from local.stack import DroppedFile  # noqa: PLC0415

    _, rest = file_id.split("#", 1)
    location, version = rest.rsplit("#", 1)
    bucket, key = location.split("/", 1)
    return DroppedFile(key.rsplit("/", 1)[-1], bucket, key, version)
