"""The client's requests, retries and error mapping, against httpx.MockTransport."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import capss.errors as errors
import httpx
import pytest
from capss.client.api import Api
from capss.client.auth import BearerAuth, Origin, Token, TokenCache
from capss.client.client import CapssClient, ClientConfig, Request, RequestObserver
from capss.errors import (
    BadCredentials,
    CapssError,
    CapssTimeout,
    CapssUnavailable,
    ForeignLinkRefused,
    JobNotFound,
    NeedsPersonError,
    ProtocolError,
    RateLimited,
    RequestRejected,
    TransientError,
)
from capss.kinds import FileKind
from capss.outcome import Outcome

BASE = "https://capss-sb.doj.ca.gov"
SECRET = "Password1-very-secret"
TOKEN = "4e36b4e8-81ae-4d2d-bfac-cd24dfa24ba8"
STATUS_URL = f"{BASE}/api/bulkimport/status/512679"
ACCEPTED = {
    "licenseNumber": "000000300",
    "status": "new",
    "submission": {"submissionId": "131a5214-115d-4524-a089-5ceb505e3557"},
    "links": {"href": STATUS_URL, "rel": "rel"},
}
COMPLETE = {
    "fileName": "f.xml",
    "status": 200,
    "statusMessage": "complete",
    "isUploaded": True,
    "hasErrors": False,
    "hasDuplicates": False,
    "jobStatisticsMessageList": ["Total Transations: 1", "Total Items: 2"],
}

Handler = Callable[[httpx.Request], httpx.Response]


def token_answer(token: str = TOKEN, expires_in: int = 3599) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "access_token": token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": "api",
        },
    )


@dataclass
class Capss:
    """A scripted CAPSS: each path answers from its queue (the last answer repeats)."""

    answers: dict[str, list[Handler | httpx.Response]] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)

    def on(self, path: str, *answers: Handler | httpx.Response) -> Capss:
        self.answers[path] = list(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        self.bodies.append(request.read())
        # The auth flow re-sends the same Request object: keep the header as it was sent.
        self.authorizations.append(request.headers.get("Authorization"))
        queue = self.answers.get(request.url.path)
        if not queue:
            return httpx.Response(599, text=f"unscripted {request.url.path}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def paths(self) -> list[str]:
        return [r.url.path for r in self.seen]


@dataclass
class Sleeps:
    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client_for(
    capss: Capss,
    *,
    api: Api = Api.CURRENT,
    sleeps: Sleeps | None = None,
    cache: TokenCache | None = None,
    clock: Callable[[], float] | None = None,
    max_retries: int = 3,
    on_request: RequestObserver | None = None,
) -> CapssClient:
    config = ClientConfig(
        base_url=BASE, api=api, client_id="apitest", client_secret=SECRET, max_retries=max_retries
    )
    return CapssClient(
        config,
        httpx.MockTransport(capss),
        token_cache=cache or TokenCache(clock or (lambda: 1000.0)),
        sleep=sleeps or Sleeps(),
        clock=clock or (lambda: 1000.0),
        jitter=lambda: 0.5,
        on_request=on_request,
    )


def current() -> Capss:
    return (
        Capss()
        .on("/oauth2/token", token_answer())
        .on("/api/bulkimport/save", httpx.Response(202, json=ACCEPTED))
        .on("/api/itemupdate/updateItem", httpx.Response(202, json=ACCEPTED))
        .on("/api/bulkimport/status/512679", httpx.Response(200, json=COMPLETE))
    )


# -- request shapes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "path"), [(Api.CURRENT, "/oauth2/token"), (Api.LEGACY, "/oauth/token")]
)
def test_token_request_shape(api: Api, path: str) -> None:
    capss = Capss().on(path, token_answer())
    with client_for(capss, api=api) as client:
        info = client.token()
    (request,) = capss.seen
    assert request.method == "POST"
    assert request.url == BASE + path
    expected = base64.b64encode(f"apitest:{SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(capss.bodies[0].decode())) == {
        "grant_type": "client_credentials",
        "scope": "api",
    }
    assert info.token_type == "Bearer"
    assert info.scope == "api"
    assert info.license_id is None
    assert info.token_prefix == TOKEN[:6] + "…"


def test_token_type_in_any_case_and_jwt_license() -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"license_id": "000000300"}).encode()).decode()
    jwt = f"eyJhbGciOiJSUzI1NiJ9.{claims.rstrip('=')}.c2lnbmF0dXJl"
    capss = Capss().on(
        "/oauth2/token",
        httpx.Response(
            200,
            json={
                "access_token": jwt,
                "scope": "api",
                "token_type": "BEARER",
                "expires_in": 381366,
            },
        ),
    )
    with client_for(capss) as client:
        info = client.token()
    assert info.license_id == "000000300"
    assert jwt not in repr(info)
    assert jwt not in str(info)


@pytest.mark.parametrize(
    ("api", "kind", "path", "field_name"),
    [
        (Api.CURRENT, FileKind.TRANSACTIONS, "/api/bulkimport/save", "bulkUploadFile"),
        (Api.LEGACY, FileKind.TRANSACTIONS, "/api/bulkupload/save", "bulkUploadFile"),
        (Api.CURRENT, FileKind.ITEM_UPDATES, "/api/itemupdate/updateItem", "itemUpdateFile"),
        (Api.LEGACY, FileKind.ITEM_UPDATES, "/api/itemupdate/updateItem", "itemUpdateFile"),
    ],
)
def test_upload_request_shape(api: Api, kind: FileKind, path: str, field_name: str) -> None:
    token_path = "/oauth2/token" if api is Api.CURRENT else "/oauth/token"
    capss = Capss().on(token_path, token_answer()).on(path, httpx.Response(202, json=ACCEPTED))
    with client_for(capss, api=api) as client:
        receipt = client.upload(io.BytesIO(b"<capssUpload/>"), "day.xml", kind, "cancel", "cancel")
    upload = capss.seen[-1]
    assert upload.method == "POST"
    assert upload.url.path == path
    assert dict(upload.url.params) == {"onDup": "cancel", "onError": "cancel"}
    assert upload.headers["Authorization"] == f"Bearer {TOKEN}"
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = capss.bodies[-1]
    assert f'name="{field_name}"; filename="day.xml"'.encode() in body
    assert b"<capssUpload/>" in body
    assert receipt.submission_id == "131a5214-115d-4524-a089-5ceb505e3557"
    assert receipt.status_url == STATUS_URL
    assert receipt.license_number == "000000300"
    assert receipt.status == "new"
    assert receipt.attempts == 1
    assert receipt.completed is False


def test_upload_defaults_and_complete_at_once() -> None:
    capss = current().on(
        "/api/itemupdate/updateItem", httpx.Response(202, json={**ACCEPTED, "status": "complete"})
    )
    with client_for(capss) as client:
        receipt = client.upload(io.BytesIO(b"<x/>"), "u.xml", FileKind.ITEM_UPDATES)
    assert dict(capss.seen[-1].url.params) == {"onDup": "submitWithoutDups", "onError": "submit"}
    assert receipt.on_dup == "submitWithoutDups"
    assert receipt.completed is True


@pytest.mark.parametrize(
    ("api", "token_path", "save_path", "spelling"),
    [
        (Api.CURRENT, "/oauth2/token", "/api/bulkimport/save", "submitWithoutDups"),
        (Api.LEGACY, "/oauth/token", "/api/bulkupload/save", "submitWithoutDup"),
    ],
)
def test_skip_duplicates_is_spelled_as_each_generation_accepts(
    api: Api, token_path: str, save_path: str, spelling: str
) -> None:
    """Defect 6: the DOJ's document spells it submitWithoutDup (legacy), the current
    generation's only public client submitWithoutDups; an explicit spelling is sent as given."""
    capss = Capss().on(token_path, token_answer()).on(save_path, httpx.Response(202, json=ACCEPTED))
    with client_for(capss, api=api) as client:
        chosen = client.upload(io.BytesIO(b"<x/>"), "t.xml", FileKind.TRANSACTIONS)
        forced = client.upload(
            io.BytesIO(b"<x/>"), "t.xml", FileKind.TRANSACTIONS, on_dup="submitWithoutDup"
        )
    assert chosen.on_dup == spelling
    assert capss.seen[-2].url.params["onDup"] == spelling
    assert forced.on_dup == capss.seen[-1].url.params["onDup"] == "submitWithoutDup"


