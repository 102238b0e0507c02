"""The presign function, through its handler with API Gateway proxy events: a short-lived PUT
for one key inside the layout, and only under a license the caller's API key is bound to."""

from __future__ import annotations

import importlib.util
import io
import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from capss.aws import wiring
from capss.aws.stores import DynamoUploadKeys
from capss.telemetry import logger

from tests.conftest import ROOT

BUCKET = "capss-intake-123456789012-test"
STORES = "capss-test-stores"
STORE_A_KEY = ("a1b2c3d4e5", "Wq3vK9xZ2mPb7LrT0yHs4NcE6uJd8GfA1iOk5QeX")
"""An API key's id and value as API Gateway hands them to the function (id in the request
context, value in the x-api-key header)."""
VENDOR_KEY = ("v9v8v7v6v5", "Zr8Tq2Lm4Nx6Pb0Wc3Ys5Kd7Hf9Jg1Va2Ue4Io6")
STRANGER_KEY = ("s0s1s2s3s4", "Xx1Yy2Zz3Ww4Vv5Uu6Tt7Ss8Rr9Qq0Pp1Oo2Nn3")
"""In the usage plan, so API Gateway lets it through, but bound to no license."""

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def handler(aws: None, monkeypatch: pytest.MonkeyPatch) -> Handler:
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("UPLOAD_URL_SECONDS", "300")
    monkeypatch.setenv("STORES_TABLE_NAME", STORES)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    boto3.client("dynamodb").create_table(
        TableName=STORES,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    keys = DynamoUploadKeys(boto3.resource("dynamodb").Table(STORES))
    keys.bind(STORE_A_KEY[0], frozenset({"000000300"}))
    keys.bind(VENDOR_KEY[0], frozenset({"000000300", "000000302"}))
    keys.bind(STRANGER_KEY[0], frozenset({"000000309"}))
    keys.forget_license("000000309")
    wiring.reset()
    spec = importlib.util.spec_from_file_location(
        "presign_app", ROOT / "functions" / "presign" / "app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handle: Handler = module.lambda_handler
    return handle


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """What the function writes to its log (Powertools' own handler and JSON formatter)."""
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    try:
        yield stream
    finally:
        logger.registered_handler.setStream(previous)


def _event(body: object, api_key: tuple[str, str] | None) -> dict[str, Any]:
    """An API Gateway REST proxy event as the stage's POST /uploads sends it."""
    identity: dict[str, Any] = {"sourceIp": "192.0.2.10", "userAgent": "pos/1.0"}
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        identity |= {"apiKey": api_key[1], "apiKeyId": api_key[0]}
        headers["x-api-key"] = api_key[1]
    return {
        "resource": "/uploads",
        "path": "/uploads",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": {
            "resourcePath": "/uploads",
            "httpMethod": "POST",
            "stage": "v1",
            "identity": identity,
        },
        "body": body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


_CONTEXT = SimpleNamespace(
    function_name="capss-bridge-PresignFunction",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:capss-bridge-PresignFunction",
    aws_request_id="c6af9ac6-7b61-11e6-9a41-93e812345678",
)


def _ask(
    handler: Handler, body: object, api_key: tuple[str, str] | None = STORE_A_KEY
) -> tuple[int, dict[str, Any]]:
    answer = handler(_event(body, api_key), _CONTEXT)
    assert answer["headers"]["Cache-Control"] == "no-store"
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize(
    "key",
    [
        "incoming/transactions/000000300/day.xml",
        "incoming/item-updates/000000300/fix.xml",
        "incoming/csv/000000300/day.csv",
    ],
)
def test_a_key_under_the_callers_own_license_gets_a_short_lived_put(
    handler: Handler, key: str
) -> None:
    status, answer = _ask(handler, {"key": key})
    assert status == 200
    assert answer["method"] == "PUT"
    assert answer["expires_in"] == 300
    url = urlsplit(str(answer["url"]))
    assert url.scheme == "https"
    assert url.path.endswith(f"/{key}")
    assert BUCKET in url.netloc + url.path
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["300"]
    # The store and the key are signed into the URL: a PUT without these headers, or with
    # another license in them, does not match the signature.
    assert answer["headers"] == {
        "x-amz-meta-capss-license": "000000300",
        "x-amz-meta-capss-api-key-id": STORE_A_KEY[0],
    }
    assert set(query["X-Amz-SignedHeaders"][0].split(";")) == {
        "host",
        "x-amz-meta-capss-license",
        "x-amz-meta-capss-api-key-id",
    }


def test_the_upload_carries_the_license_and_key_id_the_url_was_signed_with(
    handler: Handler,
) -> None:
    key = "incoming/transactions/000000300/2026-11-02.xml"
    _, answer = _ask(handler, {"key": key})
    put = requests.put(answer["url"], data=b"<day/>", headers=answer["headers"], timeout=10)
    assert put.status_code == 200
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"] == {"capss-license": "000000300", "capss-api-key-id": STORE_A_KEY[0]}


def test_a_key_bound_to_several_licenses_uploads_for_each_of_them(handler: Handler) -> None:
    for license_number in ("000000300", "000000302"):
        status, answer = _ask(
            handler, {"key": f"incoming/csv/{license_number}/day.csv"}, VENDOR_KEY
        )
        assert status == 200
        assert answer["headers"]["x-amz-meta-capss-license"] == license_number


@pytest.mark.parametrize(
    ("key", "api_key", "reason"),
    [
        (
            "incoming/transactions/000000301/day.xml",
            STORE_A_KEY,
            "this API key uploads for 000000300, not for license 000000301",
        ),
        (
            "incoming/csv/000000301/day.csv",
            VENDOR_KEY,
            "this API key uploads for 000000300, 000000302, not for license 000000301",
        ),
        (
            "incoming/transactions/day.xml",
            STORE_A_KEY,
            "name the license in the key, incoming/<kind>/<license>/<name>:"
            " this API key uploads for 000000300",
        ),
        (
            "incoming/item-updates/fix.xml",
            VENDOR_KEY,
            "name the license in the key, incoming/<kind>/<license>/<name>:"
            " this API key uploads for 000000300, 000000302",
        ),
        (
            "incoming/transactions/000000300/day.xml",
            STRANGER_KEY,
            "this API key uploads for no license yet: ask the chain's ops to bind it",
        ),
        (
            "incoming/transactions/000000300/day.xml",
            ("z9z9z9z9z9", "Kk1Jj2Hh3Gg4Ff5Dd6Ss7Aa8Ll9Pp0Oo1Ii2Uu3"),
            "this API key uploads for no license yet: ask the chain's ops to bind it",
        ),
        (
            "incoming/transactions/000000300/day.xml",
            None,
            "send the API key your store was given (x-api-key header)",
        ),
    ],
    ids=[
        "other-license",
        "vendor-other-license",
        "license-less",
        "vendor-license-less",
        "unbound-key",
        "unknown-key",
        "missing-key",
    ],
)
def test_any_other_caller_or_license_is_refused_with_its_reason_and_the_key_stays_out_of_the_log(
    handler: Handler,
    log: io.StringIO,
    key: str,
    api_key: tuple[str, str] | None,
    reason: str,
) -> None:
    status, answer = _ask(handler, {"key": key}, api_key)
    assert (status, answer) == (403, {"error": reason})
    (line,) = [json.loads(text) for text in log.getvalue().splitlines()]
    assert line["message"] == "presigned upload refused"
    assert line["reason"] == reason
    assert line.get("api_key_id_tail") == (api_key[0][-4:] if api_key else None)
    if api_key is not None:
        assert api_key[1] not in log.getvalue()
        assert api_key[0] not in log.getvalue()


def test_an_issued_url_is_logged_by_its_key_not_its_signature_or_the_api_key(
    handler: Handler, log: io.StringIO
) -> None:
    status, answer = _ask(handler, {"key": "incoming/transactions/000000300/day.xml"})
    assert status == 200
    text = log.getvalue()
    (line,) = [json.loads(entry) for entry in text.splitlines()]
    assert line["message"] == "presigned upload issued"
    assert line["api_key_id_tail"] == STORE_A_KEY[0][-4:]
    signature = parse_qs(urlsplit(answer["url"]).query)["X-Amz-Signature"][0]
    for secret in (signature, STORE_A_KEY[1], STORE_A_KEY[0]):
        assert secret not in text


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
def test_a_key_outside_the_layout_is_refused_before_signing(handler: Handler, body: object) -> None:
    status, answer = _ask(handler, body)
    assert status == 400
    assert "url" not in answer
    assert answer["error"]
