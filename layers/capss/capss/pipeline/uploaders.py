"""Who put a file into the bucket, and whether the register lets them file for its license.

A report in CAPSS is a legal statement by the licensee it names, so the bridge sends a file
only when the principal that uploaded it (the S3 event's `userIdentity.principalId`) is
registered for the file's license: as one of that store's uploaders, or as a chain-wide
uploader (the chain's own export job). IAM scopes each upload credential to its licenses'
folders too; either lock alone keeps a store's credential from filing for another store.

Principals as AWS writes them: an IAM user is `AWS:AIDA...`, an assumed role
`AWS:AROA...:<session name>`. The register names an IAM user by its id, a role by its id
(any session) or by id and session name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from capss.bounds import clip

PRINCIPAL_LIMIT = 200
"""Characters of an event's principal id kept (a role id, a colon, a session name of 64)."""
ADDRESS_LIMIT = 64
AWS_PREFIX = "AWS:"
ANY_LICENSE = "*"
"""A chain-wide uploader may file for every license, and drop license-less keys."""
_PATTERN = re.compile(r"^(AIDA[A-Z0-9]{8,60}|AROA[A-Z0-9]{8,60}(:[\w+=,.@-]{2,64})?)$")


class UploaderError(ValueError):
    """Not a principal the register can hold: the message says what is allowed."""


def uploader_pattern(text: str) -> str:
    """A register entry from what a person typed: `AIDA...`, `AROA...` or `AROA...:session`,
    with or without the `AWS:` that S3 events put in front."""
    value = text.strip()
    value = value.removeprefix(AWS_PREFIX)
    if not _PATTERN.match(value):
        raise UploaderError(
            f"uploader {text[:80]!r}: give an IAM user's id (AIDA...), a role's id (AROA...,"
            " any session) or a role's id and session (AROA...:session); `aws iam get-user"
            " --query User.UserId` or `aws iam get-role --query Role.RoleId` prints it"
        )
    return value


def matches(pattern: str, principal: str) -> bool:
    """Whether an S3 event's principal is the one a register entry names.

    A role's id alone stands for any of its sessions; the colon after it keeps `AROAX` from
    matching a longer id that starts the same.
    """
    principal = principal.removeprefix(AWS_PREFIX)
    if pattern.startswith("AROA") and ":" not in pattern:
        return principal.startswith(pattern + ":")
    return principal == pattern


@dataclass(frozen=True, slots=True)
class Uploader:
    """Who uploaded a file version, from its S3 event (each value bounded)."""

    principal: str | None
    source_ip: str | None = None
    time: str | None = None

    @classmethod
    def from_event_record(cls, record: Mapping[str, Any]) -> Uploader:
        identity = record.get("userIdentity") or {}
        request = record.get("requestParameters") or {}
        return cls(
            principal=_text(identity.get("principalId"), PRINCIPAL_LIMIT),
            source_ip=_text(request.get("sourceIPAddress"), ADDRESS_LIMIT),
            time=_text(record.get("eventTime"), ADDRESS_LIMIT),
        )

    @property
    def described(self) -> str:
        who = self.principal or "an unknown principal (the S3 event named none)"
        return f"{who} from {self.source_ip}" if self.source_ip else who


@dataclass(frozen=True, slots=True)
class Allowed:
    """The register's answer for one license: who may file for it."""

    store: frozenset[str] = frozenset()
    """Entries registered for this license only."""
    chain: frozenset[str] = frozenset()
    """Entries registered for every license."""
    presign_role: str | None = None
    """The presign function's role id: allowed only for the license its URL signed."""

    def permits(
        self, principal: str | None, key_license: str | None, signed_license: str | None
    ) -> bool:
        """Whether `principal` may file under `key_license` (None: a license-less key)."""
        if not principal:
            return False
        if any(matches(pattern, principal) for pattern in self.chain):
            return True
        if key_license is None:
            return False
        if self.presign_role and matches(self.presign_role, principal):
            return signed_license == key_license
        return any(matches(pattern, principal) for pattern in self.store)


def patterns(values: Iterable[str]) -> frozenset[str]:
    """Entries read back from the register; one no longer valid is left out (never matches)."""
    kept = set()
    for value in values:
        try:
            kept.add(uploader_pattern(str(value)))
        except UploaderError:
            continue
    return frozenset(kept)


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return clip("".join(c if c.isprintable() else "?" for c in value[: limit * 2]), limit)
