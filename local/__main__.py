"""`python -m local demo` and `python -m local run FILE...`: the bridge on an emulated account."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local.stack._run import add_arguments, common_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Runs the CAPSS bridge from template.yaml on an emulated AWS account (moto).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="every path a file can take, against the CAPSS simulator"
    )
    common_arguments(demo)
    add_arguments(
        commands.add_parser("run", help="files through the whole pipeline; one JSON document out")
    )
    serve = commands.add_parser(
        "serve", help="keep the emulated account alive for `capss ... --local FILE`"
    )
    common_arguments(serve)
    serve.add_argument(
        "--state",
        type=Path,
        default=Path(".capss-local.json"),
        help="where to write the connection file (default %(default)s)",
    )
    serve.add_argument("--port", type=int, default=0, help="moto server port (default: any free)")
    from local.reliability import add_arguments as reliability_arguments  # noqa: PLC0415

    reliability_arguments(
        commands.add_parser("reliability", help="the fault suite: one table, exit 1 on any loss")
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        from local.serve import serve as run_serve  # noqa: PLC0415

        return run_serve(args)
    if args.command == "reliability":
        from local.reliability import main as reliability  # noqa: PLC0415

        return reliability(args)
    if args.command == "demo":
        from local.demo import demo as run_demo  # noqa: PLC0415

        return run_demo(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
