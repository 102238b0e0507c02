"""The TLS context for CAPSS: certificates always verified, cipher list configurable.

Python's default client ciphers offer only forward-secret key exchange, which a CAPSS
server offering only RSA key exchange refuses; OpenSSL's `DEFAULT` list (what the DOJ's
curl steps use) connects. See docs/capss-api.md, TLS.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path

import certifi

from capss.errors import TlsFailure

DEFAULT_CIPHERS = "DEFAULT"


@functools.lru_cache(maxsize=8)
def ssl_context(
    ca_bundle: str | Path | None = None, ciphers: str = DEFAULT_CIPHERS
) -> ssl.SSLContext:
    """A verifying client context trusting `ca_bundle` (a PEM file), else certifi's CAs.

    Cached: loading the CA bundle costs more than a warm Lambda invocation should pay.
    """
    cafile = str(ca_bundle) if ca_bundle is not None else certifi.where()
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise TlsFailure(
            f"cannot load the CA bundle {cafile}: {exc}",
            hint="Give a readable PEM file of CA certificates with --ca-bundle (CAPSS_CA_BUNDLE).",
        ) from exc
    try:
        context.set_ciphers(ciphers)
    except ssl.SSLError as exc:
        raise TlsFailure(
            f"the cipher string {ciphers!r} selects no cipher",
            hint="Give an OpenSSL cipher string with --tls-ciphers (CAPSS_TLS_CIPHERS), "
            "e.g. 'DEFAULT' or 'DEFAULT@SECLEVEL=1'.",
        ) from exc
    # create_default_context already sets both; restated so no later edit can loosen them.
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context
