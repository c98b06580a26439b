"""The HTTP/JSON port's transport: plaintext only on loopback, otherwise the gRPC port's TLS, with client
certificates (mTLS) when the gRPC port asks for them."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dualdraw.entrypoints.grpc.server import create_server
from tests.security.conftest import secured_settings
from tests.security.test_authentication import _certificate

LIST_PUBLISHED = "/dualdraw.v1.PublicService/ListPublishedDraws"


def test_plaintext_http_is_refused_off_loopback(database_url: str) -> None:
    with pytest.raises(ValueError, match="plaintext HTTP is allowed on loopback only"):
        create_server(secured_settings(database_url, http_address="0.0.0.0:0"))


def _post(url: str, context: ssl.SSLContext | None) -> int:
    request = urllib.request.Request(
        url, data=b"{}", method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        json.loads(response.read())
        return int(response.status)


def test_the_http_port_speaks_the_grpc_ports_tls_with_client_certificates(
    database_url: str, tmp_path: Path
) -> None:
    ca_path, _, ca, ca_key = _certificate(tmp_path, "bureau-ca")
    server_cert, server_key, _, _ = _certificate(tmp_path, "server", (ca, ca_key))
    client_cert, client_key, _, _ = _certificate(tmp_path, "client", (ca, ca_key))
    settings = secured_settings(
        database_url,
        tls_cert=server_cert,
        tls_key=server_key,
        tls_client_ca=ca_path,
        http_address="0.0.0.0:0",  # allowed: TLS is configured
    )
    running = create_server(settings)
    try:
        assert running.http is not None
        url = f"https://localhost:{running.http.port}{LIST_PUBLISHED}"
        mutual = ssl.create_default_context(cafile=str(ca_path))
        mutual.load_cert_chain(client_cert, client_key)
        assert _post(url, mutual) == 200
        without_certificate = ssl.create_default_context(cafile=str(ca_path))
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError)):
            _post(url, without_certificate)
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            _post(url.replace("https://", "http://"), None)
    finally:
        running.stop(grace=1)
