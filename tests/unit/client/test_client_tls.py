"""The TLS context: always verifying, OpenSSL's DEFAULT ciphers unless told otherwise."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from capss.client.tls import ssl_context
from capss.errors import NeedsPersonError, TlsFailure


def cipher_names(context: ssl.SSLContext) -> set[str]:
    return {cipher["name"] for cipher in context.get_ciphers()}


def test_default_context_verifies_and_offers_rsa_key_exchange() -> None:
    context = ssl_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    # Python's own default offers only forward-secret key exchange (docs/capss-api.md, TLS).
    assert "AES256-GCM-SHA384" in cipher_names(context)
    assert "AES256-GCM-SHA384" not in cipher_names(ssl.create_default_context())


def test_a_given_ca_bundle_is_trusted(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = ssl_context(str(bundle), "DEFAULT@SECLEVEL=1")
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] == 1


def test_a_missing_ca_bundle_is_a_tls_failure_with_its_hint(tmp_path: Path) -> None:
    with pytest.raises(TlsFailure) as caught:
        ssl_context(str(tmp_path / "absent.pem"))
    assert "--ca-bundle" in caught.value.hint
    assert isinstance(caught.value, NeedsPersonError)


def test_a_cipher_string_that_selects_nothing_is_a_tls_failure() -> None:
    with pytest.raises(TlsFailure) as caught:
        ssl_context(None, "NO-SUCH-CIPHER")
    assert "--tls-ciphers" in caught.value.hint
