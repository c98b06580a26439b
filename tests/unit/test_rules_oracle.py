"""The plain-Python oracle and durable_rules (through ``ExclusionEngine``) agree exactly on generated
directories and rule sets, including fact ids that collide under durable's 32-bit FNV-1a hash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.rules_engine.fact_ids import durable_hash
from dualdraw.domain.exclusions import oracle
from dualdraw.domain.exclusions.model import (
    Condition,
    ContextValue,
    EvaluationContext,
    FactPattern,
    LegalBasis,
    Rule,
    RuleSet,
)
from dualdraw.domain.exclusions.schema import ATTRIBUTES, OPS_BY_TYPE, SIDE_FACT_KINDS, AttrType, FactKind, Op
from dualdraw.domain.model import (
    Campaign,
    Complaint,
    ComplaintStatus,
    ExclusionCategory,
    InspectionObject,
    ObjectStatus,
    RiskAssessment,
    RiskClass,
    RiskConclusion,
    SideFacts,
    StatutoryDesignation,
)

AS_OF = dt.date(2026, 12, 1)
LINES = ("food", "special_equipment", "")
INDUSTRIES = ("C34", "F52", "")
REGIONS = ("130203", "130204", "130302")
LEVELS = {"prov": 1, "city": 2, "dist": 3}


@cache
def colliding(prefix: str) -> tuple[str, str]:
    """Two keys whose fact ids (``prefix`` + key) share a durable hash: the second would be dropped."""
    seen: dict[int, str] = {}
    n = 0
    while True:
        key = f"{n:06d}"
        h = durable_hash(prefix + key)
        if h in seen:
            return seen[h], key
        seen[h] = key
        n += 1


def test_the_colliding_keys_really_collide() -> None:
    assert durable_hash("o579599") == durable_hash("o762382")
    a, b = colliding("c")
    assert a != b
    assert durable_hash("c" + a) == durable_hash("c" + b)


CODES = ("579599", "762382", "A1", "B2", "C3")  # the first two collide as object fact ids
days = st.integers(min_value=-40, max_value=40).map(lambda n: AS_OF + dt.timedelta(days=n))


@st.composite
def directories(draw: st.DrawFn) -> tuple[list[InspectionObject], SideFacts]:
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=5, unique=True))
    objects = [
        InspectionObject(
            credit_code=code,
            name=code,
            region_code=draw(st.sampled_from(REGIONS)),
            registering_department_id="dist",
            industry=draw(st.sampled_from(INDUSTRIES)),
            business_lines=tuple(draw(st.lists(st.sampled_from(LINES[:2]), max_size=2, unique=True))),
            risk_class=draw(st.sampled_from(list(RiskClass))),
            status=draw(st.sampled_from(list(ObjectStatus))),
        )
        for code in codes
    ]
    c1, c2 = colliding("c")
    complaint_ids = iter([c1, c2, "x1", "x2", "x3", "x4"])
    complaints = [
        Complaint(
            id=next(complaint_ids),
            credit_code=draw(st.sampled_from(codes)),
            status=draw(st.sampled_from(list(ComplaintStatus))),
            received_on=draw(days),
            closed_on=draw(st.none() | days),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    assessments = [
        RiskAssessment(
            id=f"r{n}",
            credit_code=draw(st.sampled_from(codes)),
            conclusion=draw(st.sampled_from(list(RiskConclusion))),
            assessed_on=draw(days),
            valid_until=draw(st.none() | days),
        )
        for n in range(draw(st.integers(0, 3)))
    ]
    designations = [
        StatutoryDesignation(
            id=f"s{n}",
            credit_code=draw(st.sampled_from(codes)),
            business_line=draw(st.sampled_from(LINES)),
            method="m",
            legal_basis="",
            valid_from=draw(days),
            valid_to=draw(st.none() | days),
        )
        for n in range(draw(st.integers(0, 2)))
    ]
    campaigns = [
        Campaign(
            id=f"k{n}",
            name="k",
            organizer_department_id=draw(st.sampled_from(sorted(LEVELS))),
            region_code=draw(st.sampled_from(("130000", "130200", "130203", "130300"))),
            industry=draw(st.sampled_from(INDUSTRIES)),
            business_line=draw(st.sampled_from(LINES)),
            starts_on=draw(days),
            ends_on=draw(days),
        )
        for n in range(draw(st.integers(0, 2)))
    ]
    return objects, SideFacts(complaints, campaigns, assessments, designations)


def _values(kind: FactKind, attr: str) -> st.SearchStrategy[object]:
    attribute = ATTRIBUTES[kind][attr]
    if attribute.type is AttrType.DATE:
        return days | st.integers(-40, 40).map(lambda n: ContextValue("as_of", n))
    if attribute.type is AttrType.INT:
        return st.integers(0, 4) | st.just(ContextValue("department_level"))
    if attribute.type is AttrType.ENUM:
        return st.sampled_from(attribute.choices)
    if attr in ("business_line", "business_lines"):
        return st.sampled_from(LINES) | st.just(ContextValue("business_line"))
    if attr == "industry":
        return st.sampled_from(INDUSTRIES)
    if attr == "credit_code":
        return st.sampled_from(CODES)
    return st.sampled_from((*REGIONS, "130000", "130200", "dist", ""))


@st.composite
def conditions(draw: st.DrawFn, kind: FactKind) -> Condition:
    attr = draw(st.sampled_from(sorted(ATTRIBUTES[kind])))
    attribute = ATTRIBUTES[kind][attr]
    op = draw(st.sampled_from(sorted(OPS_BY_TYPE[attribute.type])))
    values = _values(kind, attr)
    if op in (Op.IN, Op.NOT_IN):
        literal = values.filter(lambda v: not isinstance(v, ContextValue))
        return Condition(attr, op, tuple(draw(st.lists(literal, min_size=1, max_size=3))))  # type: ignore[arg-type]
    return Condition(attr, op, draw(values))  # type: ignore[arg-type]


@st.composite
def rules(draw: st.DrawFn, number: int) -> Rule:
    object_conditions = tuple(draw(st.lists(conditions(FactKind.OBJECT), max_size=2)))
    kinds = draw(st.lists(st.sampled_from(SIDE_FACT_KINDS), max_size=2))
    absent_kinds = {k for k in kinds if draw(st.booleans())}
    patterns = []
    for kind in kinds:
        # A kind is either required or forbidden within one rule (``rules check`` rejects a mix).
        patterns.append(
            FactPattern(
                kind, tuple(draw(st.lists(conditions(kind), max_size=2))), absent=kind in absent_kinds
            )
        )
    if not object_conditions and not patterns:
        object_conditions = (Condition("status", Op.EQ, "active"),)
    effective_from = draw(st.none() | days)
    effective_to = draw(st.none() | days)
    return Rule(
        id=f"r{number}",
        title="t",
        category=ExclusionCategory.COMPLAINT_HANDLING,
        legal_basis=LegalBasis("a", "t"),
        reason="r",
        object_conditions=object_conditions,
        facts=tuple(patterns),
        effective_from=effective_from,
        effective_to=effective_to,
        jurisdictions=tuple(
            draw(st.lists(st.sampled_from(("dist", "city", "130200", "130300")), max_size=2, unique=True))
        ),
    )


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    count = draw(st.integers(1, 3))
    return RuleSet.of([draw(rules(n)) for n in range(count)])


@pytest.fixture(scope="module")
def engine() -> Iterator[ExclusionEngine]:
    with ExclusionEngine(shard_size=2, timeout_s=60) as e:
        yield e


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rule_set=rule_sets(), directory=directories(), line=st.sampled_from(LINES), level=st.integers(1, 3))
def test_durable_rules_and_the_oracle_agree_exactly(
    engine: ExclusionEngine,
    rule_set: RuleSet,
    directory: tuple[list[InspectionObject], SideFacts],
    line: str,
    level: int,
) -> None:
    objects, side_facts = directory
    context = EvaluationContext(
        as_of=AS_OF,
        business_line=line,
        item_code="I",
        department_id="dist",
        department_level=level,
        organizer_levels=LEVELS,
        department_path=("dist", "city", "prov"),
        department_region="130203",
    )
    expected = oracle.evaluate(rule_set, context, objects, side_facts)
    assert engine.evaluate(rule_set, context, objects, side_facts) == expected


def test_colliding_object_ids_are_both_evaluated(engine: ExclusionEngine) -> None:
    rule = Rule(
        id="all-active",
        title="t",
        category=ExclusionCategory.COMPLAINT_HANDLING,
        legal_basis=LegalBasis("a", "t"),
        reason="r",
        object_conditions=(Condition("status", Op.EQ, "active"),),
    )
    objects = [
        InspectionObject(code, code, "130203", "dist", "", (), RiskClass.A, ObjectStatus.ACTIVE)
        for code in ("579599", "762382")
    ]
    context = EvaluationContext(AS_OF, "", "I", "dist", 3)
    got = engine.evaluate(RuleSet.of([rule]), context, objects, SideFacts())
    assert [e.credit_code for e in got] == ["579599", "762382"]
    assert got == oracle.evaluate(RuleSet.of([rule]), context, objects, SideFacts())


def test_two_required_patterns_of_one_kind_need_two_different_facts(engine: ExclusionEngine) -> None:
    received = Condition("status", Op.EQ, "received")
    recent = Condition("received_on", Op.GTE, dt.date(2026, 1, 1))
    rule = Rule(
        id="two",
        title="t",
        category=ExclusionCategory.COMPLAINT_HANDLING,
        legal_basis=LegalBasis("a", "t"),
        reason="r",
        facts=(FactPattern(FactKind.COMPLAINT, (received,)), FactPattern(FactKind.COMPLAINT, (recent,))),
    )
    objects = [
        InspectionObject(code, code, "130203", "dist", "", (), RiskClass.A, ObjectStatus.ACTIVE)
        for code in ("ONE", "TWO")
    ]
    side = SideFacts(
        complaints=[
            Complaint("c1", "ONE", ComplaintStatus.RECEIVED, dt.date(2026, 2, 1)),  # satisfies both alone
            Complaint("c2", "TWO", ComplaintStatus.RECEIVED, dt.date(2025, 2, 1)),
            Complaint("c3", "TWO", ComplaintStatus.CLOSED, dt.date(2026, 2, 1)),
        ]
    )
    context = EvaluationContext(AS_OF, "", "I", "dist", 3)
    rule_set = RuleSet.of([rule])
    got = engine.evaluate(rule_set, context, objects, side)
    assert [(e.credit_code, e.evidence) for e in got] == [("TWO", ("c2", "c3"))]
    assert got == oracle.evaluate(rule_set, context, objects, side)
