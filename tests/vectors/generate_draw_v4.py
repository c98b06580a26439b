"""Regenerates ``draw-v4.json``, the test vectors of ``dualdraw-draw/4`` (docs/DRAW-ALGORITHM.md §14.8,
§12.2): the object plan and the raises committed by salted Merkle roots, pool lines that name no object,
and the selected objects' plan proofs.

Run ``.venv/bin/python tests/vectors/generate_draw_v4.py`` from the repository root. The vectors must never
change for ``dualdraw-draw/4``: ``tests/unit/test_draw_v4_vectors.py`` fails when the code drifts from them.
Inputs are made from SHA-256 of fixed labels, so regenerating gives the same file.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from pathlib import Path
from typing import Any

from dualdraw.domain.audit.merkle import leaf_hash
from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw.algorithm import derive_seed, eligible_digest
from dualdraw.domain.draw.commitments import EligibleEntry, eligible_root, pool_root
from dualdraw.domain.draw.object_plan import (
    ObjectPlan,
    PlanRow,
    RaisedRow,
    inclusion_proofs,
    leaf_bytes,
    plan_commitments,
    plan_leaf,
    plan_salt,
    raise_salt,
    raised_leaf,
)
from dualdraw.domain.draw.qualified_teams import Certificate, QualifiedPoolMember
from dualdraw.domain.draw.strata import codes_by_stratum
from dualdraw.domain.draw.teams import inspector_pool_digest
from dualdraw.domain.draw.versions import COMMITTED_PLAN_DRAW, algorithm_for

OUT = Path(__file__).with_name("draw-v4.json")
AS_OF = "2026-03-02"
HOME, COOP = "市场监管局", "卫健委"
SPECIALITY, COOP_LINE = "special_equipment", "drugs"


def _bytes(label: str) -> bytes:
    return hashlib.sha256(label.encode("utf-8")).digest()


def _code(label: str, n: int) -> str:
    return f"91330{n:03d}" + _bytes(f"{label}/{n}").hex()[:10].upper()


def vector(name: str, *, classes: str, raised: dict[int, str], ratios: dict[str, str]) -> dict[str, Any]:
    algorithm = algorithm_for(COMMITTED_PLAN_DRAW)
    salt_key = _bytes(f"{name}/salt key")
    n = len(classes)
    codes = [_code(name, i) for i in range(n)]
    entries = [EligibleEntry(codes[i], raised.get(i, classes[i]), classes[i]) for i in range(n)]
    pool = [
        QualifiedPoolMember(
            f"SE-{k:02d}",
            HOME,
            f"office-{k % 2}",
            None if k == 5 else Certificate(SPECIALITY, "2026-03-01" if k == 6 else None),
        )
        for k in range(9)
    ] + [QualifiedPoolMember(f"WJ-{k:02d}", COOP, "", Certificate(COOP_LINE, None)) for k in range(3)]
    badges = [m.badge_number for m in pool]
    rows = [
        PlanRow(
            codes[i],
            HOME,
            f"office-{i % 2}",
            tuple(sorted({badges[i % 9], badges[9 + i % 3]})) if i % 3 == 0 else (),
            (badges[(i + 4) % 9],) if i % 4 == 1 else (),
        )
        for i in range(n)
    ]
    raises = [RaisedRow(codes[i], classes[i], to) for i, to in sorted(raised.items())]
    plan = ObjectPlan.of(rows, raises)
    pool_lines = [m.bare_line() for m in pool]
    strata = {
        s: {"count": sum(1 for e in entries if e.stratum == s), "ratio": ratios[s]}
        for s in sorted({e.stratum for e in entries})
    }
    manifest: dict[str, Any] = {
        "manifest_version": algorithm.manifest_version,
        "algorithm_version": algorithm.version,
        "draw_id": f"d-{_bytes(name).hex()[:12]}",
        "created_at": "2026-03-02T01:00:00+00:00",
        "actor": "vectors",
        "as_of": AS_OF,
        "task": {
            "id": "t-vectors",
            "team_size": 3,
            "required_speciality": SPECIALITY,
            "unqualified_assistant": True,
            "policy": {
                "cooperating_department_ids": [COOP],
                "cooperating_lines": {COOP: COOP_LINE},
                "cooperating_team_size": 1,
                "cross_office": True,
                "workload_cap": 0,
            },
        },
        "objects": {
            "eligible": n,
            "eligible_digest": eligible_digest(sorted(codes)),
            "eligible_root": eligible_root(entries, salt_key),
            "strata": strata,
            **plan_commitments(plan, salt_key),
        },
        "inspectors": {
            "pool_size": len(pool_lines),
            "pool_digest": inspector_pool_digest(badges),
            "pool_root": pool_root(pool_lines),
        },
        "entropy_source": {"kind": "local-secret", "commitment": sha256_hex(_bytes(f"{name}/entropy"))},
    }
    manifest_json = canonical_json(manifest).decode("utf-8")
    manifest_hash = sha256_hex(manifest_json.encode("utf-8"))
    entropy = _bytes(f"{name}/entropy")
    seed = derive_seed(manifest_hash, entropy)
    algorithm.refuse_unstaffable(pool_lines, manifest, plan)
    selected = algorithm.select(seed, codes_by_stratum(entries), manifest)
    teams = algorithm.form_teams(seed, selected, pool_lines, manifest, plan)
    plan_leaves = [leaf_bytes(plan_leaf(r, plan_salt(salt_key, r.code))) for r in rows]
    raised_leaves = [leaf_bytes(raised_leaf(r, raise_salt(salt_key, r.code))) for r in raises]
    level0 = sorted(leaf_hash(d) for d in plan_leaves)
    index = {
        s.credit_code: bisect_left(level0, leaf_hash(plan_leaves[codes.index(s.credit_code)]))
        for s in selected
    }
    proofs = inclusion_proofs(level0, index.values())
    return {
        "name": name,
        "salt_key": salt_key.hex(),
        "manifest": manifest,
        "manifest_json": manifest_json,
        "manifest_hash": manifest_hash,
        "entropy": entropy.hex(),
        "seed": seed.hex(),
        "eligible": [{"code": e.code, "risk_class": e.risk_class, "stratum": e.stratum} for e in entries],
        "plan_rows": [[r.code, r.department_id, r.office, list(r.conflicts), list(r.recent)] for r in rows],
        "raised_rows": [list(r) for r in raises],
        "plan_leaves": [{"data": d.decode("utf-8"), "hash": leaf_hash(d).hex()} for d in plan_leaves],
        "plan_level0": [h.hex() for h in level0],
        "raised_leaves": [{"data": d.decode("utf-8"), "hash": leaf_hash(d).hex()} for d in raised_leaves],
        "pool": pool_lines,
        "proofs": [
            {
                "index": index[s.credit_code],
                "leaf": json.loads(plan_leaves[codes.index(s.credit_code)]),
                "proof": [p.hex() for p in proofs[index[s.credit_code]]],
            }
            for s in sorted(selected, key=lambda s: s.credit_code)
        ],
        "assignments": [
            {
                "position": k + 1,
                "code": s.credit_code,
                "stratum": s.stratum,
                "ticket": s.ticket_hex,
                "team": [m.badge_number for m in team],
            }
            for k, (s, team) in enumerate(zip(selected, teams, strict=True))
        ],
    }


def vectors() -> dict[str, Any]:
    return {
        "algorithm_version": COMMITTED_PLAN_DRAW,
        "vectors": [
            vector(
                "plan by root, a raise, conflicts and recent inspections",
                classes="ABCDABCDABCDAB",
                raised={2: "D", 5: "C"},
                ratios={"A": "1/2", "B": "1/2", "C": "1/2", "D": "1/1"},
            ),
            vector("nothing raised", classes="BBBBBB", raised={}, ratios={"B": "1/3"}),
        ],
    }


def main() -> None:
    OUT.write_text(
        json.dumps(vectors(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
