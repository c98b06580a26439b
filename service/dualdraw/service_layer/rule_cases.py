"""Rule test cases (``rules/tests/*.yaml``): given facts → the exact exclusions expected, with coverage.

A test file::

    version: 1
    cases:
      - name: 正在处理的投诉 / a complaint being handled excludes
        context: {as_of: 2026-12-01, business_line: food, department_level: 3}
        objects:
          - {credit_code: A1}                      # other attributes have defaults
        complaints:
          - {id: c1, credit_code: A1, status: handling, received_on: 2026-11-01}
        expect:
          - {credit_code: A1, rule: complaint-handling.open-complaint}

Every case runs through the real ``ExclusionEngine`` (durable_rules); the expected exclusions must be exactly
the (object, rule) pairs it returns. The plain-Python oracle runs beside it: a disagreement fails the case,
and the oracle records coverage (``oracle.Coverage``): a rule is covered when some case makes it match; a
condition is exercised when some case makes it decide a candidate both ways (all other conditions of its
pattern holding, it alone true in one candidate and false in another).
"""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, SequenceNode

from dualdraw.domain.exclusions import oracle
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet, SourceLocation
from dualdraw.domain.exclusions.plain_yaml import PlainYamlReader, Problem, RuleFileError
from dualdraw.domain.model import (
    Campaign,
    Complaint,
    ComplaintStatus,
    InspectionObject,
    ObjectStatus,
    RiskAssessment,
    RiskClass,
    RiskConclusion,
    SideFacts,
    StatutoryDesignation,
)
from dualdraw.service_layer.ports import ExclusionMatcher

