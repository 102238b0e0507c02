"""Every status body docs/capss-api.md and the DOJ documents show, normalised."""

from __future__ import annotations

from datetime import datetime

import pytest
from capss import Counts, Outcome
from capss.client.api import Api
from capss.client.status import normalise_status
from capss.errors import ProtocolError
from capss.kinds import FileKind

CURRENT_UPLOAD = {
    "fileName": "STGsingleptr.xml",
    "status": 200,
    "successMessages": [
        "Successfully uploaded file. File STGsingleptr.xml uploaded 1 record(s) at 2025-12-15."
    ],
    "errorMessages": [],
    "savedCount": 1,
    "hasDuplicates": False,
    "isUploaded": True,
    "hasErrors": False,
    "completedAt": [2025, 12, 15, 14, 8, 10, 848995000],
    "statusMessage": "complete",
    "notifyDupsOrErrors": False,
    "jobStatisticsMessageList": [
        "Bulk Uploads: 1",
        "Total Transations: 1",
        "Saved Transactions: 1",
        "Total Items: 1",
        "Saved Items: 1",
        "Error Items: 0",
    ],
}

CURRENT_UPDATE = {
    "fileName": "bulkupdate.xml",
    "status": 200,
    "successMessages": [
        "Successfully updated Property Transaction Items File bulkupdate.xml uploaded 1"
        " record(s) at 2025-12-15T14:11:30.304179991."
    ],
    "errorMessages": [],
    "savedCount": 1,
    "hasDuplicates": False,
    "isUploaded": True,
    "hasErrors": False,
    "completedAt": None,
    "statusMessage": "complete",
    "notifyDupsOrErrors": False,
    "jobStatisticsMessageList": [],
}

LEGACY_UPLOAD = {
    "licenseNumber": "000000000",
    "status": "complete",
    "statistics": {
        "totalBulks": 1,
        "totalTransactions": 1,
        "totalItems": 2,
        "savedTransactions": 1,
        "savedItems": 2,
        "errorItems": 0,
    },
    "stores": [],
    "links": {"href": "https://capss.doj.ca.gov/api/bulkupload/save", "rel": "new"},
    "statusMessage": "Successfully uploaded file. File APIBulkUpload.xml uploaded 1 record(s)"
    " at Wed Mar 02 09:36:08 PST 2022.",
}

LEGACY_UPLOAD_2016 = {
    "licenseNumber": "XXXXX000102",
    "status": "complete",
    "stores": [
        {
            "errors": [],
            "licenseNumber": "xxxxx100",
            "status": "complete",
            "statusMessage": "Successfully uploaded file. File PropertyTransaction.xml uploaded"
            " 1 record(s) at Mon Nov 21 11:20:43 PST 2016",
        }
    ],
    "links": {"href": "http:// capss.doj.ca.gov /api/bulkupload/save", "rel": "new"},
}

LEGACY_UPDATE = {
    "licenseNumber": "000000000",
    "status": "complete",
    "statistics": {"totalItems": 1, "savedItems": 1, "errorItems": 0, "duplicateItems": 0},
    "links": {"href": "https://capss.doj.ca.gov/api/itemupdate/updateitem", "rel": "new"},
    "statusMessage": "Successfully updated Property Transaction Items. File APIitemUpdate.xml"
    " uploaded 1 record(s) at Wed Mar 02 09:40:03 PST 2022.",
}


def test_current_upload_body_is_complete_with_its_counts() -> None:
    result = normalise_status(CURRENT_UPLOAD, 200, FileKind.TRANSACTIONS, Api.CURRENT)
    assert result.outcome is Outcome.COMPLETE
    # No duplicates count in this API, but "hasDuplicates": false says there were none.
    assert result.counts == Counts(transactions=1, items=1, saved=1, errors=0, duplicates=0)
    assert result.messages == tuple(CURRENT_UPLOAD["successMessages"])  # type: ignore[arg-type]
    assert result.completed_at == datetime(2025, 12, 15, 14, 8, 10, 848995)
    assert result.raw == CURRENT_UPLOAD
    assert result.http_status == 200


def test_current_update_body_counts_saved_items_from_saved_count() -> None:
    result = normalise_status(CURRENT_UPDATE, 200, FileKind.ITEM_UPDATES, Api.CURRENT)
    assert result.outcome is Outcome.COMPLETE
    assert result.counts == Counts(saved=1, duplicates=0)
    assert result.completed_at is None


def test_legacy_upload_body() -> None:
    result = normalise_status(LEGACY_UPLOAD, 200, FileKind.TRANSACTIONS, Api.LEGACY)
    assert result.outcome is Outcome.COMPLETE
    assert result.counts == Counts(transactions=1, items=2, saved=2, errors=0, duplicates=None)
    assert result.messages == (LEGACY_UPLOAD["statusMessage"],)


def test_legacy_2016_body_without_statistics_keeps_counts_unknown() -> None:
    result = normalise_status(LEGACY_UPLOAD_2016, 200, FileKind.TRANSACTIONS, Api.LEGACY)
    assert result.outcome is Outcome.COMPLETE
    assert result.counts == Counts()
    assert "1 record(s)" in result.messages[0]


def test_legacy_update_body() -> None:
    result = normalise_status(LEGACY_UPDATE, 200, FileKind.ITEM_UPDATES, Api.LEGACY)
    assert result.outcome is Outcome.COMPLETE
    assert result.counts == Counts(items=1, saved=1, errors=0, duplicates=0)


def test_the_body_shape_decides_not_the_configured_generation() -> None:
    assert (
        normalise_status(LEGACY_UPLOAD, 200, FileKind.TRANSACTIONS, Api.CURRENT).counts.items == 2
    )
    assert (
        normalise_status(CURRENT_UPLOAD, 200, FileKind.TRANSACTIONS, Api.LEGACY).counts.items == 1
    )


