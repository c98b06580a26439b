"""ExclusionEngine end to end: shipped rules, joins, negation, date windows, shards, collisions, failures.

The engine runs durable_rules in a real worker process; one module-wide engine keeps the suite fast, and
the failure tests start their own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualdraw.adapters.rules_engine.engine import ExclusionEngine, Twins
from dualdraw.adapters.rules_engine.worker import FAULT_ENV
from dualdraw.domain.errors import FailedPrecondition, Unavailable
from dualdraw.domain.exclusions.loader import load_rule_set, load_rule_texts
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.model import (
    Campaign,
    Complaint,
    ComplaintStatus,
    DrawObject,
    DrawObjects,
    Exclusion,
    ExclusionCategory,
    InspectionObject,
    ObjectProfile,
    ObjectStatus,
    RiskAssessment,
    RiskClass,
    RiskConclusion,
    SideFacts,
    StatutoryDesignation,
)

REPO = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2024, 5, 1)
ORGANIZERS = {"prov": 1, "city": 2, "dist": 3}
CONTEXT = EvaluationContext(
    as_of=AS_OF,
    business_line="food",
    item_code="ITEM-1",
    department_id="dist",
    department_level=3,
    organizer_levels=ORGANIZERS,
)
SHIPPED = load_rule_set(REPO / "rules")
STATUTORY = "statutory-method.designated-for-line"
COMPLAINT = "complaint-handling.open-complaint"
RISK = "risk-unsuitable.assessment-in-force"
CAMPAIGN = "higher-level-campaign.covers-object"


def days(n: int) -> dt.date:
    return AS_OF + dt.timedelta(days=n)


def obj(code: str, **changes: object) -> InspectionObject:
    base = InspectionObject(
        credit_code=code,
        name=f"enterprise {code}",
        region_code="130203",
        registering_department_id="dist",
        industry="food",
        business_lines=("food",),
        risk_class=RiskClass.B,
        status=ObjectStatus.ACTIVE,
        office="east",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def complaint(
    id: str, code: str, status: ComplaintStatus = ComplaintStatus.RECEIVED, received: int = -10
) -> Complaint:
    return Complaint(id=id, credit_code=code, status=status, received_on=days(received))


def campaign(id: str = "k1", **changes: object) -> Campaign:
    base = Campaign(
        id=id,
        name="special inspection",
        organizer_department_id="city",
        region_code="130200",
        industry="",
        business_line="",
        starts_on=days(-30),
        ends_on=days(30),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def assessment(id: str, code: str, **changes: object) -> RiskAssessment:
    base = RiskAssessment(
        id=id,
        credit_code=code,
        conclusion=RiskConclusion.UNSUITABLE,
        assessed_on=days(-60),
        valid_until=days(60),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def designation(id: str, code: str, **changes: object) -> StatutoryDesignation:
    base = StatutoryDesignation(
        id=id,
        credit_code=code,
        business_line="food",
        method="on-site annual inspection",
        legal_basis="Food Safety Law",
        valid_from=days(-100),
        valid_to=days(100),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def rules(*bodies: str) -> RuleSet:
    """A rule set of test rules; each body is ``id`` and ``when`` YAML (already indented for a rule)."""
    items = "".join(
        f"  - title: T / T\n    category: complaint_handling\n    legal_basis: {{article: A, text: T}}\n"
        f"    reason: R / R\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"
        for body in bodies
    )
    return load_rule_texts({"test.yaml": "version: 1\nrules:\n" + items})


@pytest.fixture(scope="module")
def engine() -> Iterator[ExclusionEngine]:
    with ExclusionEngine(shard_size=1000, timeout_s=60) as started:
        yield started


def excluded(
    engine: ExclusionEngine,
    objects: list[InspectionObject],
    side: SideFacts,
    rule_set: RuleSet = SHIPPED,
    context: EvaluationContext = CONTEXT,
) -> set[tuple[str, str]]:
    return {(e.credit_code, e.rule_id) for e in engine.evaluate(rule_set, context, objects, side)}


# -- the shipped rules, one per Art. 16 category ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "hit"),
    [
        ({}, True),
        ({"valid_to": None}, True),  # open-ended: in force
        ({"valid_from": AS_OF, "valid_to": AS_OF}, True),  # both bounds inclusive
        ({"business_line": "drugs"}, False),
        ({"valid_from": days(1)}, False),
        ({"valid_to": days(-1)}, False),
    ],
)
def test_statutory_method_designated_for_the_items_line(
    engine: ExclusionEngine, changes: dict[str, object], hit: bool
) -> None:
    side = SideFacts(statutory_designations=[designation("sd1", "A", **changes), designation("sd2", "X")])
    result = engine.evaluate(SHIPPED, CONTEXT, [obj("A"), obj("B")], side)
    assert [(e.credit_code, e.rule_id, e.evidence) for e in result] == (
        [("A", STATUTORY, ("sd1",))] if hit else []
    )
    if hit:
        (exclusion,) = result
        rule = SHIPPED.rule(STATUTORY)
        assert exclusion.category is ExclusionCategory.STATUTORY_METHOD
        assert exclusion.reason == rule.reason
        assert exclusion.legal_basis == f"{rule.legal_basis.article}: {rule.legal_basis.text}"


@pytest.mark.parametrize(
    ("status", "received", "hit"),
    [
        (ComplaintStatus.RECEIVED, -10, True),
        (ComplaintStatus.HANDLING, -400, True),
        (ComplaintStatus.HANDLING, 0, True),
        (ComplaintStatus.CLOSED, -10, False),
        (ComplaintStatus.RECEIVED, 1, False),  # received after the draw date
    ],
)
def test_complaint_being_handled(
    engine: ExclusionEngine, status: ComplaintStatus, received: int, hit: bool
) -> None:
    side = SideFacts(complaints=[complaint("cp1", "A", status, received)])
    assert excluded(engine, [obj("A"), obj("B")], side) == ({("A", COMPLAINT)} if hit else set())


def test_complaints_join_their_own_object_and_merge_into_one_exclusion(engine: ExclusionEngine) -> None:
    side = SideFacts(
        complaints=[
            complaint("cp2", "A"),
            complaint("cp1", "A", ComplaintStatus.HANDLING),
            complaint("cp3", "A", ComplaintStatus.CLOSED),
            complaint("cp4", "C"),
            complaint("cp5", "nobody"),
        ]
    )
    result = engine.evaluate(SHIPPED, CONTEXT, [obj("C"), obj("B"), obj("A")], side)
    assert [(e.credit_code, e.rule_id, e.evidence) for e in result] == [
        ("A", COMPLAINT, ("cp1", "cp2")),
        ("C", COMPLAINT, ("cp4",)),
    ]


@pytest.mark.parametrize(
    ("changes", "hit"),
    [
        ({}, True),
        ({"valid_until": None}, True),
        ({"valid_until": AS_OF}, True),
        ({"conclusion": RiskConclusion.SUITABLE}, False),
        ({"valid_until": days(-1)}, False),
        ({"assessed_on": days(1)}, False),
    ],
)
def test_risk_assessment_unsuitable_and_in_force(
    engine: ExclusionEngine, changes: dict[str, object], hit: bool
) -> None:
    side = SideFacts(risk_assessments=[assessment("ra1", "A", **changes)])
    assert excluded(engine, [obj("A"), obj("B")], side) == ({("A", RISK)} if hit else set())


@pytest.mark.parametrize(
    ("campaign_changes", "object_changes", "hit"),
    [
        ({}, {}, True),  # city campaign, object in a district of that city
        ({"region_code": "130000", "organizer_department_id": "prov"}, {}, True),  # province-wide
        ({"region_code": "130203"}, {}, True),  # the object's own district
        ({"region_code": "130204"}, {}, False),  # another district
        ({"region_code": "130300"}, {}, False),  # another city
        ({"region_code": "140000", "organizer_department_id": "prov"}, {}, False),  # another province
        ({}, {"region_code": "130200"}, True),  # object registered at city level
        ({"region_code": "130203"}, {"region_code": "130200"}, False),  # district campaign, city-level object
        ({"organizer_department_id": "dist"}, {}, False),  # same level as the task department: not higher
        ({"industry": "food"}, {}, True),
        ({"industry": "drugs"}, {}, False),
        ({"industry": "drugs"}, {"industry": "drugs"}, True),
        ({"business_line": "food"}, {}, True),
        ({"business_line": "drugs"}, {}, False),
        ({"starts_on": AS_OF, "ends_on": AS_OF}, {}, True),
        ({"starts_on": days(1)}, {}, False),
        ({"ends_on": days(-1)}, {}, False),
    ],
)
def test_higher_level_campaign_covering_the_object(
    engine: ExclusionEngine, campaign_changes: dict[str, object], object_changes: dict[str, object], hit: bool
) -> None:
    side = SideFacts(campaigns=[campaign("k1", **campaign_changes)])
    result = engine.evaluate(SHIPPED, CONTEXT, [obj("A", **object_changes)], side)
    assert [(e.credit_code, e.rule_id, e.evidence) for e in result] == (
        [("A", CAMPAIGN, ("k1",))] if hit else []
    )


def test_campaign_level_is_relative_to_the_task_department(engine: ExclusionEngine) -> None:
    side = SideFacts(campaigns=[campaign("k1")])  # organised by the city (level 2)
    city_task = replace(CONTEXT, department_id="city", department_level=2)
    province_task = replace(CONTEXT, department_id="prov", department_level=1)
    assert excluded(engine, [obj("A")], side, context=city_task) == set()
    assert excluded(engine, [obj("A")], side, context=province_task) == set()
    assert excluded(engine, [obj("A")], side) == {("A", CAMPAIGN)}


def test_several_campaigns_and_rules_at_once(engine: ExclusionEngine) -> None:
    side = SideFacts(
        campaigns=[campaign("k2", region_code="130000", organizer_department_id="prov"), campaign("k1")],
        complaints=[complaint("cp1", "A")],
    )
    result = engine.evaluate(SHIPPED, CONTEXT, [obj("A"), obj("B", region_code="140102")], side)
    assert [(e.credit_code, e.rule_id, e.evidence) for e in result] == [
        ("A", COMPLAINT, ("cp1",)),
        ("A", CAMPAIGN, ("k1", "k2")),
    ]


# -- the language: negation, date windows, object conditions ----------------------------------------------


def test_absent_side_facts_negate(engine: ExclusionEngine) -> None:
    rule_set = rules(
        """
        id: test.unassessed-high-risk
        when:
          object:
            - {attr: risk_class, op: in, value: [C, D]}
          facts:
            - kind: risk_assessment
              absent: true
              where:
                - {attr: conclusion, op: eq, value: suitable}
        """,
        """
        id: test.no-campaign
        when:
          object:
            - {attr: industry, op: eq, value: drugs}
          facts:
            - {kind: campaign, absent: true}
        """,
    )
    objects = [
        obj("none", risk_class=RiskClass.D),
        obj("suitable", risk_class=RiskClass.D),
        obj("unsuitable", risk_class=RiskClass.C),
        obj("low", risk_class=RiskClass.A),
        obj("drugs-covered", industry="drugs"),
        obj("drugs-elsewhere", industry="drugs", region_code="140102"),
    ]
    side = SideFacts(
        risk_assessments=[
            assessment("ra1", "suitable", conclusion=RiskConclusion.SUITABLE),
            assessment("ra2", "unsuitable"),
            assessment("ra3", "low", conclusion=RiskConclusion.SUITABLE),
        ],
        campaigns=[campaign("k1")],
    )
    result = engine.evaluate(rule_set, CONTEXT, objects, side)
    assert [(e.credit_code, e.rule_id, e.evidence) for e in result] == [
        ("drugs-elsewhere", "test.no-campaign", ()),
        ("none", "test.unassessed-high-risk", ()),
        ("unsuitable", "test.unassessed-high-risk", ()),
    ]


@pytest.mark.parametrize(("received", "hit"), [(0, True), (-365, True), (-366, False), (5, True)])
def test_date_windows_with_minus_days(engine: ExclusionEngine, received: int, hit: bool) -> None:
    rule_set = rules(
        """
        id: test.recent-complaint
        when:
          facts:
            - kind: complaint
              where:
                - {attr: received_on, op: gte, value: {context: as_of, minus_days: 365}}
        """
    )
    side = SideFacts(complaints=[complaint("cp1", "A", ComplaintStatus.CLOSED, received)])
    assert excluded(engine, [obj("A")], side, rule_set) == (
        {("A", "test.recent-complaint")} if hit else set()
    )


def test_object_conditions_and_objects_no_rule_admits(engine: ExclusionEngine) -> None:
    """Objects failing every object condition make durable report "not handled", which is harmless."""
    rule_set = rules(
        """
        id: test.object-only
        when:
          object:
            - {attr: status, op: eq, value: active}
            - {attr: office, op: not_in, value: [west, north]}
            - {attr: business_lines, op: contains, value: {context: business_line}}
            - {attr: registering_department_id, op: ne, value: city}
        """
    )
    objects = [
        obj("hit"),
        obj("suspended", status=ObjectStatus.SUSPENDED),
        obj("west", office="west"),
        obj("other-lines", business_lines=("drugs", "toys")),
        obj("no-lines", business_lines=()),
        obj("many-lines", business_lines=("drugs", "food")),
        obj("city", registering_department_id="city"),
    ]
    assert excluded(engine, objects, SideFacts(), rule_set) == {
        ("hit", "test.object-only"),
        ("many-lines", "test.object-only"),
    }
    only_suspended = [obj("s1", status=ObjectStatus.SUSPENDED), obj("s2", status=ObjectStatus.DEREGISTERED)]
    assert (
        engine.evaluate(rule_set, CONTEXT, only_suspended, SideFacts(complaints=[complaint("c", "s1")])) == []
    )


def test_strings_with_json_and_non_ascii_characters_match_exactly(engine: ExclusionEngine) -> None:
    odd = '食品, "quoted" {braces} \\ back'
    rule_set = rules(
        f"""
        id: test.odd-industry
        when:
          object:
            - {{attr: industry, op: eq, value: {json.dumps(odd, ensure_ascii=False)}}}
        """
    )
    objects = [obj("hit", industry=odd), obj("miss", industry=odd[:-1]), obj('quote"code', industry=odd)]
    assert excluded(engine, objects, SideFacts(), rule_set) == {
        ("hit", "test.odd-industry"),
        ('quote"code', "test.odd-industry"),
    }


# -- scale, shards, fact ids --------------------------------------------------------------------------------

EXTRA_RULES = [
    """
    id: test.unassessed-high-risk
    when:
      object:
        - {attr: risk_class, op: in, value: [C, D]}
        - {attr: status, op: ne, value: deregistered}
      facts:
        - kind: risk_assessment
          absent: true
          where:
            - {attr: conclusion, op: eq, value: suitable}
            - {attr: valid_until, op: gte, value: {context: as_of}}
    """,
    """
    id: test.recent-complaint-in-line
    when:
      object:
        - {attr: business_lines, op: contains, value: {context: business_line}}
        - {attr: office, op: not_in, value: [north, west]}
      facts:
        - kind: complaint
          where:
            - {attr: received_on, op: gte, value: {context: as_of, minus_days: 90}}
            - {attr: status, op: ne, value: closed}
    """,
    """
    id: test.uncovered-drugs
    when:
      object:
        - {attr: industry, op: in, value: [drugs, toys]}
      facts:
        - kind: campaign
          absent: true
          where:
            - {attr: starts_on, op: lte, value: {context: as_of}}
            - {attr: ends_on, op: gte, value: {context: as_of}}
    """,
]
DISTRICTS = ["130202", "130203", "130204", "130302", "130303", "140105", "140106"]


def random_directory(count: int, seed: int) -> tuple[list[InspectionObject], SideFacts]:
    rnd = random.Random(seed)

    def day(low: int, high: int) -> dt.date:
        return days(rnd.randint(low, high))

    objects = [
        obj(
            f"91{n:016d}",
            region_code=rnd.choice([*DISTRICTS, "130200"]),
            industry=rnd.choice(["food", "drugs", "toys", "cosmetics"]),
            business_lines=tuple(rnd.sample(["food", "drugs", "toys"], rnd.randint(0, 2))),
            risk_class=rnd.choice(list(RiskClass)),
            status=rnd.choice(list(ObjectStatus)),
            office=rnd.choice(["north", "south", "east", "west"]),
        )
        for n in range(count)
    ]
    codes = [o.credit_code for o in objects] + ["91-not-in-scope"]
    side = SideFacts(
        complaints=[
            Complaint(f"cp{n}", rnd.choice(codes), rnd.choice(list(ComplaintStatus)), day(-400, 10))
            for n in range(count // 10)
        ],
        risk_assessments=[
            RiskAssessment(
                f"ra{n}",
                rnd.choice(codes),
                rnd.choice(list(RiskConclusion)),
                day(-300, 5),
                rnd.choice([None, day(-30, 60)]),
            )
            for n in range(count // 10)
        ],
        statutory_designations=[
            StatutoryDesignation(
                f"sd{n}",
                rnd.choice(codes),
                rnd.choice(["food", "drugs"]),
                "m",
                "law",
                day(-60, 20),
                rnd.choice([None, day(-20, 60)]),
            )
            for n in range(count // 20)
        ],
        campaigns=[
            Campaign(
                f"k{n}",
                "c",
                rnd.choice(list(ORGANIZERS)),
                rnd.choice(["130000", "130200", "130300", *DISTRICTS]),
                rnd.choice(["", "food", "drugs"]),
                rnd.choice(["", "food", "toys"]),
                day(-40, 5),
                day(-5, 40),
            )
            for n in range(8)
        ],
    )
    return objects, side


def expected_exclusions(
    rule_set: RuleSet, objects: list[InspectionObject], side: SideFacts
) -> list[Exclusion]:
    """The same rules written as plain Python over the domain records."""
    as_of, line = CONTEXT.as_of, CONTEXT.business_line

    def covers(c: Campaign, o: InspectionObject) -> bool:
        r = o.region_code
        return (
            c.region_code in {r[:2] + "0000", r[:4] + "00", r}
            and c.industry in ("", o.industry)
            and c.business_line in ("", line)
        )

    def active(c: Campaign) -> bool:
        return c.starts_on <= as_of <= c.ends_on

    matches: dict[tuple[str, str], list[str]] = {}
    for o in objects:
        code = o.credit_code
        found: dict[str, list[str]] = {
            STATUTORY: [
                d.id
                for d in side.statutory_designations
                if d.credit_code == code
                and d.business_line == line
                and d.valid_from <= as_of <= (d.valid_to or dt.date.max)
            ],
            COMPLAINT: [
                c.id
                for c in side.complaints
                if c.credit_code == code
                and c.status in (ComplaintStatus.RECEIVED, ComplaintStatus.HANDLING)
                and c.received_on <= as_of
            ],
            RISK: [
                a.id
                for a in side.risk_assessments
                if a.credit_code == code
                and a.conclusion is RiskConclusion.UNSUITABLE
                and a.assessed_on <= as_of <= (a.valid_until or dt.date.max)
            ],
            CAMPAIGN: [
                c.id
                for c in side.campaigns
                if covers(c, o)
                and active(c)
                and ORGANIZERS[c.organizer_department_id] < CONTEXT.department_level
            ],
        }
        holds = {rule_id: bool(ids) for rule_id, ids in found.items()}
        holds["test.unassessed-high-risk"] = (
            o.risk_class in (RiskClass.C, RiskClass.D)
            and o.status is not ObjectStatus.DEREGISTERED
            and not any(
                a.credit_code == code
                and a.conclusion is RiskConclusion.SUITABLE
                and (a.valid_until or dt.date.max) >= as_of
                for a in side.risk_assessments
            )
        )
        found["test.recent-complaint-in-line"] = (
            [
                c.id
                for c in side.complaints
                if c.credit_code == code
                and c.status is not ComplaintStatus.CLOSED
                and c.received_on >= as_of - dt.timedelta(days=90)
            ]
            if line in o.business_lines and o.office not in ("north", "west")
            else []
        )
        holds["test.recent-complaint-in-line"] = bool(found["test.recent-complaint-in-line"])
        holds["test.uncovered-drugs"] = o.industry in ("drugs", "toys") and not any(
            covers(c, o) and active(c) for c in side.campaigns
        )
        for rule_id, hit in holds.items():
            if hit:
                matches[(code, rule_id)] = sorted(found.get(rule_id, []))
    return [
        Exclusion(
            code,
            rule_id,
            rule_set.rule(rule_id).category,
            rule_set.rule(rule_id).reason,
            rule_set.rule(rule_id).legal_basis.citation,
            tuple(ids),
        )
        for (code, rule_id), ids in sorted(matches.items())
    ]


def shipped_and_extra_rules() -> RuleSet:
    """The shipped rules and ``EXTRA_RULES``, as ``expected_exclusions`` writes them in Python."""
    shipped = "".join(Path(p).read_text(encoding="utf-8").split("rules:\n", 1)[1] for p in SHIPPED.sources)
    return load_rule_texts(
        {
            "all.yaml": "version: 1\nrules:\n"
            + shipped
            + "".join(
                "  - title: T / T\n    category: risk_unsuitable\n    legal_basis: {article: A, text: T}\n"
                "    reason: R / R\n" + textwrap.indent(textwrap.dedent(body).strip(), "    ") + "\n"
                for body in EXTRA_RULES
            )
        }
    )


def test_thousands_of_objects_over_several_shards_match_a_plain_python_evaluation(
    engine: ExclusionEngine,
) -> None:
    rule_set = shipped_and_extra_rules()
    objects, side = random_directory(6000, seed=20240501)
    calls: list[tuple[int, int]] = []

    result = engine.evaluate(
        rule_set, CONTEXT, objects, side, progress=lambda done, total: calls.append((done, total))
    )

    expected = expected_exclusions(rule_set, objects, side)
    assert len({e.rule_id for e in expected}) == 7  # every rule has work to do
    assert len(expected) > 1000
    assert result == expected
    # progress counts the objects decided: those sent to durable_rules and the twins found so far; twins
    # are decided with their representative, so there are at most 6,000 / 1,000 shards of 1,000
    done = [d for d, _ in calls]
    assert all(t == 6000 for _, t in calls)
    assert done == sorted(set(done))
    assert done[-1] == 6000
    assert 1 < len(calls) <= 6


def test_twins_are_decided_once_by_durable_and_reported_for_each(engine: ExclusionEngine) -> None:
    """Objects without own side facts whose rule-relevant attributes are equal go to durable_rules once."""
    covered = [obj(f"{n:06d}") for n in range(500)]  # in 130203, the campaign's territory
    elsewhere = [obj(f"{n:06d}", region_code="130102") for n in range(500, 700)]
    loner = obj("999999")
    side = SideFacts(complaints=[complaint("a", "999999")], campaigns=[campaign()])
    calls: list[tuple[int, int]] = []

    result = engine.evaluate(
        SHIPPED, CONTEXT, [*covered, *elsewhere, loner], side, progress=lambda d, t: calls.append((d, t))
    )

    assert calls == [
        (701, 701)
    ]  # one shard: a representative per twin group, and the object with a complaint
    assert [(e.credit_code, e.rule_id, e.evidence) for e in result if e.rule_id == CAMPAIGN] == [
        (o.credit_code, CAMPAIGN, ("k1",)) for o in [*covered, loner]
    ]
    assert [e.credit_code for e in result if e.rule_id == COMPLAINT] == ["999999"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_objects_whose_own_side_facts_no_rule_tells_apart_are_twins_with_their_own_evidence(
    seed: int,
) -> None:
    """Objects alike but for their credit code whose own side facts differ only where no rule can tell
    (their ids; dates on the same side of every tested bound) are decided once by durable_rules, and each
    is reported with the refs of its own facts: the same exclusions as the rules written in Python."""
    rule_set = shipped_and_extra_rules()
    rnd = random.Random(seed)
    objects = [
        obj(
            f"91{n:016d}",
            region_code=rnd.choice(["130203", "130102"]),
            risk_class=rnd.choice([RiskClass.B, RiskClass.C]),
        )
        for n in range(3000)
    ]
    codes = [o.credit_code for o in objects]

    def day() -> dt.date:  # near the bounds the rules test: as_of, as_of - 90 days
        return days(rnd.choice([-400, -91, -90, -89, -30, -1, 0, 1, 5]))

    side = SideFacts(
        complaints=[
            complaint(f"cp{n}", rnd.choice(codes), rnd.choice(list(ComplaintStatus)), (day() - AS_OF).days)
            for n in range(900)
        ]
        + [complaint("k1", codes[7])],  # a ref a campaign's repeats: this object stands apart
        risk_assessments=[
            assessment(
                f"ra{n}",
                rnd.choice(codes),
                conclusion=rnd.choice(list(RiskConclusion)),
                assessed_on=day(),
                valid_until=rnd.choice([None, day()]),
            )
            for n in range(450)
        ],
        statutory_designations=[
            designation(
                f"sd{n}",
                rnd.choice(codes),
                business_line=rnd.choice(["food", "drugs"]),
                valid_from=day(),
                valid_to=rnd.choice([None, day()]),
            )
            for n in range(300)
        ],
        campaigns=[campaign("k1"), campaign("k2", region_code="130100", starts_on=days(-100))],
    )
    sent: list[tuple[int, int]] = []

    with ExclusionEngine(shard_size=1) as engine:  # a shard per object sent: ``sent`` counts them
        result = engine.evaluate(rule_set, CONTEXT, objects, side, progress=lambda d, t: sent.append((d, t)))

    expected = expected_exclusions(rule_set, objects, side)
    assert result == expected
    with_own = {
        f.credit_code for f in [*side.complaints, *side.risk_assessments, *side.statutory_designations]
    }
    assert len(with_own) > 1000
    assert len(sent) < len(with_own) / 2  # most objects with side facts of their own were twins
    shared = [e for e in expected if len(e.evidence) == 1 and e.evidence[0][:2] in ("cp", "ra", "sd")]
    assert len({e.evidence for e in shared}) > 100  # and each twin's evidence is its own


def test_side_facts_of_objects_out_of_scope_change_no_twin() -> None:
    """Side facts whose objects are not among those evaluated (their codes fall between the evaluated
    ones) leave the twins as they are: alike objects, each with a like complaint, go to durable_rules once."""
    objects = [obj(f"91{2 * n:016d}") for n in range(1, 101)]
    elsewhere = [
        complaint(f"x{n}", f"91{2 * n - 1:016d}") for n in range(1, 51)
    ]  # just before the first half
    own = [complaint(f"c{n}", o.credit_code) for n, o in enumerate(objects)]
    sent: list[tuple[int, int]] = []

    with ExclusionEngine(shard_size=1) as engine:
        result = engine.evaluate(
            SHIPPED,
            CONTEXT,
            objects,
            SideFacts(complaints=[*elsewhere, *own]),
            progress=lambda d, t: sent.append((d, t)),
        )

    assert [(e.credit_code, e.evidence) for e in result] == [
        (o.credit_code, (f"c{n}",)) for n, o in enumerate(objects)
    ]
    assert sent == [(100, 100)]  # one representative decided them all


def test_objects_loaded_as_columns_are_decided_as_the_list_of_objects() -> None:
    """A draw loads its objects as ``DrawObjects`` (twins looked up once per shared profile): the same
    exclusions, shards and progress as the same objects given one by one."""
    listed, side = random_directory(3000, seed=20240503)
    profiles: dict[ObjectProfile, ObjectProfile] = {}
    columns = DrawObjects()
    for o in listed:
        profile = ObjectProfile.of(o)
        columns.append(DrawObject(o.credit_code, profiles.setdefault(profile, profile)))
    assert len(profiles) < 0.9 * len(listed)  # some profiles are shared, as a draw's load shares them
    by_list: list[tuple[int, int]] = []
    by_columns: list[tuple[int, int]] = []

    with ExclusionEngine(shard_size=100) as engine:
        plain = engine.evaluate(SHIPPED, CONTEXT, listed, side, progress=lambda d, t: by_list.append((d, t)))
        loaded = engine.evaluate(
            SHIPPED, CONTEXT, columns, side, progress=lambda d, t: by_columns.append((d, t))
        )

    assert len(plain) > 300
    assert loaded == plain
    assert by_columns == by_list
    assert len(by_list) > 1


def test_colliding_fact_ids_lose_no_fact(engine: ExclusionEngine) -> None:
    # Object facts get the ids "o579599" and "o762382", which durable_rules hashes alike.
    objects = [obj("579599"), obj("762382"), obj("579598")]
    side = SideFacts(
        complaints=[complaint("a", "579599"), complaint("b", "762382"), complaint("c", "579598")]
    )
    result = engine.evaluate(SHIPPED, CONTEXT, objects, side)
    assert [(e.credit_code, e.evidence) for e in result] == [
        ("579598", ("c",)),
        ("579599", ("a",)),
        ("762382", ("b",)),
    ]


# -- the worker process: isolation, crashes, time limits ---------------------------------------------------


def test_the_parent_process_never_loads_durable_rules() -> None:
    script = textwrap.dedent(
        """
        import datetime as dt, sys
        from pathlib import Path
        from dualdraw.domain.model import (
            Complaint, ComplaintStatus, InspectionObject, ObjectStatus, RiskClass)
        from dualdraw.adapters.rules_engine.engine import ExclusionEngine
        from dualdraw.domain.exclusions.loader import load_rule_set
        from dualdraw.domain.exclusions.model import EvaluationContext
        from dualdraw.domain.model import SideFacts
        objects = [InspectionObject("A", "a", "130203", "d", "food", (), RiskClass.A, ObjectStatus.ACTIVE)]
        side = SideFacts(complaints=[Complaint("c1", "A", ComplaintStatus.RECEIVED, dt.date(2024, 1, 1))])
        context = EvaluationContext(dt.date(2024, 5, 1), "food", "I", "d", 3)
        with ExclusionEngine() as engine:
            result = engine.evaluate(load_rule_set(sys.argv[1]), context, objects, side)
        print(len(result), sorted(m for m in sys.modules if "durable" in m))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "rules")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert run.stdout.strip() == "1 []"


