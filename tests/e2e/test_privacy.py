"""The privacy suite: a canary customer through every outcome path of the local stack, then
looked for in everything the bridge wrote (docs/design.md, "Personal data and retention")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from capss.pipeline.records import RETENTION_DAYS

from local.canary import CANARY, NEVER, canaries_in, with_canary, written
from local.simulator import Fault
from tests.e2e.conftest import Pipeline, variant
from tests.e2e.test_ops_commands import Ops

Start = Callable[..., Pipeline]
CLEAN = "store-0300-clean.xml"
LAST_NAME = CANARY["custLastName"]
BLOCK = re.compile(rb"<customer>.*?</customer>", re.S)


def canary_file(tag: str, description: str | None = None) -> bytes:
    return with_canary(variant(CLEAN, tag, description=description))


def ops_output(ops: Ops, *keys: str) -> str:
    """What ops reads about these files: the list, and each file shown as text and JSON."""
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    out = [ops.run("submissions", "list", "--since", since)[1]]
    for key in keys:
        out += [
            ops.run("submissions", "show", key)[1],
            json.dumps(ops.json("submissions", "show", key)),
        ]
    return "\n".join(out)


def found_by_place(p: Pipeline, ops: Ops, keys: list[str]) -> dict[str, list[str]]:
    places = {name: canaries_in(text) for name, text in written(p.stack).texts().items()}
    places["ops command output"] = canaries_in(ops_output(ops, *keys))
    return places


def test_a_canary_customer_reaches_capss_and_the_records_nowhere_by_default(
    pipeline: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = pipeline()
    ops = Ops(p, tmp_path, capsys)
    # CAPSS refuses an upload quoting the canary (400), then answers 503 quoting it: its text
    # may go to records and alerts, never to logs or events.
    quoting = {"message": f"Customer {LAST_NAME} {CANARY['number']} is not valid"}
    p.sim.inject(Fault.error(400, "upload", body=quoting))
    refused = p.drop_bytes(canary_file("R"), "refused.xml")
    p.finish(refused)
    p.sim.inject(Fault.error(503, "upload", body=quoting))
    files = {
        "clean": p.drop_bytes(canary_file("C"), "clean.xml"),
        "issues": p.drop_bytes(canary_file("E", "Ring [sim:error]"), "issues.xml"),
        "failed": p.drop_bytes(canary_file("F", "Ring [sim:fail]"), "failed.xml"),
        # A problem next to the canary: an undeclared entity in the customer's last name.
        "rejected": p.drop_bytes(
            canary_file("J").replace(LAST_NAME.encode(), LAST_NAME.encode() + b"&nbsp;", 1),
            "rejected.xml",
        ),
    }
    results = {r.file: r for r in p.finish(refused, *files.values())}
    outcomes = {name: results[f].outcome for name, f in files.items()}
    assert outcomes == {
        "clean": "complete",  # after the 503, sent again
        "issues": "complete_with_issues",
        "failed": "failed",
        "rejected": "rejected",
    }
    assert results[refused].outcome == "failed"
    assert results[refused].record["capss_refused"] is True

    # What CAPSS received is the on-file copy kept under converted/, never the canary.
    s3 = p.stack.client("s3")
    for name in ("clean", "issues", "failed"):
        dropped, record = files[name], results[files[name]].record
        assert record["customer_data"] == "on file"
        (received,) = [job.data for job in p.sim.jobs if job.file_name == dropped.name]
        assert canaries_in(received.decode()) == []
        copy_key = f"converted/transactions/000000300/{dropped.name}.on-file.xml"
        copy = s3.get_object(Bucket=dropped.bucket, Key=copy_key)
        assert copy["Body"].read() == received
        assert copy["Metadata"]["capss-on-file-from"] == f"{dropped.key}#{dropped.version_id}"
        original = s3.get_object(
            Bucket=dropped.bucket, Key=dropped.key, VersionId=dropped.version_id
        )
        original_bytes = original["Body"].read()
        assert BLOCK.split(received) == BLOCK.split(original_bytes)  # all but the customer blocks
        assert canaries_in(original_bytes.decode()) == list(CANARY.values())  # never rewritten
        assert any(copy_key in note for note in record["notes"])
    # The alert says what was done with the seller's data.
    (alert,) = results[files["issues"]].alerts
    assert 'CAPSS was sent a copy reading "on file"' in " ".join(alert.body.split())
    rejected = results[files["rejected"]].record
    assert [p["code"] for p in rejected["problems"]] == ["malformed"]
    assert p.uploads("rejected.xml", status=None) == 0

    found = found_by_place(p, ops, [f.key for f in (refused, *files.values())])
    for place in NEVER:
        assert found[place] == [], place
    # CAPSS's refusal quoted the canary: its record and alert may say so, nothing else does.
    quoted = [LAST_NAME, CANARY["number"]]
    assert found["records"] == found["alert emails"] == found["ops command output"] == quoted
    others = [r for r in results.values() if r.file != refused]
    assert canaries_in(json.dumps([r.record for r in others])) == []
    assert canaries_in("\n".join(a.body for r in others for a in r.alerts)) == []
    assert canaries_in(results[refused].record["error"]) == quoted
    assert found["execution histories"] == []  # the refused file never got a poller


def test_a_chain_that_sends_customer_data_sees_capss_quote_it_only_where_allowed(
    pipeline: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = pipeline(parameters={"CustomerFields": "send"})
    ops = Ops(p, tmp_path, capsys)
    quoted = p.drop_bytes(canary_file("Q", "Ring [sim:quote]"), "quoted.xml")
    (result,) = p.finish(quoted)
    assert result.outcome == "complete_with_issues"
    assert result.record["customer_data"] == "sent"
    assert any("CustomerFields=send" in note for note in result.record["notes"])
    (job,) = p.sim.jobs
    assert canaries_in(job.data.decode()) == list(CANARY.values())  # sent as it is
    found = found_by_place(p, ops, [quoted.key])
    for place in NEVER:
        assert found[place] == [], place
    # CAPSS's message quotes the customer fields back: the record, the alert, the poller's
    # history (its answer is in the state) and `capss submissions show` may repeat it.
    for place in ("records", "alert emails", "execution histories", "ops command output"):
        assert LAST_NAME in found[place], place
    assert canaries_in(json.dumps(result.record["problems"])) == []


def test_a_file_with_customer_data_is_rejected_unsent_when_the_stack_says_so(
    pipeline: Start,
) -> None:
    p = pipeline(parameters={"CustomerFields": "reject"})
    dropped = p.drop_bytes(canary_file("X"), "refused-data.xml")
    (result,) = p.finish(dropped)
    assert result.outcome == "rejected"
    assert p.uploads("refused-data.xml", status=None) == 0
    codes = [problem["code"] for problem in result.record["problems"]]
    assert codes == ["customer-not-on-file", "customer-data"]
    warning = result.record["problems"][0]
    assert warning["transaction"] == 1
    assert "custLastName" in warning["message"]
    (alert,) = result.alerts
    assert "CustomerFields=reject" in alert.body
    texts = written(p.stack).texts()
    assert {place: canaries_in(text) for place, text in texts.items() if canaries_in(text)} == {}


def test_a_record_is_gone_once_its_retention_has_passed(
    pipeline: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = pipeline()
    dropped = p.drop_bytes(variant(CLEAN, "T"), "kept.xml")
    (result,) = p.finish(dropped)
    received = datetime.fromisoformat(result.record["received_at"])
    expected = int((received + timedelta(days=RETENTION_DAYS)).timestamp())
    assert result.record["expires_at"] == expected
    ops = Ops(p, tmp_path, capsys)
    when = datetime.fromtimestamp(expected, UTC).isoformat(timespec="seconds")
    assert f"expires:         {when}\n" in ops.run("submissions", "show", dropped.key)[1]
    assert ops.json("submissions", "show", dropped.key)["expires"] == when
    content = _content_claims(p)
    assert [claim.get("expires_at") for claim in content] == [expected]
    assert p.stack.travel(timedelta(days=RETENTION_DAYS - 1)) == 0
    assert p.stack.record(dropped) is not None
    assert p.stack.travel(timedelta(days=2)) == 2  # the record and its content claim
    assert p.stack.record(dropped) is None
    assert _content_claims(p) == []


def _content_claims(p: Pipeline) -> list[dict[str, Any]]:
    return [
        record for record in written(p.stack).records if str(record["pk"]).startswith("CONTENT#")
    ]
