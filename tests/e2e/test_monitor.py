"""The missed-report monitor on the local stack, with the clock travelled to the days it judges.

Files are dropped at chosen Pacific times (time-machine moves every clock in the process, so
the records carry those times) and the schedules run as EventBridge Scheduler would stamp them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from capss.aws.sns import store_filter_policy
from capss.aws.stores import DynamoStoreRegister
from capss.compliance.stores import ExpectedStore

from local.stack import Alert, DroppedFile
from tests.e2e.conftest import Pipeline, variant

Start = Callable[..., Pipeline]
PT = ZoneInfo("America/Los_Angeles")
LICENSES = ("000000300", "000000302", "000000303", "000000304", "000000305")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PT)


@contextmanager
def clock(moment: datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=True):
        yield


def day_file(
    license_number: str, day: date, tag: str, sample: str = "store-0300-clean.xml"
) -> bytes:
    """A sample file of `license_number` whose transactions all happened on `day`."""
    text = variant(sample, tag).decode()
    text = text.replace('licenseNumber="000000300"', f'licenseNumber="{license_number}"')
    text = re.sub(r"<transactionTime>\d{4}-\d{2}-\d{2}T", f"<transactionTime>{day}T", text)
    return text.encode()


def start(pipeline: Start, **kwargs: Any) -> tuple[Pipeline, DynamoStoreRegister]:
    p = pipeline(**kwargs)
    for number in LICENSES:
        if number != "000000300":
            p.sim.add_client(f"e2e-{number}", f"secret-{number}", license_number=number)
            p.stack.put_secret(number, f"e2e-{number}", f"secret-{number}")
    register = DynamoStoreRegister.for_table(p.stack.stores_table, p.stack.session)
    return p, register


def drop(p: Pipeline, moment: datetime, license_number: str, data: bytes, name: str) -> DroppedFile:
    with clock(moment):
        dropped = p.drop_bytes(data, name, license_number)
        p.finish(dropped)
    return dropped


def monitor_alerts(p: Pipeline) -> list[Alert]:
    return [alert for alert in p.stack.alerts() if alert.attributes.get("kind") == "monitor"]


def named(result: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(d["license"], d["day"], d["state"]) for d in result["days"]}


def test_the_monitor_names_exactly_the_stores_and_days_that_need_action(pipeline: Start) -> None:
    p, register = start(
        pipeline, parameters={"MonitorLookbackDays": "1", "ChainClosures": "2026-12-24"}
    )
    register.put_store(ExpectedStore(license="000000300", name="Main St"))
    register.put_store(
        ExpectedStore(license="000000302", name="Oak Ave", closures=frozenset({date(2026, 11, 26)}))
    )
    register.put_store(ExpectedStore(license="000000303", name="Elm St"))
    register.put_store(ExpectedStore(license="000000304", name="Pine Rd"))
    register.put_store(
        ExpectedStore(
            license="000000305", name="Bay Blvd", closures=frozenset({date(2026, 11, 23)})
        )
    )
    monday = date(2026, 11, 23)
    # Elm St's first export is rejected, its correction reaches CAPSS before the deadline.
    bad = day_file("000000303", monday, "ELM1", "store-0300-invalid.xml")
    rejected = drop(p, at(2026, 11, 24, 8), "000000303", bad, "elm-1123.xml")
    assert p.stack.record(rejected)["outcome"] == "rejected"  # type: ignore[index]
    drop(p, at(2026, 11, 24, 9), "000000303", day_file("000000303", monday, "ELM2"), "elm-fix.xml")
    drop(p, at(2026, 11, 24, 9, 5), "000000300", day_file("000000300", monday, "MAIN"), "main.xml")

    pine_inbox = _filtered_inbox(p, "000000304")
    early = p.stack.run_schedule("EarlyWarning", at(2026, 11, 24, 10))
    assert named(early) == {
        ("000000302", "2026-11-23", "missing"),
        ("000000304", "2026-11-23", "missing"),
    }
    (warning,) = monitor_alerts(p)
    assert warning.subject == "CAPSS early warning: no file yet from 2 store(s)"
    assert (
        "  - 000000302 Oak Ave: Mon 2026-11-23, due Tue 2026-11-24: no file yet\n" in warning.body
    )

    # Pine Rd's own subscription (filtered on its license) gets its own copy, naming it alone.
    assert _subjects(p, pine_inbox) == ["CAPSS early warning: no file yet from 1 store(s)"]

    # Pine Rd reports after its deadline: late, but reported.
    drop(p, at(2026, 11, 25, 6), "000000304", day_file("000000304", monday, "PINE"), "pine.xml")
    final = p.stack.run_schedule("FinalCheck", at(2026, 11, 25, 7))
    assert named(final) == {("000000302", "2026-11-23", "missing")}
    alert = monitor_alerts(p)[-1]
    assert alert.subject == "CAPSS missed report: 1 store(s) missed"
    assert alert.attributes == {"outcome": "missed_report", "kind": "monitor"}
    assert alert.body == (
        "The final check of Wed 2026-11-25 07:00 PST looked at 5 expected store(s). A report"
        " is due by the business day after the transactions (weekends and California holidays"
        " excluded).\n"
        "\n"
        "Missed reports (1):\n"
        "  - 000000302 Oak Ave: Mon 2026-11-23, due Tue 2026-11-24: missed: no file holds"
        " that day's transactions\n"
        "\n"
        "What to do (missing): No file holds the day's transactions: ask the store to export and"
        " drop it now (a late report is still owed, as soon as it can be made); if the store was"
        " closed that day, `capss stores add LICENSE --closures DATE`; if it traded but had"
        " nothing to report, `capss stores quiet LICENSE DATE` (or the POS drops"
        " incoming/quiet/LICENSE/DATE).\n"
    )
    assert _subjects(p, pine_inbox) == []  # the final check does not name Pine Rd
    # A retried run (Scheduler retries a failed invoke) records again but does not alert twice.
    again = p.stack.run_schedule("FinalCheck", at(2026, 11, 25, 7))
    assert again["alerted"]
    assert len(monitor_alerts(p)) == 2
    recorded = register.get_check("CHECK#2026-11-25#final")
    assert recorded is not None
    assert recorded["days"] == final["days"]

    # Thanksgiving: no deadline fell on Thursday, so Friday's final check has nothing to say.
    holiday = p.stack.run_schedule("FinalCheck", at(2026, 11, 27, 7))
    assert (holiday["days"], holiday["alerted"]) == ([], False)
    # Monday is the deadline for Wednesday to Saturday: Oak Ave was closed on Thanksgiving,
    # Bay Blvd was not (a holiday moves the deadline, it does not close the store); Sunday
    # is no trading day.
    monday_early = named(p.stack.run_schedule("EarlyWarning", at(2026, 11, 30, 10)))
    assert {(day, state) for lic, day, state in monday_early if lic == "000000302"} == {
        ("2026-11-25", "missing"),
        ("2026-11-27", "missing"),
        ("2026-11-28", "missing"),
    }
    assert {day for lic, day, _ in monday_early if lic == "000000305"} == {
        "2026-11-25",
        "2026-11-26",
        "2026-11-27",
        "2026-11-28",
    }
    # Christmas on a Friday: the chain closure (24th) owes nothing; the 25th and 26th are due
    # Monday.
    christmas = named(p.stack.run_schedule("EarlyWarning", at(2026, 12, 28, 10)))
    assert {day for lic, day, _ in christmas if lic == "000000302"} == {"2026-12-25", "2026-12-26"}
    # July 4th 2027 is a Sunday, observed Monday the 5th: Friday's, Saturday's and Monday's
    # files are all due Tuesday.
    observed = p.stack.run_schedule("FinalCheck", at(2027, 7, 6, 7))
    assert (observed["days"], observed["alerted"]) == ([], False)
    tuesday = named(p.stack.run_schedule("EarlyWarning", at(2027, 7, 6, 10)))
    assert {day for lic, day, _ in tuesday if lic == "000000302"} == {
        "2027-07-02",
        "2027-07-03",
        "2027-07-05",
    }


def test_a_file_left_submitted_with_no_poller_is_named_stuck(pipeline: Start) -> None:
    # CAPSS never finishes here, the poller is stopped by hand, and the safety net that
    # records a stopped poller's file as failed is lost too: nobody follows the file.
    p, register = start(pipeline, simulator={"polls_to_complete": 10**6})
    register.put_store(ExpectedStore(license="000000300", name="Main St"))
    dropped_at = at(2026, 11, 24, 9)
    with clock(dropped_at):
        dropped = p.drop_bytes(
            day_file("000000300", date(2026, 11, 23), "STUCK"), "stuck.xml", "000000300"
        )
        # Once CAPSS has been asked once, the poller's execution is surely under way.
        record = _wait_for(p, dropped, lambda r: bool(r.get("execution_arn")))
        _until(lambda: any(request.endpoint == "status" for request in p.sim.requests))
        sfn = p.stack.client("stepfunctions")
        sfn.stop_execution(executionArn=record["execution_arn"], error="OpsStopped")
        _until(lambda: p.stack.running_executions() == 0)

    # The safety net's writes, done (the record stays the same for a second), then undone.
    _settled(p, dropped)
    p.stack.client("dynamodb").update_item(
        TableName=p.stack.table,
        Key={"pk": {"S": dropped.pk}},
        UpdateExpression="SET phase = :submitted, outcome = :processing, updated_at = :then",
        ExpressionAttributeValues={
            ":submitted": {"S": "submitted"},
            ":processing": {"S": "processing"},
            ":then": {"S": dropped_at.astimezone(UTC).isoformat(timespec="seconds")},
        },
    )
    soon = p.stack.run_schedule("FinalCheck", dropped_at + timedelta(minutes=30))
    assert soon["stuck"] == []
    later = p.stack.run_schedule("EarlyWarning", dropped_at + timedelta(hours=3))
    assert [s["file_id"] for s in later["stuck"]] == [dropped.pk]
    # The day is covered by a file CAPSS has not finished: not missing, and not yet reported.
    assert named(later) == {("000000300", "2026-11-23", "processing")}
    alert = monitor_alerts(p)[-1]
    assert alert.subject == "CAPSS early warning: no file yet from 1 store(s), 1 stuck file(s)"
    assert f"  - {dropped.uri} (license 000000300): submitted at " in alert.body
    assert "and no poller is running\n" in alert.body
    assert "CAPSS has the file but no poller follows it" in alert.body


def _until(done: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError("the state asked for never came")
        time.sleep(0.05)


def _settled(p: Pipeline, dropped: DroppedFile) -> None:
    last: dict[str, Any] | None = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = p.stack.record(dropped)
        if current == last and current and current.get("alerted"):
            return
        last = current
        time.sleep(1)
    raise AssertionError(f"{dropped.pk} kept changing")


def _wait_for(
    p: Pipeline, dropped: DroppedFile, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    _until(lambda: done(p.stack.record(dropped) or {}))
    return p.stack.record(dropped) or {}


def test_the_daily_digest_reads_yesterday_per_license(pipeline: Start) -> None:
    p, register = start(pipeline, parameters={"DailyDigest": "true"})
    register.put_store(ExpectedStore(license="000000300", name="Main St"))
    register.put_store(ExpectedStore(license="000000302", name="Oak Ave"))
    register.put_store(ExpectedStore(license="000000304", name="Pine Rd"))
    monday = date(2026, 11, 23)
    # Seller data where SB 1317 allows "on file": sent, with a warning.
    named_seller = day_file("000000300", monday, "DIG1").replace(
        b"<custLastName>on file</custLastName>", b"<custLastName>Smith</custLastName>", 1
    )
    drop(p, at(2026, 11, 23, 17), "000000300", named_seller, "monday.xml")
    drop(
        p,
        at(2026, 11, 23, 18),
        "000000300",
        day_file("000000300", monday, "DIG2", "store-0300-invalid.xml"),
        "broken.xml",
    )
    # A file received today belongs to tomorrow's digest.
    drop(p, at(2026, 11, 24, 7), "000000302", day_file("000000302", monday, "DIG3"), "oak.xml")

    p.stack.run_schedule("Digest", at(2026, 11, 24, 8))
    (digest,) = [a for a in p.stack.alerts() if a.attributes.get("kind") == "digest"]
    assert digest.subject == (
        "CAPSS daily digest 2026-11-23: 2 file(s), 1 needing action, 1 store(s) without a file yet"
    )
    assert digest.body == (
        "What the bridge did on Mon 2026-11-23 (Pacific time), per license:\n"
        "\n"
        "000000300 Main St: 2 file(s) (1 complete, 1 rejected); items saved 3, error items 0,"
        " duplicates 0\n"
        "  completed with validation warnings: monday.xml (1 warning(s))\n"
        '  seller\'s data in customer fields, a copy reading "on file" sent instead: monday.xml\n'
        "000000302 Oak Ave: 0 file(s) (none); items saved 0, error items 0, duplicates 0\n"
        "000000304 Pine Rd: 0 file(s) (none); items saved 0, error items 0, duplicates 0\n"
        "  no file yet for yesterday: due by the end of Tue 2026-11-24\n"
    )


def test_the_monthly_page_is_written_on_the_first_business_day(pipeline: Start) -> None:
    p, register = start(pipeline, parameters={"MonthlyPage": "true"})
    register.put_store(ExpectedStore(license="000000300", name="Main St"))
    register.put_store(ExpectedStore(license="000000302", name="Oak Ave"))
    monday = date(2026, 11, 23)
    drop(p, at(2026, 11, 24, 9), "000000300", day_file("000000300", monday, "MON1"), "m.xml")
    oak_inbox = _filtered_inbox(p, "000000302")

    # The schedule runs on each of the month's first seven days; only the first business
    # day writes the page of the month before: Tuesday the 1st of December, November's.
    assert p.stack.run_schedule("MonthPage", at(2026, 11, 3, 7, 30))["written"] is None
    run = p.stack.run_schedule("MonthPage", at(2026, 12, 1, 7, 30))
    where = f"s3://{p.stack.bucket}/reports/2026-11.html"
    assert run["written"] == where
    page = p.stack.client("s3").get_object(Bucket=p.stack.bucket, Key="reports/2026-11.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    html = page["Body"].read().decode()
    assert html.count('data-state="') == 2 * 30
    assert '<td class="cell s-reported" data-day="2026-11-23" data-state="reported"' in html

    (email,) = [a for a in p.stack.alerts() if a.attributes.get("kind") == "month_page"]
    # Both trade Mon-Sat: 25 days each, of which Monday the 30th is due today, so not yet
    # expected. Main St reported one of its 24 days due, Oak Ave none.
    assert '<td class="cell s-not_expected" data-day="2026-11-30"' in html
    assert email.subject == "CAPSS month page 2026-11: 2.1% on time, 47 missed, 0 late"
    assert f"  {where}\n" in email.body
    assert run["totals"]["due"] == 48
    # The page names every store: a store's own subscription does not get it.
    assert _subjects(p, oak_inbox) == []
    # A retried run writes the page again but does not email twice; the next day does nothing.
    assert p.stack.run_schedule("MonthPage", at(2026, 12, 1, 7, 30))["alerted"]
    assert p.stack.run_schedule("MonthPage", at(2026, 12, 2, 7, 30))["written"] is None
    assert len([a for a in p.stack.alerts() if a.attributes.get("kind") == "month_page"]) == 1


def _filtered_inbox(p: Pipeline, license_number: str) -> str:
    """A queue subscribed to the alert topic as `capss stores add --email` subscribes."""
    sqs = p.stack.client("sqs")
    url = sqs.create_queue(QueueName=f"store-{license_number}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    p.stack.client("sns").subscribe(
        TopicArn=p.stack.outputs()["AlertTopicArn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(store_filter_policy(license_number))},
    )
    return str(url)


def _messages(p: Pipeline, url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue (SNS envelopes), taken off it."""
    sqs, found = p.stack.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _subjects(p: Pipeline, url: str) -> list[str]:
    return [message["Subject"] for message in _messages(p, url)]