def test_a_status_500_without_the_jobs_fields_is_trouble_not_a_verdict() -> None:
    """Defect 5: a server's generic error JSON, a proxy's HTML page or a body that does not
    parse is retried and then raised as transient; only a 500 describing the job is final."""
    generic = {"timestamp": "2026-01-01T00:00:00", "status": 500, "error": "Internal Server Error"}
    for answer in (
        httpx.Response(500, json=generic),
        httpx.Response(503, text="<html><body>Service Unavailable</body></html>"),
        httpx.Response(500, text="<html>oops</html>"),
    ):
        capss = current().on("/api/bulkimport/status/512679", answer)
        with client_for(capss, max_retries=0) as client, pytest.raises(CapssUnavailable):
            client.status(STATUS_URL)
    verdict = {**generic, "statusMessage": "error", "isUploaded": False, "errorMessages": ["bad"]}
    capss = current().on("/api/bulkimport/status/512679", httpx.Response(500, json=verdict))
    with client_for(capss, max_retries=0) as client:
        assert client.status(STATUS_URL).outcome is Outcome.FAILED


def test_a_400_quoting_thousands_of_error_items_is_bounded() -> None:
    """Defect 1: CAPSS's message reaches the record and the alert, so it is clipped."""
    body = {"errorMessages": [f"item {n}: invalid serial number" for n in range(5000)]}
    capss = current().on("/api/bulkimport/save", httpx.Response(400, json=body))
    with client_for(capss) as client, pytest.raises(RequestRejected) as caught:
        client.upload(io.BytesIO(b"<x/>"), "t.xml", FileKind.TRANSACTIONS)
    assert len(caught.value.capss_message) <= 1000
    assert len(str(caught.value)) < 1200


