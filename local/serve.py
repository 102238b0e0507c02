"""`python -m local serve`: the emulated account kept alive, so `capss` ops commands can run
against it from another shell (`capss ... --local .capss-local.json`).

The stack runs in this process as in the demo (template, handlers, poller, CAPSS simulator);
moto's server on 127.0.0.1 exposes the same account over HTTP for other processes.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from capss.aws.stores import DynamoStoreRegister

from local.demo import LICENSES, SAMPLES, STORES
from local.stack._run import open_log, parameters
from local.stack._stack import LocalStack

SERVED_FILES = (
    ("store-0300-clean.xml", "000000300"),
    ("store-0301-clean.xml", "000000301"),
    ("store-0300-error-items.xml", "000000300"),
    ("store-0300-invalid.xml", "000000300"),
)


def serve(args: argparse.Namespace) -> int:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    from local.simulator import CapssSimulator  # noqa: PLC0415

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sim = CapssSimulator(tls=True, polls_to_complete=2)
    for number in LICENSES:
        sim.add_client(f"demo-{number}", f"demo-secret-{number}", license_number=number)
    log = open_log(args)
    with (
        sim,
        LocalStack(
            Path(args.template),
            parameters=parameters(args.param),
            environment={"CAPSS_BASE_URL": sim.base_url, "CAPSS_CA_BUNDLE": str(sim.ca_pem_path)},
            clock_scale=args.clock_scale,
            log=log,
        ) as stack,
    ):
        for number, api in LICENSES.items():
            stack.put_secret(number, f"demo-{number}", f"demo-secret-{number}", api=api)
        # Something to look at: the demo's stores and first files.
        register = DynamoStoreRegister.for_table(stack.stores_table, stack.session)
        for store in STORES:
            register.put_store(store)
        stack.wait(
            [stack.drop_file(SAMPLES / name, number) for name, number in SERVED_FILES],
            timeout=args.timeout,
        )
        # The server's request log would bury the stack's own messages.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            state = stack.connection(f"http://{host}:{port}")
            args.state.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
            print(json.dumps(state, indent=2), flush=True)
            print(
                f"serving; in another shell: capss stores list --local {args.state}"
                " (Ctrl-C stops and forgets everything)",
                file=sys.stderr,
                flush=True,
            )
            stop.wait()
        finally:
            server.stop()
            args.state.unlink(missing_ok=True)
    return 0
