"""One store, one license, at the IAM lock: a credential scoped to 000000300 tries every key
shape under moto's IAM enforcement, as an IAM user holding the template's policy and as the
assumed POS vendor role. Only the store's own three folders may be written.

The same suite run on a deliberately broken policy (`incoming/*/<license>/*`, where `*` also
matches `/`) must fail: a test keeps it able to tell.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from capss.aws.upload_access import upload_policy
from moto.core import set_initial_no_auth_action_count

from local.stack._template import Template
from tests.infrastructure.cfn import TEMPLATE
from tests.infrastructure.test_upload_access import BUCKET, _resolved, _uploader

MINE, OTHER = "000000300", "000000301"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
OWN_FOLDERS = {
    f"incoming/transactions/{MINE}/day.xml",
    f"incoming/item-updates/{MINE}/fix.xml",
    f"incoming/csv/{MINE}/day.csv",
}
REFUSED = {
    # another license
    f"incoming/transactions/{OTHER}/day.xml": "another license",
    f"incoming/item-updates/{OTHER}/fix.xml": "another license",
    f"incoming/csv/{OTHER}/day.csv": "another license",
    f"incoming/transactions/{MINE}1/day.xml": "a license that starts like its own",
    # deeper than <kind>/<license>/<name>: the route reads the first segment as the license
    f"incoming/transactions/{OTHER}/{MINE}/day.xml": "deeper, another license first",
    f"incoming/item-updates/{OTHER}/{MINE}/fix.xml": "deeper, another license first",
    f"incoming/csv/{OTHER}/{MINE}/day.csv": "deeper, another license first",
    f"incoming/{OTHER}/{MINE}/day.xml": "a license as the kind",
    f"incoming/transactions/{MINE}/more/day.xml": "deeper under its own license",
    f"incoming/transactions/{MINE}/{MINE}/day.xml": "deeper under its own license",
    # license-less: the file's own licenseNumber would decide
    "incoming/transactions/day.xml": "license-less",
    "incoming/item-updates/fix.xml": "license-less",
    # other kinds, other places
    f"incoming/{MINE}/day.xml": "no kind",
    f"incoming/other/{MINE}/day.xml": "an unknown kind",
    f"incoming/Transactions/{MINE}/day.xml": "a kind spelt otherwise",
    f"converted/csv/{MINE}/day.csv.xml": "outside incoming/",
    f"incomingx/transactions/{MINE}/day.xml": "outside incoming/",
    f"{MINE}/day.xml": "outside incoming/",
    "day.xml": "the bucket's root",
}
SHAPES = sorted(OWN_FOLDERS | REFUSED.keys())
USER_SETUP_CALLS = 7
ROLE_SETUP_CALLS = 5
EXTERNAL_ID = "pos-vendor-ext-id-42"


def _puts(pos: Any) -> dict[str, bool]:
    allowed = {}
    for key in SHAPES:
        try:
            pos.put_object(Bucket=BUCKET, Key=key, Body=b"<capssUpload/>")
        except ClientError as error:
            allowed[key] = False
            code = error.response["Error"]["Code"]
        else:
            allowed[key], code = True, None
        assert code in (None, "AccessDenied"), key
    return allowed


@set_initial_no_auth_action_count(USER_SETUP_CALLS)
def _as_user(document: dict[str, Any]) -> dict[str, bool]:
    return _puts(_uploader(document))


@set_initial_no_auth_action_count(ROLE_SETUP_CALLS)
def _as_vendor_role(document: dict[str, Any]) -> dict[str, bool]:
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    policy = iam.create_policy(PolicyName="uploader", PolicyDocument=json.dumps(document))
    trust = _resolved(
        "PosVendorRole",
        {"PosVendorAccountId": "123456789012", "PosVendorExternalId": EXTERNAL_ID},
    )["AssumeRolePolicyDocument"]
    role = iam.create_role(RoleName="pos-vendor", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="pos-vendor", PolicyArn=policy["Policy"]["Arn"])
    credentials = boto3.client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="pos", ExternalId=EXTERNAL_ID
    )["Credentials"]
    return _puts(
        boto3.client(
            "s3",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    )


def _breaches(allowed: dict[str, bool]) -> dict[str, str]:
    """Each key shape the credential got wrong, with why it should have gone the other way."""
    wrong = {key: REFUSED[key] for key in REFUSED if allowed[key]}
    wrong.update({key: "its own folder, refused" for key in OWN_FOLDERS if not allowed[key]})
    return wrong


def _template_policy(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = _resolved("PosUploaderPolicy", parameters)["PolicyDocument"]
    return document


@pytest.mark.parametrize("credential", [_as_user, _as_vendor_role], ids=["user", "vendor-role"])
def test_a_store_credential_writes_its_own_folders_and_nothing_else(
    aws: None, credential: Any
) -> None:
    allowed = credential(_template_policy({"UploaderLicense": MINE}))
    assert _breaches(allowed) == {}


def test_the_suite_catches_a_wildcard_before_the_license(aws: None) -> None:
    # What the template granted before: `*` matches `/`, so 300 could write under 301's folder.
    broken = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{BUCKET_ARN}/incoming/*/{MINE}/*",
            }
        ],
    }
    breaches = _breaches(_as_user(broken))
    assert f"incoming/transactions/{OTHER}/{MINE}/day.xml" in breaches
    assert f"incoming/csv/{OTHER}/{MINE}/day.csv" in breaches
    assert f"incoming/{OTHER}/{MINE}/day.xml" in breaches


def test_the_chain_uploader_writes_every_folder_but_nothing_deeper_or_elsewhere(
    aws: None,
) -> None:
    allowed = _as_user(_template_policy())
    refused = {key for key, ok in allowed.items() if not ok}
    assert {key for key, ok in allowed.items() if ok} >= OWN_FOLDERS
    assert f"incoming/transactions/{OTHER}/day.xml" not in refused
    assert "incoming/transactions/day.xml" not in refused  # license-less: chain-wide only
    assert {key for key, why in REFUSED.items() if "deeper" in why} <= refused
    assert {key for key, why in REFUSED.items() if "outside" in why or "kind" in why} <= refused


@pytest.mark.parametrize("license_number", ["", MINE])
def test_the_templates_policy_is_the_one_the_code_renders(license_number: str) -> None:
    parameters = {"UploaderLicense": license_number} if license_number else None
    licenses = [license_number] if license_number else []
    assert _template_policy(parameters) == upload_policy(BUCKET_ARN, licenses)


def test_a_vendor_serving_two_stores_gets_both_and_only_both(aws: None) -> None:
    allowed = _as_user(upload_policy(BUCKET_ARN, [MINE, "000000302"]))
    assert allowed[f"incoming/transactions/{MINE}/day.xml"]
    assert _breaches(allowed) == {}  # 302's folders are not among the shapes tried
    assert upload_policy(BUCKET_ARN, [MINE, "000000302"])["Statement"][0]["Resource"][3:] == [
        f"{BUCKET_ARN}/incoming/transactions/000000302/*",
        f"{BUCKET_ARN}/incoming/item-updates/000000302/*",
        f"{BUCKET_ARN}/incoming/csv/000000302/*",
    ]


def test_the_template_has_one_uploader_policy_shared_by_the_vendor_role() -> None:
    stack = Template.load(
        TEMPLATE, {"PosVendorAccountId": "111122223333", "PosVendorExternalId": EXTERNAL_ID}
    )
    role = stack.resources["PosVendorRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": "PosUploaderPolicy"}]
    assert "Policies" not in role
