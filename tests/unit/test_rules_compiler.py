"""RuleSet + context → durable_rules JSON: constants substituted, operators mapped, campaign variants."""

from __future__ import annotations

import datetime as dt
import json
import operator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain.exclusions.compiler import (
    ACTION_CAP,
    SENTINEL_RULE,
    attributes_read,
    compile_rule_set,
    encode_date,
    rule_id_of,
    side_fact_value_classes,
)
from dualdraw.domain.exclusions.loader import load_rule_set, load_rule_texts
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.exclusions.schema import FactKind

REPO = Path(__file__).resolve().parents[2]
SHIPPED_RULES = load_rule_set(REPO / "rules")
CONTEXT = EvaluationContext(
    as_of=dt.date(2024, 3, 1),
    business_line="food",
    item_code="ITEM-1",
    department_id="D-3",
    department_level=3,
)


def compile_when(when: str, context: EvaluationContext = CONTEXT) -> dict[str, dict[str, object]]:
    body = "\n".join("      " + line for line in when.strip("\n").splitlines())
    text = (
        "version: 1\nrules:\n  - id: r\n    title: T\n    category: complaint_handling\n"
        f"    legal_basis: {{article: A, text: T}}\n    reason: R\n    when:\n{body}\n"
    )
    return compile_rule_set(load_rule_texts({"r.yaml": text}), context)


def patterns(compiled: dict[str, dict[str, object]], name: str = "r") -> dict[str, object]:
    rule = compiled[name]
    assert rule["cap"] == ACTION_CAP
    return {key: value for item in rule["all"] for key, value in item.items()}  # type: ignore[attr-defined]


def test_context_values_are_substituted_as_constants() -> None:
    compiled = compile_when(
        """
facts:
  - kind: complaint
    where:
      - {attr: received_on, op: gte, value: {context: as_of, minus_days: 365}}
      - {attr: closed_on, op: lt, value: {context: as_of, plus_days: 1}}
  - kind: campaign
    where:
      - {attr: organizer_level, op: lt, value: {context: department_level}}
      - {attr: business_line, op: ne, value: {context: item_code}}
"""
    )
    complaint = patterns(compiled, "r@0")["f1"]
    assert complaint == {
        "$and": [
            {"fact": "complaint"},
            {"credit_code": {"o": "credit_code"}},
            {"$gte": {"received_on": 20230302}},  # 2024-03-01 minus 365 days (2024 is a leap year)
            {"$lt": {"closed_on": 20240302}},
        ]
    }
    campaign = json.dumps(patterns(compiled, "r@0")["f2"])
    assert '{"$lt": {"organizer_level": 3}}' in campaign
    assert '{"$neq": {"business_line": "ITEM-1"}}' in campaign
    other_day = compile_when(
        "facts:\n  - {kind: complaint, where: [{attr: received_on, op: gte, value: {context: as_of}}]}",
        EvaluationContext(dt.date(2025, 1, 2), "food", "I", "D", 3),
    )
    assert {"$gte": {"received_on": 20250102}} in patterns(other_day)["f1"]["$and"]  # type: ignore[index]


def test_operators_map_to_durable_expressions() -> None:
    compiled = compile_when(
        """
object:
  - {attr: status, op: in, value: [active, suspended, active]}
  - {attr: risk_class, op: in, value: [D]}
  - {attr: industry, op: not_in, value: [food, drugs]}
  - {attr: office, op: ne, value: x}
  - {attr: business_lines, op: contains, value: {context: business_line}}
"""
    )
    assert patterns(compiled)["o"] == {
        "$and": [
            {"fact": "object"},
            {"$iany": {"business_lines": {"$i": "food"}}},
            {"$neq": {"industry": "drugs"}},
            {"$neq": {"industry": "food"}},
            {"$neq": {"office": "x"}},
            {"$or": [{"status": "active"}, {"status": "suspended"}]},
            {"risk_class": "D"},
        ]
    }


def test_a_present_campaign_becomes_six_rules_and_an_absent_one_six_negations() -> None:
    present = compile_when("facts:\n  - {kind: campaign}")
    assert sorted(present) == [SENTINEL_RULE, *(f"r@{n}" for n in range(6))]

    def terms(pattern: object) -> list[str]:
        return sorted(json.dumps(term) for term in pattern["$and"][1:])  # type: ignore[index]

    business_line = {"$or": [{"business_line": ""}, {"business_line": "food"}]}
    assert sorted(terms(patterns(present, f"r@{n}")["f1"]) for n in range(6)) == sorted(
        sorted(json.dumps(term) for term in [{"region_code": {"o": level}}, industry, business_line])
        for level in ("region_province", "region_city", "region_district")
        for industry in ({"industry": {"o": "industry"}}, {"industry": ""})
    )

    absent = compile_when(
        "object:\n  - {attr: status, op: eq, value: active}\nfacts:\n  - {kind: campaign, absent: true}"
    )
    assert sorted(absent) == ["_sentinel", "r"]
    assert sorted(patterns(absent)) == [
        "f1v0$not",
        "f1v1$not",
        "f1v2$not",
        "f1v3$not",
        "f1v4$not",
        "f1v5$not",
        "o",
    ]
    assert rule_id_of("r@5") == rule_id_of("r") == "r"


