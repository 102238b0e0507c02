"""capss: the CAPSS bridge library (shipped as the Lambda layer, used by the `capss` command).

Names load on first use, so a function imports only what it runs: the finish function
never pays for httpx or lxml.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from capss._errors import (
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
from capss._kinds import FileKind
from capss._outcome import Counts, FileResult, Outcome

if TYPE_CHECKING:
    from capss._api import Api
    from capss._client import CapssClient, ClientConfig, TokenInfo, UploadReceipt
    from capss._intake import validate_path, validate_stream
    from capss._report import Problem, Severity, ValidationReport
    from capss._status import StatusResult, normalise_status
    from capss._xmlsafe import IntakeLimits

_LAZY = {
    "Api": "capss._api",
    "CapssClient": "capss._client",
    "ClientConfig": "capss._client",
    "TokenInfo": "capss._client",
    "UploadReceipt": "capss._client",
    "validate_path": "capss._intake",
    "validate_stream": "capss._intake",
    "Problem": "capss._report",
    "Severity": "capss._report",
    "ValidationReport": "capss._report",
    "StatusResult": "capss._status",
    "normalise_status": "capss._status",
    "IntakeLimits": "capss._xmlsafe",
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
