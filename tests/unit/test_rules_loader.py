"""Rule files → RuleSet: parsing, hashing, and every problem reported with file:line:column."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from dualdraw.domain.exclusions import plain_yaml
from dualdraw.domain.exclusions.loader import load_rule_set, load_rule_texts
from dualdraw.domain.exclusions.model import ContextValue, FactPattern
from dualdraw.domain.exclusions.plain_yaml import RuleFileError
from dualdraw.domain.exclusions.schema import FactKind, Op
from dualdraw.domain.model import ExclusionCategory

REPO = Path(__file__).resolve().parents[2]
SEED_ZH = Path("/work/shared/seed/rules-zh.txt")

VALID = """\
version: 1
rules:
  - id: complaint-handling.open-complaint
    title: 投诉举报正在依法处理 / Complaint being handled
    category: complaint_handling
    legal_basis: {article: "第十六条第（二）项 / Art. 16(2)",
                  text: "依法对被投诉举报企业违法违规行为进行处理的"}
    reason: 该企业有正在处理的投诉举报。/ A complaint is being handled.
    when:
      object:
        - {attr: status, op: eq, value: active}
      facts:
        - kind: complaint
          where:
            - {attr: status, op: in, value: [received, handling]}
            - {attr: received_on, op: gte, value: {context: as_of, minus_days: 365}}
"""

# The same rule written differently: block style, comments, other key order, a YAML date.
VALID_REFORMATTED = """\
# a comment
rules:
  - reason: "该企业有正在处理的投诉举报。/ A complaint is being handled."   # trailing comment
    when:
      facts:
        - where:
            - attr: status
              op: in
              value:
                - received
                - handling
            - value: {minus_days: 365, context: as_of}
              attr: received_on
              op: gte
          kind: complaint
      object:
        - {value: "active", op: eq, attr: status}
    legal_basis:
      text: 依法对被投诉举报企业违法违规行为进行处理的
      article: 第十六条第（二）项 / Art. 16(2)
    category: complaint_handling
    title: "投诉举报正在依法处理 / Complaint being handled"
    id: complaint-handling.open-complaint
version: 1
"""


def rule_yaml(rule_id: str, when: str, category: str = "complaint_handling") -> str:
    """One rule as a list item (indented for ``rules:``); ``when`` is the YAML under ``when:``."""
    body = "\n".join("      " + line for line in when.strip("\n").splitlines())
    return (
        f"  - id: {rule_id}\n"
        f"    title: T / T\n"
        f"    category: {category}\n"
        f"    legal_basis: {{article: A, text: T}}\n"
        f"    reason: R / R\n"
        f"    when:\n{body}\n"
    )


def rules_file(*rules: str) -> str:
    return "version: 1\nrules:\n" + "".join(rules)


def problems_of(texts: dict[str, str]) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        load_rule_texts(texts)
    return [str(p) for p in caught.value.problems]


def test_a_valid_file_becomes_a_rule_with_its_metadata() -> None:
    rule_set = load_rule_texts({"rules/a.yaml": VALID})

    (rule,) = rule_set.rules
    assert rule.id == "complaint-handling.open-complaint"
    assert rule.title == "投诉举报正在依法处理 / Complaint being handled"
    assert rule.category is ExclusionCategory.COMPLAINT_HANDLING
    assert rule.legal_basis.article == "第十六条第（二）项 / Art. 16(2)"
    assert rule.legal_basis.citation.endswith(": 依法对被投诉举报企业违法违规行为进行处理的")
    assert rule.reason.startswith("该企业")
    assert (rule.source.file, rule.source.line, rule.source.column) == ("rules/a.yaml", 3, 5)
    assert [(c.attr, c.op, c.value) for c in rule.object_conditions] == [("status", Op.EQ, "active")]
    (pattern,) = rule.facts
    assert pattern == FactPattern(
        kind=FactKind.COMPLAINT,
        where=(
            pattern.where[0],
            pattern.where[1],
        ),
    )
    assert (pattern.where[0].op, pattern.where[0].value) == (Op.IN, ("received", "handling"))
    assert pattern.where[1].value == ContextValue("as_of", -365)
    assert rule_set.rule(rule.id) is rule
    assert rule_set.fact_kinds == {FactKind.COMPLAINT}


def test_the_hash_ignores_formatting_comments_key_order_and_file_split() -> None:
    one = load_rule_texts({"a.yaml": VALID})
    two = load_rule_texts({"b.yaml": VALID_REFORMATTED})
    other = rules_file(rule_yaml("z.other", "object:\n  - {attr: status, op: eq, value: suspended}"))
    together = load_rule_texts({"a.yaml": VALID + other.split("rules:\n", 1)[1]})
    split = load_rule_texts({"x.yaml": other, "y.yaml": VALID})

    assert re.fullmatch(r"[0-9a-f]{64}", one.hash)
    assert one.hash == two.hash
    assert one.version == one.hash[:12]
    assert together.hash == split.hash != one.hash
    assert [r.id for r in split.rules] == ["complaint-handling.open-complaint", "z.other"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("minus_days: 365", "minus_days: 364"),
        ("is being handled.", "is being handled!"),
        ("[received, handling]", "[handling, received]"),
        ("value: active", "value: suspended"),
    ],
)
def test_the_hash_changes_with_the_content(old: str, new: str) -> None:
    assert old in VALID
    assert (
        load_rule_texts({"a.yaml": VALID.replace(old, new)}).hash != load_rule_texts({"a.yaml": VALID}).hash
    )


@pytest.mark.parametrize("parser", ["SafeLoader", "CSafeLoader"])
def test_every_problem_is_reported_with_file_line_and_column(
    parser: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not hasattr(yaml, parser):
        pytest.skip(f"PyYAML without {parser}")
    monkeypatch.setattr(plain_yaml, "SAFE_LOADER", getattr(yaml, parser))
    text = """\
