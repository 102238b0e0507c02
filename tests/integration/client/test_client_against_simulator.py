"""The client against the CAPSS simulator over HTTPS, both API generations."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from capss import Outcome
from capss.client.api import Api
from capss.client.client import CapssClient, ClientConfig
from capss.client.status import StatusResult
from capss.errors import (
    CapssTimeout,
    CapssUnavailable,
    ForeignLinkRefused,
    JobNotFound,
    NeedsPersonError,
    ProtocolError,
    RateLimited,
)
from capss.kinds import FileKind

from local.simulator import CapssSimulator, Fault
from tests.integration.client.simclient import (
    LICENSE,
    Listener,
    MakeClient,
    item_updates,
    transactions,
)

TOKEN_PATHS = {Api.CURRENT: "/oauth2/token", Api.LEGACY: "/oauth/token"}


def upload(make_client: MakeClient, path: Path, kind: FileKind = FileKind.TRANSACTIONS, **kw: str):  # type: ignore[no-untyped-def]
    with path.open("rb") as fileobj:
        return make_client().upload(fileobj, path.name, kind, **kw)


def poll_until_final(make_client: MakeClient, url: str, limit: int = 10) -> list[StatusResult]:
    client = make_client()
    results = []
    for _ in range(limit):
        results.append(client.status(url))
        if results[-1].outcome.is_final:
            return results
    raise AssertionError(f"not final after {limit} polls: {results[-1]}")


def test_token_is_fetched_once_for_many_calls(
    sim: CapssSimulator, api: Api, make_client: MakeClient, tmp_path: Path
) -> None:
    info = make_client().token()
    receipt = upload(make_client, transactions(tmp_path))
    poll_until_final(make_client, receipt.status_url)
    assert sim.count(method="POST", path_prefix=TOKEN_PATHS[api]) == 1
    assert info.token_type == "Bearer"
    assert info.expires_at.timestamp() > time.time() + 3000


def test_rotated_token_is_renewed_once_and_the_call_retried(
    sim: CapssSimulator, api: Api, make_client: MakeClient, tmp_path: Path
) -> None:
    receipt = upload(make_client, transactions(tmp_path))
    sim.rotate_token("apitest")
    result = make_client().status(receipt.status_url)
    assert result.http_status in (200, 202)
    assert sim.count(method="POST", path_prefix=TOKEN_PATHS[api]) == 2
    statuses = [r.status for r in sim.requests if r.method == "GET"]
    assert statuses == [401, result.http_status]


def test_concurrent_uploads_of_one_license_share_one_token(
    sim: CapssSimulator, api: Api, make_client: MakeClient, tmp_path: Path
) -> None:
    # A slow token answer holds every upload of the container at the token at once.
    sim.inject(Fault.slow(0.5, endpoint="token"))
    path = transactions(tmp_path)
    with ThreadPoolExecutor(max_workers=5) as pool:
        receipts = list(pool.map(lambda _: upload(make_client, path), range(10)))
    assert all(receipt.status_url for receipt in receipts)
    assert sim.count(method="POST", path_prefix=TOKEN_PATHS[api]) == 1

    sim.rotate_token("apitest")
    sim.inject(Fault.slow(0.5, endpoint="token"))
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda r: make_client().status(r.status_url), receipts[:5]))
    assert all(result.http_status in (200, 202) for result in results)
    # Every status call that met the refused token waited for the one renewal.
    assert sim.count(method="POST", path_prefix=TOKEN_PATHS[api]) == 2
    assert sim.count(method="GET", status=401) >= 1


@pytest.mark.parametrize("kind", [FileKind.TRANSACTIONS, FileKind.ITEM_UPDATES])
def test_upload_and_status_progress_to_complete(
    api: Api, make_client: MakeClient, tmp_path: Path, kind: FileKind
) -> None:
    path = transactions(tmp_path) if kind is FileKind.TRANSACTIONS else item_updates(tmp_path)
    receipt = upload(make_client, path, kind)
    assert receipt.submission_id
    assert receipt.license_number == LICENSE
    assert receipt.attempts == 1
    # The sandbox's item update answers "complete" at once; its status link still tells.
    assert receipt.completed is (kind is FileKind.ITEM_UPDATES and api is Api.CURRENT)
    results = poll_until_final(make_client, receipt.status_url)
    assert [r.outcome for r in results[:-1]] == [Outcome.PROCESSING] * (len(results) - 1)
    assert len(results) >= 2
    final = results[-1]
    assert final.outcome is Outcome.COMPLETE
    assert final.counts.saved is not None
    if kind is FileKind.TRANSACTIONS:
        assert final.counts.transactions == 2
        assert final.counts.items == 3
        assert final.counts.errors == 0


def test_error_items_complete_with_issues(make_client: MakeClient, tmp_path: Path) -> None:
    receipt = upload(make_client, transactions(tmp_path, marker="[sim:error]"))
    final = poll_until_final(make_client, receipt.status_url)[-1]
    assert final.outcome is Outcome.COMPLETE_WITH_ISSUES
    assert final.counts.errors == 1
    assert final.messages


def test_duplicates_complete_with_issues(make_client: MakeClient, tmp_path: Path) -> None:
    path = transactions(tmp_path)
    poll_until_final(make_client, upload(make_client, path).status_url)
    again = upload(make_client, path, on_dup="submitDups")
    assert poll_until_final(make_client, again.status_url)[-1].outcome is (
        Outcome.COMPLETE_WITH_ISSUES
    )


def test_capss_side_failure(make_client: MakeClient, tmp_path: Path) -> None:
    receipt = upload(make_client, transactions(tmp_path, marker="[sim:fail]"))
    assert poll_until_final(make_client, receipt.status_url)[-1].outcome is Outcome.FAILED


def test_foreign_link_is_refused_without_any_connection(
    sim: CapssSimulator, make_client: MakeClient, listener: Listener
) -> None:
    client = make_client()
    client.token()
    before = len(sim.requests)
    with pytest.raises(ForeignLinkRefused):
        client.status(f"https://127.0.0.1:{listener.port}/api/bulkimport/status/1")
    with pytest.raises(ForeignLinkRefused):
        client.status(f"https://localhost:{listener.port}/api/bulkimport/status/1")
    time.sleep(0.1)
    assert listener.accepted == 0
    assert len(sim.requests) == before


def test_foreign_host_link_from_capss_is_refused(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path, listener: Listener
) -> None:
    sim.inject(Fault.foreign_link(f"https://127.0.0.1:{listener.port}"))
    receipt = upload(make_client, transactions(tmp_path))
    before = len(sim.requests)
    assert receipt.status_url.startswith(f"https://127.0.0.1:{listener.port}/")
    with pytest.raises(ForeignLinkRefused):
        make_client().status(receipt.status_url)
    time.sleep(0.1)
    assert listener.accepted == 0
    assert len(sim.requests) == before


# -- faults ---------------------------------------------------------------------------------


def test_5xx_on_status_is_retried(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path, sleeps: list[float]
) -> None:
    receipt = upload(make_client, transactions(tmp_path))
    sim.inject(Fault.error(502, "status"))
    assert make_client().status(receipt.status_url).outcome is Outcome.PROCESSING
    assert len(sleeps) == 1


def test_5xx_on_upload_without_a_job_is_retried(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path
) -> None:
    sim.inject(Fault.error(503, "upload"))
    receipt = upload(make_client, transactions(tmp_path))
    assert receipt.attempts == 2


def test_persistent_503_gives_up_with_the_attempts(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path
) -> None:
    sim.inject(Fault.error(503, "upload", times=10))
    with pytest.raises(CapssUnavailable) as caught:
        upload(make_client, transactions(tmp_path))
    assert caught.value.attempts == 3
    assert caught.value.maybe_accepted is False


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_5xx_that_may_follow_a_created_job_is_never_resent(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path, status: int
) -> None:
    sim.inject(Fault.error(status, "upload", times=10))
    with pytest.raises(CapssUnavailable) as caught:
        upload(make_client, transactions(tmp_path))
    assert caught.value.attempts == 1
    assert caught.value.maybe_accepted is True
    assert sim.count(method="POST", path_prefix="/api/") == 1


def test_plain_http_is_refused_for_a_remote_host() -> None:
    with pytest.raises(NeedsPersonError, match="not https"):
        CapssClient(
            ClientConfig(base_url="http://capss.doj.ca.gov", client_id="a", client_secret="b")
        )


def test_429_waits_retry_after(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path, sleeps: list[float]
) -> None:
    receipt = upload(make_client, transactions(tmp_path))
    sim.inject(Fault.error(429, "status"))
    make_client().status(receipt.status_url)
    assert sleeps == [1.0]
    sim.inject(Fault.error(429, "status", headers={"Retry-After": "60"}, times=10))
    with pytest.raises(RateLimited) as caught:
        make_client().status(receipt.status_url)
    assert caught.value.retry_after == 60.0


def test_slow_status_times_out_then_is_retried(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path
) -> None:
    receipt = upload(make_client, transactions(tmp_path))
    sim.inject(Fault.slow(1.0, "status", times=10))
    with pytest.raises(CapssTimeout) as caught:
        make_client(timeout=0.3, max_retries=1).status(receipt.status_url)
    assert caught.value.attempts == 2


def test_slow_upload_is_not_sent_again(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path
) -> None:
    sim.inject(Fault.slow(1.0, "upload", times=10))
    with pytest.raises(CapssTimeout) as caught, transactions(tmp_path).open("rb") as fileobj:
        make_client(timeout=0.3).upload(fileobj, "day.xml", FileKind.TRANSACTIONS)
    assert caught.value.maybe_accepted is True
    assert caught.value.attempts == 1


def test_dropped_connection(sim: CapssSimulator, make_client: MakeClient, tmp_path: Path) -> None:
    sim.inject(Fault.dropped("upload", after_accept=True))
    with pytest.raises(CapssUnavailable) as caught:
        upload(make_client, transactions(tmp_path))
    assert caught.value.maybe_accepted is True
    assert caught.value.attempts == 1
    receipt = upload(make_client, transactions(tmp_path, name="other.xml"))
    sim.inject(Fault.dropped("status"))
    assert make_client().status(receipt.status_url).outcome is Outcome.PROCESSING


def test_404_on_the_first_status_call(
    sim: CapssSimulator, make_client: MakeClient, tmp_path: Path
) -> None:
    sim.inject(Fault.not_found())
    receipt = upload(make_client, transactions(tmp_path))
    with pytest.raises(JobNotFound):
        make_client().status(receipt.status_url)
    assert make_client().status(receipt.status_url).outcome.value in ("processing", "complete")


def test_links_as_a_list(sim: CapssSimulator, make_client: MakeClient, tmp_path: Path) -> None:
    sim.inject(Fault.links_list())
    receipt = upload(make_client, transactions(tmp_path))
    assert receipt.status_url
    assert poll_until_final(make_client, receipt.status_url)[-1].outcome is Outcome.COMPLETE


def test_malformed_json(sim: CapssSimulator, make_client: MakeClient, tmp_path: Path) -> None:
    receipt = upload(make_client, transactions(tmp_path))
    sim.inject(Fault.malformed("status"))
    with pytest.raises(ProtocolError):
        make_client().status(receipt.status_url)
