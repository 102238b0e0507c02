"""The simulator's certificates (a throwaway trustme CA) and its TLS profiles."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

import trustme

TlsProfile = Literal["modern", "legacy-rsa"]

# RSA key exchange only: what a client with Python's default (forward-secret only) ciphers
# cannot negotiate, and OpenSSL's DEFAULT list can.
LEGACY_RSA_CIPHERS = (
    "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA256:AES256-SHA256:AES128-SHA:AES256-SHA"
    ":@SECLEVEL=1"
)


def server_context(profile: TlsProfile, directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for localhost and 127.0.0.1, and the CA bundle that trusts it."""
    if profile not in ("modern", "legacy-rsa"):
        raise ValueError(f"unknown TLS profile {profile!r}")
    key_type = trustme.KeyType.RSA if profile == "legacy-rsa" else trustme.KeyType.ECDSA
    ca = trustme.CA(key_type=key_type)
    cert = ca.issue_cert("localhost", "127.0.0.1", key_type=key_type)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    if profile == "legacy-rsa":
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(LEGACY_RSA_CIPHERS)
    ca_path = directory / "capss-sim-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return context, ca_path
