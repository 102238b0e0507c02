"""The whole pipeline on the local stack: the real template, handlers and ASL, the simulator."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.simulator import CapssSimulator
from local.stack import TEMPLATE, DroppedFile, FileOutcome, LocalStack

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "events" / "files"
CLIENTS = {
    "000000300": ("e2e-300", "secret-300", None),
    "000000301": ("e2e-301", "secret-301", "legacy"),
}
"""license -> (client id, client secret, API generation override in its secret)."""


@dataclass
class Pipeline:
    sim: CapssSimulator
    stack: LocalStack

    def drop(self, name: str, license_number: str = "000000300", **kwargs: Any) -> DroppedFile:
        return self.stack.drop_file(SAMPLES / name, license_number, **kwargs)

    def drop_bytes(self, data: bytes, name: str, license_number: str = "000000300") -> DroppedFile:
        return self.stack.drop(data, f"incoming/transactions/{license_number}/{name}")

    def finish(self, *files: DroppedFile, timeout: float = 60) -> list[FileOutcome]:
        return self.stack.wait(list(files), timeout=timeout)

    def uploads(self, file_name: str, status: int | None = 202) -> int:
        return sum(
            1
            for r in self.sim.requests
            if r.endpoint in ("upload", "update")
            and r.filename == file_name
            and (status is None or r.status == status)
        )


@pytest.fixture
def pipeline() -> Iterator[Callable[..., Pipeline]]:
    """Starts a simulator and a stack; keyword arguments: simulator=..., parameters=..."""
    with ExitStack() as stack:

        def start(
            *, simulator: dict[str, Any] | None = None, parameters: dict[str, str] | None = None
        ) -> Pipeline:
            sim = stack.enter_context(CapssSimulator(**(simulator or {})))
            for number, (client_id, secret, _api) in CLIENTS.items():
                sim.add_client(client_id, secret, license_number=number)
            local = stack.enter_context(
                LocalStack(
                    TEMPLATE,
                    parameters=parameters,
                    environment={
                        "CAPSS_BASE_URL": sim.base_url,
                        "CAPSS_CA_BUNDLE": str(sim.ca_pem_path),
                    },
                )
            )
            for number, (client_id, secret, api) in CLIENTS.items():
                local.put_secret(number, client_id, secret, api=api)
            return Pipeline(sim, local)

        yield start


def variant(name: str, tag: str, *, description: str | None = None) -> bytes:
    """A sample file whose transactions are its own (loan/buy numbers carry `tag`)."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    text = re.sub(
        r"<loanBuyNumber>([^<]+)</loanBuyNumber>",
        lambda m: f"<loanBuyNumber>{m.group(1)[:8]}{tag}</loanBuyNumber>",
        text,
    )
    if description is not None:
        text = re.sub(
            r"<description>[^<]*</description>",
            f"<description>{description}</description>",
            text,
            count=1,
        )
    return text.encode()
