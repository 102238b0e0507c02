"""The POS's upload access, evaluated: the template's policy attached in moto, which enforces
IAM on each S3 call, then tried the way a POS (or a mistaken one) would use it."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto.core import set_initial_no_auth_action_count

from local.stack._template import Template
from tests.infrastructure.cfn import TEMPLATE

BUCKET = "capss-intake-123456789012-test"
MINE = "incoming/transactions/000000300/day.xml"
UPLOADER_SETUP_CALLS = 7
ROLE_SETUP_CALLS = 5
"""Calls made with the test's own credentials (in `_uploader`, or before assuming the role)
before moto starts enforcing IAM: every later call is judged by the policy."""


def _resolved(logical_id: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    stack = Template.load(TEMPLATE, parameters)
    stack.refs.update({"PosUploaderPolicy": "arn:aws:iam::123456789012:policy/uploader"})
    stack.attributes["IntakeBucket"] = {"Arn": f"arn:aws:s3:::{BUCKET}"}
    assert stack.included(logical_id), f"{logical_id} is not in the stack with {parameters}"
    props: dict[str, Any] = stack.resolve(stack.resources[logical_id]["Properties"])
    return props


def _uploader(document: dict[str, Any]) -> Any:
    """An S3 client holding only the policy, as a chain's uploader user would."""
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key="incoming/transactions/000000301/other-store.xml", Body=b"x")
    arn = iam.create_policy(PolicyName="uploader", PolicyDocument=json.dumps(document))["Policy"][
        "Arn"
    ]
    iam.create_user(UserName="pos")
    iam.attach_user_policy(UserName="pos", PolicyArn=arn)
    key = iam.create_access_key(UserName="pos")["AccessKey"]
    return boto3.client(
        "s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def _denied(call: Any, **kwargs: Any) -> bool:
    try:
        call(Bucket=BUCKET, **kwargs)
    except ClientError as error:
        return bool(error.response["Error"]["Code"] == "AccessDenied")
    return False


@set_initial_no_auth_action_count(UPLOADER_SETUP_CALLS)
def _try_everything(document: dict[str, Any]) -> dict[str, bool]:
    pos = _uploader(document)
    other = "incoming/transactions/000000301/other-store.xml"
    return {
        "put mine": not _denied(pos.put_object, Key=MINE, Body=b"<capssUpload/>"),
        "put csv": not _denied(pos.put_object, Key="incoming/csv/000000300/d.csv", Body=b"a"),
        "put other store": not _denied(pos.put_object, Key=other, Body=b"x"),
        "put outside incoming": not _denied(pos.put_object, Key="converted/x.xml", Body=b"x"),
        "put at the root": not _denied(pos.put_object, Key="day.xml", Body=b"x"),
        "read": not _denied(pos.get_object, Key=other),
        "delete": not _denied(pos.delete_object, Key=other),
        "list": not _denied(pos.list_objects_v2),
        "tag": not _denied(
            pos.put_object_tagging,
            Key=other,
            Tagging={"TagSet": [{"Key": "capss-outcome", "Value": "complete"}]},
        ),
    }


def test_the_uploader_may_only_drop_files_under_incoming(aws: None) -> None:
    allowed = _try_everything(_resolved("PosUploaderPolicy")["PolicyDocument"])
    assert allowed == {
        "put mine": True,
        "put csv": True,
        "put other store": True,
        "put outside incoming": False,
        "put at the root": False,
        "read": False,
        "delete": False,
        "list": False,
        "tag": False,
    }


def test_one_license_uploader_reaches_its_own_store_only(aws: None) -> None:
    document = _resolved("PosUploaderPolicy", {"UploaderLicense": "000000300"})["PolicyDocument"]
    allowed = _try_everything(document)
    assert {name for name, ok in allowed.items() if ok} == {"put mine", "put csv"}


def test_the_pos_vendor_role_exists_only_when_asked_and_needs_the_external_id() -> None:
    assert not Template.load(TEMPLATE).included("PosVendorRole")
    props = _resolved(
        "PosVendorRole",
        {"PosVendorAccountId": "111122223333", "PosVendorExternalId": "pos-vendor-ext-id-42"},
    )
    (statement,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "pos-vendor-ext-id-42"}}
    assert props["ManagedPolicyArns"] == ["arn:aws:iam::123456789012:policy/uploader"]
    assert "Policies" not in props


@set_initial_no_auth_action_count(ROLE_SETUP_CALLS)
def test_the_assumed_vendor_role_drops_files_and_reads_nothing(aws: None) -> None:
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    document = _resolved("PosUploaderPolicy")["PolicyDocument"]
    policy = iam.create_policy(PolicyName="uploader", PolicyDocument=json.dumps(document))
    trust = _resolved(
        "PosVendorRole",
        {"PosVendorAccountId": "123456789012", "PosVendorExternalId": "pos-vendor-ext-id-42"},
    )["AssumeRolePolicyDocument"]
    role = iam.create_role(RoleName="pos-vendor", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="pos-vendor", PolicyArn=policy["Policy"]["Arn"])
    credentials = boto3.client("sts").assume_role(
        RoleArn=role["Role"]["Arn"], RoleSessionName="pos", ExternalId="pos-vendor-ext-id-42"
    )["Credentials"]
    pos = boto3.client(
        "s3",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert not _denied(pos.put_object, Key=MINE, Body=b"<capssUpload/>")
    assert _denied(pos.get_object, Key=MINE)
    assert _denied(pos.delete_object, Key=MINE)
    assert _denied(pos.put_object, Key="elsewhere/day.xml", Body=b"x")
