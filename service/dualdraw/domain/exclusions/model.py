"""Parsed exclusion rules (Art. 16) and the context they are evaluated in, as plain frozen dataclasses.

A ``RuleSet`` is what the loader makes of the rule files; its ``hash`` is the SHA-256 of the canonical JSON
(RFC 8785) of the parsed rules, so it does not change with YAML formatting, comments, key order or how the
rules are split into files, and it goes into every draw manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.exclusions.schema import ATTRIBUTES, AttrType, FactKind, Op
from dualdraw.domain.model import ExclusionCategory
from dualdraw.domain.region import region_within

RULE_FORMAT_VERSION = 1
"""The ``version:`` every rule file declares; part of the rule-set hash."""

Scalar = str | int | dt.date
"""A literal in a rule: a string or enumeration value, an integer or a date."""


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


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
    source: SourceLocation | None = field(default=None, compare=False)
    """Where the condition is written (for problems, coverage and explanations); not part of the hash."""

    def describe(self) -> str:
        """``attr op value`` as written in rule files, e.g. ``received_on gte as_of-90d``."""
        value = self.value
        if isinstance(value, ContextValue):
            shown = value.name + (f"{value.offset_days:+d}d" if value.offset_days else "")
        elif isinstance(value, tuple):
            shown = "[" + ", ".join(str(v) for v in value) + "]"
        else:
            shown = str(value)
        return f"{self.attr} {self.op.value} {shown}"


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
    effective_from: dt.date | None = None
    """First day the rule is in force (``None``: always was)."""
    effective_to: dt.date | None = None
    """Last day the rule is in force (``None``: open-ended)."""
    jurisdictions: tuple[str, ...] = ()
    """Department ids or six-digit region codes the rule applies to (empty: everywhere)."""

    def in_force(self, day: dt.date) -> bool:
        """True when ``day`` lies in ``[effective_from, effective_to]`` (open ends unbounded)."""
        return (self.effective_from is None or self.effective_from <= day) and (
            self.effective_to is None or day <= self.effective_to
        )

    def applies_to(self, context: EvaluationContext) -> bool:
        """True when the rule is in force at ``context.as_of`` and covers the task department.

        A jurisdiction entry covers the department when it is the department's id or an ancestor's
        (``context.department_path``), or a region code the department's region lies within.
        """
        if not self.in_force(context.as_of):
            return False
        if not self.jurisdictions:
            return True
        for entry in self.jurisdictions:
            if entry in context.department_path:
                return True
            if (
                _is_region_code(entry)
                and _is_region_code(context.department_region)
                and region_within(context.department_region, entry)
            ):
                return True
        return False

    @property
    def fact_kinds(self) -> frozenset[FactKind]:
        return frozenset(p.kind for p in self.facts)

    def canonical(self) -> dict[str, object]:
        """The rule as JSON-ready data without its source location (what the rule-set hash covers).

        ``effective_from``/``effective_to``/``jurisdictions`` appear only when set, so rules without them
        hash as they did before these keys existed.
        """
        data: dict[str, object] = {
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
        if self.effective_from is not None:
            data["effective_from"] = self.effective_from.isoformat()
        if self.effective_to is not None:
            data["effective_to"] = self.effective_to.isoformat()
        if self.jurisdictions:
            data["jurisdictions"] = list(self.jurisdictions)
        return data


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

    def canonical_json(self) -> str:
        """The canonical JSON the hash is taken over (stored per draw so an old draw can be re-evaluated)."""
        return canonical_json(
            {"format": RULE_FORMAT_VERSION, "rules": [r.canonical() for r in self.rules]}
        ).decode("utf-8")

    @classmethod
    def from_canonical_json(cls, text: str) -> RuleSet:
        """The rule set whose ``canonical_json()`` is ``text`` (same hash). Raises ``ValueError``."""
        data = json.loads(text)
        if data.get("format") != RULE_FORMAT_VERSION:
            raise ValueError(f"unsupported rule-set format {data.get('format')!r}")
        return cls.of([_rule_from_canonical(r) for r in data["rules"]], sources=("<stored>",))

    def applicable(self, context: EvaluationContext) -> tuple[Rule, ...]:
        """The rules in force at ``context.as_of`` that apply to the task department (``Rule.applies_to``)."""
        return tuple(r for r in self.rules if r.applies_to(context))

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
    department_path: tuple[str, ...] = ()
    """The task department's id followed by its ancestors' (for rule jurisdictions)."""
    department_region: str = ""
    """The task department's region code (for rule jurisdictions given as region codes)."""

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
                    "department_path": list(self.department_path),
                    "department_region": self.department_region,
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


_REGION_CODE = re.compile(r"\d{6}")


def _is_region_code(text: str) -> bool:
    return bool(_REGION_CODE.fullmatch(text))


def _scalar_from_canonical(value: object, is_date: bool) -> Scalar:
    if is_date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return value
    raise ValueError(f"not a rule literal: {value!r}")


def _condition_from_canonical(kind: FactKind, data: Mapping[str, object]) -> Condition:
    raw = data["value"]
    is_date = ATTRIBUTES[kind][str(data["attr"])].type is AttrType.DATE
    value: Scalar | tuple[Scalar, ...] | ContextValue
    if isinstance(raw, dict):
        value = ContextValue(str(raw["context"]), int(raw.get("offset_days", 0)))
    elif isinstance(raw, list):
        value = tuple(_scalar_from_canonical(v, is_date) for v in raw)
    else:
        value = _scalar_from_canonical(raw, is_date)
    return Condition(attr=str(data["attr"]), op=Op(str(data["op"])), value=value)


def _rule_from_canonical(data: Mapping[str, object]) -> Rule:
    when = data["when"]
    basis = data["legal_basis"]
    if not isinstance(when, dict) or not isinstance(basis, dict):
        raise ValueError("a stored rule needs 'when' and 'legal_basis' mappings")
    jurisdictions = data.get("jurisdictions", [])
    effective_from, effective_to = data.get("effective_from"), data.get("effective_to")
    return Rule(
        id=str(data["id"]),
        title=str(data["title"]),
        category=ExclusionCategory(str(data["category"])),
        legal_basis=LegalBasis(str(basis["article"]), str(basis["text"])),
        reason=str(data["reason"]),
        object_conditions=tuple(_condition_from_canonical(FactKind.OBJECT, c) for c in when["object"]),
        facts=tuple(
            FactPattern(
                kind=FactKind(p["kind"]),
                where=tuple(_condition_from_canonical(FactKind(p["kind"]), c) for c in p["where"]),
                absent=bool(p["absent"]),
            )
            for p in when["facts"]
        ),
        effective_from=dt.date.fromisoformat(str(effective_from)) if effective_from else None,
        effective_to=dt.date.fromisoformat(str(effective_to)) if effective_to else None,
        jurisdictions=tuple(str(j) for j in jurisdictions) if isinstance(jurisdictions, list) else (),
    )