def test_202_is_processing_whatever_the_body_says() -> None:
    assert (
        normalise_status(CURRENT_UPLOAD, 202, FileKind.TRANSACTIONS, Api.CURRENT).outcome
        is Outcome.PROCESSING
    )


@pytest.mark.parametrize("word", ["new", "processing", "queued", "", "Pending"])
def test_unknown_status_words_mean_processing(word: str) -> None:
    body = {**CURRENT_UPLOAD, "statusMessage": word}
    assert normalise_status(body, 200, FileKind.TRANSACTIONS, Api.CURRENT).outcome is (
        Outcome.PROCESSING
    )
    legacy = {**LEGACY_UPLOAD, "status": word}
    assert normalise_status(legacy, 200, FileKind.TRANSACTIONS, Api.LEGACY).outcome is (
        Outcome.PROCESSING
    )


def test_errors_make_complete_with_issues() -> None:
    body = {
        **CURRENT_UPLOAD,
        "hasErrors": True,
        "errorMessages": ["Transaction 1 item 2: article is required"],
        "jobStatisticsMessageList": ["Total Transations: 1", "Total Items: 2", "Error Items: 1"],
    }
    result = normalise_status(body, 200, FileKind.TRANSACTIONS, Api.CURRENT)
    assert result.outcome is Outcome.COMPLETE_WITH_ISSUES
    assert result.counts.errors == 1
    assert result.messages[0] == "Transaction 1 item 2: article is required"


def test_duplicates_flag_alone_gives_issues_without_a_count() -> None:
    body = {**CURRENT_UPLOAD, "hasDuplicates": True}
    result = normalise_status(body, 200, FileKind.TRANSACTIONS, Api.CURRENT)
    assert result.outcome is Outcome.COMPLETE_WITH_ISSUES
    assert result.counts.duplicates is None


def test_legacy_store_errors_and_duplicate_items_give_issues() -> None:
    stores = {**LEGACY_UPLOAD, "stores": [{"errors": [{"line": 3, "message": "bad"}]}]}
    result = normalise_status(stores, 200, FileKind.TRANSACTIONS, Api.LEGACY)
    assert result.outcome is Outcome.COMPLETE_WITH_ISSUES
    assert result.messages[0] == '{"line": 3, "message": "bad"}'
    dups = {**LEGACY_UPDATE, "statistics": {**LEGACY_UPDATE["statistics"], "duplicateItems": 1}}  # type: ignore[dict-item]
    assert normalise_status(dups, 200, FileKind.ITEM_UPDATES, Api.LEGACY).outcome is (
        Outcome.COMPLETE_WITH_ISSUES
    )


@pytest.mark.parametrize(
    ("body", "http_status"),
    [
        (CURRENT_UPLOAD, 500),
        ({**CURRENT_UPLOAD, "isUploaded": False}, 200),
        ({**CURRENT_UPLOAD, "status": 500}, 200),
        ({**CURRENT_UPLOAD, "statusMessage": "failed"}, 200),
        ({**LEGACY_UPLOAD, "status": "error"}, 200),
    ],
)
def test_failures(body: dict[str, object], http_status: int) -> None:
    assert normalise_status(body, http_status, FileKind.TRANSACTIONS, Api.CURRENT).outcome is (
        Outcome.FAILED
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([2025, 12, 15, 14, 8], datetime(2025, 12, 15, 14, 8)),
        ([2025, 12, 15, 14, 8, 10], datetime(2025, 12, 15, 14, 8, 10)),
        ("2025-12-15T14:11:30.304179", datetime(2025, 12, 15, 14, 11, 30, 304179)),
        ([2025, 13, 1, 0, 0], None),
        ("yesterday", None),
        (17, None),
    ],
)
def test_completed_at_forms(value: object, expected: datetime | None) -> None:
    body = {**CURRENT_UPLOAD, "completedAt": value}
    assert normalise_status(body, 200, FileKind.TRANSACTIONS, Api.CURRENT).completed_at == expected


def test_a_body_without_any_status_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="without a status"):
        normalise_status({"hello": "world"}, 200, FileKind.TRANSACTIONS, Api.CURRENT)


def test_booleans_and_junk_are_not_counts() -> None:
    body = {
        **LEGACY_UPLOAD,
        "statistics": {"totalItems": True, "errorItems": "x", "savedItems": "3"},
    }
    assert normalise_status(body, 200, FileKind.TRANSACTIONS, Api.LEGACY).counts == Counts(saved=3)


@pytest.mark.parametrize(
    ("word", "http_status", "unknown"),
    [
        ("Error processing file", 200, "Error processing file"),
        ("Completed", 200, "Completed"),
        ("", 200, ""),
        ("processing", 200, None),
        ("new", 200, None),
        ("Error processing file", 202, None),  # 202 is still running, whatever it says
        ("complete", 200, None),
        ("error", 200, None),
    ],
)
def test_a_status_word_the_bridge_does_not_know_is_named_not_guessed(
    word: str, http_status: int, unknown: str | None
) -> None:
    body = {**CURRENT_UPLOAD, "statusMessage": word}
    result = normalise_status(body, http_status, FileKind.TRANSACTIONS, Api.CURRENT)
    assert result.unknown_word == unknown
    if unknown is not None:
        assert result.outcome is Outcome.PROCESSING  # the poll goes on; a person is told


def test_an_unknown_word_is_bounded() -> None:
    body = {**CURRENT_UPLOAD, "statusMessage": "x" * 5000}
    result = normalise_status(body, 200, FileKind.TRANSACTIONS, Api.CURRENT)
    assert result.unknown_word is not None
    assert len(result.unknown_word) == 200
