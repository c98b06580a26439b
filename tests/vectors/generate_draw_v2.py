"""Regenerates ``draw-v2.json``, the test vectors of ``dualdraw-draw/2`` (docs/DRAW-ALGORITHM.md §14).

Run ``.venv/bin/python tests/vectors/generate_draw_v2.py`` from the repository root. The vectors must never
change for ``dualdraw-draw/2``: ``tests/unit/test_draw_v2_vectors.py`` fails when the code drifts from them.
Inputs are made from SHA-256 of fixed labels, so regenerating gives the same file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from dualdraw.domain.draw.algorithm import derive_seed
from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.policy_teams import PoolMember, form_policy_teams
from dualdraw.domain.draw.selection import select_by_strata
from dualdraw.domain.draw.strata import codes_by_stratum, stratum_ratios
from dualdraw.domain.draw.versions import POLICY_DRAW

OUT = Path(__file__).with_name("draw-v2.json")


def _bytes(label: str) -> bytes:
    return hashlib.sha256(label.encode("utf-8")).digest()


def _code(label: str, n: int) -> str:
    return f"91330{n:03d}" + _bytes(f"{label}/{n}").hex()[:10].upper()


def vector(
    name: str,
    *,
    classes: str,
    ratios: dict[str, str],
    raised: dict[int, str],
    departments: list[str],
    central: bool,
    pool_spec: list[tuple[str, str, bool]],
    team_size: int = 2,
    cross_office: bool = False,
    workload_cap: int = 0,
    cooperating: list[str] | None = None,
) -> dict[str, Any]:
    n = len(classes)
    codes = [_code(name, i) for i in range(n)]
    entries = [EligibleEntry(codes[i], raised.get(i, classes[i]), classes[i]) for i in range(n)]
    plan = [
        [codes[i], departments[i % len(departments)] if central else departments[0], f"office-{i % 2}"]
        for i in range(n)
    ]
    pool = [
        PoolMember(
            badge,
            dept,
            f"office-{k % 2}",
            qualified,
            frozenset({codes[k % n]}) if k % 5 == 0 else frozenset(),
            frozenset({codes[(k + 1) % n]}) if k % 7 == 3 else frozenset(),
        )
        for k, (badge, dept, qualified) in enumerate(pool_spec)
    ]
    manifest_hash = hashlib.sha256(name.encode("utf-8")).hexdigest()
    entropy = _bytes(f"{name}/entropy")
    seed = derive_seed(manifest_hash, entropy)
    strata = {
        s: {"count": sum(1 for e in entries if e.stratum == s), "ratio": ratios[s]}
        for s in sorted({e.stratum for e in entries})
    }
    manifest = {
        "task": {
            "team_size": team_size,
            "required_speciality": "food",
            "policy": {
                "cross_office": cross_office,
                "workload_cap": workload_cap,
                "cooperating_department_ids": cooperating or [],
                "cooperating_team_size": 1,
            },
        },
        "objects": {"strata": strata, "plan": plan},
    }
    selected = select_by_strata(seed, codes_by_stratum(entries), stratum_ratios(manifest))
    lines = [m.line() for m in pool]
    teams = form_policy_teams(seed, selected, lines, manifest)
    return {
        "name": name,
        "algorithm_version": POLICY_DRAW,
        "manifest_hash": manifest_hash,
        "entropy": entropy.hex(),
        "seed": seed.hex(),
        "eligible": [{"code": e.code, "stratum": e.stratum} for e in reversed(entries)],
        "strata_ratios": {s: v["ratio"] for s, v in strata.items()},
        "plan": plan,
        "pool": lines,
        "rules": manifest["task"],
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
    city = [(f"C{k}", "city", k % 3 != 2) for k in range(8)]
    branches = [(f"N{k}", "north", k != 3) for k in range(8)] + [(f"S{k}", "south", True) for k in range(8)]
    return {
        "algorithm_version": POLICY_DRAW,
        "vectors": [
            vector(
                "class strata with a raise",
                classes="ABCDABCDABCDAB",
                ratios={"A": "1/5", "B": "1/2", "C": "1/1", "D": "3/10"},
                raised={1: "C", 3: "D"},
                departments=["city"],
                central=False,
                pool_spec=city,
            ),
            vector(
                "central draw over two branches, cross-office, workload cap",
                classes="BBBBCCCCDD",
                ratios={"B": "1/2", "C": "1/1", "D": "1/1"},
                raised={},
                departments=["north", "south"],
                central=True,
                pool_spec=branches,
                cross_office=True,
                workload_cap=4,
            ),
            vector(
                "joint draw with a cooperating department",
                classes="CCCCCC",
                ratios={"C": "1/1"},
                raised={},
                departments=["city"],
                central=False,
                pool_spec=city + [(f"H{k}", "health", False) for k in range(3)],
                team_size=2,
                cooperating=["health"],
            ),
        ],
    }


def render() -> str:
    return json.dumps(vectors(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