TESTS_FOLDER = "tests"
_CASE_KEYS = {
    "name",
    "context",
    "objects",
    "complaints",
    "campaigns",
    "risk_assessments",
    "statutory_designations",
    "expect",
}
_CONTEXT_KEYS = {
    "as_of",
    "business_line",
    "item_code",
    "department_id",
    "department_level",
    "department_region",
    "department_path",
}
Pair = tuple[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class TestCase:
    name: str
    location: SourceLocation
    context: EvaluationContext
    objects: tuple[InspectionObject, ...]
    side_facts: SideFacts
    expected: frozenset[Pair]


@dataclass(frozen=True)
class CaseResult:
    case: TestCase
    failures: tuple[str, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class TestReport:
    results: list[CaseResult]
    coverage: oracle.Coverage
    rule_set: RuleSet
    seconds: float = 0.0
    uncovered_rules: list[str] = field(default_factory=list)
    unexercised: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def rule_coverage(self) -> float:
        total = len(self.rule_set.rules)
        return 100.0 if total == 0 else 100.0 * (total - len(self.uncovered_rules)) / total

    @property
    def condition_coverage(self) -> float:
        total = sum(len(oracle.all_condition_keys(r)) for r in self.rule_set.rules)
        return 100.0 if total == 0 else 100.0 * (total - len(self.unexercised)) / total


def test_files(paths: Iterable[Path]) -> list[Path]:
    """The test files of rule folders ``paths`` (``<folder>/tests/*.yaml``) or test files given directly."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            folder = path / TESTS_FOLDER
            if folder.is_dir():
                found.extend(sorted(p for p in folder.iterdir() if p.suffix == ".yaml" and p.is_file()))
        elif path.parent.name == TESTS_FOLDER:
            found.append(path)
    return found


def load_cases(files: Iterable[Path]) -> list[TestCase]:
    """Every case in ``files``; raises ``RuleFileError`` with file:line:column problems."""
    cases: list[TestCase] = []
    problems: list[Problem] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), 1, 1, f"cannot read the file: {exc}"))
            continue
        reader = _CaseReader(str(file))
        cases.extend(reader.read(text))
        problems.extend(reader.problems)
    if problems:
        raise RuleFileError(problems)
    return cases


class _CaseReader(PlainYamlReader):
    def read(self, text: str) -> list[TestCase]:
        empty = "empty test file; expected 'version: 1' and 'cases:'"
        root = self.compose(text, what="a test file", empty=empty)
        if root is None:
            return []
        top = self.mapping(root, "a test file", required={"version", "cases"}, optional=set())
        if top is None or "cases" not in top:
            return []
        cases: list[TestCase] = []
        for node in self.sequence(top["cases"], "cases") or []:
            case = self.case(node)
            if case is not None:
                cases.append(case)
        return cases

    def case(self, node: yaml.Node) -> TestCase | None:
        fields = self.mapping(
            node, "a test case", required={"name", "context", "expect"}, optional=_CASE_KEYS
        )
        if fields is None or not {"name", "context", "expect"} <= fields.keys():
            return None
        before = len(self.problems)
        name = self.text(fields["name"], "name") or "?"
        data = {key: SafeConstructor().construct_document(value) for key, value in fields.items()}
        context = self.context(fields["context"], data["context"])
        objects = self.records(fields, data, "objects", _object)
        side = SideFacts(
            complaints=self.records(fields, data, "complaints", _complaint),
            campaigns=self.records(fields, data, "campaigns", _campaign),
            risk_assessments=self.records(fields, data, "risk_assessments", _risk_assessment),
            statutory_designations=self.records(fields, data, "statutory_designations", _designation),
        )
        expected: set[Pair] = set()
        expect_node = fields["expect"]
        if not isinstance(expect_node, SequenceNode):
            self.problem(
                expect_node, "expect must be a list of {credit_code, rule} (an empty list: nothing excluded)"
            )
        else:
            for item_node, item in zip(expect_node.value, data["expect"] or [], strict=False):
                if not isinstance(item, dict) or set(item) != {"credit_code", "rule"}:
                    self.problem(item_node, "an expected exclusion is {credit_code: ..., rule: ...}")
                    continue
                expected.add((str(item["credit_code"]), str(item["rule"])))
        if context is None or len(self.problems) > before:
            return None
        organizer_levels = {
            c.organizer_department_id: int(c.organizer_department_id.split("-", 1)[1]) for c in side.campaigns
        }
        context = EvaluationContext(
            as_of=context.as_of,
            business_line=context.business_line,
            item_code=context.item_code,
            department_id=context.department_id,
            department_level=context.department_level,
            organizer_levels=organizer_levels,
            department_path=context.department_path,
            department_region=context.department_region,
        )
        return TestCase(name, self.location(node), context, tuple(objects), side, frozenset(expected))

    def context(self, node: yaml.Node, data: object) -> EvaluationContext | None:
        if not isinstance(node, MappingNode) or not isinstance(data, dict):
            self.problem(
                node, "context must be a mapping with as_of (and business_line, department_level, ...)"
            )
            return None
        unknown = sorted(set(data) - _CONTEXT_KEYS)
        if unknown:
            self.problem(node, f"unknown context keys {unknown}; expected some of {sorted(_CONTEXT_KEYS)}")
            return None
        as_of = data.get("as_of")
        if type(as_of) is not dt.date:
            self.problem(node, "context.as_of must be a date YYYY-MM-DD")
            return None
        department_id = str(data.get("department_id", "dept"))
        path = data.get("department_path", [department_id])
        return EvaluationContext(
            as_of=as_of,
            business_line=str(data.get("business_line", "")),
            item_code=str(data.get("item_code", "ITEM")),
            department_id=department_id,
            department_level=int(data.get("department_level", 3)),
            department_path=tuple(str(p) for p in path) if isinstance(path, list) else (department_id,),
            department_region=str(data.get("department_region", "")),
        )

    def records(
        self,
        fields: Mapping[str, yaml.Node],
        data: Mapping[str, object],
        key: str,
        build: Callable[[Mapping[str, object]], T],
    ) -> list[T]:
        if key not in fields:
            return []
        node = fields[key]
        items = data[key]
        if not isinstance(node, SequenceNode) or not isinstance(items, list):
            self.problem(node, f"{key} must be a list")
            return []
        built: list[T] = []
        for item_node, item in zip(node.value, items, strict=True):
            if not isinstance(item, dict):
                self.problem(item_node, f"an entry of {key} must be a mapping")
                continue
            try:
                built.append(build(item))
            except (KeyError, ValueError, TypeError) as exc:
                self.problem(item_node, f"invalid entry of {key}: {type(exc).__name__}: {exc}")
        return built


def _date(value: object) -> dt.date:
    if type(value) is dt.date:
        return value
    raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")


def _optional_date(value: object) -> dt.date | None:
    return None if value is None else _date(value)


def _check_keys(item: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; expected some of {sorted(allowed)}")


def _object(item: Mapping[str, object]) -> InspectionObject:
    _check_keys(
        item,
        {
            "credit_code",
            "status",
            "risk_class",
            "industry",
            "region_code",
            "registering_department_id",
            "business_lines",
            "office",
            "name",
        },
    )
    lines = item.get("business_lines", [])
    return InspectionObject(
        credit_code=str(item["credit_code"]),
        name=str(item.get("name", item["credit_code"])),
        region_code=str(item.get("region_code", "130203")),
        registering_department_id=str(item.get("registering_department_id", "dept")),
        industry=str(item.get("industry", "")),
        business_lines=tuple(str(x) for x in lines) if isinstance(lines, list) else (),
        risk_class=RiskClass(str(item.get("risk_class", "B"))),
        status=ObjectStatus(str(item.get("status", "active"))),
        office=str(item.get("office", "")),
    )


def _complaint(item: Mapping[str, object]) -> Complaint:
    _check_keys(item, {"id", "credit_code", "status", "received_on", "closed_on"})
    return Complaint(
        id=str(item["id"]),
        credit_code=str(item["credit_code"]),
        status=ComplaintStatus(str(item["status"])),
        received_on=_date(item["received_on"]),
        closed_on=_optional_date(item.get("closed_on")),
    )


def _campaign(item: Mapping[str, object]) -> Campaign:
    """A campaign; its organiser is given by level (``organizer_level: 1``), not by department id."""
    _check_keys(
        item,
        {"id", "organizer_level", "region_code", "industry", "business_line", "starts_on", "ends_on", "name"},
    )
    level = int(str(item["organizer_level"]))
    return Campaign(
        id=str(item["id"]),
        name=str(item.get("name", item["id"])),
        organizer_department_id=f"level-{level}",
        region_code=str(item["region_code"]),
        industry=str(item.get("industry", "")),
        business_line=str(item.get("business_line", "")),
        starts_on=_date(item["starts_on"]),
        ends_on=_date(item["ends_on"]),
    )


def _risk_assessment(item: Mapping[str, object]) -> RiskAssessment:
    _check_keys(item, {"id", "credit_code", "conclusion", "assessed_on", "valid_until"})
    return RiskAssessment(
        id=str(item["id"]),
        credit_code=str(item["credit_code"]),
        conclusion=RiskConclusion(str(item["conclusion"])),
        assessed_on=_date(item["assessed_on"]),
        valid_until=_optional_date(item.get("valid_until")),
    )


def _designation(item: Mapping[str, object]) -> StatutoryDesignation:
    _check_keys(item, {"id", "credit_code", "business_line", "method", "valid_from", "valid_to"})
    return StatutoryDesignation(
        id=str(item["id"]),
        credit_code=str(item["credit_code"]),
        business_line=str(item["business_line"]),
        method=str(item.get("method", "statutory")),
        legal_basis="",
        valid_from=_date(item["valid_from"]),
        valid_to=_optional_date(item.get("valid_to")),
    )


def run_cases(rule_set: RuleSet, cases: Iterable[TestCase], engine: ExclusionMatcher) -> TestReport:
    """Runs every case through ``engine`` and the oracle; collects failures and coverage."""
    started = time.perf_counter()
    coverage = oracle.Coverage()
    results: list[CaseResult] = []
    for case in cases:
        t0 = time.perf_counter()
        failures: list[str] = []
        known = {r.id for r in rule_set.rules}
        for _code, rule_id in sorted(case.expected):
            if rule_id not in known:
                failures.append(f"expects unknown rule {rule_id!r}")
        got = {
            (e.credit_code, e.rule_id)
            for e in engine.evaluate(rule_set, case.context, case.objects, case.side_facts)
        }
        checked = {
            (e.credit_code, e.rule_id)
            for e in oracle.evaluate(rule_set, case.context, case.objects, case.side_facts, coverage=coverage)
        }
        for code, rule_id in sorted(case.expected - got):
            failures.append(f"expected {code} excluded by {rule_id}, but it was not")
        for code, rule_id in sorted(got - case.expected):
            failures.append(f"{code} was excluded by {rule_id}, which the case does not expect")
        if checked != got:
            failures.append(
                "durable_rules and the plain-Python oracle disagree: "
                f"engine {sorted(got)}, oracle {sorted(checked)}"
            )
        results.append(CaseResult(case, tuple(failures), time.perf_counter() - t0))
    report = TestReport(results, coverage, rule_set, time.perf_counter() - started)
    exercised = coverage.exercised()
    for rule in rule_set.rules:
        if rule.id not in coverage.matched_rules:
            report.uncovered_rules.append(f"{rule.source}: rule {rule.id!r} never matched in a test case")
        for key in oracle.all_condition_keys(rule):
            if key not in exercised:
                _, pattern, index = key
                condition = (
                    rule.object_conditions[index] if pattern == 0 else rule.facts[pattern - 1].where[index]
                )
                ways = []
                if key not in coverage.decided_true:
                    ways.append("true")
                if key not in coverage.decided_false:
                    ways.append("false")
                report.unexercised.append(
                    f"{condition.source or rule.source}: condition {condition.describe()} "
                    f"of rule {rule.id!r} "
                    f"never decided a candidate as {' or '.join(ways)}"
                )
    return report


def junit_xml(report: TestReport) -> str:
    """JUnit XML with one testcase per case (``classname`` is the test file)."""
    suite = ET.Element(
        "testsuite",
        name="dualdraw-rules",
        tests=str(len(report.results)),
        failures=str(len(report.failed)),
        errors="0",
        time=f"{report.seconds:.3f}",
    )
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=result.case.location.file,
            name=result.case.name,
            file=result.case.location.file,
            line=str(result.case.location.line),
            time=f"{result.seconds:.3f}",
        )
        if result.failures:
            failure = ET.SubElement(case, "failure", message=result.failures[0])
            failure.text = "\n".join(result.failures)
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="rule_coverage", value=f"{report.rule_coverage:.1f}")
    ET.SubElement(properties, "property", name="condition_coverage", value=f"{report.condition_coverage:.1f}")
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
