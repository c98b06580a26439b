"""Entropy sources of a draw (docs/DRAW-ALGORITHM.md §3.1): declared in the manifest, supplied afterwards.

A declaration is a JSON object frozen in the manifest before any entropy exists:

- ``{"kind": "commit-reveal", "parties": [{"name", "commitment"}], "reveal_deadline", "fallback"}``: each
  named party commits ``SHA256("dualdraw/reveal/v1" ‖ 0x00 ‖ name ‖ 0x00 ‖ secret)`` and reveals ``secret``
  later; when a party has not revealed by the deadline the declared fallback beacon round stands in for it;
- ``{"kind": "beacon", "beacon": name, "round": n}``: a pinned public randomness beacon's (``beacon.CHAINS``)
  signature of a round produced after the commit (``check_rounds_after``); the value supplied is the
  signature, verified against the chain's public key, and its randomness is ``SHA256(signature)``;
- ``{"kind": "local-secret", "commitment": hex}``: a server secret committed by hash: development only, the
  operator could know it, so such a draw is never published.

``combine`` turns the declaration and the supplied values into the entropy bytes of ``derive_seed``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dualdraw.domain.draw.beacon import BeaconProblem, chain, verify_round

COMMIT_REVEAL = "commit-reveal"
BEACON = "beacon"
LOCAL_SECRET = "local-secret"  # noqa: S105 - the name of an entropy source, not a password
KINDS = (COMMIT_REVEAL, BEACON, LOCAL_SECRET)
ROLE_PARTY = "party"
ROLE_BEACON = "beacon"
ROLE_FALLBACK = "fallback-beacon"
ROLE_LOCAL = "local-secret"
_HEX = re.compile(r"(?:[0-9a-f]{2})+")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class EntropyProblem(ValueError):
    """The supplied entropy does not satisfy the declaration; ``reason`` is a stable code."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class EntropyInput:
    """One contribution: a party's reveal, a beacon value or the local secret.

    ``value`` is hex, empty until supplied."""

    role: str
    name: str
    commitment: str = ""
    value: str = ""
    revealed_at: dt.datetime | None = None


def party_commitment(name: str, secret: bytes) -> str:
    return hashlib.sha256(b"dualdraw/reveal/v1\x00" + name.encode("utf-8") + b"\x00" + secret).hexdigest()


