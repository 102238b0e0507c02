"""Uploads, item updates and status progression, with CAPSS's outcomes and body shapes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.simulator import CapssSimulator
from tests.simulator.simhttp import PATHS, bearer, body, finish, get_token, upload, xml_file

# Keys in the order of the DOJ documents' examples.
ACCEPTED_KEYS = ["licenseNumber", "status", "submission", "links"]
CURRENT_KEYS = [
    "fileName",
    "status",
    "successMessages",
    "errorMessages",
    "savedCount",
    "hasDuplicates",
    "isUploaded",
    "hasErrors",
    "completedAt",
    "statusMessage",
    "notifyDupsOrErrors",
    "jobStatisticsMessageList",
]
LEGACY_UPLOAD_KEYS = ["licenseNumber", "status", "statistics", "stores", "links", "statusMessage"]
LEGACY_STATISTICS = [
    "totalBulks",
    "totalTransactions",
    "totalItems",
    "savedTransactions",
    "savedItems",
    "errorItems",
]
UPDATE_SUCCESS = "Successfully updated Property Transaction Items"


@pytest.fixture
def token(http: httpx.Client, generation: str) -> str:
    return get_token(http, generation)


def test_upload_is_accepted_with_a_status_link(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    response = upload(http, generation, token, xml_file(), name="STGsingleptr.xml")
    assert response.status_code == 202
    data = body(response)
    assert list(data) == ACCEPTED_KEYS
    assert data["licenseNumber"] == "000000300"
    assert data["status"] == "new"
    job = sim.jobs[0]
    assert data["submission"] == {"submissionId": job.submission_id}
    assert data["links"] == {
        "href": f"{sim.base_url}{PATHS[generation]['status']}{job.id}",
        "rel": "rel" if generation == "current" else "show",
    }
    assert job.file_name == "STGsingleptr.xml"
    assert (job.kind, job.generation, job.client_id) == ("transactions", generation, "apitest")
    assert (job.total_transactions, job.total_items) == (1, 1)
    request = sim.requests[-1]
    assert (request.field, request.filename, request.status) == (
        "bulkUploadFile",
        "STGsingleptr.xml",
        202,
    )
    assert request.body_size > len(xml_file())
    assert sim.count(method="POST", path_prefix=PATHS[generation]["save"]) == 1


def test_files_are_counted(
    sim: CapssSimulator, http: httpx.Client, token: str, generation: str
) -> None:
    upload(http, generation, token, xml_file(["a", "b"], ["c"], ["d", "e", "f"]))
    assert (sim.jobs[0].total_transactions, sim.jobs[0].total_items) == (3, 6)


def test_current_status_progresses_to_the_sandbox_body(
    sim: CapssSimulator, http: httpx.Client
) -> None:
    token = get_token(http, "current")
    accepted = upload(http, "current", token, xml_file(), name="STGsingleptr.xml")
    link = body(accepted)["links"]["href"]
    first = http.get(link, headers=bearer(token))
    assert first.status_code == 202
    assert body(first)["statusMessage"] == "processing"
    assert body(first)["status"] == 202
    done = http.get(link, headers=bearer(token))
    assert done.status_code == 200
    data = body(done)
    assert list(data) == CURRENT_KEYS
    completed = data.pop("completedAt")
    assert len(completed) == 7
    assert all(isinstance(part, int) for part in completed)
    (message,) = data.pop("successMessages")
    assert message.startswith(
        "Successfully uploaded file. File STGsingleptr.xml uploaded 1 record(s) at "
    )
    assert data == {
        "fileName": "STGsingleptr.xml",
        "status": 200,
        "errorMessages": [],
        "savedCount": 1,
        "hasDuplicates": False,
        "isUploaded": True,
        "hasErrors": False,
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
    assert http.get(link, headers=bearer(token)).status_code == 200
    assert sim.jobs[0].polls == 3
    assert sim.jobs[0].status == "complete"


def test_legacy_status_progresses_to_the_2022_body(sim: CapssSimulator, http: httpx.Client) -> None:
    token = get_token(http, "legacy")
    accepted = upload(http, "legacy", token, xml_file(["a", "b"]), name="APIBulkUpload.xml")
    link = body(accepted)["links"]["href"]
    first = http.get(link, headers=bearer(token))
    assert first.status_code == 202
    assert body(first)["status"] == "new"
    assert body(first)["links"] == {"href": link, "rel": "show"}
    data = body(http.get(link, headers=bearer(token)))
    assert list(data) == LEGACY_UPLOAD_KEYS
    assert data["status"] == "complete"
    assert list(data["statistics"]) == LEGACY_STATISTICS
    assert data["statistics"] == {
        "totalBulks": 1,
        "totalTransactions": 1,
        "totalItems": 2,
        "savedTransactions": 1,
        "savedItems": 2,
        "errorItems": 0,
    }
    assert data["stores"] == []
    assert data["links"] == {"href": f"{sim.base_url}/api/bulkupload/save", "rel": "new"}
    assert data["statusMessage"].startswith(
        "Successfully uploaded file. File APIBulkUpload.xml uploaded 1 record(s) at "
    )
    assert " PST " in data["statusMessage"]  # Java Date.toString, Pacific time


def test_item_update_both_generations(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    update = xml_file(["corrected"], update=True)
    accepted = upload(http, generation, token, update, update=True, name="bulkupdate.xml")
    assert accepted.status_code == 202
    data = body(accepted)
    assert list(data) == ACCEPTED_KEYS
    # The sandbox's example answers "complete" straight away; the 2022 one "new".
    assert data["status"] == ("complete" if generation == "current" else "new")
    assert data["links"]["href"].startswith(sim.base_url + PATHS[generation]["update_status"])
    assert sim.requests[-1].field == "itemUpdateFile"
    done = finish(http, token, accepted)
    assert done.status_code == 200
    result = body(done)
    if generation == "current":
        assert list(result) == CURRENT_KEYS
        assert result["completedAt"] is None
        assert result["jobStatisticsMessageList"] == []
        assert result["savedCount"] == 1
        assert result["successMessages"][0].startswith(
            f"{UPDATE_SUCCESS} File bulkupdate.xml uploaded 1 record(s) at "
        )
    else:
        assert list(result) == ["licenseNumber", "status", "statistics", "links", "statusMessage"]
        assert result["statistics"] == {
            "totalItems": 1,
            "savedItems": 1,
            "errorItems": 0,
            "duplicateItems": 0,
        }
        assert result["links"] == {
            "href": f"{sim.base_url}/api/itemupdate/updateItem",
            "rel": "new",
        }
        assert result["statusMessage"].startswith(f"{UPDATE_SUCCESS}. File bulkupdate.xml")
    assert sim.jobs[0].kind == "item-updates"


def test_files_on_the_wrong_field_or_path_are_refused(
    http: httpx.Client, generation: str, token: str
) -> None:
    wrong_field = http.post(
        PATHS[generation]["save"],
        headers=bearer(token),
        files={"itemUpdateFile": ("a.xml", xml_file())},
    )
    assert wrong_field.status_code == 400
    assert "bulkUploadFile" in body(wrong_field)["message"]
    no_transactions = upload(http, generation, token, xml_file(["x"], update=True))
    assert no_transactions.status_code == 400
    assert "no property transactions" in body(no_transactions)["message"]


@pytest.mark.parametrize(
    ("data", "params", "says"),
    [
        (b"this is not xml", {}, "not a valid XML"),
        (b"<capssUpload/>", {}, "licenseNumber"),
        (xml_file(license_number="000000301"), {}, "does not match"),
        (xml_file(), {"onDup": "maybe"}, "onDup"),
        (xml_file(), {"onError": "ignore"}, "onError"),
    ],
)
def test_bad_uploads_get_400_with_a_message(
    sim: CapssSimulator,
    http: httpx.Client,
    generation: str,
    token: str,
    data: bytes,
    params: dict[str, str],
    says: str,
) -> None:
    response = upload(
        http, generation, token, data, onDup=params.get("onDup"), onError=params.get("onError")
    )
    assert response.status_code == 400
    assert says in body(response)["message"]
    assert sim.jobs == []


def test_a_body_that_is_not_multipart_gets_400(
    http: httpx.Client, generation: str, token: str
) -> None:
    response = http.post(PATHS[generation]["save"], headers=bearer(token), content=xml_file())
    assert response.status_code == 400


def test_status_is_404_for_unknown_jobs_and_other_licenses(
    http: httpx.Client, generation: str, token: str
) -> None:
    link = body(upload(http, generation, token, xml_file()))["links"]["href"]
    other = get_token(http, generation, "other", "Secret2")
    assert http.get(link, headers=bearer(other)).status_code == 404
    unknown = http.get(PATHS[generation]["status"] + "999", headers=bearer(token))
    assert unknown.status_code == 404
    assert body(unknown)["status"] == 404
    assert http.get(PATHS[generation]["status"] + "abc", headers=bearer(token)).status_code == 404
    # A transactions job is not an item update.
    job_id = link.rsplit("/", 1)[1]
    as_update = http.get(PATHS[generation]["update_status"] + job_id, headers=bearer(token))
    assert as_update.status_code == 404
    assert http.get(link, headers=bearer(token)).status_code == 202


def test_unknown_paths_and_methods(http: httpx.Client, token: str, generation: str) -> None:
    assert http.get("/api/nothing", headers=bearer(token)).status_code == 404
    assert http.get(PATHS[generation]["save"], headers=bearer(token)).status_code == 405


def _summary(generation: str, data: dict[str, Any]) -> tuple[object, ...]:
    """(uploaded, saved items, duplicates flagged, errors flagged) from either body."""
    if generation == "current":
        lines = dict(line.split(": ") for line in data["jobStatisticsMessageList"])
        saved = int(lines["Saved Items"]) if data["isUploaded"] else 0
        return data["isUploaded"], saved, data["hasDuplicates"], data["hasErrors"]
    stats = data["statistics"]
    return (
        stats["savedTransactions"] > 0,
        stats["savedItems"],
        stats.get("duplicateItems", 0) > 0,
        stats["errorItems"] > 0,
    )


@pytest.mark.parametrize(
    ("on_dup", "expected"),
    [
        ("cancel", (False, 0, True, False)),
        ("submitWithoutDup", (True, 1, True, False)),
        ("submitWithoutDups", (True, 1, True, False)),
        ("submitDups", (True, 3, True, False)),
    ],
)
def test_duplicates_across_uploads(
    sim: CapssSimulator,
    http: httpx.Client,
    generation: str,
    token: str,
    on_dup: str,
    expected: tuple[object, ...],
) -> None:
    first = finish(http, token, upload(http, generation, token, xml_file(["a", "b"])))
    assert _summary(generation, body(first)) == (True, 2, False, False)
    # The same two items again, and a third one that is new.
    done = finish(
        http, token, upload(http, generation, token, xml_file(["a", "b", "c"]), onDup=on_dup)
    )
    assert done.status_code == 200
    assert _summary(generation, body(done)) == expected
    assert sim.jobs[-1].duplicate_items == 2


@pytest.mark.parametrize(
    ("on_error", "expected"),
    [("cancel", (False, 0, False, True)), ("submit", (True, 1, False, True))],
)
def test_error_items(
    sim: CapssSimulator,
    http: httpx.Client,
    generation: str,
    token: str,
    on_error: str,
    expected: tuple[object, ...],
) -> None:
    data = xml_file(["fine", "broken [sim:error]"])
    done = finish(http, token, upload(http, generation, token, data, onError=on_error))
    assert done.status_code == 200
    result = body(done)
    assert _summary(generation, result) == expected
    messages = result["errorMessages"] if generation == "current" else result["stores"][0]["errors"]
    assert any("item 2" in message for message in messages)
    assert sim.jobs[-1].error_items == 1


@pytest.mark.parametrize("how", ["fail", "reject"])
def test_capss_side_failure_answers_500(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str, how: str
) -> None:
    if how == "fail":
        data = xml_file(["x [sim:fail]"])
    else:
        data = xml_file(license_number="000000300[sim:reject]")
    accepted = upload(http, generation, token, data)
    assert accepted.status_code == 202
    failed = finish(http, token, accepted)
    assert failed.status_code == 500
    result = body(failed)
    if generation == "current":
        assert result["status"] == 500
        assert result["isUploaded"] is False
        assert result["errorMessages"]
    else:
        assert result["status"] == "error"
        assert result["statusMessage"].startswith("Error processing file")
    assert sim.jobs[-1].status == "failed"
    assert sim.jobs[-1].saved_items == 0


def test_failed_or_cancelled_files_save_nothing(
    http: httpx.Client, generation: str, token: str
) -> None:
    finish(http, token, upload(http, generation, token, xml_file(["a [sim:fail]", "b"])))
    finish(http, token, upload(http, generation, token, xml_file(["b", "c [sim:error]"])))
    # Nothing of the above was saved, so "b" is no duplicate yet; the second time it is.
    clean = finish(http, token, upload(http, generation, token, xml_file(["b"])))
    assert _summary(generation, body(clean)) == (True, 1, False, False)
    again = finish(http, token, upload(http, generation, token, xml_file(["b"])))
    assert _summary(generation, body(again)) == (False, 0, True, False)


def test_a_transaction_repeated_in_one_file_is_a_duplicate(
    sim: CapssSimulator, http: httpx.Client
) -> None:
    token = get_token(http, "current")
    text = xml_file(["a"]).decode()
    transaction = text[text.index("<propertyTransaction>") : text.index("</bulkUploadData>")]
    twice = text.replace(transaction, transaction * 2).encode()
    done = finish(http, token, upload(http, "current", token, twice, onDup="submitWithoutDup"))
    assert _summary("current", body(done)) == (True, 1, True, False)
    assert (sim.jobs[0].total_transactions, sim.jobs[0].duplicate_items) == (2, 1)


def test_chunked_upload_is_read_whole(sim: CapssSimulator, http: httpx.Client) -> None:
    token = get_token(http, "current")
    data = xml_file(["a", "b"])
    boundary = "simboundary"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="bulkUploadFile"; filename="c.xml"\r\n'
        "Content-Type: text/xml\r\n\r\n"
    ).encode()

    def pieces() -> Iterator[bytes]:
        yield head
        for start in range(0, len(data), 100):
            yield data[start : start + 100]
        yield f"\r\n--{boundary}--\r\n".encode()

    response = http.post(
        "/api/bulkimport/save",
        headers={**bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=pieces(),
    )
    assert response.status_code == 202
    assert "Content-Length" not in response.request.headers
    assert sim.jobs[0].total_items == 2


def test_bodies_over_the_cap_get_413(sim: CapssSimulator, http: httpx.Client) -> None:
    token = get_token(http, "current")
    sim.max_body = 100
    response = upload(http, "current", token, xml_file())
    assert response.status_code == 413
    assert sim.jobs == []


def test_polls_to_complete_one_finishes_at_the_first_call() -> None:
    sim = CapssSimulator(tls=False, polls_to_complete=1)
    sim.add_client("apitest", "Password1", license_number="000000300")
    with sim, httpx.Client(base_url=sim.base_url) as http:
        token = get_token(http, "current")
        link = body(upload(http, "current", token, xml_file()))["links"]["href"]
        assert http.get(link, headers=bearer(token)).status_code == 200
