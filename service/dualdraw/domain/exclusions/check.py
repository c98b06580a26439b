"""Semantic checks of loaded rules beyond their shape: conditions that can never hold together.

The loader already rejects unknown attributes, wrong types, duplicate ids and durable_rules' limits. This
module finds rules (or fact patterns) that are *unreachable*: within one pattern (the object's conditions,
or one side fact's ``where``), the conditions on one attribute admit no value at all — ``eq a`` with
``eq b``, ``gt 5`` with ``lt 3``, ``in [..]`` lists without a common value, ``not_in`` every value of an
enumeration. A present pattern that can never match makes the rule unreachable; an absent pattern that can
never match never blocks the rule, which is as surely a mistake.

Values are compared only within one domain: literals with literals, and context values with the same
context name (``{context: as_of, minus_days: 90}`` is ``as_of - 90``). A literal next to a context value
is not decided here (it depends on the draw date). Each problem is reported at the condition that made the
set empty, naming the ones it contradicts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dualdraw.domain.exclusions.model import Condition, ContextValue, Rule, RuleSet, Scalar
from dualdraw.domain.exclusions.plain_yaml import Problem
from dualdraw.domain.exclusions.schema import ATTRIBUTES, AttrType, FactKind, Op

_ORDERED_TYPES = frozenset({AttrType.INT, AttrType.DATE})


def semantic_problems(rule_set: RuleSet) -> list[Problem]:
    """Every contradictory condition and every rule that repeats another's conditions, sorted by place."""
    problems: list[Problem] = []
    for rule in rule_set.rules:
        problems.extend(_contradictions(rule, FactKind.OBJECT, rule.object_conditions, absent=False))
        for pattern in rule.facts:
            problems.extend(_contradictions(rule, pattern.kind, pattern.where, absent=pattern.absent))
        problems.extend(_mixed_presence(rule))
    problems.extend(_repeated_rules(rule_set.rules))
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))


def _mixed_presence(rule: Rule) -> list[Problem]:
    """A kind both required and absent in one rule: durable_rules decides that by pattern order."""
    present = {p.kind for p in rule.facts if not p.absent}
    mixed = sorted(k.value for k in present & {p.kind for p in rule.facts if p.absent})
    return [
        Problem(
            rule.source.file,
            rule.source.line,
            rule.source.column,
            f"rule {rule.id!r} both requires and forbids {kind} facts; durable_rules would decide this by "
            "the order of the patterns. Split it into two rules or move the difference into one pattern's "
            "conditions",
        )
        for kind in mixed
    ]


def _repeated_rules(rules: Sequence[Rule]) -> list[Problem]:
    seen: dict[str, Rule] = {}
    problems: list[Problem] = []
    for rule in sorted(rules, key=lambda r: (r.source.file, r.source.line)):
        data = rule.canonical()
        key = repr(
            [data["when"], data.get("effective_from"), data.get("effective_to"), data.get("jurisdictions")]
        )
        first = seen.get(key)
        if first is None:
            seen[key] = rule
            continue
        problems.append(
            Problem(
                rule.source.file,
                rule.source.line,
                rule.source.column,
                f"rule {rule.id!r} has exactly the conditions of rule {first.id!r} ({first.source}): "
                "it can never exclude an object the other does not; merge them",
            )
        )
    return problems


@dataclass
class _Domain:
    """What one attribute may still be, as conditions are added (integers for dates and offsets)."""

    ordered: bool
    choices: frozenset[object] | None
    allowed: set[object] | None = None
    excluded: set[object] = field(default_factory=set)
    low: int | None = None
    high: int | None = None

    def add(self, op: Op, values: Sequence[object]) -> None:
        if op is Op.EQ or op is Op.IN:
            new = set(values)
            self.allowed = new if self.allowed is None else self.allowed & new
        elif op is Op.NE or op is Op.NOT_IN:
            self.excluded |= set(values)
        elif op in (Op.GT, Op.GTE, Op.LT, Op.LTE):
            (value,) = values
            assert isinstance(value, int)
            if op is Op.GT:
                self._raise_low(value + 1)
            elif op is Op.GTE:
                self._raise_low(value)
            elif op is Op.LT:
                self._lower_high(value - 1)
            else:
                self._lower_high(value)

    def _raise_low(self, value: int) -> None:
        self.low = value if self.low is None else max(self.low, value)

    def _lower_high(self, value: int) -> None:
        self.high = value if self.high is None else min(self.high, value)

    def _in_bounds(self, value: object) -> bool:
        if not isinstance(value, int):
            return True
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def satisfiable(self) -> bool:
        candidates = self.allowed if self.allowed is not None else self.choices
        if candidates is not None:
            return any(v not in self.excluded and self._in_bounds(v) for v in candidates)
        if not self.ordered or self.low is None or self.high is None:
            return self.low is None or self.high is None or self.low <= self.high
        width = self.high - self.low + 1
        if width <= 0:
            return False
        inside = {v for v in self.excluded if isinstance(v, int) and self.low <= v <= self.high}
        return width > len(inside)


def _as_number(value: Scalar) -> object:
    return value.toordinal() if isinstance(value, dt.date) else value


def _domain_key(condition: Condition) -> str:
    value = condition.value
    return f"context:{value.name}" if isinstance(value, ContextValue) else "literal"


def _values(condition: Condition) -> list[object]:
    value = condition.value
    if isinstance(value, ContextValue):
        return [value.offset_days]
    if isinstance(value, tuple):
        return [_as_number(v) for v in value]
    return [_as_number(value)]


def _contradictions(
    rule: Rule, kind: FactKind, conditions: Iterable[Condition], *, absent: bool
) -> list[Problem]:
    domains: dict[tuple[str, str], _Domain] = {}
    earlier: dict[tuple[str, str], list[Condition]] = {}
    problems: list[Problem] = []
    for condition in conditions:
        if condition.op is Op.CONTAINS:
            continue
        attribute = ATTRIBUTES[kind][condition.attr]
        key = (condition.attr, _domain_key(condition))
        domain = domains.get(key)
        if domain is None:
            literal = key[1] == "literal"
            choices = frozenset(attribute.choices) if attribute.type is AttrType.ENUM and literal else None
            domain = domains[key] = _Domain(ordered=attribute.type in _ORDERED_TYPES, choices=choices)
        was_satisfiable = domain.satisfiable()
        domain.add(condition.op, _values(condition))
        before = earlier.setdefault(key, [])
        if was_satisfiable and not domain.satisfiable():
            others = "; ".join(f"{c.describe()} ({_at(c)})" for c in before) or "its own values"
            where = "the object" if kind is FactKind.OBJECT else f"a {kind.value} fact"
            consequence = (
                "so the absent pattern never matches and never blocks the rule"
                if absent
                else f"so rule {rule.id!r} can never match"
            )
            at = condition.source or rule.source
            problems.append(
                Problem(
                    at.file,
                    at.line,
                    at.column,
                    f"contradictory condition: no {where} can have {condition.describe()} together with "
                    f"{others}; {consequence}",
                )
            )
        before.append(condition)
    return problems


def _at(condition: Condition) -> str:
    return f"line {condition.source.line}" if condition.source else "same rule"
