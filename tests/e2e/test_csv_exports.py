"""POS CSV exports under incoming/csv/<license>/: converted, kept, validated and sent like XML."""

from __future__ import annotations

from collections.abc import Callable

from capss.pipeline.converted import converted_key
from capss.pipeline.events import PROBLEMS_SHOWN
from lxml import etree

from .conftest import ROOT, Pipeline

Start = Callable[..., Pipeline]
CORPUS = ROOT / "tests" / "unit" / "intake" / "csv"


def test_a_csv_export_is_converted_kept_beside_it_and_sent(pipeline: Start) -> None:
    p = pipeline()
    export = (CORPUS / "good-aimsi.csv").read_bytes()
    dropped = p.stack.drop(export, "incoming/csv/000000300/day.csv")
    (result,) = p.finish(dropped)
    assert result.outcome == "complete", result.record
    assert result.record["kind"] == "transactions"
    assert result.record["counts"]["items"] == 3
    assert [event["detail"]["outcome"] for event in result.events] == ["processing", "complete"]
    s3 = p.stack.client("s3")
    # The export is untouched; the file CAPSS got sits under converted/ with the same path.
    original = s3.get_object(Bucket=dropped.bucket, Key=dropped.key, VersionId=dropped.version_id)
    assert original["Body"].read() == export
    converted = s3.get_object(Bucket=dropped.bucket, Key=converted_key(dropped.key))
    assert converted["Metadata"]["capss-converted-from"] == f"{dropped.key}#{dropped.version_id}"
    xml = converted["Body"].read()
    assert etree.fromstring(xml).find("bulkUploadData").get("licenseNumber") == "000000300"  # type: ignore[union-attr]
    assert any("Converted from CSV" in note for note in result.record["notes"])
    (upload,) = [r for r in p.sim.requests if r.endpoint == "upload"]
    assert upload.filename == "day.csv.xml"
    assert upload.body_size >= len(xml)
    # Nothing under converted/ starts a second submission.
    assert p.stack.poller is not None
    assert p.stack.poller.stats.messages == 1


def test_an_export_with_bad_rows_is_rejected_with_lines_and_columns(pipeline: Start) -> None:
    p = pipeline()
    dropped = p.stack.drop((CORPUS / "bad-rows.csv").read_bytes(), "incoming/csv/000000300/b.csv")
    (result,) = p.finish(dropped)
    assert result.outcome == "rejected"
    assert p.sim.count(endpoint="upload") == 0
    (alert,) = result.alerts
    assert "(line 4, column Amount)" in alert.body
    assert "(line 7)" in alert.body
    assert "not in quotes" in alert.body
    (event,) = result.events
    assert event["detail"]["problem_count"] == 7
    assert len(event["detail"]["problems"]) <= PROBLEMS_SHOWN
    listed = p.stack.client("s3").list_objects_v2(Bucket=dropped.bucket, Prefix="converted/")
    assert listed.get("KeyCount", 0) == 0


def test_an_export_the_mapping_cannot_read_is_rejected_with_the_mapping_named(
    pipeline: Start,
) -> None:
    p = pipeline()
    data = (CORPUS / "missing-amount.csv").read_bytes()
    (result,) = p.finish(p.stack.drop(data, "incoming/csv/000000300/m.csv"))
    assert result.outcome == "rejected"
    (alert,) = result.alerts
    assert "column Amount" in alert.body
    assert "CsvMapping parameter" in alert.body


def test_a_csv_without_its_license_folder_is_outside_the_layout(pipeline: Start) -> None:
    p = pipeline()
    data = (CORPUS / "good-aimsi.csv").read_bytes()
    (result,) = p.finish(p.stack.drop(data, "incoming/csv/day.csv"))
    assert result.outcome == "rejected"
    assert result.record["problems"][0]["code"] == "key-layout"
    assert "incoming/csv/<license>/" in result.record["problems"][0]["message"]


def test_an_export_too_large_once_converted_is_rejected_and_nothing_kept(pipeline: Start) -> None:
    # 371 bytes of CSV become 4,911 of XML: under the limit as an export, over it converted.
    p = pipeline(parameters={"MaxFileBytes": "4000"})
    data = (CORPUS / "good-aimsi.csv").read_bytes()
    dropped = p.stack.drop(data, "incoming/csv/000000300/big.csv")
    (result,) = p.finish(dropped)
    assert result.outcome == "rejected"
    assert [problem["code"] for problem in result.record["problems"]] == ["too-large"]
    (alert,) = result.alerts
    assert "split it into smaller exports" in alert.body
    assert p.sim.count(endpoint="upload") == 0
    listed = p.stack.client("s3").list_objects_v2(Bucket=dropped.bucket, Prefix="converted/")
    assert listed.get("KeyCount", 0) == 0
