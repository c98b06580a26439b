"""A second, independent evaluator of a ``RuleSet``: plain Python over the parsed rules, no durable_rules.

It never sees the compiled durable JSON: it reads the ``Rule`` conditions and decides them directly over
the same normalised facts (``dualdraw.domain.exclusions.facts``). Tests use it as an oracle (property tests
assert it
and ``ExclusionEngine`` agree exactly); ``explain`` uses it to say why a rule matched, which condition kept
a rule from matching ("nearly matched"), and when a date window ends. Exclusion *decisions* in draws still
come from durable_rules.

Semantics (the same as the compiled rules, measured on durable_rules 2.0.28):
- a rule applies when it is in force at ``as_of`` and covers the task department (``Rule.applies_to``);
- it matches an object when every object condition holds, every present fact pattern is matched by a
  joined side fact — **a different fact for each present pattern** (durable never binds one fact twice in a
  frame) — and no joined side fact matches an absent pattern;
- evidence is every side fact that takes part in some complete match.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dualdraw.domain.errors import FailedPrecondition
from dualdraw.domain.exclusions import facts
from dualdraw.domain.exclusions.compiler import encode_date
from dualdraw.domain.exclusions.model import (
    Condition,
    ContextValue,
    EvaluationContext,
    FactPattern,
    Rule,
    RuleSet,
)
from dualdraw.domain.exclusions.schema import (
    ATTRIBUTES,
    CREDIT_CODE_JOINED,
    OPEN_UPPER_DATE,
    AttrType,
    FactKind,
    Op,
)
from dualdraw.domain.model import Exclusion, InspectionObject, SideFacts

Fact = dict[str, object]
NO_JOINED_FACT = "no such fact is joined to the object"
ConditionKey = tuple[str, int, int]
"""(rule id, pattern number: 0 the object, n the n-th side fact pattern, condition number)."""


def condition_key(rule: Rule, pattern: int, index: int) -> ConditionKey:
    return (rule.id, pattern, index)


def all_condition_keys(rule: Rule) -> list[ConditionKey]:
    keys = [condition_key(rule, 0, i) for i in range(len(rule.object_conditions))]
    for p, pattern in enumerate(rule.facts, start=1):
        keys.extend(condition_key(rule, p, i) for i in range(len(pattern.where)))
    return keys


@dataclass
class Coverage:
    """Which rules matched and which conditions decided, over many evaluations.

    A condition *decided* a candidate (the object, or a side fact joined to it) when all the other
    conditions of its pattern held for that candidate: its own result alone made the candidate match the
    pattern or not. A condition is **exercised** once it has decided both ways (true and false).
    """

    matched_rules: set[str] = field(default_factory=set)
    decided_true: set[ConditionKey] = field(default_factory=set)
    decided_false: set[ConditionKey] = field(default_factory=set)

    def exercised(self) -> set[ConditionKey]:
        return self.decided_true & self.decided_false

    def record(self, rule: Rule, pattern: int, results: Sequence[bool]) -> None:
        failing = [i for i, ok in enumerate(results) if not ok]
        if not failing:
            self.decided_true.update(condition_key(rule, pattern, i) for i in range(len(results)))
        elif len(failing) == 1:
            self.decided_false.add(condition_key(rule, pattern, failing[0]))


def _resolve(value: object, attribute_type: AttrType, context: EvaluationContext) -> object:
    if isinstance(value, ContextValue):
        raw = context.value(value.name)
        if isinstance(raw, dt.date):
            return encode_date(raw + dt.timedelta(days=value.offset_days))
        return raw
    if isinstance(value, dt.date):
        return encode_date(value)
    return value


def holds(
    condition: Condition, kind: FactKind, fact: Mapping[str, object], context: EvaluationContext
) -> bool:
    """Whether ``condition`` holds for the normalised ``fact`` of ``kind``."""
    attribute = ATTRIBUTES[kind][condition.attr]
    actual = fact.get(condition.attr)
    op = condition.op
    if isinstance(condition.value, tuple):
        options = {_resolve(v, attribute.type, context) for v in condition.value}
        return (actual in options) if op is Op.IN else (actual not in options)
    expected = _resolve(condition.value, attribute.type, context)
    if op is Op.EQ:
        return actual == expected
    if op is Op.NE:
        return actual != expected
    if op is Op.CONTAINS:
        return isinstance(actual, list) and expected in actual
    if not isinstance(actual, int) or not isinstance(expected, int):
        return False
    if op is Op.LT:
        return actual < expected
    if op is Op.LTE:
        return actual <= expected
    if op is Op.GT:
        return actual > expected
    return actual >= expected


@dataclass(frozen=True)
class Directory:
    """Normalised facts of objects and their side facts, indexed for joins."""

    objects: dict[str, Fact]
    by_code: dict[str, list[tuple[FactKind, Fact]]]
    campaigns: list[Fact]
    context: EvaluationContext

    @classmethod
    def of(
        cls,
        context: EvaluationContext,
        objects: Iterable[InspectionObject],
        side_facts: SideFacts,
        needs_campaigns: bool,
    ) -> Directory:
        by_code: defaultdict[str, list[tuple[FactKind, Fact]]] = defaultdict(list)
        for c in side_facts.complaints:
            by_code[c.credit_code].append((FactKind.COMPLAINT, facts.complaint_fact(c)))
        for r in side_facts.risk_assessments:
            by_code[r.credit_code].append((FactKind.RISK_ASSESSMENT, facts.risk_assessment_fact(r)))
        for d in side_facts.statutory_designations:
            by_code[d.credit_code].append(
                (FactKind.STATUTORY_DESIGNATION, facts.statutory_designation_fact(d))
            )
        campaigns: list[Fact] = []
        if needs_campaigns:
            levels = context.organizer_levels
            unknown = sorted({c.organizer_department_id for c in side_facts.campaigns} - levels.keys())
            if unknown:
                raise FailedPrecondition(
                    f"campaign organisers without a department level: {', '.join(unknown)}",
                    reason="CAMPAIGN_ORGANIZER_UNKNOWN",
                )
            campaigns = [
                facts.campaign_fact(c, levels[c.organizer_department_id]) for c in side_facts.campaigns
            ]
        return cls({o.credit_code: facts.object_fact(o) for o in objects}, dict(by_code), campaigns, context)

    def joined(self, obj: Fact, kind: FactKind) -> list[Fact]:
        """The side facts of ``kind`` joined to the object fact ``obj`` (see ``compiler`` for the joins)."""
        if kind in CREDIT_CODE_JOINED:
            return [f for k, f in self.by_code.get(str(obj["credit_code"]), ()) if k is kind]
        regions = {obj["region_province"], obj["region_city"], obj["region_district"]}
        line = self.context.business_line
        return [
            c
            for c in self.campaigns
            if c["region_code"] in regions
            and c["industry"] in ("", obj["industry"])
            and c["business_line"] in ("", line)
        ]


@dataclass(frozen=True)
class PatternOutcome:
    """One fact pattern of a rule for one object: the facts matching it and, when none, the nearest miss."""

    pattern: FactPattern
    matching: tuple[Fact, ...]
    nearest: Fact | None
    """When nothing matches: the joined fact failing the fewest conditions (``None``: no joined fact)."""
    nearest_failed: tuple[Condition, ...]


@dataclass(frozen=True)
class RuleOutcome:
    """A rule for one object: ``failures`` lists what kept it from matching (empty: it matched)."""

    rule: Rule
    object_failed: tuple[Condition, ...]
    patterns: tuple[PatternOutcome, ...]
    failures: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def matched(self) -> bool:
        return not self.failures

    @property
    def nearly_matched(self) -> bool:
        """All but one condition held: one object condition, or one condition of the nearest joined fact."""
        return len(self.failures) == 1 and NO_JOINED_FACT not in self.failures[0]


def _distinct_representatives(choices: Sequence[Sequence[str]]) -> bool:
    """True when each list can pick a different id (bipartite matching, Kuhn's augmenting paths)."""
    owner: dict[str, int] = {}

    def place(i: int, seen: set[str]) -> bool:
        for ref in choices[i]:
            if ref in seen:
                continue
            seen.add(ref)
            if ref not in owner or place(owner[ref], seen):
                owner[ref] = i
                return True
        return False

    return all(place(i, set()) for i in range(len(choices)))


def _fact_id(fact: Fact) -> str:
    return str(fact["id"])


def evaluate_rule(
    rule: Rule, obj: Fact, directory: Directory, coverage: Coverage | None = None
) -> RuleOutcome:
    """The outcome of ``rule`` for the object fact ``obj`` (applicability is the caller's concern)."""
    context = directory.context
    results = [holds(c, FactKind.OBJECT, obj, context) for c in rule.object_conditions]
    if coverage is not None and results:
        coverage.record(rule, 0, results)
    object_failed = tuple(c for c, ok in zip(rule.object_conditions, results, strict=True) if not ok)
    failures = [f"object: {c.describe()} is false (it is {obj.get(c.attr)!r})" for c in object_failed]
    outcomes: list[PatternOutcome] = []
    for number, pattern in enumerate(rule.facts, start=1):
        matching: list[Fact] = []
        nearest: Fact | None = None
        nearest_failed: tuple[Condition, ...] = ()
        for fact in directory.joined(obj, pattern.kind):
            checks = [holds(c, pattern.kind, fact, context) for c in pattern.where]
            if coverage is not None and checks:
                coverage.record(rule, number, checks)
            failed = tuple(c for c, ok in zip(pattern.where, checks, strict=True) if not ok)
            if not failed:
                matching.append(fact)
            elif nearest is None or len(failed) < len(nearest_failed):
                nearest, nearest_failed = fact, failed
        outcomes.append(PatternOutcome(pattern, tuple(matching), nearest, nearest_failed))
        if pattern.absent and matching:
            refs = ", ".join(str(f["ref"]) for f in matching)
            failures.append(f"{pattern.kind.value} (absent): {refs} matches, so it is not absent")
        elif not pattern.absent and not matching:
            if nearest is None:
                failures.append(f"{pattern.kind.value}: {NO_JOINED_FACT}")
            else:
                for c in nearest_failed:
                    failures.append(
                        f"{pattern.kind.value} {nearest['ref']}: {c.describe()} is false "
                        f"(it is {_shown(nearest.get(c.attr), pattern.kind, c.attr)})"
                    )
    present = [o for o in outcomes if not o.pattern.absent]
    evidence: set[str] = set()
    if not failures:
        choices = [[_fact_id(f) for f in o.matching] for o in present]
        if not _distinct_representatives(choices):
            failures.append("the present fact patterns need different facts, and there are too few")
        else:
            by_id = {_fact_id(f): str(f["ref"]) for o in present for f in o.matching}
            for i, options in enumerate(choices):
                others = choices[:i] + choices[i + 1 :]
                for fid in options:
                    if _distinct_representatives([[x for x in other if x != fid] for other in others]):
                        evidence.add(by_id[fid])
    return RuleOutcome(rule, object_failed, tuple(outcomes), tuple(failures), tuple(sorted(evidence)))


def _shown(value: object, kind: FactKind, attr: str) -> str:
    attribute = ATTRIBUTES[kind].get(attr)
    if attribute is not None and attribute.type is AttrType.DATE and isinstance(value, int):
        return "open-ended" if value == OPEN_UPPER_DATE else decode_date(value).isoformat()
    return repr(value)


def decode_date(value: int) -> dt.date:
    return dt.date(value // 10000, value // 100 % 100, value % 100)


def evaluate(
    rule_set: RuleSet,
    context: EvaluationContext,
    objects: Sequence[InspectionObject],
    side_facts: SideFacts,
    *,
    coverage: Coverage | None = None,
) -> list[Exclusion]:
    """What ``ExclusionEngine.evaluate`` returns for the same input, computed in plain Python."""
    rules = rule_set.applicable(context)
    if not objects or not rules:
        return []
    needs_campaigns = any(FactKind.CAMPAIGN in r.fact_kinds for r in rule_set.rules)
    directory = Directory.of(context, objects, side_facts, needs_campaigns)
    found: dict[tuple[str, str], Exclusion] = {}
    for obj in directory.objects.values():
        for rule in rules:
            outcome = evaluate_rule(rule, obj, directory, coverage)
            if outcome.matched:
                if coverage is not None:
                    coverage.matched_rules.add(rule.id)
                code = str(obj["credit_code"])
                found[(code, rule.id)] = Exclusion(
                    code,
                    rule.id,
                    rule.category,
                    rule.reason,
                    rule.legal_basis.citation,
                    evidence=outcome.evidence,
                )
    return [found[k] for k in sorted(found)]


def eligible_again(outcome: RuleOutcome, context: EvaluationContext) -> dt.date | None:
    """The first day after ``as_of`` on which ``outcome``'s rule stops matching as the facts stand.

    Only date windows against ``as_of`` end by themselves: ``attr gte {context: as_of, ...}`` holds while
    ``as_of <= attr - k`` (a risk assessment's ``valid_until``, a campaign's ``ends_on``), so the rule stops
    matching through that fact the day after. The rule stops when some present pattern has no matching fact
    left, or at ``effective_to + 1``. ``None``: nothing in the matching facts ends by date (e.g. a complaint
    is matched by its status until someone closes it), or the window is open-ended.
    """
    if not outcome.matched:
        return None
    candidates: list[dt.date] = []
    if outcome.rule.effective_to is not None:
        candidates.append(outcome.rule.effective_to + dt.timedelta(days=1))
    for pattern_outcome in outcome.patterns:
        if pattern_outcome.pattern.absent:
            continue
        ends = [_fact_end(pattern_outcome.pattern, f) for f in pattern_outcome.matching]
        if ends and all(e is not None for e in ends):
            candidates.append(max(e for e in ends if e is not None))
    return min(candidates) if candidates else None


def _fact_end(pattern: FactPattern, fact: Fact) -> dt.date | None:
    """The first ``as_of`` at which ``fact`` stops matching ``pattern`` by its own dates."""
    ends: list[dt.date] = []
    for c in pattern.where:
        value = c.value
        if not isinstance(value, ContextValue) or value.name != "as_of":
            continue
        actual = fact.get(c.attr)
        if not isinstance(actual, int) or actual >= OPEN_UPPER_DATE:
            continue
        last = decode_date(actual) - dt.timedelta(days=value.offset_days)
        if c.op in (Op.GTE, Op.EQ):
            ends.append(last + dt.timedelta(days=1))
        elif c.op is Op.GT:
            ends.append(last)
    return min(ends) if ends else None
