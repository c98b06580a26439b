"""The rule language beyond plain conditions: effective dates, jurisdictions, safe YAML, the JSON Schema,
canonical round trips, explanations and impact between git revisions."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.exclusions import json_schema
from dualdraw.domain.exclusions.compiler import compile_rule_set
from dualdraw.domain.exclusions.loader import load_rule_set, load_rule_texts
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.exclusions.plain_yaml import RuleFileError
from dualdraw.domain.model import (
    Department,
    DepartmentLevel,
    InspectionObject,
    ObjectStatus,
    RiskAssessment,
    RiskClass,
    RiskConclusion,
    SideFacts,
)
from dualdraw.entrypoints.cli.main import main
from dualdraw.service_layer.rule_preview import DirectorySnapshot, explain, impact

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
AS_OF = dt.date(2026, 12, 1)

RULE = """\
version: 1
rules:
  - id: x.suspended
    title: T
    category: complaint_handling
    legal_basis: {{article: A, text: T}}
    reason: R
{extra}    when:
      object:
        - {{attr: status, op: eq, value: suspended}}
"""


def context(**changes: object) -> EvaluationContext:
    base: dict[str, object] = {
        "as_of": AS_OF,
        "business_line": "",
        "item_code": "I",
        "department_id": "dist",
        "department_level": 3,
        "department_path": ("dist", "city", "prov"),
        "department_region": "130203",
    }
    return EvaluationContext(**(base | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("extra", "compiled"),
    [
        ("", True),
        ("    effective_from: 2026-12-01\n", True),
        ("    effective_from: 2026-12-02\n", False),
        ("    effective_to: 2026-11-30\n", False),
        ("    effective_to: 2026-12-01\n", True),
        ("    jurisdictions: [city]\n", True),
        ("    jurisdictions: [other-dept]\n", False),
        ('    jurisdictions: ["130200"]\n', True),
        ('    jurisdictions: ["130300"]\n', False),
    ],
)
def test_a_rule_out_of_force_or_jurisdiction_is_not_compiled(extra: str, compiled: bool) -> None:
    rule_set = load_rule_texts({"r.yaml": RULE.format(extra=extra)})
    assert ("x.suspended" in compile_rule_set(rule_set, context())) is compiled


def test_unquoted_region_codes_are_rejected() -> None:
    with pytest.raises(RuleFileError, match=r"r\.yaml:8:21: region code 130200 must be quoted"):
        load_rule_texts({"r.yaml": RULE.format(extra="    jurisdictions: [130200]\n")})


def test_a_billion_laughs_file_is_refused_before_expansion() -> None:
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    with pytest.raises(RuleFileError, match=r"b.yaml:1:4: YAML anchors \(&a\) are not allowed"):
        load_rule_texts({"b.yaml": bomb})


def test_huge_files_are_refused() -> None:
    with pytest.raises(RuleFileError, match=r"h\.yaml:1:1: the file has 1048577 bytes"):
        load_rule_texts({"h.yaml": "#" * (1024 * 1024 + 1)})


def test_the_canonical_json_round_trips_to_the_same_hash() -> None:
    rule_set = load_rule_texts(
        {"r.yaml": RULE.format(extra='    effective_from: 2026-01-01\n    jurisdictions: [dist, "130200"]\n')}
    )
    shipped = load_rule_set(RULES)
    for original in (rule_set, shipped):
        again = RuleSet.from_canonical_json(original.canonical_json())
        assert again.hash == original.hash
        assert again.rules == original.rules


def test_the_committed_json_schema_is_generated_and_accepts_the_shipped_files() -> None:
    committed = (RULES / "schema" / "rule-file.schema.json").read_text(encoding="utf-8")
    assert committed == json_schema.rendered()
    schema = json.loads(committed)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(RULES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# yaml-language-server: $schema=schema/rule-file.schema.json\n")
        data = json.loads(json.dumps(yaml.safe_load(text), default=str))  # dates as the editor sees them
        assert list(validator.iter_errors(data)) == [], path
        broken = json.loads(json.dumps(data))
        broken["rules"][0]["when"]["facts"][0]["where"][0]["attr"] = "no_such_attribute"
        assert list(validator.iter_errors(broken)), path


def _object(code: str, **changes: object) -> InspectionObject:
    base = InspectionObject(code, code, "130203", "dist", "C34", ("food",), RiskClass.B, ObjectStatus.ACTIVE)
    return InspectionObject(**(base.__dict__ | changes))


@pytest.fixture(scope="module")
def engine() -> ExclusionEngine:
    e = ExclusionEngine(timeout_s=60)
    yield e  # type: ignore[misc]
    e.close()


def test_explain_gives_matching_facts_the_eligibility_date_and_near_misses(engine: ExclusionEngine) -> None:
    rule_set = load_rule_set(RULES)
    side = SideFacts(
        risk_assessments=[
            RiskAssessment(
                "RA-1", "OBJ", RiskConclusion.UNSUITABLE, dt.date(2026, 6, 1), dt.date(2027, 5, 31)
            )
        ]
    )
    explanation = explain(rule_set, _object("OBJ"), side, context(), engine)
    assert explanation.excluded_by == ("risk-unsuitable.assessment-in-force",)
    assert explanation.eligible_again == dt.date(2027, 6, 1)
    (risk,) = [r for r in explanation.rules if r.rule_id == "risk-unsuitable.assessment-in-force"]
    assert risk.status == "matched"
    assert [(f.ref, f.values["valid_until"]) for f in risk.facts] == [("RA-1", "2027-05-31")]
    later = explain(rule_set, _object("OBJ"), side, context(as_of=dt.date(2027, 6, 1)), engine)
    assert later.excluded_by == ()
    (near,) = [r for r in later.rules if r.rule_id == "risk-unsuitable.assessment-in-force"]
    assert near.status == "nearly_matched"
    assert near.failures == ("risk_assessment RA-1: valid_until gte as_of is false (it is 2027-05-31)",)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["rules", *argv])
    return code, out.getvalue()


def test_impact_between_two_git_revisions_lists_the_changed_objects(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    rules = repo / "rules"
    shutil.copytree(RULES, rules)

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    (rules / "suspended.yaml").write_text(RULE.format(extra=""), encoding="utf-8")
    export = tmp_path / "directory.jsonl"
    records = [
        {"kind": "department", "id": "prov", "name": "p", "level": 1, "region_code": "130000"},
        {
            "kind": "department",
            "id": "city",
            "name": "c",
            "parent_id": "prov",
            "level": 2,
            "region_code": "130200",
        },
        {
            "kind": "department",
            "id": "dist",
            "name": "d",
            "parent_id": "city",
            "level": 3,
            "region_code": "130203",
        },
    ]
    codes = [make_credit_code("9", "1", "130203", f"MA{n:06d}") for n in range(1, 4)]
    for n, code in enumerate(codes):
        records.append(
            {
                "kind": "object",
                "credit_code": code,
                "name": f"o{n}",
                "region_code": "130203",
                "registering_department_id": "dist",
                "industry": "C34",
                "risk_class": "C" if n else "A",
                "status": "SUSPENDED" if n < 2 else "ACTIVE",
            }
        )
    export.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    code, out = run(
        "impact",
        "--base",
        "HEAD",
        "--rules",
        str(rules),
        "--directory",
        str(export),
        "--as-of",
        "2026-12-01",
        "--json",
    )
    assert code == 0, out
    report = json.loads(out)
    assert [(c["credit_code"], c["change"], c["head_rules"]) for c in report["changes"]] == [
        (codes[0], "excluded", ["x.suspended"]),
        (codes[1], "excluded", ["x.suspended"]),
    ]
    assert report["departments"]["dist"]["newly_excluded"] == 2
    assert report["risk_classes"] == {"A": {"excluded": 1}, "C": {"excluded": 1}}
    code, out = run(
        "impact",
        "--base",
        "HEAD",
        "--rules",
        str(rules),
        "--directory",
        str(export),
        "--as-of",
        "2026-12-01",
        "--max-share",
        "0.5",
    )
    assert code == 1
    assert "department dist would lose 66.7% of its eligible objects" in out


def test_impact_in_service_layer_reports_included_objects(engine: ExclusionEngine) -> None:
    base = load_rule_texts({"r.yaml": RULE.format(extra="")})
    head = load_rule_texts({"r.yaml": RULE.format(extra="    effective_to: 2026-11-30\n")})
    departments = [Department("dist", "d", None, DepartmentLevel.DISTRICT, "130203")]
    snapshot = DirectorySnapshot(
        departments, [_object("S", status=ObjectStatus.SUSPENDED), _object("A")], SideFacts()
    )
    report = impact(base, head, snapshot, engine, as_of=AS_OF)
    assert [(c.credit_code, c.change) for c in report.changes] == [("S", "included")]
    assert report.departments["dist"].newly_included == 1
