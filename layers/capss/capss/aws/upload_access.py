"""The IAM policy that lets a POS drop files for its own licenses and nothing else.

The template's `PosUploaderPolicy` (and so the POS vendor role), `capss stores policy` and the
documentation's example are this one document: a test renders it and compares it with the
template's. In an S3 ARN `*` also matches `/`, so a grant never puts a wildcard before the
license (`incoming/*/<license>/*` would let store 300 write
`incoming/transactions/000000301/000000300/day.xml`, a file under 301's folder); each kind's
folder is named, and a Deny refuses any key deeper than `incoming/<kind>/<license>/<name>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capss.kinds import FileKind
from capss.pipeline.files import CSV_SEGMENT, INCOMING_PREFIX

FOLDERS = (FileKind.TRANSACTIONS.value, FileKind.ITEM_UPDATES.value, CSV_SEGMENT)
DEEPER_THAN_THE_LAYOUT = f"{INCOMING_PREFIX}*/*/*/*"
"""Four slashes or more: one folder deeper than `incoming/<kind>/<license>/<name>`."""


def upload_policy(bucket_arn: str, licenses: Sequence[str] = ()) -> dict[str, Any]:
    """s3:PutObject for each license's folders; without licenses, the chain's own uploader's
    (every kind's folder, license-less keys included)."""
    if licenses:
        places = [f"{folder}/{license}/*" for license in licenses for folder in FOLDERS]
    else:
        places = [f"{folder}/*" for folder in FOLDERS]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DropFiles",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": [f"{bucket_arn}/{INCOMING_PREFIX}{place}" for place in places],
            },
            {
                "Sid": "NothingDeeperThanTheLayout",
                "Effect": "Deny",
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{DEEPER_THAN_THE_LAYOUT}",
            },
        ],
    }


def bucket_arn(bucket: str, region: str | None) -> str:
    partition = "aws"
    if region and region.startswith("us-gov-"):
        partition = "aws-us-gov"
    elif region and region.startswith("cn-"):
        partition = "aws-cn"
    return f"arn:{partition}:s3:::{bucket}"
