"""Regenerates ``expert-draw.json``: vectors of the expert and testing-institution draw
``dualdraw/expert-draw/1`` (docs/DRAW-ALGORITHM.md §8.2).

Run ``.venv/bin/python -m tests.vectors.generate_expert_draw`` from the repository root. The vectors must
never change while the version stands: ``tests/unit/test_expert_draw_vectors.py`` fails when the code drifts
from them. Inputs are made from SHA-256 of fixed labels, so regenerating gives the same file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.draw.entropy import local_commitment
from dualdraw.domain.draw.expert_draw import (
    INSTITUTION,
    Expert,
    ExpertDrawProblem,
    Qualification,
    Requirement,
    TestingInstitution,
    build_inputs,
    candidate_line,
    inputs_hash,
    result_hash,
    select,
)

OUT = Path(__file__).with_name("expert-draw.json")


def _hex(label: str) -> str:
    return hashlib.sha256(label.encode("utf-8")).hexdigest()


def _code(n: int) -> str:
    return make_credit_code("9", "1", "130200", f"{n:08d}")


OBJECTS = [(1, _code(1001)), (2, _code(1002)), (3, _code(1003))]
AS_OF = dt.date(2024, 5, 6)
AT = dt.datetime(2024, 5, 6, 2, 0, tzinfo=dt.UTC)
D = dt.date


def _experts() -> list[Expert]:
    food = "food-safety"
    return [
        Expert("E-01", "张三", "d-city", (Qualification(food, D(2025, 1, 1)),)),
        Expert("E-02", "李四", "d-city", (Qualification(food, None),), conflicts=frozenset({OBJECTS[0][1]})),
        Expert("E-03", "王五", "d-city", (Qualification(food, D(2024, 5, 5)),)),  # expired the day before
        Expert(
            "E-04",
            "赵六",
            "d-city",
            (Qualification(food, D(2024, 5, 6)),),
            employer_credit_code=OBJECTS[1][1],
        ),
        Expert(
            "E-05", "钱七", "d-city", (Qualification(food, D(2023, 1, 1)), Qualification(food, D(2026, 1, 1)))
        ),
        Expert("E-06", "孙八", "d-city", (Qualification(food, None),)),
        Expert("E-07", "周九", "d-city", (Qualification("special-equipment", None),)),
        Expert("e-08", "吴十", "d-district", (Qualification(food, None),)),
    ]


def _case(
    name: str, entries: list[Any], requirement: Requirement, recent: dict[str, list[str]], secret_label: str
) -> dict[str, Any]:
    secret = bytes.fromhex(_hex(secret_label))
    codes = [c for _, c in OBJECTS]
    lines = [
        candidate_line(e, requirement.qualification, codes, recent.get(e.id, []))
        for e in entries
        if any(q.code == requirement.qualification for q in e.qualifications)
    ]
    inputs = build_inputs(
        expert_draw_id=f"x-{name}",
        draw_id="d-vector",
        draw_seed=_hex(f"draw seed {name}"),
        as_of=AS_OF,
        requested_at=AT,
        requirement=requirement,
        objects=OBJECTS,
        candidates=lines,
        entropy_source={"kind": "local-secret", "commitment": local_commitment(secret)},
    )
    case: dict[str, Any] = {
        "name": name,
        "inputs": inputs,
        "inputs_json": canonical_json(inputs).decode("utf-8"),
        "inputs_hash": inputs_hash(inputs),
        "entropy": secret.hex(),
    }
    try:
        result = select(inputs, secret)
    except ExpertDrawProblem as exc:
        case["refused"] = {"reason": exc.reason, "objects": exc.metadata["objects"].split(",")}
        return case
    case["result"] = result
    case["result_json"] = canonical_json(result).decode("utf-8")
    case["result_hash"] = result_hash(result)
    return case


def generate() -> dict[str, Any]:
    food = Requirement("ITEM-FOOD", "expert", "food-safety", 2)
    lab = Requirement("ITEM-FOOD", INSTITUTION, "GB 2762", 1)
    labs = [
        TestingInstitution(
            "L-01", "唐山检测中心", "d-city", _code(2001), (Qualification("GB 2762", D(2025, 1, 1)),)
        ),
        TestingInstitution("L-02", "河北检验院", "d-city", OBJECTS[2][1], (Qualification("GB 2762", None),)),
        TestingInstitution(
            "L-03",
            "京津检测",
            "d-city",
            _code(2003),
            (Qualification("GB 2762", None),),
            conflicts=frozenset({OBJECTS[0][1]}),
        ),
        TestingInstitution(
            "L-04", "旧检测所", "d-city", _code(2004), (Qualification("GB 2762", D(2024, 1, 1)),)
        ),
    ]
    return {
        "version": "dualdraw/expert-draw/1",
        "cases": [
            _case("experts", _experts(), food, {"E-06": [OBJECTS[2][1]]}, "expert secret"),
            _case("one-expert", _experts(), Requirement("ITEM-FOOD", "expert", "food-safety", 1), {}, "one"),
            _case("institution", labs, lab, {}, "institution secret"),
            _case("refused", _experts(), Requirement("ITEM-FOOD", "expert", "food-safety", 6), {}, "refused"),
        ],
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(generate(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
