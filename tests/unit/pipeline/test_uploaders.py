"""Who uploaded a file, and whether the register lets them file for its license."""

from __future__ import annotations

import pytest
from capss.pipeline.files import refs_from_s3_notification, route
from capss.pipeline.uploaders import (
    PRINCIPAL_LIMIT,
    Allowed,
    Uploader,
    UploaderError,
    matches,
    uploader_pattern,
)

USER = "AIDAEXAMPLESTORE0300"
ROLE = "AROAEXAMPLEVENDOR001"
PRESIGN = "AROAEXAMPLEPRESIGN01"


def test_keys_deeper_than_the_layout_have_no_route() -> None:
    for key in (
        "incoming/transactions/000000301/000000300/day.xml",
        "incoming/item-updates/000000301/000000300/fix.xml",
        "incoming/csv/000000301/000000300/day.csv",
        "incoming/000000301/000000300/day.xml",
        "incoming/transactions//day.xml",
        "incoming/csv/day.csv",
    ):
        assert route(key) is None, key


def test_register_entries_are_ids_as_iam_prints_them_or_as_events_carry_them() -> None:
    assert uploader_pattern(f"AWS:{USER}") == USER
    assert uploader_pattern(f" {ROLE} ") == ROLE
    assert uploader_pattern(f"{ROLE}:pos-0300") == f"{ROLE}:pos-0300"
    for wrong in ("*", "arn:aws:iam::123456789012:user/pos", "AKIAEXAMPLE12345678", f"{USER}:x"):
        with pytest.raises(UploaderError, match="AIDA"):
            uploader_pattern(wrong)


def test_a_role_id_matches_its_sessions_and_no_longer_id() -> None:
    assert matches(ROLE, f"AWS:{ROLE}:any-session")
    assert not matches(ROLE, f"AWS:{ROLE}X:any-session")
    assert not matches(ROLE, f"AWS:{ROLE}")
    assert matches(f"{ROLE}:pos-0300", f"AWS:{ROLE}:pos-0300")
    assert not matches(f"{ROLE}:pos-0300", f"AWS:{ROLE}:pos-0301")
    assert matches(USER, f"AWS:{USER}")
    assert not matches(USER, f"AWS:{USER}1")


def test_who_may_file_for_what() -> None:
    allowed = Allowed(
        store=frozenset({USER}), chain=frozenset({"AIDACHAINEXPORTJOB"}), presign_role=PRESIGN
    )
    user, chain, presign = f"AWS:{USER}", "AWS:AIDACHAINEXPORTJOB", f"AWS:{PRESIGN}:fn"
    assert allowed.permits(user, "000000300", None)
    assert not allowed.permits(user, None, None)  # license-less: chain-wide only
    assert allowed.permits(chain, None, None)
    assert allowed.permits(chain, "000000301", None)
    assert allowed.permits(presign, "000000300", "000000300")
    assert not allowed.permits(presign, "000000300", "000000301")
    assert not allowed.permits(presign, "000000300", None)  # no signed license: refused
    assert not allowed.permits(presign, None, "000000300")
    assert not allowed.permits(None, "000000300", None)
    assert not allowed.permits("AWS:AIDASOMEONEELSE00", "000000300", None)
    assert not Allowed().permits(user, "000000300", None)  # nobody registered: nothing sent


def test_the_uploader_comes_from_the_event_bounded() -> None:
    body = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-11-03T06:00:00.000Z",
                "userIdentity": {"principalId": f"AWS:{ROLE}:" + "s\n" * 500},
                "requestParameters": {"sourceIPAddress": "203.0.113.7"},
                "s3": {"bucket": {"name": "b"}, "object": {"key": "incoming/x/1/a.xml"}},
            },
            {
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "incoming/x/1/b.xml"}},
            },
        ]
    }
    first, second = refs_from_s3_notification(body)
    assert first.uploader is not None
    assert first.uploader.principal is not None
    assert len(first.uploader.principal) == PRINCIPAL_LIMIT
    assert "\n" not in first.uploader.principal
    assert first.uploader.source_ip == "203.0.113.7"
    assert first.uploader.time == "2026-11-03T06:00:00.000Z"
    assert second.uploader == Uploader(principal=None)
