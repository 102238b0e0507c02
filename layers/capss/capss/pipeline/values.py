"""The values that cross the ports: plain data, importing nothing of the pipeline back.

The protocols in `capss.pipeline.ports` name these, and the modules that make them
(`alerts`, `credentials`) import the protocols: holding the values here keeps that a line,
not a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from capss.bounds import clip

LICENSE_ATTRIBUTE = "license"
ATTRIBUTE_LIMIT = 64
"""Characters of a message attribute's value kept (a license read from a file is unchecked)."""
AUDIENCE_ATTRIBUTE = "audience"
STORE_AUDIENCE = "store"


@dataclass(frozen=True, slots=True)
class Alert:
    """One message on the alert topic; its attributes decide which subscriptions get it.

    A store's subscription filters on `license`: an alert about one file carries its license
    and reaches ops and that store alike. An alert about many stores carries no license (ops
    only), and each store gets its own copy of its own part (`for_store`), marked with
    `audience`, which ops' subscription filters out.
    """

    subject: str
    body: str
    attributes: dict[str, str]

    def for_store(self, license_number: str) -> Alert:
        return replace(
            self,
            attributes={
                **self.attributes,
                LICENSE_ATTRIBUTE: clip(license_number, ATTRIBUTE_LIMIT),
                AUDIENCE_ATTRIBUTE: STORE_AUDIENCE,
            },
        )


@dataclass(frozen=True, slots=True)
class LicenseCredentials:
    license_number: str
    client_id: str
    client_secret: str = field(repr=False)
    api: str | None = None
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    metadata: dict[str, str]
