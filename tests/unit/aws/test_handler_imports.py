"""Each function loads what it runs and nothing else: cold starts pay for no other SDK."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("httpx", "lxml", "boto3")
USES = {
    "submit": {"boto3", "httpx", "lxml"},  # reads S3, posts to CAPSS, validates XML
    "status": {"boto3", "httpx"},
    "finish": {"boto3"},
    "monitor": {"boto3"},
    "presign": {"boto3"},
}


SET_UP_ENV = {
    "AWS_DEFAULT_REGION": "us-west-2",
    "TABLE_NAME": "records",
    "STORES_TABLE_NAME": "stores",
    "TOPIC_ARN": "arn:aws:sns:us-west-2:123456789012:alerts",
    "STATE_MACHINE_ARN": "arn:aws:states:us-west-2:123456789012:stateMachine:poller",
    "CAPSS_BASE_URL": "https://capss-sb.doj.ca.gov",
    "BUCKET_NAME": "intake",
    "INTAKE_DLQ_ARN": "arn:aws:sqs:us-west-2:123456789012:intake-dlq",
}


def _loaded_after(code: str, *paths: str, watch: tuple[str, ...] = HEAVY) -> set[str]:
    program = (
        "import json, sys\n"
        f"sys.path[:0] = {[str(ROOT / 'layers/capss'), *paths]!r}\n"
        f"{code}\n"
        f"print(json.dumps(sorted(m for m in {watch!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env=SET_UP_ENV,
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("function", sorted(USES))
def test_a_handler_loads_exactly_the_sdks_its_function_uses(function: str) -> None:
    # At import, in the Lambda init phase: the first event then pays for nothing but its work.
    loaded = _loaded_after("import app", str(ROOT / "functions" / function))
    assert loaded == USES[function]


def test_the_pipeline_and_the_public_surface_load_no_sdk() -> None:
    code = "import capss, capss.pipeline.submit, capss.pipeline.poll, capss.pipeline.finish"
    assert _loaded_after(code) == set()


@pytest.mark.parametrize("function", ["submit", "status", "finish", "monitor"])
def test_a_functions_set_up_creates_no_aws_client(function: str) -> None:
    # A client (and the first one's botocore session) is paid for when its service is called.
    code = (
        f"import app, boto3\nfrom capss.aws.{function}_function import runtime\nruntime()\n"
        "assert boto3.DEFAULT_SESSION is None, 'a client was created at set-up'\n"
    )
    assert _loaded_after(code, str(ROOT / "functions" / function)) == USES[function]


def test_the_submit_function_reads_its_csv_mapping_at_the_first_export_only() -> None:
    code = "import app\nfrom capss.aws.submit_function import runtime\nruntime()\n"
    watch = ("capss.intake.convert", "tomllib")
    assert _loaded_after(code, str(ROOT / "functions" / "submit"), watch=watch) == set()