def test_each_stores_subscription_reads_only_about_its_own_store(pipeline: Start) -> None:
    """Store A's address never reads a line about store B: not in a file's alert, the early
    warning, the final check or the digest. Ops reads every store, and no store's copy."""
    p, register = start(pipeline, parameters={"DailyDigest": "true"})
    stores = {"000000300": "Main St", "000000302": "Oak Ave"}
    inboxes = {number: _filtered_inbox(p, number) for number in stores}
    for number, name in stores.items():
        register.put_store(ExpectedStore(license=number, name=name))
    monday = date(2026, 11, 23)
    for number in stores:
        bad = day_file(number, monday, f"OWN{number}", "store-0300-invalid.xml")
        drop(p, at(2026, 11, 23, 17), number, bad, f"{number}.xml")
    p.stack.run_schedule("Digest", at(2026, 11, 24, 8))
    p.stack.run_schedule("EarlyWarning", at(2026, 11, 24, 10))
    p.stack.run_schedule("FinalCheck", at(2026, 11, 25, 7))
    # A CloudWatch alarm publishes with no message attributes at all.
    p.stack.client("sns").publish(
        TopicArn=p.stack.outputs()["AlertTopicArn"], Subject="ALARM", Message="an alarm"
    )

    for number, inbox in inboxes.items():
        (other,) = set(stores) - {number}
        with clock(at(2026, 11, 25, 8)):  # within the queue's retention of what was sent
            got = _messages(p, inbox)
        assert sorted(m["MessageAttributes"]["outcome"]["Value"] for m in got) == [
            "digest",
            "early_warning",
            "missed_report",
            "rejected",
        ]
        for message in got:
            text = json.dumps(message)
            assert other not in text, message["Subject"]
            assert stores[other] not in text, message["Subject"]
            assert number in message["Message"]
            assert message["MessageAttributes"]["license"] == {"Type": "String", "Value": number}
    ops = p.stack.alerts()
    assert sorted(a.attributes.get("outcome", "alarm") for a in ops) == [
        "alarm",
        "digest",
        "early_warning",
        "missed_report",
        "rejected",
        "rejected",
    ]
    assert not [a for a in ops if "audience" in a.attributes]
    for alert in ops:
        if alert.attributes.get("kind") in ("monitor", "digest"):
            assert "license" not in alert.attributes
            assert all(f"{number} {name}" in alert.body for number, name in stores.items())
