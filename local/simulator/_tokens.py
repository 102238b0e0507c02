"""OAuth2 clients and their tokens: one active token per client and API generation."""

from __future__ import annotations

import base64
import hmac
import json
import math
import secrets
import threading
import time
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    license_number: str

    def __repr__(self) -> str:
        return f"Client(client_id={self.client_id!r}, license_number={self.license_number!r})"


@dataclass(frozen=True)
class Token:
    value: str
    client: Client
    generation: str
    expires_at: float

    def __repr__(self) -> str:
        return f"Token({self.value[:6]}..., {self.client.client_id}, {self.generation})"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(client: Client, issued: float, expires: float, issuer: str) -> str:
    """A token shaped like the sandbox's (RS256 JWT); only this simulator checks it, by lookup."""
    header = {"kid": str(uuid.uuid4()), "alg": "RS256"}
    payload = {
        "sub": client.client_id,
        "iss": issuer,
        "org_type": "Store",
        "client_id": client.client_id,
        "token_version": "3",
        "aud": client.client_id,
        "nbf": int(issued),
        "license_id": client.license_number,
        "scope": ["api"],
        "exp": int(expires),
        "iat": int(issued),
        "jti": str(uuid.uuid4()),
    }
    parts = [json.dumps(header, separators=(",", ":")), json.dumps(payload, separators=(",", ":"))]
    return ".".join([*(_b64(p.encode()) for p in parts), _b64(secrets.token_bytes(256))])


class TokenBook:
    def __init__(self, lifetime: float) -> None:
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._clients: dict[str, Client] = {}
        self._active: dict[tuple[str, str], Token] = {}
        self._issued: list[str] = []

    def add_client(self, client: Client) -> None:
        with self._lock:
            self._clients[client.client_id] = client

    def clients(self) -> list[Client]:
        with self._lock:
            return list(self._clients.values())

    def authenticate(self, client_id: str, secret: str) -> Client | None:
        with self._lock:
            client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return None
        return client

    def issue(self, client: Client, generation: str, issuer: str) -> tuple[Token, int]:
        """The client's live token, or a new one; with the seconds it has left."""
        now = time.time()
        with self._lock:
            token = self._active.get((client.client_id, generation))
            if token is None or token.expires_at <= now:
                expires = now + self.lifetime
                value = (
                    _jwt(client, now, expires, issuer)
                    if generation == "current"
                    else str(uuid.uuid4())
                )
                token = Token(value, client, generation, expires)
                self._active[client.client_id, generation] = token
                self._issued.append(value)
        return token, max(0, math.floor(token.expires_at - now))

    def issued(self) -> list[str]:
        """Every token value handed out, so tests can look for leaks of any of them."""
        with self._lock:
            return list(self._issued)

    def check(self, value: str) -> tuple[Token | None, str]:
        """The live token with that value, or None and why not."""
        now = time.time()
        with self._lock:
            for token in self._active.values():
                if hmac.compare_digest(token.value.encode(), value.encode()):
                    if token.expires_at <= now:
                        return None, "Access token expired"
                    return token, ""
        return None, "Invalid access token"

    def rotate(self, client_id: str) -> None:
        """Drops the client's tokens, as a new token or a secret change on CAPSS's side does."""
        with self._lock:
            for key in [key for key in self._active if key[0] == client_id]:
                del self._active[key]
