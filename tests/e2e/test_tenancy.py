"""One store, one license, at the bridge's lock: the S3 event names who uploaded each file,
and only a principal the register allows for the key's license gets it sent. With the IAM
lock removed (every upload lands), store 300's credential still files nothing for 301:
CAPSS's request log never shows 301's client."""

from __future__ import annotations

from pathlib import Path

import pytest
from capss.telemetry import Metric

from local.stack._s3events import LOCAL_UPLOADER
from tests.e2e.conftest import SAMPLES, Pipeline, variant
from tests.e2e.test_metrics import emf_points
from tests.e2e.test_ops_commands import Ops, Start

STORE_300 = "AWS:AIDAEXAMPLESTORE0300"
STORE_301 = "AWS:AIDAEXAMPLESTORE0301"
VENDOR_ROLE = "AROAEXAMPLEVENDOR0001"
"""A POS vendor's role registered for 300 only; its sessions are named by the vendor."""
REFUSED_CODES = {"uploader-not-allowed", "key-layout"}


@pytest.fixture
def ops(pipeline: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Ops:
    return Ops(pipeline(), tmp_path, capsys)


def _shapes(tag: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Key shapes a store-300 credential may try: its own folders, and every foreign shape
    (the bytes name the license the key's place claims, so only the uploader check stops them)."""
    mine = variant("store-0300-clean.xml", tag)
    theirs = variant("store-0301-clean.xml", tag)
    own = {
        f"incoming/transactions/000000300/{tag}.xml": mine,
        f"incoming/csv/000000300/{tag}.csv": (SAMPLES / "store-0300-aimsi-export.csv").read_bytes(),
        f"incoming/item-updates/000000300/{tag}.xml": (
            SAMPLES / "store-0300-item-update.xml"
        ).read_bytes(),
    }
    foreign = {
        f"incoming/transactions/000000301/{tag}.xml": theirs,
        f"incoming/item-updates/000000301/{tag}.xml": theirs,
        f"incoming/csv/000000301/{tag}.csv": (SAMPLES / "store-0300-aimsi-export.csv").read_bytes(),
        f"incoming/transactions/000000301/000000300/{tag}.xml": theirs,
        f"incoming/csv/000000301/000000300/{tag}.csv": theirs,
        f"incoming/000000301/000000300/{tag}.xml": theirs,
        f"incoming/transactions/000000300/deeper/{tag}.xml": mine,
        f"incoming/transactions/{tag}.xml": theirs,
        f"incoming/item-updates/{tag}.xml": theirs,
        f"incoming/other/000000300/{tag}.xml": mine,
    }
    return own, foreign


def _register_stores_only(p: Pipeline) -> None:
    p.stack.set_chain_uploaders([])
    p.stack.add_store_uploader("000000300", STORE_300)
    p.stack.add_store_uploader("000000300", VENDOR_ROLE)
    p.stack.add_store_uploader("000000301", STORE_301)


@pytest.mark.parametrize("uploader", [STORE_300, f"AWS:{VENDOR_ROLE}:pos-any-session"])
def test_a_store_credential_files_for_its_own_license_only(ops: Ops, uploader: str) -> None:
    p = ops.p
    _register_stores_only(p)
    own, foreign = _shapes("T" + uploader[-4:].replace("-", ""))
    sent = [p.stack.drop(data, key, uploader=uploader) for key, data in own.items()]
    refused = [p.stack.drop(data, key, uploader=uploader) for key, data in foreign.items()]
    results = p.finish(*sent, *refused, timeout=120)

    by_key = {result.file.key: result for result in results}
    for dropped in sent:
        result = by_key[dropped.key]
        assert result.outcome in ("complete", "complete_with_issues"), result.to_json()
        assert result.record["uploaded_by"] == uploader
    for dropped in refused:
        result = by_key[dropped.key]
        assert result.outcome == "rejected", dropped.key
        assert {x["code"] for x in result.record["problems"]} <= REFUSED_CODES, dropped.key
        assert result.alerts, dropped.key
    assert {r.client_id for r in p.sim.requests if r.client_id} == {"e2e-300"}
    assert not [r for r in p.sim.requests if r.filename and "000000301" in r.filename]


def test_the_alert_says_who_uploaded_a_foreign_file_and_for_which_license(ops: Ops) -> None:
    p = ops.p
    _register_stores_only(p)
    dropped = p.stack.drop(
        variant("store-0301-clean.xml", "F1"),
        "incoming/transactions/000000301/day.xml",
        uploader=STORE_300,
        address="203.0.113.7",
    )
    (result,) = p.finish(dropped)
    (alert,) = result.alerts
    assert alert.subject == "Rejected by the bridge, not sent: 000000301 day.xml"
    assert alert.attributes["license"] == "000000301"
    assert (
        f"{STORE_300} from 203.0.113.7 is not registered to file for license 000000301: not sent"
        in alert.body
    )
    assert f"Uploaded by: {STORE_300} from 203.0.113.7 at " in alert.body
    assert "capss stores add 000000301 --uploader AIDAEXAMPLESTORE0300" in alert.body
    assert p.sim.requests == []
    (event,) = p.stack.events_for(dropped)
    assert event["detail"]["uploader"]["principal"] == STORE_300
    assert event["detail"]["uploader"]["source_ip"] == "203.0.113.7"
    foreign = [v for m, _, v in emf_points(p.stack.log.getvalue()) if m == Metric.FOREIGN_UPLOADS]
    assert foreign == [1.0]


def test_an_upload_without_an_identity_is_never_sent(ops: Ops) -> None:
    p = ops.p
    dropped = p.stack.drop(
        variant("store-0300-clean.xml", "N1"),
        "incoming/transactions/000000300/day.xml",
        uploader=None,
    )
    (result,) = p.finish(dropped)
    assert result.outcome == "rejected"
    assert "an unknown principal (the S3 event named none)" in result.alerts[0].body
    assert p.sim.requests == []


def test_an_upgraded_deployment_holds_files_until_one_command_registers_the_uploader(
    ops: Ops,
) -> None:
    p = ops.p
    p.stack.set_chain_uploaders([])  # as after an upgrade: nobody registered yet
    held = p.stack.drop(
        variant("store-0300-clean.xml", "U1"), "incoming/transactions/000000300/day.xml"
    )
    (result,) = p.finish(held)
    assert result.outcome == "rejected"
    assert p.sim.requests == []
    assert "capss stores chain-uploader AIDALOCALCHAINEXPORT" in result.alerts[0].body

    code, out, _ = ops.run("stores", "chain-uploader", LOCAL_UPLOADER)
    assert (code, out) == (0, "capss: may file for every license: AIDALOCALCHAINEXPORT\n")
    code, out, _ = ops.run("resubmit", held.pk)
    assert code == 0, out
    new_id = out.split(" sent again as ")[1].split(":", 1)[0]
    (again,) = [r for r in ops.json("submissions", "list")["files"] if r["file_id"] == new_id]
    story = ops.json("submissions", "show", new_id)
    assert story["uploaded_by"] == LOCAL_UPLOADER
    assert story["uploaded_from"] == "127.0.0.1"
    code, text, _ = ops.run("submissions", "show", held.pk)
    assert f"uploaded_by:     {LOCAL_UPLOADER}\n" in text
    assert again["key"] == held.key


def test_the_register_lists_and_removes_uploaders(ops: Ops) -> None:
    code, out, _ = ops.run(
        "stores", "add", "000000300", "--uploader", "AIDAEXAMPLESTORE0300", f"{VENDOR_ROLE}:pos"
    )
    assert code == 0
    assert out.endswith(
        "capss: 000000300 may be filed for by AIDAEXAMPLESTORE0300,"
        f" {VENDOR_ROLE}:pos, AIDALOCALCHAINEXPORT (chain-wide)\n"
    )
    ops.run("stores", "add", "000000300", "--name", "Main St")  # keeps the uploaders
    ops.run("stores", "add", "000000300", "--remove-uploader", f"{VENDOR_ROLE}:pos")
    listed = ops.json("stores", "list")
    assert listed["stores"][0]["uploaders"] == ["AIDAEXAMPLESTORE0300"]
    assert listed["stores"][0]["name"] == "Main St"
    assert listed["chain_uploaders"] == ["AIDALOCALCHAINEXPORT"]
    code, _, err = ops.run("stores", "add", "000000300", "--uploader", "arn:aws:iam::1:user/x")
    assert code == 2
    assert "give an IAM user's id (AIDA...)" in err
    ops.run("stores", "chain-uploader", LOCAL_UPLOADER, "--remove")
    assert ops.json("stores", "chain-uploader") == {"chain_uploaders": []}


def test_stores_policy_prints_the_policy_for_the_licenses_given(ops: Ops) -> None:
    policy = ops.json("stores", "policy", "000000300", "000000302")
    bucket = ops.p.stack.bucket
    (allow, deny) = policy["Statement"]
    assert allow["Resource"] == [
        f"arn:aws:s3:::{bucket}/incoming/{folder}/{license_number}/*"
        for license_number in ("000000300", "000000302")
        for folder in ("transactions", "item-updates", "csv")
    ]
    assert deny == {
        "Sid": "NothingDeeperThanTheLayout",
        "Effect": "Deny",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/incoming/*/*/*/*",
    }
