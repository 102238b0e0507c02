"""TLS against the simulator's profiles: the cipher and CA hints."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from capss.client.auth import TokenCache
from capss.client.client import CapssClient, ClientConfig
from capss.errors import TlsFailure

from local.simulator import CapssSimulator
from tests.integration.client.simclient import (
    CLIENT_ID,
    LICENSE,
    SECRET,
)


@pytest.fixture(scope="module")
def legacy_rsa() -> Iterator[CapssSimulator]:
    simulator = CapssSimulator(tls=True, tls_profile="legacy-rsa")
    simulator.add_client(CLIENT_ID, SECRET, license_number=LICENSE)
    with simulator:
        yield simulator


def client(sim: CapssSimulator, **overrides: object) -> CapssClient:
    settings: dict[str, object] = {
        "base_url": sim.base_url,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "ca_bundle": str(sim.ca_pem_path),
        "timeout": 2.0,
        "max_retries": 0,
    }
    settings.update(overrides)
    return CapssClient(ClientConfig(**settings), token_cache=TokenCache())  # type: ignore[arg-type]


def test_python_default_ciphers_fail_where_default_connects(legacy_rsa: CapssSimulator) -> None:
    strict = ssl.create_default_context(cafile=str(legacy_rsa.ca_pem_path))
    with httpx.Client(verify=strict) as plain, pytest.raises(httpx.ConnectError):
        plain.post(legacy_rsa.base_url + "/oauth2/token")
    with client(legacy_rsa) as capss:
        assert capss.token().token_type == "Bearer"


def test_handshake_failure_hints_at_the_cipher_setting(legacy_rsa: CapssSimulator) -> None:
    with (
        client(legacy_rsa, tls_ciphers="ECDHE+AESGCM") as capss,
        pytest.raises(TlsFailure) as caught,
    ):
        capss.token()
    assert "--tls-ciphers 'DEFAULT@SECLEVEL=1'" in caught.value.hint
    assert "CAPSS_TLS_CIPHERS" in caught.value.hint


def test_unknown_ca_hints_at_the_ca_bundle(sim: CapssSimulator) -> None:
    with client(sim, ca_bundle=None) as capss, pytest.raises(TlsFailure) as caught:
        capss.token()
    assert "--ca-bundle" in caught.value.hint
    assert "CAPSS_CA_BUNDLE" in caught.value.hint
