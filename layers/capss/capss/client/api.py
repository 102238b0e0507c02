"""The two CAPSS API generations: which paths and multipart fields each uses (docs/capss-api.md)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from capss.kinds import FileKind

SANDBOX_URL = "https://capss-sb.doj.ca.gov"
PRODUCTION_URL = "https://capss.doj.ca.gov"


class Api(enum.StrEnum):
    CURRENT = "current"
    """The sandbox since 2025 and production since about 2026: /oauth2/token, /api/bulkimport."""
    LEGACY = "legacy"
    """Production as documented 2016-2022: /oauth/token, /api/bulkupload."""


@dataclass(frozen=True, slots=True)
class Endpoints:
    oauth_path: str
    upload: dict[FileKind, str]
    skip_duplicates: str
    """onDup's "skip duplicates" as this generation is known to accept it."""


_ENDPOINTS = {
    Api.CURRENT: Endpoints(
        oauth_path="/oauth2/token",
        upload={
            FileKind.TRANSACTIONS: "/api/bulkimport/save",
            FileKind.ITEM_UPDATES: "/api/itemupdate/updateItem",
        },
        # The only public client of this generation (2026) sends this to /api/bulkimport/save.
        skip_duplicates="submitWithoutDups",
    ),
    Api.LEGACY: Endpoints(
        oauth_path="/oauth/token",
        upload={
            FileKind.TRANSACTIONS: "/api/bulkupload/save",
            FileKind.ITEM_UPDATES: "/api/itemupdate/updateItem",
        },
        # The DOJ's document for this generation spells it so.
        skip_duplicates="submitWithoutDup",
    ),
}

# The same in both generations.
UPLOAD_FIELD = {
    FileKind.TRANSACTIONS: "bulkUploadFile",
    FileKind.ITEM_UPDATES: "itemUpdateFile",
}

TOKEN_FORM = {"grant_type": "client_credentials", "scope": "api"}


def endpoints(api: Api) -> Endpoints:
    return _ENDPOINTS[api]
