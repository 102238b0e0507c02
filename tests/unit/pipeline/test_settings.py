"""Settings fail at cold start, naming the variable."""

from __future__ import annotations

import pytest
from capss.pipeline.settings import SettingsError, SubmitSettings

BASE = {
    "TABLE_NAME": "t",
    "STORES_TABLE_NAME": "stores",
    "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:poller",
    "CAPSS_BASE_URL": "https://capss-sb.doj.ca.gov/",
}


def test_defaults() -> None:
    settings = SubmitSettings.from_env(BASE)
    assert settings.capss.base_url == "https://capss-sb.doj.ca.gov"
    assert settings.capss.api == "current"
    assert settings.capss.tls_ciphers == "DEFAULT"
    assert settings.on_dup == "skipDuplicates"
    assert settings.on_error == "submit"
    assert settings.xsd_uri is None
    # The seller's identity is not sent unless the chain chose to; records expire after 1127 days.
    assert settings.customer_fields == "on-file"
    assert settings.retention_days == 1127


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TABLE_NAME", "", "TABLE_NAME is not set"),
        ("STORES_TABLE_NAME", "", "STORES_TABLE_NAME is not set"),
        ("CAPSS_API", "v3", "CAPSS_API='v3'"),
        ("CAPSS_ON_DUP", "skipDups", "CAPSS_ON_DUP='skipDups'"),
        ("MAX_FILE_BYTES", "lots", "MAX_FILE_BYTES='lots' is not a number"),
        ("CUSTOMER_FIELDS", "strip", "CUSTOMER_FIELDS='strip'"),
        ("RETENTION_DAYS", "-1", "RETENTION_DAYS='-1' must not be negative"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        SubmitSettings.from_env({**BASE, name: value})


def test_both_spellings_of_skip_duplicates_are_accepted() -> None:
    # CAPSS's exact spelling is unknown: an operator switches without a code change.
    for spelling in ("submitWithoutDup", "submitWithoutDups"):
        assert SubmitSettings.from_env({**BASE, "CAPSS_ON_DUP": spelling}).on_dup == spelling
