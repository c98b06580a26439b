"""The published test vectors of dualdraw-draw/1 (tests/vectors/draw-v1.json).

Each vector is recomputed twice: with the service's code, and with the short independent implementation
below that follows docs/DRAW-ALGORITHM.md using only hashlib and json, so the vectors do not merely agree
with the code that generated them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw.algorithm import derive_seed, eligible_digest, parse_ratio
from dualdraw.domain.draw.selection import select_objects, select_stratified, selection_size
from dualdraw.domain.draw.teams import conflict_digest, form_teams, inspector_pool_digest
from dualdraw.domain.draw.versions import PLAIN_DRAW as ALGORITHM_VERSION
from dualdraw.domain.model import Inspector, Speciality

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "draw-v1.json").read_text(encoding="utf-8"))
CASES = VECTORS["vectors"]


# ---- an independent implementation of docs/DRAW-ALGORITHM.md --------------------------------------------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _ref_set_digest(keys: list[str]) -> str:
    return hashlib.sha256(b"\n".join(sorted(k.encode("utf-8") for k in keys))).hexdigest()


def _ref_ratio(text: str) -> tuple[int, int]:
    whole, _, decimals = text.partition(".")
    return int(whole + decimals), 10 ** len(decimals)


def _ref_draw(vector: dict[str, Any]) -> list[dict[str, Any]]:
    seed = _sha(
        b"dualdraw/seed/v1"
        + b"\x00"
        + bytes.fromhex(vector["manifest_hash"])
        + bytes.fromhex(vector["entropy"])
    )
    assert seed.hex() == vector["seed"]
    strata = vector.get("strata") or {"all": {"ratio": vector["ratio"], "eligible": vector["eligible"]}}
    selected: list[tuple[str, str, str]] = []
    for stratum in sorted(strata, key=lambda s: s.encode("utf-8")):
        numerator, denominator = _ref_ratio(strata[stratum]["ratio"])
        codes = strata[stratum]["eligible"]
        size = (numerator * len(codes) + denominator - 1) // denominator
        tickets = sorted(
            (_sha(seed + b"obj" + b"\x00" + stratum.encode("utf-8") + b"\x00" + code.encode("ascii")), code)
            for code in codes
        )
        selected += [(code, ticket.hex(), stratum) for ticket, code in tickets[:size]]
    conflicts = {i["badge_number"]: set(i["conflicts"]) for i in vector["inspectors"]}
    load = dict.fromkeys(conflicts, 0)
    result = []
    for position, (code, ticket, stratum) in enumerate(selected, start=1):

        def key(badge: str) -> tuple[int, bytes, str]:
            tier = str(load[badge]).encode("ascii")
            return load[badge], _sha(seed + b"team" + b"\x00" + tier + b"\x00" + badge.encode("utf-8")), badge

        free = sorted((b for b in conflicts if code not in conflicts[b]), key=key)
        team = free[: vector["team_size"]]
        for badge in team:
            load[badge] += 1
        result.append(
            {"position": position, "credit_code": code, "stratum": stratum, "ticket": ticket, "team": team}
        )
    return result


# ---- the tests --------------------------------------------------------------------------------------------


def test_vector_file_is_for_this_version() -> None:
    assert VECTORS["algorithm_version"] == ALGORITHM_VERSION
    assert len(CASES) >= 5


@pytest.mark.parametrize("vector", CASES, ids=[v["name"] for v in CASES])
def test_independent_implementation_agrees(vector: dict[str, Any]) -> None:
    assert hashlib.sha256(vector["manifest_canonical"].encode("utf-8")).hexdigest() == vector["manifest_hash"]
    assert json.loads(vector["manifest_canonical"]) == vector["manifest"]
    assert _ref_set_digest(vector["eligible"]) == vector["eligible_digest"]
    assert (
        _ref_set_digest([i["badge_number"] for i in vector["inspectors"]]) == vector["inspector_pool_digest"]
    )
    pairs = [
        f"{i['badge_number']}\t{c}"
        for i in vector["inspectors"]
        for c in i["conflicts"]
        if c in vector["eligible"]
    ]
    assert _ref_set_digest(pairs) == vector["conflict_digest"]
    assert _ref_draw(vector) == vector["assignments"]


@pytest.mark.parametrize("vector", CASES, ids=[v["name"] for v in CASES])
def test_service_code_agrees(vector: dict[str, Any]) -> None:
    assert canonical_json(vector["manifest"]).decode("utf-8") == vector["manifest_canonical"]
    assert sha256_hex(canonical_json(vector["manifest"])) == vector["manifest_hash"]
    assert eligible_digest(vector["eligible"]) == vector["eligible_digest"]
    seed = derive_seed(vector["manifest_hash"], bytes.fromhex(vector["entropy"]))
    assert seed.hex() == vector["seed"]
    if "strata" in vector:
        strata = {s: (v["eligible"], parse_ratio(v["ratio"])) for s, v in vector["strata"].items()}
        selected = select_stratified(seed, strata)
    else:
        assert (
            selection_size(parse_ratio(vector["ratio"]), len(vector["eligible"])) == vector["selection_size"]
        )
        selected = select_objects(seed, list(reversed(vector["eligible"])), parse_ratio(vector["ratio"]))
    as_of = dt.date.fromisoformat(VECTORS["as_of"])
    speciality = VECTORS["speciality"]
    inspectors = [
        Inspector(i["badge_number"], "", "", "", (Speciality(speciality),), True, frozenset(i["conflicts"]))
        for i in vector["inspectors"]
    ]
    assert inspector_pool_digest(i.badge_number for i in inspectors) == vector["inspector_pool_digest"]
    assert conflict_digest(inspectors, vector["eligible"]) == vector["conflict_digest"]
    teams = form_teams(
        seed, [s.credit_code for s in selected], inspectors, vector["team_size"], as_of, speciality
    )
    recomputed = [
        {
            "position": n,
            "credit_code": s.credit_code,
            "stratum": s.stratum,
            "ticket": s.ticket_hex,
            "team": [m.badge_number for m in team],
        }
        for n, (s, team) in enumerate(zip(selected, teams, strict=True), start=1)
    ]
    assert recomputed == vector["assignments"]


def test_vectors_are_what_the_generator_writes() -> None:
    from tests.vectors.generate_draw_v1 import build

    assert build() == VECTORS


def test_reference_ratio_parser_matches() -> None:
    for text in ["0.1", "1", "0.000001", "0.05", "1.000000"]:
        numerator, denominator = _ref_ratio(text)
        assert Fraction(numerator, denominator) == parse_ratio(text)
