"""Typed settings for each function, read from its environment once per cold start.

The names are the environment variables `template.yaml` sets; a missing or malformed
value fails the cold start with a message naming the variable, so a bad deployment
shows up on the first file, not halfway through it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from capss.errors import NeedsPersonError
from capss.kinds import ON_DUP_CHOICES, ON_ERROR_CHOICES, SKIP_DUPLICATES, CustomerFields
from capss.pipeline import advice
from capss.pipeline.records import RETENTION_DAYS


class SettingsError(NeedsPersonError):
    """The function's environment is incomplete or malformed: a deployment problem."""

    hint = advice.SETTINGS


def _text(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        if default is not None:
            return default
        raise SettingsError(f"environment variable {name} is not set")
    return value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name}={raw!r} is not a number") from None
    if value < 0:
        raise SettingsError(f"environment variable {name}={raw!r} must not be negative")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _text(env, name, default)
    if value not in choices:
        raise SettingsError(f"environment variable {name}={value!r} is not one of {choices}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return _choice(env, name, "false", ("true", "false")) == "true"


@dataclass(frozen=True, slots=True)
class CapssSettings:
    """How to reach CAPSS; a license's secret may override base_url and api."""

    base_url: str
    api: str
    secret_prefix: str
    tls_ciphers: str
    ca_bundle: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CapssSettings:
        return cls(
            base_url=_text(env, "CAPSS_BASE_URL").rstrip("/"),
            api=_choice(env, "CAPSS_API", "current", ("current", "legacy")),
            secret_prefix=_text(env, "CAPSS_SECRET_PREFIX", "capss/"),
            tls_ciphers=_text(env, "CAPSS_TLS_CIPHERS", "DEFAULT"),
            ca_bundle=env.get("CAPSS_CA_BUNDLE") or None,
        )


NO_DEPLOYMENT = advice.Deployment()
"""The template's defaults, for settings built without an environment (tests)."""


def deployment(env: Mapping[str, str], *, queue: bool = False) -> advice.Deployment:
    """The stack's own names, for advice that ops can paste; `queue`: the intake DLQ's too."""
    return advice.Deployment(
        stack_name=_text(env, "STACK_NAME", advice.DEFAULT_STACK),
        secret_prefix=_text(env, "CAPSS_SECRET_PREFIX", advice.DEFAULT_SECRET_PREFIX),
        intake_dlq_arn=(env.get("INTAKE_DLQ_ARN") or None) if queue else None,
    )


@dataclass(frozen=True, slots=True)
class PollSettings:
    """The poll budget: first wait (also the shortest), growth, cap, and the total CAPSS gets."""

    first_wait_seconds: int
    max_wait_seconds: int
    wait_share: float
    """Each wait is this share of the time already waited (0: a fixed first_wait_seconds)."""
    budget_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PollSettings:
        first = int(_number(env, "POLL_FIRST_WAIT_SECONDS", 20))
        return cls(
            first_wait_seconds=max(first, 1),
            max_wait_seconds=max(int(_number(env, "POLL_MAX_WAIT_SECONDS", 900)), first, 1),
            wait_share=_number(env, "POLL_WAIT_SHARE", 0.5),
            budget_seconds=int(_number(env, "POLL_BUDGET_SECONDS", 86400)),
        )


@dataclass(frozen=True, slots=True)
class SubmitSettings:
    table_name: str
    topic_arn: str
    state_machine_arn: str
    capss: CapssSettings
    poll: PollSettings
    on_dup: str
    on_error: str
    xsd_uri: str | None
    max_file_bytes: int
    max_receives: int
    alert_on_complete: bool
    deployment: advice.Deployment = NO_DEPLOYMENT
    event_bus: str | None = None
    """The outcome events' EventBridge bus; none are published without one."""
    csv_mapping: str = "aimsi-report-wizard"
    """The shipped mapping that converts files under incoming/csv/<license>/."""
    stores_table_name: str = ""
    """The register: who may upload for which license, each store's zone, and where
    quiet-day markers are recorded."""
    presign_role_id: str | None = None
    """The presign function's role id (AROA...): its uploads file only for the license the
    URL signed."""
    customer_fields: CustomerFields = CustomerFields.ON_FILE
    """What a file whose customer fields hold data becomes (`capss.pipeline.onfile`)."""
    retention_days: int = RETENTION_DAYS
    """Days a record is kept after the file arrived (the table's TTL)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SubmitSettings:
        env = os.environ if env is None else env
        return cls(
            table_name=_text(env, "TABLE_NAME"),
            topic_arn=_text(env, "TOPIC_ARN"),
            state_machine_arn=_text(env, "STATE_MACHINE_ARN"),
            capss=CapssSettings.from_env(env),
            poll=PollSettings.from_env(env),
            on_dup=_choice(env, "CAPSS_ON_DUP", SKIP_DUPLICATES, ON_DUP_CHOICES),
            on_error=_choice(env, "CAPSS_ON_ERROR", "submit", ON_ERROR_CHOICES),
            xsd_uri=env.get("CAPSS_XSD_URI") or None,
            max_file_bytes=int(_number(env, "MAX_FILE_BYTES", 50 * 1024 * 1024)),
            max_receives=max(int(_number(env, "INTAKE_MAX_RECEIVES", 5)), 1),
            alert_on_complete=_flag(env, "ALERT_ON_COMPLETE"),
            deployment=deployment(env, queue=True),
            event_bus=env.get("EVENT_BUS_NAME") or None,
            csv_mapping=_text(env, "CSV_MAPPING", "aimsi-report-wizard"),
            stores_table_name=_text(env, "STORES_TABLE_NAME"),
            presign_role_id=env.get("PRESIGN_ROLE_ID") or None,
            customer_fields=CustomerFields(
                _choice(
                    env,
                    "CUSTOMER_FIELDS",
                    CustomerFields.ON_FILE.value,
                    tuple(choice.value for choice in CustomerFields),
                )
            ),
            retention_days=int(_number(env, "RETENTION_DAYS", RETENTION_DAYS)),
        )


@dataclass(frozen=True, slots=True)
class StatusSettings:
    capss: CapssSettings
    poll: PollSettings
    topic_arn: str | None = None
    """Where an answer the bridge cannot classify is told; none: not told (tests)."""
    deployment: advice.Deployment = NO_DEPLOYMENT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StatusSettings:
        env = os.environ if env is None else env
        return cls(
            capss=CapssSettings.from_env(env),
            poll=PollSettings.from_env(env),
            topic_arn=_text(env, "TOPIC_ARN"),
            deployment=deployment(env),
        )


@dataclass(frozen=True, slots=True)
class FinishSettings:
    table_name: str
    topic_arn: str
    alert_on_complete: bool
    deployment: advice.Deployment = NO_DEPLOYMENT
    event_bus: str | None = None
    intake_dlq_arn: str = ""
    """The intake dead-letter queue the sweep reads."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FinishSettings:
        env = os.environ if env is None else env
        return cls(
            table_name=_text(env, "TABLE_NAME"),
            topic_arn=_text(env, "TOPIC_ARN"),
            alert_on_complete=_flag(env, "ALERT_ON_COMPLETE"),
            deployment=deployment(env, queue=True),
            event_bus=env.get("EVENT_BUS_NAME") or None,
            intake_dlq_arn=_text(env, "INTAKE_DLQ_ARN"),
        )


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    table_name: str
    stores_table_name: str
    topic_arn: str
    extra_holidays: frozenset[date]
    """Days the holidays package lacks (e.g. Native American Day): not business days."""
    removed_holidays: frozenset[date]
    """Days the package counts as holidays that the chain treats as business days."""
    chain_closures: frozenset[date]
    """Days the whole chain is closed: no store owes a report of them."""
    lookback_days: int
    """How many days back the final check keeps naming an unreported day."""
    stuck_after_minutes: int
    reports_bucket: str | None = None
    """Where the monthly page is written (the intake bucket, under reports/)."""
    chain: str = ""
    """The stack's name: the monthly page's title."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MonitorSettings:
        env = os.environ if env is None else env
        return cls(
            table_name=_text(env, "TABLE_NAME"),
            stores_table_name=_text(env, "STORES_TABLE_NAME"),
            topic_arn=_text(env, "TOPIC_ARN"),
            extra_holidays=_dates(env, "EXTRA_HOLIDAYS"),
            removed_holidays=_dates(env, "REMOVED_HOLIDAYS"),
            chain_closures=_dates(env, "CHAIN_CLOSURES"),
            lookback_days=max(int(_number(env, "MONITOR_LOOKBACK_DAYS", 7)), 1),
            stuck_after_minutes=max(int(_number(env, "STUCK_AFTER_MINUTES", 120)), 1),
            reports_bucket=env.get("REPORTS_BUCKET") or None,
            chain=env.get("STACK_NAME", ""),
        )


def _dates(env: Mapping[str, str], name: str) -> frozenset[date]:
    days = set()
    for part in env.get(name, "").replace(";", ",").split(","):
        if part.strip():
            try:
                days.add(date.fromisoformat(part.strip()))
            except ValueError:
                raise SettingsError(
                    f"environment variable {name}: {part.strip()[:20]!r} is not a date (YYYY-MM-DD)"
                ) from None
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class PresignSettings:
    bucket_name: str
    upload_seconds: int
    stores_table_name: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PresignSettings:
        env = os.environ if env is None else env
        return cls(
            bucket_name=_text(env, "BUCKET_NAME"),
            upload_seconds=min(max(int(_number(env, "UPLOAD_URL_SECONDS", 300)), 1), 3600),
            stores_table_name=_text(env, "STORES_TABLE_NAME"),
        )