def test_a_crashed_worker_is_replaced_and_the_call_retried(engine: ExclusionEngine) -> None:
    side = SideFacts(complaints=[complaint("cp1", "A")])
    for how in ("abort", "exit"):
        before = engine.worker_pid
        engine._crash_worker_for_test(how)
        assert excluded(engine, [obj("A"), obj("B")], side) == {("A", COMPLAINT)}
        assert engine.worker_pid not in (None, before)
    assert excluded(engine, [obj("A")], side) == {("A", COMPLAINT)}  # and the next call just works


def test_a_worker_that_keeps_crashing_makes_the_engine_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "abort")  # inherited by every worker started from now on
    with ExclusionEngine() as failing:
        with pytest.raises(Unavailable, match=r"failed twice .*killed by signal 6") as caught:
            failing.evaluate(SHIPPED, CONTEXT, [obj("A")], SideFacts())
        assert caught.value.reason == "RULES_ENGINE_UNAVAILABLE"
        monkeypatch.delenv(FAULT_ENV)
        assert (
            failing.evaluate(SHIPPED, CONTEXT, [obj("A")], SideFacts(complaints=[complaint("c", "A")])) != []
        )


def test_a_hanging_worker_is_killed_at_the_time_limit_and_the_call_retried() -> None:
    with ExclusionEngine(timeout_s=1.0) as slow:
        slow._crash_worker_for_test("hang")
        hung = slow.worker_pid
        started = time.monotonic()
        assert excluded(slow, [obj("A")], SideFacts(complaints=[complaint("c", "A")])) == {("A", COMPLAINT)}
        assert 1.0 <= time.monotonic() - started < 10
        assert hung is not None
        assert slow.worker_pid != hung
        with pytest.raises(ProcessLookupError):
            os.kill(hung, 0)  # killed and reaped


