"""`python -m local.simulator`: the simulator as a process, for the demo and for scripts.

Prints one JSON line (base_url, ca_pem, clients without their secrets), then serves until
SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from local.simulator._server import CapssSimulator

DEFAULT_CLIENT = "apitest:Password1:000000300"


def _client(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError("expected ID:SECRET:LICENSE")
    return parts[0], parts[1], parts[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="default: an ephemeral port")
    parser.add_argument("--no-tls", action="store_true", help="plain HTTP")
    parser.add_argument("--tls-profile", choices=["modern", "legacy-rsa"], default="modern")
    parser.add_argument("--polls", type=int, default=2, help="status calls until a job is done")
    parser.add_argument("--token-lifetime", type=float, default=3600)
    parser.add_argument("--upload-delay", type=float, default=0.0)
    parser.add_argument(
        "--client", type=_client, action="append", metavar="ID:SECRET:LICENSE", default=[]
    )
    args = parser.parse_args(argv)
    sim = CapssSimulator(
        tls=not args.no_tls,
        polls_to_complete=args.polls,
        token_lifetime=args.token_lifetime,
        tls_profile=args.tls_profile,
        upload_delay=args.upload_delay,
        port=args.port,
    )
    for client_id, secret, license_number in args.client or [_client(DEFAULT_CLIENT)]:
        sim.add_client(client_id, secret, license_number=license_number)
    done = threading.Event()

    def finish(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGINT, finish)
    signal.signal(signal.SIGTERM, finish)
    with sim:
        clients = [
            {"client_id": c.client_id, "license_number": c.license_number} for c in sim.clients
        ]
        line = {"base_url": sim.base_url, "ca_pem": sim.ca_pem_path, "clients": clients}
        print(json.dumps(line), flush=True)
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
