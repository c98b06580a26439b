"""``dualdraw-draw/4`` test vectors (docs/DRAW-ALGORITHM.md §14.8, §12.2): a standard-library reading of the
document, the service code and the offline verifier must all agree with ``tests/vectors/draw-v4.json``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRow, RaisedRow, plan_commitments
from dualdraw.domain.draw.strata import codes_by_stratum
from dualdraw.domain.draw.versions import COMMITTED_PLAN_DRAW, algorithm_for
from dualdraw.verifier.fields import Mismatch
from dualdraw.verifier.object_plan import check_public_plan

from .test_draw_conformance_vectors import qualified_reference

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
DATA = json.loads((VECTORS / "draw-v4.json").read_text(encoding="utf-8"))


def sha(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def canon(value: Any) -> bytes:
    """RFC 8785 for these values (ASCII names, no floats), by the standard library's encoder."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over already-hashed leaves; the empty tree is SHA256("")."""
    if not leaves:
        return sha(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def set_root(data: list[bytes]) -> str:
    return mth(sorted(sha(b"\x00" + d) for d in data)).hex()


def proof_of(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1, recursively, siblings from the leaf upward."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if index < k:
        return [*proof_of(index, leaves[:k]), mth(leaves[k:])]
    return [*proof_of(index - k, leaves[k:]), mth(leaves[:k])]


def proves(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha(b"\x01" + p + r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def salt(tag: bytes, key: bytes, code: str) -> str:
    return hashlib.sha256(tag + b"\x00" + key + code.encode("ascii")).hexdigest()


@pytest.mark.parametrize("v", DATA["vectors"], ids=lambda v: v["name"])
def test_leaves_roots_and_manifest_recompute_from_the_document(v: dict[str, Any]) -> None:
    key = bytes.fromhex(v["salt_key"])
    manifest, objects = v["manifest"], v["manifest"]["objects"]
    assert canon(manifest).decode("utf-8") == v["manifest_json"]
    assert hashlib.sha256(v["manifest_json"].encode("utf-8")).hexdigest() == v["manifest_hash"]
    assert manifest["manifest_version"] == "dualdraw-manifest/5"
    assert "plan" not in objects
    assert "raised" not in objects
    assert "conflict_digest" not in manifest["inspectors"]
    plan_data = []
    for (code, dept, office, conflicts, recent), leaf in zip(v["plan_rows"], v["plan_leaves"], strict=True):
        data = canon(
            {
                "code": code,
                "conflicts": conflicts,
                "department_id": dept,
                "office": office,
                "recent": recent,
                "salt": salt(b"dualdraw/plan-salt/v1", key, code),
            }
        )
        assert data.decode("utf-8") == leaf["data"]
        assert sha(b"\x00" + data).hex() == leaf["hash"]
        plan_data.append(data)
    raised_data = []
    for (code, old, new), leaf in zip(v["raised_rows"], v["raised_leaves"], strict=True):
        data = canon(
            {
                "code": code,
                "from_class": old,
                "salt": salt(b"dualdraw/raise-salt/v1", key, code),
                "to_class": new,
            }
        )
        assert data.decode("utf-8") == leaf["data"]
        raised_data.append(data)
    assert sorted(sha(b"\x00" + d).hex() for d in plan_data) == v["plan_level0"]
    assert set_root(plan_data) == objects["plan_root"]
    assert set_root(raised_data) == objects["raised_root"]
    assert (objects["plan_count"], objects["raised_count"]) == (len(plan_data), len(raised_data))
    for line in v["pool"]:
        member = json.loads(line)
        assert sorted(member) == ["badge_number", "certificate", "department_id", "office"]
        assert canon(member).decode("utf-8") == line
    assert set_root([line.encode("utf-8") for line in v["pool"]]) == manifest["inspectors"]["pool_root"]
    # the salts of the plan and the raises are not the eligible salt
    for e in v["eligible"]:
        eligible_salt = salt(b"dualdraw/salt/v1", key, e["code"])
        assert eligible_salt != salt(b"dualdraw/plan-salt/v1", key, e["code"])


@pytest.mark.parametrize("v", DATA["vectors"], ids=lambda v: v["name"])
def test_each_selected_plan_leaf_is_proven_against_the_plan_root(v: dict[str, Any]) -> None:
    level0 = [bytes.fromhex(h) for h in v["plan_level0"]]
    root = bytes.fromhex(v["manifest"]["objects"]["plan_root"])
    assert sorted(p["leaf"]["code"] for p in v["proofs"]) == sorted(a["code"] for a in v["assignments"])
    for p in v["proofs"]:
        leaf = sha(b"\x00" + canon(p["leaf"]))
        proof = [bytes.fromhex(h) for h in p["proof"]]
        assert level0[p["index"]] == leaf
        assert proof_of(p["index"], level0) == proof
        assert proves(p["index"], len(level0), leaf, proof, root)
        assert not proves(p["index"] ^ 1, len(level0), leaf, proof, root)
    # the verifier's check of a public bundle's plan rows
    codes = [a["code"] for a in v["assignments"]]
    plan = check_public_plan(v["proofs"], v["manifest"]["objects"], codes)
    assert sorted(plan.rows) == sorted(codes)
    with pytest.raises(Mismatch):
        check_public_plan(v["proofs"][1:], v["manifest"]["objects"], codes)


@pytest.mark.parametrize("v", DATA["vectors"], ids=lambda v: v["name"])
def test_teams_are_those_of_dualdraw_draw_3_with_the_bars_taken_from_the_plan(v: dict[str, Any]) -> None:
    """§14.8: a member's conflicts and recent inspections are the codes of the plan rows naming its badge;
    then the §14.7 reading (the standard-library reference of the conformance vectors) applies."""
    bars: dict[str, dict[str, list[str]]] = {}
    for code, _, _, conflicts, recent in v["plan_rows"]:
        for badge in conflicts:
            bars.setdefault(badge, {"conflicts": [], "recent": []})["conflicts"].append(code)
        for badge in recent:
            bars.setdefault(badge, {"conflicts": [], "recent": []})["recent"].append(code)
    v3_pool = []
    for line in v["pool"]:
        member = json.loads(line)
        b = bars.get(member["badge_number"], {"conflicts": [], "recent": []})
        v3_pool.append(canon(member | {"conflicts": sorted(b["conflicts"]), "recent": sorted(b["recent"])}))
    manifest = v["manifest"]
    as_v3 = {
        "as_of": manifest["as_of"],
        "task": manifest["task"],
        "pool": [line.decode("utf-8") for line in v3_pool],
        "plan": [row[:3] for row in v["plan_rows"]],
        "eligible": v["eligible"],
        "strata_ratios": {s: x["ratio"] for s, x in manifest["objects"]["strata"].items()},
        "manifest_hash": v["manifest_hash"],
        "entropy": v["entropy"],
    }
    expected = [(a["code"], a["ticket"], a["stratum"], a["team"]) for a in v["assignments"]]
    assert qualified_reference(as_v3) == expected


@pytest.mark.parametrize("v", DATA["vectors"], ids=lambda v: v["name"])
def test_the_service_code_agrees_with_the_vectors(v: dict[str, Any]) -> None:
    algorithm = algorithm_for(COMMITTED_PLAN_DRAW)
    manifest = v["manifest"]
    plan = ObjectPlan.of(
        (PlanRow(c, d, o, tuple(x), tuple(r)) for c, d, o, x, r in v["plan_rows"]),
        (RaisedRow(*row) for row in v["raised_rows"]),
    )
    key = bytes.fromhex(v["salt_key"])
    assert plan_commitments(plan, key) == {
        k: manifest["objects"][k] for k in ("plan_count", "plan_root", "raised_count", "raised_root")
    }
    assert algorithm.pool_problem(v["pool"]) is None
    assert algorithm.manifest_problem(manifest) is None
    entries = [EligibleEntry(e["code"], e["stratum"], e["risk_class"]) for e in v["eligible"]]
    assert algorithm.eligible_problem(entries, manifest, plan) is None
    seed = bytes.fromhex(v["seed"])
    selected = algorithm.select(seed, codes_by_stratum(entries), manifest)
    only_selected = ObjectPlan({s.credit_code: plan.rows[s.credit_code] for s in selected}, None)
    for given in (plan, only_selected):  # a public bundle gives only the selected objects' rows
        teams = algorithm.form_teams(seed, selected, v["pool"], manifest, given)
        got = [
            (s.credit_code, s.ticket_hex, s.stratum, [m.badge_number for m in t])
            for s, t in zip(selected, teams, strict=True)
        ]
        assert got == [(a["code"], a["ticket"], a["stratum"], a["team"]) for a in v["assignments"]]
