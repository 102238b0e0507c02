"""The CAPSS simulator over real HTTPS, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from capss.client.api import Api
from capss.client.auth import TokenCache
from capss.client.client import CapssClient, ClientConfig

from local.simulator import CapssSimulator
from tests.integration.client.simclient import CLIENT_ID, LICENSE, SECRET, Listener, MakeClient


@pytest.fixture
def sim() -> Iterator[CapssSimulator]:
    simulator = CapssSimulator(tls=True, polls_to_complete=2, token_lifetime=3600)
    simulator.add_client(CLIENT_ID, SECRET, license_number=LICENSE)
    with simulator:
        yield simulator


@pytest.fixture(params=[Api.CURRENT, Api.LEGACY], ids=["current", "legacy"])
def api(request: pytest.FixtureRequest) -> Api:
    return Api(request.param)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sim: CapssSimulator, api: Api, sleeps: list[float]) -> Iterator[MakeClient]:
    """Clients sharing one token cache (as one Lambda container would), sleeping for no one."""
    cache = TokenCache()
    opened: list[CapssClient] = []

    def make(**overrides: object) -> CapssClient:
        settings: dict[str, object] = {
            "base_url": sim.base_url,
            "api": api,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "ca_bundle": str(sim.ca_pem_path),
            "timeout": 2.0,
            "max_retries": 2,
        }
        settings.update(overrides)
        client = CapssClient(
            ClientConfig(**settings),  # type: ignore[arg-type]
            token_cache=cache,
            sleep=sleeps.append,
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    other = Listener()
    yield other
    other.close()
