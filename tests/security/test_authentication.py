"""Tokens, TLS and the loopback-only rules for plaintext and auth-off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from dualdraw.domain.errors import Unauthenticated
from dualdraw.entrypoints.grpc.security.tokens import Principal, Role, TokenKeys, mint_token, verify_token
from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.settings import Settings
from dualdraw.v1 import public_pb2, public_pb2_grpc, tasks_pb2, tasks_pb2_grpc
from tests.security.conftest import KEYS, RULES, Secured, bearer, secured_settings

PRINCIPAL = Principal("op-1", Role.DRAW_OPERATOR, "130202-LN")


def test_ed25519_tokens_round_trip_and_a_public_key_only_verifies() -> None:
    private = Ed25519PrivateKey.generate()
    token = mint_token(TokenKeys.ed25519_private(private), PRINCIPAL)
    assert verify_token(TokenKeys.ed25519_public(private.public_key()), token) == PRINCIPAL
    with pytest.raises(ValueError, match="only verify"):
        mint_token(TokenKeys.ed25519_public(private.public_key()), PRINCIPAL)


@pytest.mark.parametrize(
    "token",
    [
        mint_token(KEYS, PRINCIPAL, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),  # expired
        mint_token(TokenKeys.hmac(b"another-secret-of-at-least-32-bytes!!"), PRINCIPAL),  # forged
        jwt.encode(
            {"sub": "x", "role": "auditor", "dept": "130202-LN", "aud": "dualdraw", "exp": 4102444800},
            None,
            algorithm="none",
        ),
        jwt.encode(
            {"sub": "x", "role": "root", "dept": "130202-LN", "aud": "dualdraw", "exp": 4102444800},
            KEYS.sign_key,
        ),
        "not a token",
    ],
)
def test_bad_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthenticated):
        verify_token(KEYS, token)


def test_calls_without_a_token_are_unauthenticated_and_audited_but_the_public_api_is_open(
    secured: Secured,
) -> None:
    before = secured.denials()
    with secured.channel() as channel:
        with pytest.raises(grpc.RpcError) as caught:
            tasks_pb2_grpc.TaskServiceStub(channel).GetTask(
                tasks_pb2.GetTaskRequest(name=f"tasks/{secured.inside.task_id}")
            )
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        public_pb2_grpc.PublicServiceStub(channel).ListPublishedDraws(public_pb2.ListPublishedDrawsRequest())
        token = secured.token(Role.AUDITOR, department=secured.inside.department_id)
        found = tasks_pb2_grpc.TaskServiceStub(channel).GetTask(
            tasks_pb2.GetTaskRequest(name=f"tasks/{secured.inside.task_id}"), metadata=bearer(token)
        )
    assert found.id == secured.inside.task_id
    assert secured.denials() == before + 1


def test_auth_off_and_plaintext_are_refused_off_loopback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ValueError, match="loopback"):
        create_server(Settings(database_url=url, rules_path=RULES, address="0.0.0.0:0", auth="off"))
    with pytest.raises(ValueError, match="loopback"):
        create_server(
            Settings(database_url=url, rules_path=RULES, address="0.0.0.0:0", auth="on", token_keys=KEYS)
        )
    with pytest.raises(ValueError, match="no token key"):
        create_server(Settings(database_url=url, rules_path=RULES, address="127.0.0.1:0", auth="on"))


def _certificate(
    tmp_path: Path, name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None
) -> tuple[Path, Path, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path, cert, key


def test_tls_with_client_certificates(database_url: str, tmp_path: Path) -> None:
    ca_path, _, ca, ca_key = _certificate(tmp_path, "bureau-ca")
    server_cert, server_key, _, _ = _certificate(tmp_path, "server", (ca, ca_key))
    client_cert, client_key, _, _ = _certificate(tmp_path, "client", (ca, ca_key))
    settings = secured_settings(database_url, tls_cert=server_cert, tls_key=server_key, tls_client_ca=ca_path)
    running = create_server(settings)
    target = f"localhost:{running.port}"
    request = public_pb2.ListPublishedDrawsRequest()
    try:
        mutual = grpc.ssl_channel_credentials(
            root_certificates=ca_path.read_bytes(),
            private_key=client_key.read_bytes(),
            certificate_chain=client_cert.read_bytes(),
        )
        with grpc.secure_channel(target, mutual) as channel:
            public_pb2_grpc.PublicServiceStub(channel).ListPublishedDraws(request, timeout=10)
        with grpc.secure_channel(target, grpc.ssl_channel_credentials(ca_path.read_bytes())) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                public_pb2_grpc.PublicServiceStub(channel).ListPublishedDraws(request, timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE  # no client certificate: no handshake
        with grpc.insecure_channel(target) as channel, pytest.raises(grpc.RpcError):
            public_pb2_grpc.PublicServiceStub(channel).ListPublishedDraws(request, timeout=10)
    finally:
        running.stop(grace=1)
