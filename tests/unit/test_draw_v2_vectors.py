"""``dualdraw-draw/2`` test vectors (docs/DRAW-ALGORITHM.md §14): an independent implementation from the
document, the service code and the generator must all agree with ``tests/vectors/draw-v2.json``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from dualdraw.domain.draw.algorithm import derive_seed
from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.policy_teams import form_policy_teams
from dualdraw.domain.draw.selection import select_by_strata
from dualdraw.domain.draw.strata import codes_by_stratum, stratum_ratios

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
DATA = json.loads((VECTORS / "draw-v2.json").read_text(encoding="utf-8"))


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def reference(v: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    """The draw as §14 defines it, standard library only."""
    seed = sha(
        b"dualdraw/seed/v1" + b"\x00" + bytes.fromhex(v["manifest_hash"]) + bytes.fromhex(v["entropy"])
    )
    strata: dict[str, list[str]] = {}
    for e in v["eligible"]:
        strata.setdefault(e["stratum"], []).append(e["code"])
    selected = []
    for stratum in sorted(strata, key=lambda s: s.encode("utf-8")):
        p, q = (int(x) for x in v["strata_ratios"][stratum].split("/"))
        codes = strata[stratum]
        size = (p * len(codes) + q - 1) // q
        tickets = sorted(
            (sha(seed + b"obj\x00" + stratum.encode("utf-8") + b"\x00" + c.encode("ascii")), c) for c in codes
        )
        selected += [(c, t.hex(), stratum) for t, c in tickets[:size]]
    pool = [json.loads(line) for line in v["pool"]]
    plan = {code: (dep, office) for code, dep, office in v["plan"]}
    rules = v["rules"]
    policy = rules["policy"]
    load = {m["badge_number"]: 0 for m in pool}

    def dept_seed(d: str) -> bytes:
        return sha(b"dualdraw/dept/v2" + b"\x00" + seed + d.encode("utf-8"))

    def free(dept: str, code: str, office: str) -> list[dict[str, Any]]:
        out = [
            m
            for m in pool
            if m["department_id"] == dept
            and code not in m["conflicts"]
            and code not in m["recent"]
            and not (policy["cross_office"] and office and m["office"] == office)
            and not (policy["workload_cap"] and load[m["badge_number"]] >= policy["workload_cap"])
        ]
        ds = dept_seed(dept)

        def key(m: dict[str, Any]) -> tuple[int, bytes, str]:
            b, n = m["badge_number"], load[m["badge_number"]]
            return n, sha(ds + b"team\x00" + str(n).encode("ascii") + b"\x00" + b.encode("utf-8")), b

        return sorted(out, key=key)

    result = []
    for code, ticket, stratum in selected:
        dept, office = plan[code]
        home = free(dept, code, office)
        leader = next(m for m in home if m["qualified"])
        team = [leader, *[m for m in home if m is not leader][: rules["team_size"] - 1]]
        for coop in sorted(policy["cooperating_department_ids"], key=lambda d: d.encode("utf-8")):
            team += free(coop, code, office)[: policy["cooperating_team_size"]]
        for m in team:
            load[m["badge_number"]] += 1
        result.append((code, ticket, stratum, [m["badge_number"] for m in team]))
    return result


def expected(v: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    return [(a["code"], a["ticket"], a["stratum"], a["team"]) for a in v["assignments"]]


@pytest.mark.parametrize("vector", DATA["vectors"], ids=lambda v: v["name"])
def test_independent_implementation_agrees(vector: dict[str, Any]) -> None:
    assert reference(vector) == expected(vector)


@pytest.mark.parametrize("vector", DATA["vectors"], ids=lambda v: v["name"])
def test_service_code_agrees(vector: dict[str, Any]) -> None:
    seed = derive_seed(vector["manifest_hash"], bytes.fromhex(vector["entropy"]))
    assert seed.hex() == vector["seed"]
    entries = [EligibleEntry(e["code"], e["stratum"], e["stratum"]) for e in vector["eligible"]]
    manifest = {
        "task": vector["rules"],
        "objects": {
            "strata": {s: {"ratio": r} for s, r in vector["strata_ratios"].items()},
            "plan": vector["plan"],
        },
    }
    selected = select_by_strata(seed, codes_by_stratum(entries), stratum_ratios(manifest))
    teams = form_policy_teams(seed, selected, vector["pool"], manifest)
    got = [
        (s.credit_code, s.ticket_hex, s.stratum, [m.badge_number for m in t])
        for s, t in zip(selected, teams, strict=True)
    ]
    assert got == expected(vector)


def test_vectors_are_what_the_generator_writes() -> None:
    from tests.vectors.generate_draw_v2 import render

    assert render() == (VECTORS / "draw-v2.json").read_text(encoding="utf-8")