def test_a_worker_that_always_hangs_is_unavailable_after_two_time_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(FAULT_ENV, "hang")
    with ExclusionEngine(timeout_s=0.5) as slow:
        started = time.monotonic()
        with pytest.raises(Unavailable, match="exceeded the time limit"):
            slow.evaluate(SHIPPED, CONTEXT, [obj("A")], SideFacts())
        assert 1.0 <= time.monotonic() - started < 10


def test_concurrent_callers_are_serialised(engine: ExclusionEngine) -> None:
    objects, side = random_directory(1500, seed=7)
    expected = engine.evaluate(SHIPPED, CONTEXT, objects, side)
    results: list[list[Exclusion]] = []
    threads = [
        threading.Thread(target=lambda: results.append(engine.evaluate(SHIPPED, CONTEXT, objects, side)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [expected] * 3


def test_close_stops_the_worker_and_a_later_call_starts_one() -> None:
    engine = ExclusionEngine()
    assert engine.worker_pid is None
    with engine:
        pid = engine.worker_pid
        assert pid is not None
    assert engine.worker_pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert excluded(engine, [obj("A")], SideFacts(complaints=[complaint("c", "A")])) == {("A", COMPLAINT)}
    engine.close()


def test_no_objects_need_no_worker_and_unknown_organisers_are_refused() -> None:
    idle = ExclusionEngine()
    assert idle.evaluate(SHIPPED, CONTEXT, [], SideFacts(complaints=[complaint("c", "A")])) == []
    assert idle.worker_pid is None
    with pytest.raises(FailedPrecondition, match="without a department level: nowhere"):
        idle.evaluate(
            SHIPPED, CONTEXT, [obj("A")], SideFacts(campaigns=[campaign(organizer_department_id="nowhere")])
        )
    assert idle.worker_pid is None


def test_sessions_are_deleted_so_more_shards_than_durables_live_session_limit_work() -> None:
    objects = [obj(f"o{n:04d}") for n in range(1100)]
    side = SideFacts(complaints=[complaint("c7", "o0007"), complaint("c1099", "o1099")])
    with ExclusionEngine(shard_size=1) as tiny:  # 1,100 sessions, one after another (durable: 1,024 live)
        assert excluded(tiny, objects, side) == {("o0007", COMPLAINT), ("o1099", COMPLAINT)}


def test_many_contexts_cycle_through_the_workers_bounded_ruleset_cache(engine: ExclusionEngine) -> None:
    rule_set = rules(
        """
        id: test.recent-complaint
        when:
          facts:
            - kind: complaint
              where:
                - {attr: received_on, op: gte, value: {context: as_of, minus_days: 5}}
        """
    )
    side = SideFacts(complaints=[complaint("c", "A", received=0)])
    for shift in [*range(12), 0, 3]:  # more contexts than the worker caches, then earlier ones again
        context = replace(CONTEXT, as_of=days(shift))
        assert excluded(engine, [obj("A")], side, rule_set, context) == (
            {("A", "test.recent-complaint")} if shift <= 5 else set()
        )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), max_size=60))
def test_twins_found_in_array_passes_are_those_of_a_walk_in_order(signed: list[tuple[int, bool]]) -> None:
    """``Twins.find`` against the definition, object by object: the first object of a signature without
    side facts of its own represents the later ones; objects with side facts stand alone."""
    codes = [f"91{n:016d}" for n in range(len(signed))]
    kept: list[int] = []
    representative_of: dict[int, str] = {}
    expected: dict[str, list[str]] = {}
    for at, (signature, apart) in enumerate(signed):
        representative = codes[at] if apart else representative_of.setdefault(signature, codes[at])
        if representative == codes[at]:
            kept.append(at)
        else:
            expected.setdefault(representative, []).append(codes[at])

    twins = Twins()
    assert twins.find(codes, [s for s, _ in signed], [a for _, a in signed]) == kept
    assert {code: twins.of(code) for code in codes if twins.of(code)} == expected
    assert bool(twins) == bool(expected)