def local_commitment(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def _party_piece(name: str, secret: bytes) -> bytes:
    return hashlib.sha256(b"dualdraw/party/v1\x00" + name.encode("utf-8") + b"\x00" + secret).digest()


def _beacon_piece(beacon: str, round_: int, value: str, what: str) -> bytes:
    """``SHA256("dualdraw/beacon/v1" ‖ 0x00 ‖ name ‖ 0x00 ‖ decimal round ‖ 0x00 ‖ randomness)`` once the
    supplied ``value`` (hex signature) verifies; the randomness is ``SHA256(signature)``."""
    signature = check_hex(value, what)
    try:
        randomness = verify_round(chain(beacon), round_, signature)
    except BeaconProblem as exc:
        raise EntropyProblem(str(exc), exc.reason) from None
    data = b"dualdraw/beacon/v1\x00" + beacon.encode("utf-8") + b"\x00" + str(round_).encode("ascii")
    return hashlib.sha256(data + b"\x00" + randomness).digest()


def beacon_rounds(declaration: Mapping[str, Any]) -> list[tuple[str, int]]:
    """The beacon rounds a declaration names: ``(beacon, round)``, the fallback's for commit-reveal."""
    if declaration.get("kind") == BEACON:
        return [(declaration["beacon"], declaration["round"])]
    if declaration.get("kind") == COMMIT_REVEAL:
        return [(declaration["fallback"]["beacon"], declaration["fallback"]["round"])]
    return []


def check_rounds_after(declaration: Mapping[str, Any], committed_at: dt.datetime) -> None:
    """Raises ``EntropyProblem`` (``BEACON_ROUND_NOT_AFTER_COMMIT``) unless every named round is produced
    strictly after ``committed_at``: a round produced before could be known to whoever commits."""
    for name, round_ in beacon_rounds(declaration):
        produced = chain(name).round_time(round_)
        if produced <= committed_at:
            raise EntropyProblem(
                f"beacon {name} round {round_} is produced at {produced.isoformat()}, not after the commit "
                f"at {committed_at.astimezone(dt.UTC).isoformat()}: its value may be known already; name a "
                f"later round (the first after the commit is {chain(name).first_round_after(committed_at)})",
                "BEACON_ROUND_NOT_AFTER_COMMIT",
            )


def check_hex(value: str, what: str) -> bytes:
    if not _HEX.fullmatch(value):
        raise EntropyProblem(f"{what} must be non-empty lower-case hex, got {value[:80]!r}", "BAD_ENTROPY")
    return bytes.fromhex(value)


def validate_declaration(declaration: Mapping[str, Any]) -> None:
    """Raises ``EntropyProblem`` (``BAD_ENTROPY_SOURCE``) unless ``declaration`` is well formed."""
    kind = declaration.get("kind")

    def fail(why: str) -> EntropyProblem:
        return EntropyProblem(f"entropy source: {why}", "BAD_ENTROPY_SOURCE")

    if kind == LOCAL_SECRET:
        if set(declaration) != {"kind", "commitment"} or not _HEX64.fullmatch(str(declaration["commitment"])):
            raise fail("local-secret needs exactly a 64-hex commitment")
    elif kind == BEACON:
        if set(declaration) != {"kind", "beacon", "round"}:
            raise fail("beacon needs exactly beacon and round")
        if not isinstance(declaration["beacon"], str) or not declaration["beacon"]:
            raise fail("beacon name is required")
        try:
            chain(declaration["beacon"])
        except BeaconProblem as exc:
            raise fail(str(exc)) from None
        if not isinstance(declaration["round"], int) or declaration["round"] < 1:
            raise fail("beacon round must be a positive integer")
    elif kind == COMMIT_REVEAL:
        if set(declaration) != {"kind", "parties", "reveal_deadline", "fallback"}:
            raise fail("commit-reveal needs exactly parties, reveal_deadline and fallback")
        parties = declaration["parties"]
        if not isinstance(parties, list) or not parties:
            raise fail("commit-reveal needs at least one party")
        names = [p.get("name") for p in parties if isinstance(p, dict)]
        if len(names) != len(parties) or len(set(names)) != len(names):
            raise fail("parties must have distinct names")
        for p in parties:
            if set(p) != {"name", "commitment"} or not isinstance(p["name"], str) or not p["name"]:
                raise fail("each party needs a name and a commitment")
            if "\x00" in p["name"] or not _HEX64.fullmatch(str(p["commitment"])):
                raise fail(f"party {p['name']!r}: commitment must be 64 lower-case hex digits")
        commitments = [p["commitment"] for p in parties]
        if len(set(commitments)) != len(commitments):
            raise fail("two parties declared the same commitment")
        try:
            deadline = dt.datetime.fromisoformat(str(declaration["reveal_deadline"]))
        except ValueError:
            raise fail("reveal_deadline must be an ISO 8601 time with a zone") from None
        if deadline.tzinfo is None:
            raise fail("reveal_deadline must carry a time zone")
        fallback = declaration["fallback"]
        if not isinstance(fallback, dict):
            raise fail("fallback must be a beacon round")
        validate_declaration({"kind": BEACON, **fallback})
    else:
        raise fail(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def expected_inputs(declaration: Mapping[str, Any]) -> list[EntropyInput]:
    """The contributions a declaration waits for, with their commitments (values empty)."""
    kind = declaration["kind"]
    if kind == LOCAL_SECRET:
        return [EntropyInput(ROLE_LOCAL, "local", declaration["commitment"])]
    if kind == BEACON:
        return [EntropyInput(ROLE_BEACON, declaration["beacon"])]
    inputs = [EntropyInput(ROLE_PARTY, p["name"], p["commitment"]) for p in declaration["parties"]]
    inputs.append(EntropyInput(ROLE_FALLBACK, declaration["fallback"]["beacon"]))
    return inputs


def check_reveal(declaration: Mapping[str, Any], name: str, secret: bytes) -> None:
    """Raises ``EntropyProblem`` unless ``secret`` opens party ``name``'s commitment."""
    for party in declaration.get("parties", []):
        if party["name"] == name:
            if party_commitment(name, secret) != party["commitment"]:
                raise EntropyProblem(
                    f"the reveal of {name!r} does not match its commitment", "REVEAL_MISMATCH"
                )
            return
    raise EntropyProblem(f"{name!r} is not a party of this draw's commit-reveal", "UNKNOWN_PARTY")


def combine(
    declaration: Mapping[str, Any], inputs: Mapping[tuple[str, str], str], now: dt.datetime | None = None
) -> tuple[bytes, str]:
    """The entropy bytes and a label of what was used, from the values supplied per ``(role, name)``.

    ``now`` decides whether the reveal deadline has passed (``None``: the record is final, so parties
    missing means the fallback was used, which then must be present). Raises ``EntropyProblem``.
    """
    kind = declaration["kind"]
    if kind == LOCAL_SECRET:
        secret = check_hex(inputs.get((ROLE_LOCAL, "local"), "") or "", "local secret")
        if local_commitment(secret) != declaration["commitment"]:
            raise EntropyProblem("the local secret does not match its commitment", "REVEAL_MISMATCH")
        return secret, LOCAL_SECRET
    if kind == BEACON:
        value = inputs.get((ROLE_BEACON, declaration["beacon"]), "")
        if not value:
            raise EntropyProblem(
                f"waiting for beacon {declaration['beacon']} round {declaration['round']}", "AWAITING_ENTROPY"
            )
        piece = _beacon_piece(declaration["beacon"], declaration["round"], value, "beacon value")
        return piece, f"{BEACON}:{declaration['beacon']}#{declaration['round']}"
    pieces: list[bytes] = []
    missing: list[str] = []
    for party in sorted(declaration["parties"], key=lambda p: p["name"].encode("utf-8")):
        value = inputs.get((ROLE_PARTY, party["name"]), "")
        if not value:
            missing.append(party["name"])
            continue
        secret = check_hex(value, f"reveal of {party['name']}")
        if party_commitment(party["name"], secret) != party["commitment"]:
            raise EntropyProblem(
                f"the reveal of {party['name']!r} does not match its commitment", "REVEAL_MISMATCH"
            )
        pieces.append(_party_piece(party["name"], secret))
    label = f"{COMMIT_REVEAL}:{len(pieces)}/{len(declaration['parties'])}"
    if not missing:
        return b"".join(pieces), label
    deadline = dt.datetime.fromisoformat(declaration["reveal_deadline"])
    if now is not None and now < deadline:
        raise EntropyProblem(
            f"waiting for reveals of {', '.join(missing)} until {deadline.isoformat()}", "AWAITING_REVEALS"
        )
    fallback = declaration["fallback"]
    value = inputs.get((ROLE_FALLBACK, fallback["beacon"]), "")
    if not value:
        raise EntropyProblem(
            f"{', '.join(missing)} did not reveal: the declared fallback needs beacon {fallback['beacon']} "
            f"round {fallback['round']}",
            "AWAITING_ENTROPY",
        )
    pieces.append(_beacon_piece(fallback["beacon"], fallback["round"], value, "fallback beacon value"))
    return b"".join(pieces), f"{label}+fallback:{fallback['beacon']}#{fallback['round']}"
