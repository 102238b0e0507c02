"""Regression tests of issue 13 where AWS's behaviour matters: moto for AWS, the simulator."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from capss import Outcome
from capss.pipeline.submit import submit_file

from local.simulator import Fault
from tests.conftest import SAMPLE_FILES
from tests.integration.pipeline.conftest import Pipeline

CLEAN = "store-0300-clean.xml"
CLEAN_KEY = "incoming/transactions/000000300/store-0300-clean.xml"
SNS_LIMIT = 256 * 1024


def test_a_two_megabyte_license_is_rejected_before_it_becomes_a_key(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Defect 2: the license would be a DynamoDB key (2,048 bytes at most), a secret name and
    an alert attribute; it is checked first, so the file gets its outcome and its alert."""
    huge = "9" * (2 * 1024 * 1024)
    text = (SAMPLE_FILES / CLEAN).read_text(encoding="utf-8")
    path = tmp_path / "huge-license.xml"
    path.write_text(text.replace('licenseNumber="000000300"', f'licenseNumber="{huge}"', 1))
    ref = pipeline.drop(path, "incoming/transactions/huge-license.xml")
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    assert record.outcome is Outcome.REJECTED
    assert record.license is None
    assert [p["code"] for p in record.problems if p["severity"] == "error"] == ["license-format"]
    assert len(record.problems[0]["message"]) < 200
    assert pipeline.uploads() == 0
    (alert,) = pipeline.alerts.sent
    assert len(alert.body.encode()) < SNS_LIMIT
    assert "is not a dealer license" in alert.body


def test_a_400_naming_onDup_fails_with_the_parameter_to_change(pipeline: Pipeline) -> None:
    """Defect 6: the current generation is sent submitWithoutDups by default; a CAPSS that
    refuses it says so in a 400, and the alert names the parameter and the other spelling."""
    pipeline.submit_settings = dataclasses.replace(
        pipeline.submit_settings, on_dup="skipDuplicates"
    )
    pipeline.sim.inject(
        Fault.error(400, "upload", body={"message": "Invalid onDup value: submitWithoutDups"})
    )
    ref = pipeline.drop(CLEAN, CLEAN_KEY)
    record = submit_file(ref, pipeline.submit, pipeline.submit_settings)
    (upload,) = [r for r in pipeline.sim.requests if r.endpoint == "upload"]
    assert upload.query["onDup"] == "submitWithoutDups"
    assert record.outcome is Outcome.FAILED
    (alert,) = pipeline.alerts.sent
    assert "set the stack's OnDup parameter" in alert.body
    assert "submitWithoutDup or submitWithoutDups" in alert.body
    assert "Then drop the file again." in alert.body
    # The advice holds: the file was never taken, so dropping it again sends it.
    again = pipeline.drop(CLEAN, CLEAN_KEY)
    assert submit_file(again, pipeline.submit, pipeline.submit_settings).submission_id
