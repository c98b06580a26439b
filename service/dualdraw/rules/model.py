"""Parsed exclusion rules (Art. 16) and the context they are evaluated in, as plain frozen dataclasses.

A ``RuleSet`` is what the loader makes of the rule files; its ``hash`` is the SHA-256 of the canonical JSON
(RFC 8785) of the parsed rules, so it does not change with YAML formatting, comments, key order or how the
rules are split into files, and it goes into every draw manifest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.model import ExclusionCategory
from dualdraw.rules.schema import FactKind, Op

RULE_FORMAT_VERSION = 1
"""The ``version:`` every rule file declares; part of the rule-set hash."""

Scalar = str | int | dt.date
"""A literal in a rule: a string or enumeration value, an integer or a date."""


@dataclass(frozen=True)
class ContextValue:
    """``{context: name, minus_days/plus_days: n}``: a value of the evaluation context, shifted by days."""

    name: str
    offset_days: int = 0


@dataclass(frozen=True)
class Condition:
    """``attr op value``; ``value`` is a tuple for ``in``/``not_in``."""

    attr: str
    op: Op
    value: Scalar | tuple[Scalar, ...] | ContextValue


@dataclass(frozen=True)
class FactPattern:
    """A side fact joined to the object that must exist (or, when ``absent``, must not) with ``where``."""

    kind: FactKind
    where: tuple[Condition, ...] = ()
    absent: bool = False


@dataclass(frozen=True)
class LegalBasis:
    article: str
    text: str

    @property
    def citation(self) -> str:
        """The article and its text in one line, as stored with each exclusion."""
        return f"{self.article}: {self.text}"


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Rule:
    """One exclusion rule: when it holds for an object, the object is excluded with ``reason``."""

    id: str
    title: str
    category: ExclusionCategory
    legal_basis: LegalBasis
    reason: str
    object_conditions: tuple[Condition, ...] = ()
    facts: tuple[FactPattern, ...] = ()
    source: SourceLocation = field(default=SourceLocation("<memory>", 1), compare=False)

    @property
    def fact_kinds(self) -> frozenset[FactKind]:
        return frozenset(p.kind for p in self.facts)

    def canonical(self) -> dict[str, object]:
        """The rule as JSON-ready data without its source location (what the rule-set hash covers)."""
        return {
            "id": self.id,
            "title": self.title,
            "category": self.category.value,
            "legal_basis": {"article": self.legal_basis.article, "text": self.legal_basis.text},
            "reason": self.reason,
            "when": {
                "object": [_canonical_condition(c) for c in self.object_conditions],
                "facts": [
                    {
                        "kind": p.kind.value,
                        "absent": p.absent,
                        "where": [_canonical_condition(c) for c in p.where],
                    }
                    for p in self.facts
                ],
            },
        }


@dataclass(frozen=True)
class RuleSet:
    """Rules sorted by id, with the set's ``hash`` (SHA-256 hex) and short ``version`` label.

    Build one with ``RuleSet.of(rules)`` (the loader does) so that hash and version match the rules.
    """

    rules: tuple[Rule, ...]
    hash: str
    version: str
    sources: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, rules: tuple[Rule, ...] | list[Rule], sources: tuple[str, ...] = ()) -> RuleSet:
        ordered = tuple(sorted(rules, key=lambda r: r.id))
        digest = sha256_hex(
            canonical_json({"format": RULE_FORMAT_VERSION, "rules": [r.canonical() for r in ordered]})
        )
        return cls(rules=ordered, hash=digest, version=digest[:12], sources=sources)

    @cached_property
    def _by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def rule(self, rule_id: str) -> Rule:
        """The rule with ``rule_id``; ``KeyError`` when there is none."""
        return self._by_id[rule_id]

    @property
    def fact_kinds(self) -> frozenset[FactKind]:
        """Side-fact kinds some rule reads; facts of other kinds need not be sent to the engine."""
        return frozenset(k for r in self.rules for k in r.fact_kinds)


@dataclass(frozen=True)
class EvaluationContext:
    """What a draw's rules are evaluated against.

    ``department_level`` is the task department's level (1 province, 2 city, 3 district);
    ``organizer_levels`` maps the organising department id of every campaign to its level (the caller
    resolves it from the department tree). Only the first five fields shape the compiled rules
    (``digest``); ``organizer_levels`` only annotates campaign facts.
    """

    as_of: dt.date
    business_line: str
    item_code: str
    department_id: str
    department_level: int
    organizer_levels: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

    def value(self, name: str) -> str | int | dt.date:
        """The context value called ``name`` in rule files (see ``schema.CONTEXT_TYPES``)."""
        values: dict[str, str | int | dt.date] = {
            "as_of": self.as_of,
            "business_line": self.business_line,
            "item_code": self.item_code,
            "department_id": self.department_id,
            "department_level": int(self.department_level),
        }
        return values[name]

    def digest(self) -> str:
        """SHA-256 hex of the values compiled into rules: with the rule-set hash, the compile-cache key."""
        return sha256_hex(
            canonical_json(
                {
                    "as_of": self.as_of.isoformat(),
                    "business_line": self.business_line,
                    "item_code": self.item_code,
                    "department_id": self.department_id,
                    "department_level": int(self.department_level),
                }
            )
        )


def _canonical_scalar(value: Scalar) -> str | int:
    return value.isoformat() if isinstance(value, dt.date) else value


def _canonical_condition(condition: Condition) -> dict[str, object]:
    value = condition.value
    rendered: object
    if isinstance(value, ContextValue):
        rendered = {"context": value.name, "offset_days": value.offset_days}
    elif isinstance(value, tuple):
        rendered = [_canonical_scalar(v) for v in value]
    else:
        rendered = _canonical_scalar(value)
    return {"attr": condition.attr, "op": condition.op.value, "value": rendered}
