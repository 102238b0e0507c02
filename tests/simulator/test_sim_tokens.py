"""The token endpoints: Basic auth, one live token per client, expiry and rotation."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx

from local.simulator import CapssSimulator
from tests.simulator.simhttp import (
    CLIENT_ID,
    LICENSE,
    PATHS,
    SECRET,
    bearer,
    body,
    get_token,
    upload,
    xml_file,
)

FORM = {"grant_type": "client_credentials", "scope": "api"}


def _claims(jwt: str) -> dict[str, object]:
    header, payload, signature = jwt.split(".")
    assert header
    assert signature
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(data, dict)
    return data


def test_current_token_is_a_jwt_in_the_sandbox_shape(http: httpx.Client) -> None:
    response = http.post("/oauth2/token", auth=(CLIENT_ID, SECRET), data=FORM)
    assert response.status_code == 200
    data = body(response)
    assert list(data) == ["access_token", "scope", "token_type", "expires_in"]
    assert data["token_type"] == "Bearer"
    assert data["scope"] == "api"
    assert 3590 <= data["expires_in"] <= 3600
    claims = _claims(data["access_token"])
    assert claims["license_id"] == LICENSE
    assert claims["client_id"] == CLIENT_ID
    assert isinstance(claims["exp"], int)
    assert claims["exp"] > time.time() + 3500


def test_legacy_token_is_a_uuid_in_the_2022_shape(http: httpx.Client) -> None:
    response = http.post("/oauth/token", auth=(CLIENT_ID, SECRET), data=FORM)
    data = body(response)
    assert list(data) == ["access_token", "token_type", "expires_in", "scope"]
    assert data["token_type"] == "bearer"
    assert uuid.UUID(data["access_token"]).version == 4


def test_asking_again_returns_the_same_token_with_less_time(
    http: httpx.Client, generation: str
) -> None:
    first = body(http.post(PATHS[generation]["token"], auth=(CLIENT_ID, SECRET), data=FORM))
    time.sleep(1.05)
    second = body(http.post(PATHS[generation]["token"], auth=(CLIENT_ID, SECRET), data=FORM))
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] < first["expires_in"]


def test_each_client_has_its_own_token(http: httpx.Client, generation: str) -> None:
    assert get_token(http, generation) != get_token(http, generation, "other", "Secret2")


def test_bad_or_missing_credentials_get_401(http: httpx.Client, generation: str) -> None:
    path = PATHS[generation]["token"]
    wrong = http.post(path, auth=(CLIENT_ID, "nope"), data=FORM)
    assert wrong.status_code == 401
    assert body(wrong)["error"] == "invalid_client"
    unknown = http.post(path, auth=("nobody", SECRET), data=FORM)
    assert unknown.status_code == 401
    missing = http.post(path, data=FORM)
    assert missing.status_code == 401
    assert body(missing)["error"] == "unauthorized"


def test_grant_type_and_scope_are_checked(http: httpx.Client) -> None:
    wrong = http.post("/oauth2/token", auth=(CLIENT_ID, SECRET), data={"grant_type": "password"})
    assert wrong.status_code == 400
    assert body(wrong)["error"] == "unsupported_grant_type"
    absent = http.post("/oauth2/token", auth=(CLIENT_ID, SECRET), data={"scope": "api"})
    assert body(absent)["error"] == "unsupported_grant_type"
    scope = http.post(
        "/oauth2/token",
        auth=(CLIENT_ID, SECRET),
        data={"grant_type": "client_credentials", "scope": "admin"},
    )
    assert scope.status_code == 400
    assert body(scope)["error"] == "invalid_scope"


def test_rotation_invalidates_the_token(
    sim: CapssSimulator, http: httpx.Client, generation: str
) -> None:
    old = get_token(http, generation)
    sim.rotate_token(CLIENT_ID)
    refused = upload(http, generation, old, xml_file())
    assert refused.status_code == 401
    assert body(refused)["error"] == "invalid_token"
    new = get_token(http, generation)
    assert new != old
    assert upload(http, generation, new, xml_file()).status_code == 202


def test_api_calls_need_a_live_bearer_token_of_their_generation(
    http: httpx.Client, generation: str
) -> None:
    assert upload(http, generation, "", xml_file()).status_code == 401
    assert upload(http, generation, "not-a-token", xml_file()).status_code == 401
    other = "legacy" if generation == "current" else "current"
    assert upload(http, generation, get_token(http, other), xml_file()).status_code == 401
    missing = http.get(PATHS[generation]["status"] + "1")
    assert missing.status_code == 401
    assert "WWW-Authenticate" in missing.headers


def test_expired_token_gets_401_and_a_new_one_is_issued() -> None:
    sim = CapssSimulator(tls=False, token_lifetime=0.3)
    sim.add_client(CLIENT_ID, SECRET, license_number=LICENSE)
    with sim, httpx.Client(base_url=sim.base_url) as http:
        assert sim.base_url.startswith("http://")
        assert sim.ca_pem_path is None
        old = get_token(http, "current")
        time.sleep(0.4)
        expired = http.get("/api/bulkimport/status/1", headers=bearer(old))
        assert expired.status_code == 401
        assert body(expired)["error_description"] == "Access token expired"
        assert get_token(http, "current") != old


def test_the_log_never_keeps_credentials(sim: CapssSimulator, http: httpx.Client) -> None:
    token = get_token(http, "current")
    upload(http, "current", token, xml_file())
    logged = repr(sim.requests) + repr(sim.jobs) + repr(sim.clients)
    assert SECRET not in logged
    assert token[-20:] not in logged
    assert base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode() not in logged
    assert sim.requests[0].headers["Authorization"] == "Basic [redacted]"
    assert sim.requests[1].headers["Authorization"] == "Bearer [redacted]"
