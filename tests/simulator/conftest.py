"""The simulator in-process over real HTTPS, and a plain httpx client that trusts its CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from local.simulator import CapssSimulator
from tests.simulator.simhttp import CLIENT_ID, LICENSE, SECRET


@pytest.fixture
def sim() -> Iterator[CapssSimulator]:
    simulator = CapssSimulator(tls=True, polls_to_complete=2, token_lifetime=3600)
    simulator.add_client(CLIENT_ID, SECRET, license_number=LICENSE)
    simulator.add_client("other", "Secret2", license_number="000000301")
    with simulator:
        yield simulator
    assert simulator.errors == []


@pytest.fixture
def http(sim: CapssSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sim.base_url, verify=ssl.create_default_context(cafile=sim.ca_pem_path), timeout=5
    ) as client:
        yield client


@pytest.fixture(params=["current", "legacy"])
def generation(request: pytest.FixtureRequest) -> str:
    return str(request.param)
