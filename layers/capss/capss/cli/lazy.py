"""The one way the `capss` command loads a command's heavy dependencies: on first use.

`capss token`, `--help` and `submit` must start quickly, so boto3, httpx, lxml and holidays
load only inside the commands that use them. A command names a module here
(`lazy.stores.ExpectedStore`); the module is imported the first time it is named, and the
type checker sees the real module through the TYPE_CHECKING imports below.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib import metadata

    from capss.aws import ops as aws_ops
    from capss.aws import upload_access
    from capss.client import client
    from capss.compliance import calendar, monitor, page, stores
    from capss.compliance import report as compliance_report
    from capss.intake import convert, reader, report, validate, xsd
    from capss.pipeline import presign

MODULES = {
    "aws_ops": "capss.aws.ops",
    "calendar": "capss.compliance.calendar",
    "client": "capss.client.client",
    "compliance_report": "capss.compliance.report",
    "convert": "capss.intake.convert",
    "metadata": "importlib.metadata",
    "monitor": "capss.compliance.monitor",
    "page": "capss.compliance.page",
    "presign": "capss.pipeline.presign",
    "reader": "capss.intake.reader",
    "report": "capss.intake.report",
    "stores": "capss.compliance.stores",
    "upload_access": "capss.aws.upload_access",
    "validate": "capss.intake.validate",
    "xsd": "capss.intake.xsd",
}

__all__ = [
    "aws_ops",
    "calendar",
    "client",
    "compliance_report",
    "convert",
    "metadata",
    "monitor",
    "page",
    "presign",
    "reader",
    "report",
    "stores",
    "upload_access",
    "validate",
    "xsd",
]


def __getattr__(name: str) -> ModuleType:
    try:
        path = MODULES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(path)
    globals()[name] = module
    return module
