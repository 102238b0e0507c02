"""Helpers for the client's integration tests: sample files, a listener counting connections."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

from capss.client.client import CapssClient

CLIENT_ID = "apitest"
SECRET = "Password1-integration"
LICENSE = "000000300"
FILES = Path(__file__).resolve().parents[3] / "events" / "files"

MakeClient = Callable[..., CapssClient]


def transactions(tmp_path: Path, *, marker: str = "", name: str = "day.xml") -> Path:
    """The clean sample, with `marker` (e.g. "[sim:error]") in its first item's description."""
    text = (FILES / "store-0300-clean.xml").read_text(encoding="utf-8")
    if marker:
        text = text.replace("</description>", f" {marker}</description>", 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def item_updates(tmp_path: Path) -> Path:
    path = tmp_path / "update.xml"
    path.write_bytes((FILES / "store-0300-item-update.xml").read_bytes())
    return path


class Listener:
    """A listening socket on another port that records every connection it accepts."""

    def __init__(self) -> None:
        self.accepted = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()