def test_an_empty_business_line_only_matches_campaigns_for_every_line() -> None:
    compiled = compile_when(
        "facts:\n  - {kind: campaign}", EvaluationContext(dt.date(2024, 1, 1), "", "I", "D", 2)
    )
    assert {"business_line": ""} in patterns(compiled, "r@0")["f1"]["$and"]  # type: ignore[index]


def test_the_sentinel_rule_and_json_form() -> None:
    compiled = compile_rule_set(load_rule_set(REPO / "rules"), CONTEXT)
    assert compiled[SENTINEL_RULE] == {"all": [{"s": {"fact": "_sentinel"}}]}
    assert json.loads(json.dumps(compiled)) == compiled
    assert compile_rule_set(load_rule_set(REPO / "rules"), CONTEXT) == compiled  # deterministic


def test_facts_carry_only_the_attributes_the_rules_read() -> None:
    read = attributes_read(load_rule_set(REPO / "rules"))
    assert read[FactKind.OBJECT] == (
        "credit_code",
        "industry",
        "region_city",
        "region_district",
        "region_province",
    )
    assert read[FactKind.COMPLAINT] == ("credit_code", "received_on", "status")
    assert read[FactKind.CAMPAIGN] == (
        "business_line",
        "ends_on",
        "industry",
        "organizer_level",
        "region_code",
        "starts_on",
    )


@pytest.mark.parametrize(
    ("day", "encoded"), [(dt.date(2024, 1, 5), 20240105), (dt.date(999, 12, 31), 9991231)]
)
def test_dates_are_integers(day: dt.date, encoded: int) -> None:
    assert encode_date(day) == encoded


def _with_conditions(conditions: list[tuple[str, int]]) -> RuleSet:
    """One rule per (operator, days from ``as_of``) testing a complaint's ``received_on``."""
    text = "version: 1\nrules:\n" + "".join(
        f"  - id: r{n}\n    title: T\n    category: complaint_handling\n"
        "    legal_basis: {article: A, text: T}\n    reason: R\n    when:\n      facts:\n"
        f"        - {{kind: complaint, where: [{{attr: received_on, op: {op}, "
        f"value: {{context: as_of, {'plus' if offset >= 0 else 'minus'}_days: {abs(offset)}}}}}]}}\n"
        for n, (op, offset) in enumerate(conditions)
    )
    return load_rule_texts({"r.yaml": text})


_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le, "gt": operator.gt}


@given(
    st.lists(st.tuples(st.sampled_from(sorted(_COMPARE)), st.integers(-5, 5)), min_size=1, max_size=5),
    st.integers(-8, 8),
    st.integers(-8, 8),
)
def test_values_of_one_class_pass_or_fail_every_test_alike(
    conditions: list[tuple[str, int]], first: int, second: int
) -> None:
    """``side_fact_value_classes``: two dates of one class answer every constant test of the rules alike;
    two dates with no tested bound between them (nor on either) are of one class."""
    classes = side_fact_value_classes(_with_conditions(conditions), CONTEXT)["complaint"]["received_on"]
    a, b = (encode_date(CONTEXT.as_of + dt.timedelta(days=d)) for d in (first, second))
    bounds = [(_COMPARE[op], encode_date(CONTEXT.as_of + dt.timedelta(days=k))) for op, k in conditions]
    told_apart = any(test(a, bound) != test(b, bound) for test, bound in bounds)
    if classes(a) == classes(b):
        assert not told_apart
    between = any(min(a, b) <= bound <= max(a, b) for _, bound in bounds)
    assert between or classes(a) == classes(b)  # no bound between them: one class


def test_an_attribute_tested_against_texts_or_not_at_all_keeps_each_value_its_own_class() -> None:
    classes = side_fact_value_classes(SHIPPED_RULES, CONTEXT)
    assert classes["complaint"]["status"]("received") != classes["complaint"]["status"]("handling")
    assert "campaign" not in classes  # joined by territory: no classes
    assert "closed_on" not in classes["complaint"]  # tested by no shipped rule
