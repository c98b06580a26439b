"""Signed bearer tokens: who calls (subject), as what (role) and for which department (jurisdiction).

Tokens are JWTs signed with Ed25519 (``EdDSA``: the server holds only the public key) or HMAC-SHA256
(``HS256``: one shared secret, simpler for a single bureau). Claims: ``sub``, ``role``, ``dept``, ``exp``
(required), ``iat``; ``aud`` is ``dualdraw`` so tokens minted for other services are refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dualdraw.domain.errors import Unauthenticated

AUDIENCE = "dualdraw"
MAX_TOKEN_BYTES = 8192
LEEWAY_S = 30


class Role(StrEnum):
    POLICY_EDITOR = "policy_editor"
    DRAW_OPERATOR = "draw_operator"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"
    PUBLIC = "public"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``department_id`` is the root of its jurisdiction ("" for ``public``)."""

    subject: str
    role: Role
    department_id: str = ""
    unrestricted: bool = False  # auth off (development on loopback): every check passes

    @property
    def actor(self) -> str:
        return self.subject


ANONYMOUS = Principal("anonymous", Role.PUBLIC)


@dataclass(frozen=True)
class TokenKeys:
    """What verifies (and, where a private key or secret is known, mints) tokens."""

    algorithm: str  # "EdDSA" or "HS256"
    verify_key: Any
    sign_key: Any = None

    @classmethod
    def hmac(cls, secret: bytes) -> TokenKeys:
        if len(secret) < 32:
            raise ValueError("an HMAC token secret needs at least 32 bytes")
        return cls("HS256", secret, secret)

    @classmethod
    def ed25519_private(cls, private: Ed25519PrivateKey) -> TokenKeys:
        return cls("EdDSA", private.public_key(), private)

    @classmethod
    def ed25519_public(cls, public: Ed25519PublicKey) -> TokenKeys:
        return cls("EdDSA", public, None)

    @classmethod
    def from_files(
        cls, *, public_key: Path | None, private_key: Path | None, secret: Path | None
    ) -> TokenKeys:
        """Keys from PEM files (Ed25519) or a secret file (HMAC); exactly one kind must be given."""
        if secret is not None:
            if public_key is not None or private_key is not None:
                raise ValueError("configure either an HMAC secret or Ed25519 keys, not both")
            return cls.hmac(secret.read_bytes().strip())
        if private_key is not None:
            key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{private_key} is not an Ed25519 private key")
            return cls.ed25519_private(key)
        if public_key is not None:
            pub = serialization.load_pem_public_key(public_key.read_bytes())
            if not isinstance(pub, Ed25519PublicKey):
                raise ValueError(f"{public_key} is not an Ed25519 public key")
            return cls.ed25519_public(pub)
        raise ValueError("no token key configured")


def mint_token(
    keys: TokenKeys,
    principal: Principal,
    *,
    ttl: dt.timedelta = dt.timedelta(hours=8),
    now: dt.datetime | None = None,
) -> str:
    """A signed token for ``principal`` valid for ``ttl`` (operators mint with ``dualdraw token mint``)."""
    if keys.sign_key is None:
        raise ValueError("these keys can only verify tokens (no private key or secret)")
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "sub": principal.subject,
        "role": principal.role.value,
        "dept": principal.department_id,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, keys.sign_key, algorithm=keys.algorithm)


def verify_token(keys: TokenKeys, token: str) -> Principal:
    """The principal a valid token names; ``Unauthenticated`` for anything else (no detail leaks)."""
    if len(token) > MAX_TOKEN_BYTES:
        raise Unauthenticated("the bearer token is too long", reason="TOKEN_INVALID")
    try:
        claims = jwt.decode(
            token,
            keys.verify_key,
            algorithms=[keys.algorithm],  # pinned: never trust the token's own "alg"
            audience=AUDIENCE,
            leeway=LEEWAY_S,
            options={"require": ["sub", "role", "exp", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the bearer token has expired", reason="TOKEN_EXPIRED") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer token is not valid", reason="TOKEN_INVALID") from None
    try:
        role = Role(str(claims["role"]))
    except ValueError:
        raise Unauthenticated("the bearer token names an unknown role", reason="TOKEN_INVALID") from None
    subject = str(claims["sub"])
    department = str(claims.get("dept") or "")
    if not subject or len(subject) > 128 or (role is not Role.PUBLIC and not department):
        raise Unauthenticated("the bearer token lacks a subject or department", reason="TOKEN_INVALID")
    return Principal(subject, role, department)
