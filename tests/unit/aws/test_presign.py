"""The presign function: a short-lived PUT for one key inside the layout, nothing else."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from capss.aws import wiring
from capss.aws.presign_function import presign

BUCKET = "capss-intake-123456789012-test"


@pytest.fixture
def endpoint(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("UPLOAD_URL_SECONDS", "300")
    wiring.reset()


def _ask(body: object) -> tuple[int, dict[str, object]]:
    answer = presign({"body": body if isinstance(body, str) else json.dumps(body)})
    assert answer["headers"]["Cache-Control"] == "no-store"
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize(
    "key",
    [
        "incoming/transactions/000000300/day.xml",
        "incoming/item-updates/000000300/fix.xml",
        "incoming/csv/000000300/day.csv",
        "incoming/transactions/day.xml",
    ],
)
def test_a_key_inside_the_layout_gets_a_short_lived_put(endpoint: None, key: str) -> None:
    status, answer = _ask({"key": key})
    assert status == 200
    assert answer["method"] == "PUT"
    assert answer["expires_in"] == 300
    url = urlsplit(str(answer["url"]))
    assert url.scheme == "https"
    assert url.path.endswith(f"/{key}")
    assert BUCKET in url.netloc + url.path
    assert parse_qs(url.query)["X-Amz-Expires"] == ["300"]


@pytest.mark.parametrize(
    "body",
    [
        {"key": "converted/csv/000000300/day.csv.xml"},
        {"key": "day.xml"},
        {"key": "incoming/other/000000300/day.xml"},
        {"key": "incoming/csv/day.csv"},
        {"key": "incoming/transactions/../../converted/x.xml"},
        {"key": "incoming/transactions/000000300/./day.xml"},
        {"key": "incoming//transactions/000000300/day.xml"},
        {"key": "incoming/transactions/000000300/day\n.xml"},
        {"key": "incoming/transactions/000000300/" + "a" * 1100},
        {"key": 42},
        {"name": "incoming/transactions/000000300/day.xml"},
        ["incoming/transactions/000000300/day.xml"],
        "not json",
    ],
)
def test_any_other_key_is_refused_before_signing(endpoint: None, body: object) -> None:
    status, answer = _ask(body)
    assert status == 400
    assert "url" not in answer
    assert answer["error"]
