"""A POS's CSV export on its way to CAPSS: converted by the stack's mapping, kept, then sent.

The converted file is written beside the export under `converted/` (same path, `.xml`
added), outside `incoming/` so it sets off no second submission; the export itself is never
changed. What was sent is that file: the record's note names its version.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import tzinfo
from typing import BinaryIO

from capss.intake.report import IntakeLimits
from capss.pipeline import advice
from capss.pipeline.files import INCOMING_PREFIX, FileRef, route
from capss.pipeline.ports import CsvConverter, ObjectStore
from capss.pipeline.records import FileRecord

CONVERTED_PREFIX = "converted/"
METADATA_CONVERTED_FROM = "capss-converted-from"
_UNMAPPABLE = frozenset({"csv-missing-column", "csv-encoding", "csv-empty"})
"""Problems with the whole export rather than a row: the mapping and the export disagree."""


def converted_key(key: str) -> str:
    return f"{CONVERTED_PREFIX}{key.removeprefix(INCOMING_PREFIX)}.xml"


def upload_name(record: FileRecord) -> str:
    """The file name CAPSS sees: a converted export goes as the XML it became."""
    place = route(record.key)
    return f"{record.name}.xml" if place is not None and place.csv else record.name


def convert_export(
    ref: FileRef,
    record: FileRecord,
    local_copy: BinaryIO,
    *,
    converter: CsvConverter,
    objects: ObjectStore,
    license_number: str,
    limits: IntakeLimits,
    zone: tzinfo | None = None,
) -> bool:
    """Puts the CAPSS file in place of the export in `local_copy`; False when the rows cannot
    be mapped or the result would be over the size limit (the record's problems then name
    each line and column). Both files stay on disk: memory holds a row at a time."""
    local_copy.seek(0)
    with tempfile.TemporaryFile() as xml:
        conversion = converter.convert(local_copy, xml, license_number, limits, zone)
        if not conversion.written:
            report = conversion.report
            record.license, record.sha256 = license_number, report.sha256
            record.note_facts(report)
            record.problems = [dict(problem) for problem in report.to_json()["problems"]]
            if any(problem.code in _UNMAPPABLE for problem in report.problems):
                record.hint = advice.CSV_UNMAPPABLE
            return False
        target = converted_key(ref.key)
        xml.seek(0)
        version = objects.put(
            ref.bucket,
            target,
            xml,
            {METADATA_CONVERTED_FROM: f"{ref.key}#{ref.version_id or 'null'}"},
        )
        record.notes.append(
            f"Converted from CSV by the mapping {converter.name!r}: sent as"
            f" s3://{ref.bucket}/{target} (version {version or 'null'})."
        )
        local_copy.seek(0)
        local_copy.truncate()
        xml.seek(0)
        shutil.copyfileobj(xml, local_copy)
    local_copy.seek(0)
    return True
