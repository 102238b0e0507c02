"""capss: the CAPSS bridge library (shipped as the Lambda layer, used by the `capss` command).

Names load on first use, so a function imports only what it runs: the finish function
never pays for httpx or lxml.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from capss.errors import (
    BadCredentials,
    CapssError,
    CapssTimeout,
    CapssUnavailable,
    ForeignLinkRefused,
    JobNotFound,
    NeedsPersonError,
    ProtocolError,
    RateLimited,
    RequestRejected,
    TlsFailure,
    TransientError,
)
from capss.kinds import FileKind
from capss.outcome import Counts, FileResult, Outcome

if TYPE_CHECKING:
    from capss.client.api import Api
    from capss.client.client import CapssClient, ClientConfig, TokenInfo, UploadReceipt
    from capss.client.status import StatusResult, normalise_status
    from capss.intake.report import IntakeLimits, Problem, Severity, ValidationReport
    from capss.intake.validate import validate_path, validate_stream

_LAZY = {
    "Api": "capss.client.api",
    "CapssClient": "capss.client.client",
    "ClientConfig": "capss.client.client",
    "TokenInfo": "capss.client.client",
    "UploadReceipt": "capss.client.client",
    "validate_path": "capss.intake.validate",
    "validate_stream": "capss.intake.validate",
    "Problem": "capss.intake.report",
    "Severity": "capss.intake.report",
    "ValidationReport": "capss.intake.report",
    "StatusResult": "capss.client.status",
    "normalise_status": "capss.client.status",
    "IntakeLimits": "capss.intake.report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'capss' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "Api",
    "BadCredentials",
    "CapssClient",
    "CapssError",
    "CapssTimeout",
    "CapssUnavailable",
    "ClientConfig",
    "Counts",
    "FileKind",
    "FileResult",
    "ForeignLinkRefused",
    "IntakeLimits",
    "JobNotFound",
    "NeedsPersonError",
    "Outcome",
    "Problem",
    "ProtocolError",
    "RateLimited",
    "RequestRejected",
    "Severity",
    "StatusResult",
    "TlsFailure",
    "TokenInfo",
    "TransientError",
    "UploadReceipt",
    "ValidationReport",
    "normalise_status",
    "validate_path",
    "validate_stream",
]
