"""`python -m local.simulator`: the simulator as a process, for the demo and for scripts.

Prints one JSON line (base_url, ca_pem, clients without their secrets), then serves until
SIGINT or SIGTERM. With --env-file, also writes the `capss` command's variables for the first
client there, whole or not at all, once it serves: a script waits for the file, then sources it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="write `export CAPSS_...` lines for the first client here once serving",
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
        if args.env_file:
            client_id, secret, _ = (args.client or [_client(DEFAULT_CLIENT)])[0]
            variables = {
                "CAPSS_BASE_URL": sim.base_url,
                "CAPSS_CA_BUNDLE": sim.ca_pem_path or "",
                "CAPSS_CLIENT_ID": client_id,
                "CAPSS_CLIENT_SECRET": secret,
            }
            _write_atomically(
                args.env_file,
                "".join(f"export {name}={shlex.quote(str(v))}\n" for name, v in variables.items()),
            )
        while not done.wait(0.5):
            pass
    return 0


def _write_atomically(path: str, text: str) -> None:
    """A reader polling for the file never sees half of it: written aside, then renamed."""
    partial = f"{path}.partial"
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)
    os.replace(partial, path)


if __name__ == "__main__":
    sys.exit(main())
