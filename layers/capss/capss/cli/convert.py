"""`capss convert`: a POS's CSV export to a CAPSS transactions file, checked both ways.

The CSV is read by the mapping (each problem with its line and column), the XML written
beside it, then validated as any file the bridge sends. lxml loads only when converting.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from capss.cli import lazy

EXIT_OK, EXIT_NOT_DONE, EXIT_USAGE = 0, 1, 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    convert = commands.add_parser(
        "convert", help="turn a POS's CSV export into a CAPSS transactions file"
    )
    convert.add_argument("file", type=Path, metavar="FILE.csv")
    convert.add_argument(
        "--mapping",
        required=True,
        help="a mapping file (TOML), or a shipped one by name: aimsi-report-wizard",
    )
    convert.add_argument("--license", required=True, help="the store's dealer license number")
    convert.add_argument(
        "-o", "--output", type=Path, help="the XML to write (default: FILE.csv.xml beside it)"
    )
    convert.add_argument("--json", action="store_true", help="both reports as one JSON document")
    convert.set_defaults(command=run)


def run(args: argparse.Namespace, out: object = None) -> int:
    """`out` is main's output writer: the conversion prints its own reports."""
    output: Path = args.output or args.file.with_name(args.file.name + ".xml")
    try:
        mapping = lazy.convert.load_mapping(args.mapping)
        if output.resolve() == args.file.resolve():
            print("capss: error: the output would replace the CSV export", file=sys.stderr)
            return EXIT_USAGE
        conversion = _convert(args.file, output, mapping, args.license)
    except (lazy.convert.MappingError, OSError) as error:
        print(f"capss: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    reports = [(str(args.file), conversion.report)]
    if conversion.written:
        with output.open("rb") as stream:
            reports.append(
                (str(output), lazy.validate.validate_stream(stream, expected_license=args.license))
            )
    if args.json:
        print(json.dumps({"files": [report.to_json(name) for name, report in reports]}, indent=2))
    else:
        for name, report in reports:
            print(report.format_text(name))
    return EXIT_OK if conversion.written and all(r.ok for _, r in reports) else EXIT_NOT_DONE


def _convert(
    export: Path, output: Path, mapping: lazy.convert.CsvMapping, license_number: str
) -> lazy.report.Conversion:
    """Streams the export into a file beside `output`, put in its place only when written: a
    bad export leaves no XML and an earlier one untouched."""
    descriptor, partial = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with export.open("rb") as source, open(descriptor, "wb") as xml:
            conversion = lazy.convert.convert(source, xml, mapping, license_number)
        if conversion.written:
            os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return conversion