version: 1
rules:
  - id: Bad_ID
    title: T
    category: complaint_handling
    legal_basis: {article: A, text: T}
    reason: R
    when:
      object:
        - {attr: status, op: eq, value: alive}
  - id: second
    title: T
    category: complaints
    legal_basis: {article: A, text: T}
    reason: R
    colour: red
    when:
      facts:
        - kind: complaint
          where:
            - {attr: recieved_on, op: gte, value: 2024-01-01}
            - {attr: status, op: lt, value: closed}
        - kind: inspection
  - id: third
    title: T
    category: risk_unsuitable
    legal_basis: {article: A}
    when:
      object:
        - {attr: industry, op: eq, value: 1234}
        - {attr: region_code, op: in, value: 130200}
      facts:
        - kind: risk_assessment
          where:
            - {attr: valid_until, op: gte, value: {context: today}}
            - {attr: assessed_on, op: lte, value: "2024-02-30"}
            - {attr: conclusion, op: eq, value: {context: business_line}}
"""
    assert problems_of({"r.yaml": text}) == [
        "r.yaml:3:9: rule id 'Bad_ID' must be 1-100 lower-case letters, digits, '.' or '-', "
        "starting with a letter or digit",
        "r.yaml:10:41: 'alive' is not a valid status; expected one of active, suspended, deregistered",
        "r.yaml:13:15: unknown category 'complaints'; expected one of statutory_method, complaint_handling, "
        "risk_unsuitable, higher_level_campaign",
        "r.yaml:16:5: unknown key 'colour' in a rule; "
        "expected one of category, effective_from, effective_to, id, jurisdictions, legal_basis, reason, "
        "title, when",
        "r.yaml:21:22: unknown attribute 'recieved_on' of complaint facts; did you mean 'received_on'? "
        "expected one of status, received_on, closed_on",
        "r.yaml:22:34: operator 'lt' does not apply to status (enum); use one of eq, in, ne, not_in",
        "r.yaml:23:17: unknown fact kind 'inspection'; expected one of complaint, campaign, risk_assessment, "
        "statutory_designation",
        "r.yaml:24:5: a rule is missing 'reason'",
        "r.yaml:27:18: legal_basis is missing 'text'",
        "r.yaml:30:43: industry holds strings: expected a string, got an integer (1234) (quote it)",
        "r.yaml:31:46: the value of 'in' must be a list, got an integer (130200)",
        "r.yaml:35:61: unknown context value 'today'; expected one of as_of, business_line, item_code, "
        "department_id, department_level",
        "r.yaml:36:51: assessed_on is a date: expected YYYY-MM-DD or a context value, "
        "got a string ('2024-02-30')",
        "r.yaml:37:59: context value 'business_line' is string and cannot be compared with conclusion (enum)",
    ]


def test_a_yaml_syntax_error_points_at_the_problem() -> None:
    text = "version: 1\nrules:\n  - id: x\n    title: [unclosed\n"
    (problem,) = problems_of({"s.yaml": text})
    assert problem.startswith("s.yaml:5:1: YAML syntax error:")


def position_of(text: str, marker: str) -> str:
    """``line:column`` (1-based) of the first ``marker`` in ``text``."""
    before = text[: text.index(marker)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def test_unknown_tags_are_not_constructed_so_files_cannot_run_code() -> None:
    text = rules_file(
        rule_yaml("x", "object:\n  - {attr: industry, op: eq, value: !!python/object/apply:os.system [echo]}")
    )
    (problem,) = problems_of({"t.yaml": text})
    assert problem.startswith(
        f"t.yaml:{position_of(text, '!!python')}: "
        "YAML tags (tag:yaml.org,2002:python/object/apply:os.system) are not allowed in rule files"
    )


@pytest.mark.parametrize(
    ("when", "marker", "message"),
    [
        ("{}", "{}", "when needs at least one object condition or fact"),
        (
            "object:\n  - {attr: office, op: contains, value: x}",
            "contains",
            "operator 'contains' does not apply",
        ),
        ("object:\n  - {attr: business_lines, op: eq, value: x}", "eq", "operator 'eq' does not apply"),
        ("object:\n  - {attr: status, op: in, value: []}", "[]", "the list of 'in' must not be empty"),
        ("object:\n  - {attr: status, op: eq}", "{attr", "a condition is missing 'value'"),
        ("object:\n  - {attr: status, op: eq, value: active, attr: x}", "attr: x", "duplicate key 'attr'"),
        (
            "facts:\n  - {kind: complaint, absent: maybe}",
            "maybe",
            "absent must be true or false, got a string",
        ),
        (
            "facts:\n  - {kind: campaign, where: [{attr: organizer_level, op: lt, value: {context: as_of}}]}",
            "as_of",
            "context value 'as_of' is date and cannot be compared with organizer_level (integer)",
        ),
        (
            "facts:\n  - kind: campaign\n    where:\n"
            "      - {attr: industry, op: eq, value: {context: item_code, minus_days: 1}}",
            "1}",
            "minus_days applies to dates only",
        ),
        (
            "facts:\n  - kind: complaint\n    where:\n"
            "      - {attr: received_on, op: gte, value: {context: as_of, minus_days: -3}}",
            "-3",
            "minus_days must be a whole number of days from 0 to 36500",
        ),
        (
            "facts:\n  - {kind: campaign, where: [{attr: organizer_level, op: lt, value: true}]}",
            "true",
            "organizer_level is an integer: expected a whole number",
        ),
    ],
)
def test_mistakes_in_conditions_point_at_the_offending_token(when: str, marker: str, message: str) -> None:
    text = rules_file(rule_yaml("x", when))
    (problem,) = problems_of({"c.yaml": text})
    assert problem.startswith(f"c.yaml:{position_of(text, marker)}: {message}"), problem


def test_top_level_mistakes() -> None:
    assert problems_of({"e.yaml": ""}) == ["e.yaml:1:1: empty rule file; expected 'version: 1' and 'rules:'"]
    assert problems_of({"v.yaml": "version: 2\nrules: []\n"}) == [
        "v.yaml:1:10: unsupported rule file version an integer (2); this dualdraw reads version 1"
    ]
    assert problems_of({"l.yaml": "- a\n"}) == [
        "l.yaml:1:1: a rule file must be a mapping (key: value), got a list"
    ]
    assert problems_of({"m.yaml": "version: 1\n"}) == ["m.yaml:1:1: a rule file is missing 'rules'"]


def test_duplicate_ids_across_files_name_the_first_definition() -> None:
    first = rules_file(rule_yaml("same.id", "object:\n  - {attr: status, op: eq, value: active}"))
    second = rules_file(
        rule_yaml("other", "object:\n  - {attr: status, op: eq, value: active}"),
        rule_yaml("same.id", "object:\n  - {attr: status, op: eq, value: suspended}"),
    )
    assert problems_of({"a.yaml": first, "b.yaml": second}) == [
        f"b.yaml:{position_of(second, 'same.id')}: duplicate rule id 'same.id' (first defined at a.yaml:3:9)"
    ]


def in_list(count: int, attr: str = "industry", prefix: str = "i") -> str:
    return (
        f"object:\n  - {{attr: {attr}, op: in, value: [{', '.join(f'{prefix}{n}' for n in range(count))}]}}"
    )


def test_in_lists_are_limited_well_below_durables_sibling_limit() -> None:
    load_rule_texts({"ok.yaml": rules_file(rule_yaml("x", in_list(200)))})
    text = rules_file(rule_yaml("x", in_list(201)))
    (problem,) = problems_of({"big.yaml": text})
    assert problem.startswith(
        f"big.yaml:{position_of(text, '[i0')}: the list of 'in' has 201 values; at most 200"
    )


def test_distinct_conditions_on_one_fact_kind_are_limited() -> None:
    ok = rules_file(rule_yaml("a", in_list(200, prefix="a")), rule_yaml("b", in_list(200, prefix="b")))
    load_rule_texts({"ok.yaml": ok})
    too_many = ok + rule_yaml("c", "object:\n  - {attr: industry, op: eq, value: c}")
    (problem,) = problems_of({"many.yaml": too_many})
    at = position_of(too_many, "id: c\n")
    assert problem.startswith(f"many.yaml:{at}: the rule set tests object facts with more than 400 distinct")


def complaint_facts(count: int, absent_campaigns: int = 0) -> str:
    lines = ["facts:"]
    lines += [
        f"  - {{kind: complaint, where: [{{attr: received_on, op: gte, value: 2024-01-{n + 1:02d}}}]}}"
        for n in range(count)
    ]
    lines += ["  - {kind: campaign, absent: true}"] * absent_campaigns
    return "\n".join(lines)


def test_a_rule_joins_at_most_16_facts_and_an_absent_campaign_counts_six() -> None:
    load_rule_texts({"ok.yaml": rules_file(rule_yaml("x", complaint_facts(15)))})
    load_rule_texts({"ok.yaml": rules_file(rule_yaml("x", complaint_facts(3, absent_campaigns=2)))})
    (problem,) = problems_of({"p.yaml": rules_file(rule_yaml("x", complaint_facts(16)))})
    assert problem.startswith("p.yaml:3:5: rule 'x' joins 17 facts")
    (problem,) = problems_of({"q.yaml": rules_file(rule_yaml("x", complaint_facts(4, absent_campaigns=2)))})
    assert problem.startswith("q.yaml:3:5: rule 'x' joins 17 facts")


def test_at_most_250_compiled_rules_share_one_pattern() -> None:
    same = "object:\n  - {attr: status, op: eq, value: active}"
    load_rule_texts({"ok.yaml": rules_file(*(rule_yaml(f"r{n}", same) for n in range(250)))})
    text = rules_file(*(rule_yaml(f"r{n}", same) for n in range(251)))
    (problem,) = problems_of({"s.yaml": text})
    at = position_of(text, "id: r250\n")  # the 251st rule
    assert problem.startswith(f"s.yaml:{at}: more than 250 compiled rules share the same object conditions")


def test_at_most_4096_compiled_rules() -> None:
    def campaign_rule(n: int) -> str:
        # Distinct object and campaign tests per rule from few distinct values (26 x 27 combinations), so
        # that only the number of compiled rules (6 per campaign rule, plus the sentinel) hits a limit.
        a, b = divmod(n, 27)
        when = (
            f"object:\n  - {{attr: industry, op: eq, value: i{a}}}\n"
            f"  - {{attr: office, op: eq, value: o{b}}}\n"
            f"facts:\n  - kind: campaign\n    where:\n"
            f"      - {{attr: starts_on, op: lte, value: 2024-01-{a + 1:02d}}}\n"
            f"      - {{attr: ends_on, op: gte, value: 2024-02-{b + 1:02d}}}"
        )
        return rule_yaml(f"r{n}", when, "higher_level_campaign")

    load_rule_texts({"ok.yaml": rules_file(*(campaign_rule(n) for n in range(682)))})  # 4,093 rules
    (problem,) = problems_of({"c.yaml": rules_file(*(campaign_rule(n) for n in range(683)))})
    assert problem.startswith("c.yaml:")
    assert "compiles to more than 4096 durable rules at rule 'r682'" in problem


def test_a_directory_means_its_yaml_files_sorted(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(
        rules_file(rule_yaml("b", "object:\n  - {attr: status, op: eq, value: active}"))
    )
    (tmp_path / "a.yaml").write_text(
        rules_file(rule_yaml("a", "object:\n  - {attr: status, op: eq, value: active}"))
    )
    (tmp_path / "notes.txt").write_text("not a rule file")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("not: [read")

    rule_set = load_rule_set(tmp_path)

    assert rule_set.sources == (str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"))
    assert [r.id for r in rule_set.rules] == ["a", "b"]
    assert rule_set == load_rule_set([tmp_path / "b.yaml", str(tmp_path / "a.yaml")])


def test_missing_files_and_empty_folders_are_problems(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError) as caught:
        load_rule_set([tmp_path, tmp_path / "gone.yaml"])
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path}:1:1: no rule files (*.yaml) in this folder",
        f"{tmp_path / 'gone.yaml'}:1:1: file not found",
    ]


def seed_item_texts() -> dict[str, str]:
    """Art. 16's four items from the Chinese seed text, by item number."""
    return dict(re.findall(r"^\((.)\) (.+?)[;。]$", SEED_ZH.read_text(encoding="utf-8"), re.MULTILINE))


