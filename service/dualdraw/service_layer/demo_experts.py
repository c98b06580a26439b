"""The demo's experts and testing institutions (docs/DRAW-ALGORITHM.md §8.2): a few special-equipment
experts of the high-tech zone — one whose certificate lapsed, one employed by a demo object, one with a
declared conflict — two testing institutions, and what two demo items need of them: TS-SE-01 one
special-equipment expert per object, TS-PQ-01 one institution accredited for product testing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dualdraw.domain.draw.expert_draw import (
    EXPERT,
    INSTITUTION,
    Expert,
    Qualification,
    Requirement,
    TestingInstitution,
)
from dualdraw.service_layer import expert_draws
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE, SPECIAL_EQUIPMENT, demo_directory
from dualdraw.service_layer.ports import UnitOfWork

PRODUCT_TESTING = "product_testing"
"""The accreditation scope the demo's product-quality item asks of a testing institution."""


def demo_experts() -> tuple[list[Expert], list[TestingInstitution], list[Requirement]]:
    """The demo's experts, institutions and requirements; the same on every call."""
    codes = sorted(
        o.credit_code for o in demo_directory().objects if o.registering_department_id == HIGH_TECH_ZONE
    )
    d, se = HIGH_TECH_ZONE, SPECIAL_EQUIPMENT
    experts = [
        Expert("GXQ-E01", "高建国", d, (Qualification(se, dt.date(2030, 12, 31)),)),
        Expert("GXQ-E02", "林秀英", d, (Qualification(se, None),), conflicts=frozenset(codes[:1])),
        Expert("GXQ-E03", "何志强", d, (Qualification(se, dt.date(2020, 6, 30)),)),  # lapsed
        Expert("GXQ-E04", "罗桂英", d, (Qualification(se, None),), employer_credit_code=codes[1]),
        Expert("GXQ-E05", "郭明", d, (Qualification(se, None), Qualification("boilers", None))),
        Expert("GXQ-E06", "马丽", d, (Qualification(se, dt.date(2031, 3, 1)),)),
    ]
    institutions = [
        TestingInstitution(
            "GXQ-L01", "唐山市产品质量监督检验所", d, "12130200MB0C536133",
            (Qualification(PRODUCT_TESTING, dt.date(2029, 12, 31)),),
        ),
        TestingInstitution(
            "GXQ-L02", "河北冀港检测技术有限公司", d, codes[2], (Qualification(PRODUCT_TESTING, None),)
        ),
    ]  # fmt: skip
    requirements = [
        Requirement("TS-SE-01", EXPERT, se, 1),
        Requirement("TS-PQ-01", INSTITUTION, PRODUCT_TESTING, 1),
    ]
    return experts, institutions, requirements


def load_demo_experts(unit_of_work: Callable[[], UnitOfWork], caller: Caller) -> dict[str, int]:
    """Imports the demo's experts and institutions and sets the demo items' requirements."""
    experts, institutions, requirements = demo_experts()
    counts = expert_draws.import_experts(unit_of_work(), HIGH_TECH_ZONE, experts, institutions, caller)
    for requirement in requirements:
        expert_draws.set_requirement(unit_of_work(), requirement, caller)
    return counts
