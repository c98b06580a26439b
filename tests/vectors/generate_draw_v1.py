"""Regenerates ``draw-v1.json``, the published test vectors of the draw algorithm ``dualdraw-draw/1``.

Run ``.venv/bin/python tests/vectors/generate_draw_v1.py`` from the repository root. The vectors must never
change for ``dualdraw-draw/1``: ``tests/unit/test_draw_vectors.py`` fails when the code drifts from them.
Inputs are made from SHA-256 of fixed labels, so regenerating gives the same file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.credit_code import ALPHABET, make_credit_code
from dualdraw.domain.draw.algorithm import derive_seed, eligible_digest, parse_ratio
from dualdraw.domain.draw.selection import select_objects, select_stratified, selection_size
from dualdraw.domain.draw.teams import conflict_digest, form_teams, inspector_pool_digest
from dualdraw.domain.draw.versions import PLAIN_DRAW as ALGORITHM_VERSION
from dualdraw.domain.model import Inspector, Speciality

OUT = Path(__file__).with_name("draw-v1.json")
AS_OF = dt.date(2026, 11, 26)
SPECIALITY = "special_equipment"


def _bytes(label: str) -> bytes:
    return hashlib.sha256(label.encode("utf-8")).digest()


def _codes(label: str, region: str, n: int) -> list[str]:
    codes = []
    for i in range(n):
        h = _bytes(f"{label}/{i}")
        org8 = "MA" + "".join(ALPHABET[b % len(ALPHABET)] for b in h[:6])
        codes.append(make_credit_code("9", "1", region, org8))
    return codes


def _inspectors(label: str, n: int, conflicts: dict[int, list[str]]) -> list[Inspector]:
    return [
        Inspector(
            badge_number=f"{label}-{i + 1:03d}",
            name=f"inspector {i + 1}",
            department_id="dept",
            office="",
            specialities=(Speciality(SPECIALITY),),
            conflicts=frozenset(conflicts.get(i, [])),
        )
        for i in range(n)
    ]


def _vector(
    name: str,
    description: str,
    codes: list[str],
    ratio: str,
    inspectors: list[Inspector],
    team_size: int,
    strata: dict[str, tuple[list[str], str]] | None = None,
) -> dict[str, Any]:
    manifest = {
        "algorithm_version": ALGORITHM_VERSION,
        "task": {"id": f"vector-{name}", "title": "测试向量 " + name, "ratio": ratio, "team_size": team_size},
        "as_of": AS_OF.isoformat(),
        "speciality": SPECIALITY,
        "eligible_digest": eligible_digest(codes),
        "inspector_pool_digest": inspector_pool_digest(i.badge_number for i in inspectors),
        "conflict_digest": conflict_digest(inspectors, codes),
    }
    manifest_hash = sha256_hex(canonical_json(manifest))
    entropy = _bytes(f"entropy/{name}")
    seed = derive_seed(manifest_hash, entropy)
    if strata is None:
        selected = select_objects(seed, codes, parse_ratio(ratio))
    else:
        selected = select_stratified(seed, {s: (c, parse_ratio(r)) for s, (c, r) in strata.items()})
    teams = form_teams(seed, [s.credit_code for s in selected], inspectors, team_size, AS_OF, SPECIALITY)
    if any(i.conflicts for i in inspectors):
        conflicted = {s.credit_code for s in selected} & set().union(*(i.conflicts for i in inspectors))
        assert conflicted, f"vector {name}: no selected object is conflicted; pick other conflicts"
    vector: dict[str, Any] = {
        "name": name,
        "description": description,
        "manifest": manifest,
        "manifest_canonical": canonical_json(manifest).decode("utf-8"),
        "manifest_hash": manifest_hash,
        "entropy": entropy.hex(),
        "seed": seed.hex(),
        "ratio": ratio,
        "eligible": codes,
        "eligible_digest": manifest["eligible_digest"],
    }
    if strata is None:
        vector["selection_size"] = selection_size(parse_ratio(ratio), len(codes))
    else:
        vector["strata"] = {s: {"ratio": r, "eligible": c} for s, (c, r) in strata.items()}
    vector |= {
        "team_size": team_size,
        "inspectors": [
            {"badge_number": i.badge_number, "conflicts": sorted(i.conflicts)} for i in inspectors
        ],
        "inspector_pool_digest": manifest["inspector_pool_digest"],
        "conflict_digest": manifest["conflict_digest"],
        "assignments": [
            {
                "position": n,
                "credit_code": s.credit_code,
                "stratum": s.stratum,
                "ticket": s.ticket_hex,
                "team": [m.badge_number for m in team],
            }
            for n, (s, team) in enumerate(zip(selected, teams, strict=True), start=1)
        ],
    }
    return vector


def build() -> dict[str, Any]:
    small = _codes("small", "130273", 10)
    zone = _codes("zone", "130273", 40)
    inspectors6 = _inspectors("GXQ", 6, {0: zone[:20], 4: zone[10:30]})
    risk = _codes("risk", "130202", 30)
    strata = {
        "A": (risk[:14], "0.05"),
        "B": (risk[14:24], "0.1"),
        "C": (risk[24:28], "0.3"),
        "D": (risk[28:], "1"),
    }
    every = _codes("every", "130203", 7)
    return {
        "algorithm_version": ALGORITHM_VERSION,
        "as_of": AS_OF.isoformat(),
        "speciality": SPECIALITY,
        "note": "Generated by tests/vectors/generate_draw_v1.py; see docs/DRAW-ALGORITHM.md. Inspectors are "
        "all qualified for the speciality on as_of (the pool is already filtered).",
        "vectors": [
            _vector(
                "small",
                "10 objects at ratio 0.3 → 3; teams of 2 from 4 inspectors",
                small,
                "0.3",
                _inspectors("LN", 4, {}),
                2,
            ),
            _vector(
                "conflicts",
                "40 objects at 0.1 → 4; 6 inspectors, two with declared conflicts",
                zone,
                "0.1",
                inspectors6,
                2,
            ),
            _vector(
                "strata",
                "risk-class strata with their own ratios (A 5 %, B 10 %, C 30 %, D 100 %)",
                risk,
                "1",
                _inspectors("LB", 5, {}),
                2,
                strata=strata,
            ),
            _vector(
                "everything",
                "ratio 1 takes every object; teams of 3 from 5 spread loads",
                every,
                "1",
                _inspectors("SJ", 5, {}),
                3,
            ),
            _vector(
                "tiny-ratio",
                "ratio 0.000001 of 1 object still selects 1 (ceiling)",
                small[:1],
                "0.000001",
                _inspectors("ZX", 2, {}),
                2,
            ),
        ],
    }


def main() -> None:
    text = json.dumps(build(), ensure_ascii=False, indent=2) + "\n"
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