def test_the_shipped_rules_cover_every_category_with_bilingual_texts() -> None:
    rule_set = load_rule_set(REPO / "rules")
    assert {r.category for r in rule_set.rules} == set(ExclusionCategory)
    item_of = {
        ExclusionCategory.STATUTORY_METHOD: "一",
        ExclusionCategory.COMPLAINT_HANDLING: "二",
        ExclusionCategory.RISK_UNSUITABLE: "三",
        ExclusionCategory.HIGHER_LEVEL_CAMPAIGN: "四",
    }
    for rule in rule_set.rules:
        number = item_of[rule.category]
        assert rule.legal_basis.article.startswith(f"第十六条第（{number}）项 / Art. 16(")
        if SEED_ZH.exists():  # the shared seed is outside the repository
            assert rule.legal_basis.text == seed_item_texts()[number]
        for text in (rule.title, rule.reason):
            chinese, english = text.split(" / ", 1)
            assert re.search(r"[\u4e00-\u9fff]", chinese), text
            assert re.search(r"[A-Za-z]{3}", english), text


def test_dates_in_rules_accept_yaml_dates_and_quoted_iso_strings() -> None:
    when = "facts:\n  - {kind: complaint, where: [{attr: received_on, op: gte, value: %s}]}"
    plain = load_rule_texts({"a.yaml": rules_file(rule_yaml("x", when % "2024-01-31"))})
    quoted = load_rule_texts({"a.yaml": rules_file(rule_yaml("x", when % '"2024-01-31"'))})
    assert plain.rules[0].facts[0].where[0].value == dt.date(2024, 1, 31)
    assert plain.hash == quoted.hash