class ChunkRecorder(io.BytesIO):
    """A file object that records how it is read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


def test_upload_streams_the_file_in_chunks() -> None:
    data = b"<capssUpload>" + b"x" * 300_000 + b"</capssUpload>"
    fileobj = ChunkRecorder(data)
    capss = current()
    with client_for(capss) as client:
        client.upload(fileobj, "big.xml", FileKind.TRANSACTIONS)
    assert fileobj.reads
    assert all(0 < size < len(data) for size in fileobj.reads)
    assert data in capss.bodies[-1]
    assert capss.seen[-1].headers["Content-Length"] == str(len(capss.bodies[-1]))


def test_links_as_a_list_picks_the_status_link() -> None:
    links = [
        {"href": f"{BASE}/api/bulkimport/save", "rel": "new"},
        {"href": STATUS_URL, "rel": "self"},
    ]
    capss = current().on(
        "/api/bulkimport/save", httpx.Response(202, json={**ACCEPTED, "links": links})
    )
    with client_for(capss) as client:
        assert (
            client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS).status_url
            == STATUS_URL
        )


def test_status_gets_the_link_and_normalises() -> None:
    capss = current()
    with client_for(capss) as client:
        result = client.status(STATUS_URL)
    assert capss.seen[-1].method == "GET"
    assert capss.seen[-1].url == STATUS_URL
    assert capss.seen[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.outcome is Outcome.COMPLETE
    assert result.counts.items == 2


def test_status_202_with_retry_after() -> None:
    capss = current().on(
        "/api/bulkimport/status/512679",
        httpx.Response(
            202, json={**COMPLETE, "statusMessage": "new"}, headers={"Retry-After": "7"}
        ),
    )
    with client_for(capss) as client:
        result = client.status(STATUS_URL)
    assert result.outcome is Outcome.PROCESSING
    assert result.retry_after == 7.0


def test_status_500_with_a_body_is_a_failed_job() -> None:
    capss = current().on(
        "/api/bulkimport/status/512679",
        httpx.Response(500, json={**COMPLETE, "status": 500, "statusMessage": "error"}),
    )
    with client_for(capss) as client:
        assert client.status(STATUS_URL).outcome is Outcome.FAILED


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/api/bulkimport/status/1",
        "http://capss-sb.doj.ca.gov/api/bulkimport/status/1",
        "https://capss-sb.doj.ca.gov:8443/api/bulkimport/status/1",
        "https://capss.doj.ca.gov/api/bulkimport/status/1",
        "/api/bulkimport/status/1",
        "not a url at all",
    ],
)
def test_foreign_links_are_refused_without_any_request(link: str) -> None:
    capss = current()
    with client_for(capss) as client, pytest.raises(ForeignLinkRefused) as caught:
        client.status(link)
    assert capss.seen == []
    assert isinstance(caught.value, NeedsPersonError)


def test_same_origin_link_with_explicit_default_port_and_case_is_accepted() -> None:
    capss = current()
    with client_for(capss) as client:
        client.status("https://CAPSS-SB.doj.ca.gov:443/api/bulkimport/status/512679")
    assert capss.paths()[-1] == "/api/bulkimport/status/512679"


def test_bearer_auth_adds_the_token_only_for_its_origin() -> None:
    token = Token(TOKEN, "Bearer", "api", 3600, 0)
    auth = BearerAuth(Origin.of(BASE), lambda stale: token)
    foreign = httpx.Request("GET", "https://elsewhere.example/x", headers={"Authorization": "x"})
    assert "Authorization" not in next(auth.auth_flow(foreign)).headers
    home = httpx.Request("GET", f"{BASE}/x")
    assert next(auth.auth_flow(home)).headers["Authorization"] == f"Bearer {TOKEN}"


# -- token cache and 401 --------------------------------------------------------------------


def test_one_token_for_many_calls_and_across_clients() -> None:
    cache = TokenCache(lambda: 1000.0)
    capss = current()
    for _ in range(2):
        with client_for(capss, cache=cache) as client:
            client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)
            client.status(STATUS_URL)
            client.status(STATUS_URL)
    assert capss.paths().count("/oauth2/token") == 1


def test_token_is_renewed_shortly_before_expiry() -> None:
    now = [1000.0]
    cache = TokenCache(lambda: now[0])
    capss = current().on("/oauth2/token", token_answer(expires_in=3600))
    with client_for(capss, cache=cache, clock=lambda: now[0]) as client:
        client.token()
        now[0] += 3600 - 61
        client.token()
        assert capss.paths().count("/oauth2/token") == 1
        now[0] += 2  # within the last minute
        client.token()
    assert capss.paths().count("/oauth2/token") == 2


def test_short_lived_token_renews_at_ten_percent() -> None:
    now = [0.0]
    cache = TokenCache(lambda: now[0])
    capss = current().on("/oauth2/token", token_answer(expires_in=100))
    with client_for(capss, cache=cache, clock=lambda: now[0]) as client:
        client.token()
        now[0] = 89.0
        client.token()
        now[0] = 90.0
        client.token()
    assert capss.paths().count("/oauth2/token") == 2


def test_another_secret_gets_its_own_token() -> None:
    cache = TokenCache(lambda: 0.0)
    capss = current()
    with client_for(capss, cache=cache) as client:
        client.token()
    config = ClientConfig(base_url=BASE, client_id="apitest", client_secret="another")
    with CapssClient(config, httpx.MockTransport(capss), token_cache=cache) as client:
        client.token()
    assert capss.paths().count("/oauth2/token") == 2


def test_401_renews_the_token_once_and_resends_the_upload() -> None:
    capss = (
        current()
        .on("/oauth2/token", token_answer("old-token-1"), token_answer("new-token-2"))
        .on(
            "/api/bulkimport/save",
            httpx.Response(401, json={"error": "invalid_token"}),
            httpx.Response(202, json=ACCEPTED),
        )
    )
    with client_for(capss) as client:
        receipt = client.upload(io.BytesIO(b"<capssUpload/>"), "f.xml", FileKind.TRANSACTIONS)
    assert capss.paths() == [
        "/oauth2/token",
        "/api/bulkimport/save",
        "/oauth2/token",
        "/api/bulkimport/save",
    ]
    assert capss.authorizations[1] == "Bearer old-token-1"
    assert capss.authorizations[3] == "Bearer new-token-2"
    assert capss.bodies[1] == capss.bodies[3]
    assert receipt.attempts == 1


def test_a_second_401_is_bad_credentials() -> None:
    capss = current().on("/api/bulkimport/status/512679", httpx.Response(401))
    with client_for(capss) as client, pytest.raises(BadCredentials):
        client.status(STATUS_URL)
    assert capss.paths().count("/api/bulkimport/status/512679") == 2


def test_every_attempt_is_told_with_its_kind_time_and_failure() -> None:
    capss = current().on(
        "/api/bulkimport/save",
        httpx.Response(503, text="down"),
        httpx.Response(202, json=ACCEPTED),
    )
    heard: list[tuple[Request, float, bool]] = []
    with client_for(capss, on_request=lambda *told: heard.append(told)) as client:
        client.upload(io.BytesIO(b"<capssUpload/>"), "f.xml", FileKind.TRANSACTIONS)
        client.status(STATUS_URL)
        capss.on("/api/bulkimport/status/512679", httpx.Response(404))
        with pytest.raises(JobNotFound):
            client.status(STATUS_URL)
    assert [(request, failed) for request, _, failed in heard] == [
        (Request.TOKEN, False),
        (Request.UPLOAD, True),
        (Request.UPLOAD, False),
        (Request.STATUS, False),
        (Request.STATUS, True),
    ]
    assert all(milliseconds >= 0 for _, milliseconds, _ in heard)


# -- error mapping and retries --------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, json={"error": "unauthorized"}),
        httpx.Response(400, json={"error": "invalid_client"}),
    ],
)
def test_refused_token_is_bad_credentials_and_not_retried(answer: httpx.Response) -> None:
    sleeps = Sleeps()
    capss = Capss().on("/oauth2/token", answer)
    with client_for(capss, sleeps=sleeps) as client, pytest.raises(BadCredentials) as caught:
        client.token()
    assert len(capss.seen) == 1
    assert sleeps.calls == []
    assert "CAPSS_CLIENT_ID" in caught.value.hint
    assert SECRET not in str(caught.value)


def test_400_from_save_carries_capss_message() -> None:
    capss = current().on(
        "/api/bulkimport/save", httpx.Response(400, json={"message": "Invalid XML: line 3"})
    )
    with client_for(capss) as client, pytest.raises(RequestRejected) as caught:
        client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)
    assert caught.value.capss_message == "Invalid XML: line 3"
    assert caught.value.http_status == 400
    assert caught.value.attempts == 1
    assert "Invalid XML: line 3" in str(caught.value)
    # Records and alerts show CAPSS's message; a log line gets the bridge's words only.
    assert caught.value.own_words() == (
        "CAPSS rejected the upload of f.xml (HTTP 400): [19 characters from CAPSS withheld]"
    )


def test_capss_text_in_a_5xx_or_an_unreadable_answer_is_withheld_from_logs() -> None:
    capss = current().on(
        "/api/bulkimport/status/512679", httpx.Response(503, text="customer Quarrington")
    )
    with client_for(capss, sleeps=Sleeps()) as client, pytest.raises(CapssUnavailable) as caught:
        client.status(STATUS_URL)
    assert "Quarrington" in str(caught.value)
    assert "Quarrington" not in caught.value.own_words()
    capss = current().on("/api/bulkimport/save", httpx.Response(202, text="Quarrington"))
    with client_for(capss) as client, pytest.raises(ProtocolError) as unreadable:
        client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)
    assert "Quarrington" in str(unreadable.value)
    assert "Quarrington" not in unreadable.value.own_words()


def test_404_on_status_is_job_not_found() -> None:
    capss = current().on("/api/bulkimport/status/512679", httpx.Response(404))
    with client_for(capss) as client, pytest.raises(JobNotFound):
        client.status(STATUS_URL)


def test_5xx_on_status_retries_with_full_jitter_then_gives_up() -> None:
    sleeps = Sleeps()
    capss = current().on("/api/bulkimport/status/512679", httpx.Response(503, text="busy"))
    with client_for(capss, sleeps=sleeps) as client, pytest.raises(CapssUnavailable) as caught:
        client.status(STATUS_URL)
    assert caught.value.attempts == 4
    assert capss.paths().count("/api/bulkimport/status/512679") == 4
    assert sleeps.calls == [0.25, 0.5, 1.0]  # jitter 0.5 x 0.5, 1, 2


def test_transient_status_failure_then_success() -> None:
    capss = current().on(
        "/api/bulkimport/status/512679",
        httpx.Response(502),
        httpx.Response(200, json=COMPLETE),
    )
    with client_for(capss) as client:
        assert client.status(STATUS_URL).outcome is Outcome.COMPLETE


def test_429_waits_retry_after() -> None:
    sleeps = Sleeps()
    capss = current().on(
        "/api/bulkimport/status/512679",
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.Response(200, json=COMPLETE),
    )
    with client_for(capss, sleeps=sleeps) as client:
        client.status(STATUS_URL)
    assert sleeps.calls == [2.0]


def test_429_with_a_long_retry_after_is_handed_to_the_caller() -> None:
    sleeps = Sleeps()
    capss = current().on(
        "/api/bulkimport/status/512679", httpx.Response(429, headers={"Retry-After": "600"})
    )
    with client_for(capss, sleeps=sleeps) as client, pytest.raises(RateLimited) as caught:
        client.status(STATUS_URL)
    assert caught.value.retry_after == 600.0
    assert sleeps.calls == []


def raises(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def test_connect_error_on_upload_is_retried_and_counted() -> None:
    capss = current().on(
        "/api/bulkimport/save",
        raises(httpx.ConnectError("refused")),
        httpx.Response(503, json={"error": "down"}),
        httpx.Response(202, json=ACCEPTED),
    )
    with client_for(capss) as client:
        receipt = client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)
    assert receipt.attempts == 3


@pytest.mark.parametrize(
    ("exc", "error_type"),
    [
        (httpx.ReadTimeout("slow"), CapssTimeout),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            CapssUnavailable,
        ),
        (httpx.ReadError("reset"), CapssUnavailable),
    ],
)
def test_upload_failing_after_sending_is_not_retried(
    exc: Exception, error_type: type[TransientError]
) -> None:
    capss = current().on("/api/bulkimport/save", raises(exc))
    with client_for(capss) as client, pytest.raises(error_type) as caught:
        client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)
    assert caught.value.maybe_accepted is True
    assert caught.value.attempts == 1
    assert capss.paths().count("/api/bulkimport/save") == 1


def test_5xx_after_a_job_was_created_is_not_retried() -> None:
    capss = current().on("/api/bulkimport/save", httpx.Response(500, json=ACCEPTED))
    with client_for(capss) as client, pytest.raises(CapssUnavailable) as caught:
        client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)
    assert caught.value.maybe_accepted is True
    assert caught.value.attempts == 1


def test_dropped_connection_on_status_is_retried() -> None:
    capss = current().on(
        "/api/bulkimport/status/512679",
        raises(httpx.RemoteProtocolError("Server disconnected")),
        httpx.Response(200, json=COMPLETE),
    )
    with client_for(capss) as client:
        assert client.status(STATUS_URL).outcome is Outcome.COMPLETE


def test_token_timeouts_are_retried() -> None:
    capss = current().on("/oauth2/token", raises(httpx.ConnectTimeout("slow")), token_answer())
    with client_for(capss) as client:
        client.token()
    assert capss.paths() == ["/oauth2/token", "/oauth2/token"]


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/api/bulkimport/status/512679", httpx.Response(200, text="<html>oops</html>")),
        ("/api/bulkimport/status/512679", httpx.Response(200, json=["a list"])),
        ("/api/bulkimport/status/512679", httpx.Response(200, json={"nothing": "here"})),
        ("/api/bulkimport/status/512679", httpx.Response(302, headers={"Location": "/x"})),
    ],
)
def test_unreadable_answers_are_protocol_errors(path: str, answer: httpx.Response) -> None:
    capss = current().on(path, answer)
    with client_for(capss) as client, pytest.raises(ProtocolError):
        client.status(STATUS_URL)


def test_upload_without_a_status_link_is_a_protocol_error() -> None:
    capss = current().on("/api/bulkimport/save", httpx.Response(202, json={"status": "new"}))
    with client_for(capss) as client, pytest.raises(ProtocolError, match="no status link"):
        client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)


def test_malformed_token_answer_never_quotes_it() -> None:
    capss = Capss().on("/oauth2/token", httpx.Response(200, text='{"access_token":"' + TOKEN))
    with client_for(capss) as client, pytest.raises(ProtocolError) as caught:
        client.token()
    assert TOKEN not in str(caught.value)


def test_error_excerpts_mask_the_token_and_secret() -> None:
    echo = f"server error: token {TOKEN} secret {SECRET}"
    capss = current().on("/api/bulkimport/status/512679", httpx.Response(503, text=echo))
    with client_for(capss, max_retries=0) as client, pytest.raises(CapssUnavailable) as caught:
        client.status(STATUS_URL)
    assert TOKEN not in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "server error" in str(caught.value)


# -- what may be shown ----------------------------------------------------------------------


def test_reprs_hide_the_secret_and_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    capss = current()
    with client_for(capss) as client:
        info = client.token()
        receipt = client.upload(io.BytesIO(b"<x/>"), "f.xml", FileKind.TRANSACTIONS)
        result = client.status(STATUS_URL)
        shown = " ".join(
            [repr(client), repr(client.config), repr(info), str(info), repr(receipt), repr(result)]
        )
    token = Token(TOKEN, "Bearer", "api", 60, 0)
    shown += repr(token) + caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert SECRET not in shown
    assert TOKEN not in shown
    assert TOKEN[:6] in repr(token)


def test_every_error_has_a_hint_and_a_branch() -> None:
    leaves = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, CapssError)
        and cls.__module__ == errors.__name__
    ]
    assert len(leaves) >= 12
    for cls in leaves:
        assert cls.hint
        assert cls is CapssError or issubclass(
            cls, TransientError | NeedsPersonError | ProtocolError
        )


@dataclass
class Run:
    """A Lambda run's clock: every sleep spends its time."""

    left: float

    def sleep(self, seconds: float) -> None:
        self.left -= seconds

    def time_left(self) -> float:
        return self.left


