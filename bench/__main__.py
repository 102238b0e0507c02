"""`python -m bench` (`make bench`): prints each figure beside its comparator and writes
bench/results.json. `--only NAME ...` runs some sections (schedule, pipeline, coldstart,
validation, conversion, cli, history)."""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cli, coldstart, conversion, history, pipeline, schedule, validation

RESULTS = Path(__file__).resolve().parent / "results.json"
SECTIONS = {
    "schedule": schedule.run,
    "pipeline": pipeline.run,
    "coldstart": coldstart.run,
    "validation": validation.run,
    "conversion": conversion.run,
    "cli": cli.run,
    "history": history.run,
}


def _table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [header] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for number, row in enumerate(cells):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  " + "  ".join("-" * width for width in widths))


def _print(name: str, result: Any) -> None:
    if name == "schedule":
        names = list(schedule.SCHEDULES)
        _table(
            f"Detection delay (s, share of the job) and status checks; first checks at "
            f"{result['first_checks'][:8]} s",
            ["job", *names],
            [
                [row["job"]]
                + [
                    f"{row[n]['delay_s']} s ({row[n]['share']:.0%}), {row[n]['checks']} checks"
                    for n in names
                ]
                for row in result["jobs"]
            ]
            + [
                ["mean share 1 min-1 h"] + [f"{result['mean_share_1min_1h'][n]:.0%}" for n in names]
            ],
        )
    elif name == "pipeline":
        rows = []
        labelled = [
            *result["by_outcome"].items(),
            *((f"clean, {k} checks", r) for k, r in result["by_checks"].items()),
            *(
                (k.replace("_", " "), result[k])
                for k in ("50_files_one_license", "50_files_50_licenses")
            ),
        ]
        for label, row in labelled:
            cost = row.get("cost_per_1000_files_usd")
            rows.append(
                [
                    label,
                    row["capss_requests"],
                    row["transitions"],
                    sum(row["invocations"].values()),
                    row["dynamodb_writes"],
                    row["dynamodb_write_units"],
                    row["dynamodb_write_units_per_status_check"],
                    row["sns_messages"],
                    "" if cost is None else f"${cost:.3f}",
                ]
            )
            if "fixed_30s" in row:
                fixed = row["fixed_30s"]
                rows.append(
                    [
                        *("  fixed 30-s Wait loop", f"status {fixed['status_checks']}"),
                        *(fixed["transitions"], fixed["status_invocations"] + 2, "", "", "", ""),
                        f"${fixed['cost_per_1000_files_usd']:.3f}",
                    ]
                )
        _table(
            f"Per file, local stack (limit: 1 upload + 1 status + 1 token per license);"
            f" prices: {result['prices']['date']}",
            [
                "path",
                "CAPSS requests",
                "transitions",
                "invocations",
                "DDB writes",
                "DDB write units",
                "DDB units per status check",
                "SNS",
                "per 1,000 files",
            ],
            rows,
        )
    elif name == "coldstart":
        _table(
            "Cold start: import + first-event set-up, fresh interpreter, medians"
            f" of {result[0]['runs']}, Python {result[0]['python']}",
            [
                "function",
                "handler",
                "no bytecode",
                "import boto3",
                "floor",
                "x boto3",
                "x floor",
                "no bytecode x floor",
                "CPU x boto3",
                "CPU x floor",
            ],
            [
                [
                    r["function"],
                    f"{r['handler_ms']} ms",
                    f"{r['no_bytecode_ms']} ms",
                    f"{r['boto3_ms']} ms",
                    f"{r['floor_ms']} ms ({'+'.join(r['clients'])})",
                    r["vs_boto3"],
                    r["vs_floor"],
                    r["no_bytecode_vs_floor"],
                    r["cpu_vs_boto3"],
                    r["cpu_vs_floor"],
                ]
                for r in result
            ],
        )
    elif name == "validation":
        _table(
            "Validation against bare iterparse (medians)",
            [
                "file",
                "bridge MB/s",
                "iterparse MB/s",
                "speed ratio (CPU)",
                "(wall)",
                "bridge peak RSS",
                "iterparse peak RSS",
            ],
            [
                [
                    r["file"],
                    r["bridge_mb_s"],
                    r["iterparse_mb_s"],
                    r["speed_vs_iterparse"],
                    r["wall_speed_vs_iterparse"],
                    f"{r['bridge_peak_rss_mb']} MB",
                    f"{r['iterparse_peak_rss_mb']} MB",
                ]
                for r in result
            ],
        )
    elif name == "history":
        _table(
            f"Reads on a year of {result['records']:,} records ({result['open_files']} open,"
            f" {result['mean_record_bytes']} bytes each), moto; time of {result['runs']} run",
            ["read", "requests", "items read", "read units (est.)", "time"],
            [
                [
                    label,
                    r["requests"],
                    r["items_read"],
                    r["read_units_estimate"],
                    f"{r['seconds']} s",
                ]
                for label, r in result["rows"].items()
            ],
        )
    elif name == "conversion":
        _table(
            "CSV conversion, beside validating the XML it writes (medians)",
            [
                "export",
                "items",
                "XML",
                "convert MB/s (CPU)",
                "convert peak RSS",
                "validate XML MB/s",
                "validate peak RSS",
            ],
            [
                [
                    r["export"],
                    r["items"],
                    f"{r['xml_megabytes']} MB",
                    f"{r['convert_mb_s']} ({r['convert_cpu_mb_s']})",
                    f"{r['convert_peak_rss_mb']} MB",
                    r["validate_xml_mb_s"],
                    f"{r['validate_peak_rss_mb']} MB",
                ]
                for r in result
            ],
        )
    else:
        _table(
            f"capss submit --wait against three curl calls (medians of {result['runs']})",
            [
                "capss submit --wait",
                "curl x3",
                "ratio",
                "capss --help",
                "python -c pass",
                "+ submit's imports",
                "validation",
                "TLS + 3 requests",
                "CPU: capss / curl",
            ],
            [
                [
                    f"{result['capss_s']} s",
                    f"{result['curl_s']} s",
                    result["capss_vs_curl"],
                    f"{result['help_s']} s",
                    f"{result['python_s']} s",
                    f"{result['imports_s']} s",
                    f"{result['validate_s']} s",
                    f"{result['requests_s']} s",
                    f"{result['capss_cpu_s']} / {result['curl_cpu_s']} s",
                ]
            ],
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results["machine"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    for name in args.only:
        results[name] = SECTIONS[name]()
        _print(name, results[name])
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten: {RESULTS}")


if __name__ == "__main__":
    main()
