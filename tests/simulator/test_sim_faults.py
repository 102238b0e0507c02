"""Faults on demand: each kind, how they match, and how many requests they hit."""

from __future__ import annotations

import json
import ssl
import threading
import time

import httpx
import pytest

from local.simulator import CapssSimulator, Fault
from tests.simulator.simhttp import (
    CLIENT_ID,
    PATHS,
    SECRET,
    bearer,
    body,
    get_token,
    upload,
    xml_file,
)


@pytest.fixture
def token(http: httpx.Client, generation: str) -> str:
    return get_token(http, generation)


def test_http_error_with_retry_after_hits_only_its_count(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    sim.inject(Fault.error(503, "upload", times=2))
    for _ in range(2):
        refused = upload(http, generation, token, xml_file())
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
    assert sim.jobs == []
    assert upload(http, generation, token, xml_file()).status_code == 202
    assert sim.pending_faults == []
    assert [r.fault is not None for r in sim.requests if r.endpoint == "upload"] == [
        True,
        True,
        False,
    ]


def test_429_and_custom_bodies(sim: CapssSimulator, http: httpx.Client) -> None:
    sim.inject(
        Fault.error(429, "token", headers={"Retry-After": "7"}),
        Fault(endpoint="token", status=500, body="<html>oops</html>"),
    )
    form = {"grant_type": "client_credentials", "scope": "api"}
    limited = http.post("/oauth2/token", auth=(CLIENT_ID, SECRET), data=form)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    broken = http.post("/oauth2/token", auth=(CLIENT_ID, SECRET), data=form)
    assert (broken.status_code, broken.text) == (500, "<html>oops</html>")
    assert get_token(http, "current")


def test_error_after_accept_creates_the_job(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    sim.inject(Fault.error(500, "upload", after_accept=True))
    assert upload(http, generation, token, xml_file()).status_code == 500
    assert len(sim.jobs) == 1


def test_faults_match_generation_and_endpoint(sim: CapssSimulator, http: httpx.Client) -> None:
    sim.inject(Fault.error(500, "status", generation="legacy"))
    current = get_token(http, "current")
    assert upload(http, "current", current, xml_file()).status_code == 202
    link = body(upload(http, "current", current, xml_file(["b"])))["links"]["href"]
    assert http.get(link, headers=bearer(current)).status_code == 202
    assert len(sim.pending_faults) == 1
    legacy = get_token(http, "legacy")
    link = body(upload(http, "legacy", legacy, xml_file(["c"])))["links"]["href"]
    assert http.get(link, headers=bearer(legacy)).status_code == 500
    assert sim.pending_faults == []


def test_item_update_faults_use_the_update_endpoint(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    sim.inject(Fault.error(502, "update"))
    assert upload(http, generation, token, xml_file()).status_code == 202
    update = xml_file(["x"], update=True)
    assert upload(http, generation, token, update, update=True).status_code == 502
    assert upload(http, generation, token, update, update=True).status_code == 202


def test_slow_answer(sim: CapssSimulator, http: httpx.Client, token: str, generation: str) -> None:
    sim.inject(Fault.slow(0.4, "upload"))
    with pytest.raises(httpx.ReadTimeout):
        upload_with_timeout(http, generation, token, 0.15)
    started = time.monotonic()
    sim.inject(Fault.slow(0.2, "status"))
    link = body(upload(http, generation, token, xml_file(["other"])))["links"]["href"]
    assert http.get(link, headers=bearer(token)).status_code == 202
    assert time.monotonic() - started >= 0.2


def upload_with_timeout(
    http: httpx.Client, generation: str, token: str, seconds: float
) -> httpx.Response:
    return http.post(
        PATHS[generation]["save"],
        headers=bearer(token),
        files={"bulkUploadFile": ("a.xml", xml_file())},
        timeout=seconds,
    )


@pytest.mark.parametrize("after_accept", [False, True])
def test_dropped_upload(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str, after_accept: bool
) -> None:
    sim.inject(Fault.dropped("upload", after_accept=after_accept))
    with pytest.raises(httpx.RemoteProtocolError):
        upload(http, generation, token, xml_file())
    assert len(sim.jobs) == (1 if after_accept else 0)
    assert sim.requests[-1].status is None
    assert upload(http, generation, token, xml_file(["again"])).status_code == 202


def test_dropped_token_and_status(sim: CapssSimulator, http: httpx.Client) -> None:
    sim.inject(Fault.dropped("token"))
    with pytest.raises(httpx.RemoteProtocolError):
        get_token(http, "current")
    token = get_token(http, "current")
    link = body(upload(http, "current", token, xml_file()))["links"]["href"]
    sim.inject(Fault.dropped("status"))
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(link, headers=bearer(token))
    assert http.get(link, headers=bearer(token)).status_code == 202


def test_not_found_on_the_first_status_calls(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    link = body(upload(http, generation, token, xml_file()))["links"]["href"]
    sim.inject(Fault.not_found(times=2))
    codes = [http.get(link, headers=bearer(token)).status_code for _ in range(4)]
    assert codes == [404, 404, 202, 200]


def test_unauthorized_rotates_the_token(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    sim.inject(Fault.unauthorized("upload"))
    refused = upload(http, generation, token, xml_file())
    assert refused.status_code == 401
    assert body(refused)["error"] == "invalid_token"
    assert upload(http, generation, token, xml_file()).status_code == 401
    fresh = get_token(http, generation)
    assert fresh != token
    assert upload(http, generation, fresh, xml_file()).status_code == 202


def test_links_as_a_list(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    sim.inject(Fault.links_list("upload"))
    data = body(upload(http, generation, token, xml_file()))
    assert isinstance(data["links"], list)
    (link,) = data["links"]
    assert link["href"] == f"{sim.base_url}{PATHS[generation]['status']}{sim.jobs[0].id}"
    assert http.get(link["href"], headers=bearer(token)).status_code == 202


def test_links_on_another_host(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    sim.inject(Fault.foreign_link(), Fault.links_list("status", links_host="http://127.0.0.1:9"))
    data = body(upload(http, generation, token, xml_file()))
    assert (
        data["links"]["href"]
        == f"https://evil.example{PATHS[generation]['status']}{sim.jobs[0].id}"
    )
    own = data["links"]["href"].replace("https://evil.example", sim.base_url)
    status = body(http.get(own, headers=bearer(token)))
    if generation == "legacy":  # only the legacy status body carries links
        assert status["links"][0]["href"].startswith("http://127.0.0.1:9/api/bulkupload/show/")


def test_malformed_json(
    sim: CapssSimulator, http: httpx.Client, generation: str, token: str
) -> None:
    sim.inject(Fault.malformed("upload"), Fault.malformed("token"))
    response = upload(http, generation, token, xml_file())
    assert response.status_code == 202
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert len(sim.jobs) == 1
    garbled = http.post(
        PATHS[generation]["token"],
        auth=(CLIENT_ID, SECRET),
        data={"grant_type": "client_credentials"},
    )
    with pytest.raises(json.JSONDecodeError):
        garbled.json()


def test_faults_compose(
    sim: CapssSimulator, http: httpx.Client, token: str, generation: str
) -> None:
    sim.inject(Fault.error(503, "upload", delay=0.2))
    started = time.monotonic()
    assert upload(http, generation, token, xml_file()).status_code == 503
    assert time.monotonic() - started >= 0.2


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Fault(times=0)
    with pytest.raises(ValueError, match="negative"):
        Fault(delay=-1)
    sim = CapssSimulator(tls=False)
    sim.inject(Fault.error(500))
    sim.clear_faults()
    assert sim.pending_faults == []


def test_concurrent_uploads_are_counted_in_flight(sim: CapssSimulator, http: httpx.Client) -> None:
    token = get_token(http, "current")
    sim.upload_delay = 0.2
    results: list[int] = []

    def send(index: int) -> None:
        with httpx.Client(
            base_url=sim.base_url, verify=ssl.create_default_context(cafile=sim.ca_pem_path)
        ) as own:
            results.append(upload(own, "current", token, xml_file([f"item {index}"])).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [202] * 4
    assert sim.max_in_flight == 4
    assert len({job.id for job in sim.jobs}) == 4