def _client_in_run(capss: Capss, run: Run) -> CapssClient:
    config = ClientConfig(base_url=BASE, client_id="apitest", client_secret=SECRET, timeout=25.0)
    return CapssClient(
        config,
        httpx.MockTransport(capss),
        token_cache=TokenCache(lambda: 1000.0),
        sleep=run.sleep,
        clock=lambda: 1000.0,
        jitter=lambda: 0.5,
        time_left=run.time_left,
    )


def test_retries_and_retry_after_waits_stop_within_the_time_left() -> None:
    """Defect 4: four attempts with 30 s Retry-After waits would outlive the function."""
    busy = httpx.Response(503, headers={"Retry-After": "30"}, text="busy")
    capss = current().on("/api/bulkimport/status/512679", busy)
    run = Run(left=70.0)
    with _client_in_run(capss, run) as client, pytest.raises(CapssUnavailable):
        client.status(STATUS_URL)
    assert capss.paths().count("/api/bulkimport/status/512679") == 3
    assert run.left >= 2.0


def test_no_request_starts_without_the_time_to_finish_and_timeouts_are_cut() -> None:
    capss = current()
    run = Run(left=1.0)
    with _client_in_run(capss, run) as client, pytest.raises(CapssTimeout) as caught:
        client.upload(io.BytesIO(b"<x/>"), "t.xml", FileKind.TRANSACTIONS)
    assert caught.value.maybe_accepted is False
    assert capss.seen == []
    seen_timeouts: list[object] = []

    def timed(request: httpx.Request) -> httpx.Response:
        seen_timeouts.append(request.extensions["timeout"]["read"])
        return httpx.Response(202, json=ACCEPTED)

    capss = current().on("/api/bulkimport/save", timed)
    with _client_in_run(capss, Run(left=7.5)) as client:
        client.upload(io.BytesIO(b"<x/>"), "t.xml", FileKind.TRANSACTIONS)
    assert seen_timeouts == [7.5]


def test_a_refused_client_is_not_asked_about_again_for_a_minute() -> None:
    """A revoked secret: the callers behind the refused token request get its refusal."""
    now = [1000.0]
    cache = TokenCache(lambda: now[0])
    capss = current().on("/oauth2/token", httpx.Response(401, json={"error": "invalid_client"}))
    for _ in range(3):
        with client_for(capss, cache=cache) as client, pytest.raises(BadCredentials):
            client.token()
    assert capss.paths().count("/oauth2/token") == 1
    now[0] += 61
    with client_for(capss, cache=cache) as client, pytest.raises(BadCredentials):
        client.token()
    assert capss.paths().count("/oauth2/token") == 2
