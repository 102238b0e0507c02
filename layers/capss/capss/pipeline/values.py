"""The values that cross the ports: plain data, importing nothing of the pipeline back.

The protocols in `capss.pipeline.ports` name these, and the modules that make them
(`alerts`, `credentials`) import the protocols: holding the values here keeps that a line,
not a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    body: str
    attributes: dict[str, str]
    lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Attributes with several values (SNS String.Array): an alert naming several stores
    reaches each store's filtered subscription."""


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
