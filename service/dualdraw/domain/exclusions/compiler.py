"""Compiles a ``RuleSet`` for one ``EvaluationContext`` into durable_rules' JSON ruleset form.

Context values are substituted as constants, so a compiled ruleset is cached per
``(rule_set.hash, context.digest())``. Every compiled rule starts with the object pattern ``o``; side facts
follow as ``f1``, ``f2``, ... (negated: ``f1$not``). Joins:

- complaints, risk assessments and statutory designations: ``credit_code == o.credit_code``;
- campaigns, by territory, industry and business line, decided by durable_rules itself: the campaign's
  ``region_code`` equals the object's ``region_province``, ``region_city`` or ``region_district``; its
  ``industry`` is ``""`` or the object's; its ``business_line`` is ``""`` or the context's.

Measured on durable_rules 2.0.28: cross-fact references inside ``$or`` are only evaluated correctly when
that ``$or`` is the pattern's only cross-fact term (an ``$or`` of references next to another reference, or
an ``$or`` mixing a constant and a reference, matched wrong pairs). So a campaign pattern is compiled into
six variants (3 region levels x industry ``""``/equal), each a plain conjunction: a rule with a present
campaign pattern becomes six durable rules named ``<rule id>@<n>`` whose matches are merged again; an
absent campaign pattern becomes six ``$not`` patterns in the same rule.

Each durable rule's action is handled by the engine worker, which records (rule id, the object's credit
code, the ``ref`` of every matched side fact); ``cap`` batches up to ``ACTION_CAP`` matches per action.
A sentinel rule matches the sentinel fact the worker asserts last in every session, so that at least one
action runs before the session is deleted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from dualdraw.domain.exclusions.model import Condition, ContextValue, EvaluationContext, Rule, RuleSet, Scalar
from dualdraw.domain.exclusions.schema import ATTRIBUTES, CREDIT_CODE_JOINED, Attribute, FactKind, Op

JSON = dict[str, object]
Resolver = Callable[[ContextValue, Attribute], object]

OBJECT_PATTERN = "o"
KIND_KEY = "fact"
"""The attribute every fact carries with its ``FactKind`` value."""
SENTINEL_RULE = "_sentinel"
SENTINEL_KIND = "_sentinel"
SENTINEL_FACT_ID = "_sentinel"
VARIANT_SEPARATOR = "@"
ACTION_CAP = 1000
"""Matches one action delivers at most (durable's ``cap``): batching them cut the time spent draining
actions several-fold (one JSON message per match otherwise)."""
REGION_LEVEL_ATTRS = ("region_province", "region_city", "region_district")
_CREDIT_CODE_JOIN: JSON = {"credit_code": {OBJECT_PATTERN: "credit_code"}}


def encode_date(day: dt.date) -> int:
    """A date as durable_rules compares it: the integer ``YYYYMMDD``."""
    return day.year * 10000 + day.month * 100 + day.day


def compile_rule_set(rule_set: RuleSet, context: EvaluationContext) -> dict[str, JSON]:
    """The durable_rules ruleset (JSON-ready dict) of ``rule_set`` with ``context`` values substituted."""
    resolve = _resolver(context)
    compiled: dict[str, JSON] = {}
    for rule in rule_set.applicable(context):  # not in force or outside its jurisdictions: not compiled
        for name, patterns in _durable_rules(rule, resolve, context.business_line):
            compiled[name] = {"all": [{p.name: p.render()} for p in patterns], "cap": ACTION_CAP}
    compiled[SENTINEL_RULE] = {"all": [{"s": {KIND_KEY: SENTINEL_KIND}}]}
    return compiled


def _resolver(context: EvaluationContext) -> Resolver:
    def resolve(value: ContextValue, attribute: Attribute) -> object:
        raw = context.value(value.name)
        if isinstance(raw, dt.date):
            return encode_date(raw + dt.timedelta(days=value.offset_days))
        return raw

    return resolve


ValueClass = Callable[[object], Hashable]


def side_fact_value_classes(
    rule_set: RuleSet, context: EvaluationContext
) -> dict[str, dict[str, ValueClass]]:
    """Per side-fact kind joined on the credit code (by ``FactKind`` value) and attribute some rule tests,
    a function from a fact's value to its class: two values of one class pass or fail alike every test the
    compiled rules make of that attribute (each is a constant test: these facts join the object on the
    credit code only, and their credit code and id are no attributes a rule may test, ``schema.ATTRIBUTES``).

    An attribute tested only against integers (dates are ``YYYYMMDD``) classes an integer by its place among
    the tested constants: equal to one of them, or strictly between two neighbours (or beyond the ends). Any
    other attribute, or a value that is not an integer, is its own class. The conditions of every rule
    count, applicable to ``context`` or not: more tests only split classes finer."""
    resolve = _resolver(context)
    constants: dict[tuple[FactKind, str], list[object]] = {}
    for rule in rule_set.rules:
        for pattern in rule.facts:
            if pattern.kind not in CREDIT_CODE_JOINED:
                continue
            attributes = ATTRIBUTES[pattern.kind]
            for condition in pattern.where:
                tested = constants.setdefault((pattern.kind, condition.attr), [])
                raw = condition.value
                attribute = attributes[condition.attr]
                if isinstance(raw, ContextValue):
                    tested.append(resolve(raw, attribute))
                elif isinstance(raw, tuple):
                    tested.extend(_literal(v, attribute) for v in raw)
                else:
                    tested.append(_literal(raw, attribute))
    classes: dict[str, dict[str, ValueClass]] = {}
    for (kind, attr), values in constants.items():
        classes.setdefault(kind.value, {})[attr] = _value_class(values)
    return classes


def _value_class(constants: list[object]) -> ValueClass:
    """The classes of the values compared with ``constants`` (``side_fact_value_classes``)."""
    if not constants or not all(type(k) is int for k in constants):
        return exact_class
    bounds = sorted({k for k in constants if isinstance(k, int)})
    tested = frozenset(bounds)

    def place(value: object) -> Hashable:
        if type(value) is not int:
            return exact_class(value)
        return (bisect_left(bounds, value), value if value in tested else None)

    return place


def exact_class(value: object) -> Hashable:
    """A value as its own class (a list as a tuple)."""
    return ("=", tuple(value) if isinstance(value, list) else value)


def attributes_read(rule_set: RuleSet) -> dict[FactKind, tuple[str, ...]]:
    """Per fact kind, the attributes the compiled rules test or join on (sorted).

    Facts need carry no others: smaller facts make every step (transfer, JSON, matching) cheaper.
    """
    read: dict[FactKind, set[str]] = {kind: set() for kind in FactKind}
    read[FactKind.OBJECT].add("credit_code")  # reported with every match
    for rule in rule_set.rules:
        read[FactKind.OBJECT].update(c.attr for c in rule.object_conditions)
        for pattern in rule.facts:
            read[pattern.kind].update(c.attr for c in pattern.where)
            if pattern.kind is FactKind.CAMPAIGN:
                read[FactKind.OBJECT].update((*REGION_LEVEL_ATTRS, "industry"))
                read[FactKind.CAMPAIGN].update(("region_code", "industry", "business_line"))
            else:
                read[FactKind.OBJECT].add("credit_code")
                read[pattern.kind].add("credit_code")
    return {kind: tuple(sorted(names)) for kind, names in read.items()}


def rule_id_of(durable_rule_name: str) -> str:
    """The rule id a compiled durable rule (possibly a campaign variant ``id@n``) belongs to."""
    return durable_rule_name.split(VARIANT_SEPARATOR, 1)[0]


@dataclass(frozen=True)
class PatternShape:
    """One compiled pattern without context: its alpha key (kind and constant tests) and atomic tests."""

    kind: str
    key: str
    atomic_tests: frozenset[str]


def rule_shape(rule: Rule) -> list[list[PatternShape]]:
    """The compiled form of ``rule`` per durable rule, with context values left symbolic (for limits)."""

    def symbolic(value: ContextValue, attribute: Attribute) -> object:
        return f"${{{value.name}{value.offset_days:+d}}}"

    return [
        [p.shape() for p in patterns]
        for _name, patterns in _durable_rules(rule, symbolic, "${business_line+0}")
    ]


@dataclass(frozen=True)
class _Pattern:
    """A compiled pattern: cross-fact terms (joins) and constant terms, the latter sorted and unique so that
    equal patterns share durable's alpha nodes and compare equal in ``rule_shape``."""

    name: str
    kind: str
    refs: tuple[JSON, ...]
    constants: tuple[JSON, ...]

    def __post_init__(self) -> None:
        unique = {_dump(t): t for t in self.constants}
        object.__setattr__(self, "constants", tuple(unique[k] for k in sorted(unique)))

    def render(self) -> JSON:
        terms: list[JSON] = [{KIND_KEY: self.kind}, *self.refs, *self.constants]
        return terms[0] if len(terms) == 1 else {"$and": terms}

    def shape(self) -> PatternShape:
        atomic: set[str] = set()
        for term in self.constants:
            branches = term.get("$or")
            for branch in branches if isinstance(branches, list) else [term]:
                atomic.add(_dump(branch))
        return PatternShape(
            kind=self.kind,
            key=_dump([self.kind, *self.constants]),
            atomic_tests=frozenset(atomic),
        )


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _durable_rules(rule: Rule, resolve: Resolver, business_line: object) -> list[tuple[str, list[_Pattern]]]:
    """``(durable rule name, patterns)`` for every variant of ``rule``, patterns in declaration order."""
    obj = _Pattern(
        OBJECT_PATTERN,
        FactKind.OBJECT.value,
        (),
        _constants(FactKind.OBJECT, rule.object_conditions, resolve),
    )
    # Per side-fact pattern, its alternatives; each alternative is the patterns it compiles to.
    choices: list[list[list[_Pattern]]] = []
    for index, pattern in enumerate(rule.facts, start=1):
        kind = pattern.kind.value
        suffix = "$not" if pattern.absent else ""
        constants = _constants(pattern.kind, pattern.where, resolve)
        if pattern.kind in CREDIT_CODE_JOINED:
            choices.append([[_Pattern(f"f{index}{suffix}", kind, (_CREDIT_CODE_JOIN,), constants)]])
            continue
        constants += _business_line_terms(business_line)
        joins = list(_campaign_joins())
        if pattern.absent:  # no covering campaign: none of the six variants matches
            choices.append(
                [[_Pattern(f"f{index}v{n}$not", kind, r, constants + c) for n, (r, c) in enumerate(joins)]]
            )
        else:  # some covering campaign: one durable rule per variant
            choices.append([[_Pattern(f"f{index}", kind, r, constants + c)] for r, c in joins])
    combos = [[obj, *itertools.chain.from_iterable(combo)] for combo in itertools.product(*choices)]
    if len(combos) == 1:
        return [(rule.id, combos[0])]
    return [(f"{rule.id}{VARIANT_SEPARATOR}{n}", patterns) for n, patterns in enumerate(combos)]


def _campaign_joins() -> Iterable[tuple[tuple[JSON, ...], tuple[JSON, ...]]]:
    """(cross-fact terms, constant terms) of the six campaign variants: region level x industry."""
    for level in REGION_LEVEL_ATTRS:
        region: JSON = {"region_code": {OBJECT_PATTERN: level}}
        yield (region,), ({"industry": ""},)
        yield (region, {"industry": {OBJECT_PATTERN: "industry"}}), ()


def _business_line_terms(business_line: object) -> tuple[JSON, ...]:
    if business_line == "":
        return ({"business_line": ""},)
    return ({"$or": [{"business_line": ""}, {"business_line": business_line}]},)


def _constants(kind: FactKind, conditions: Iterable[Condition], resolve: Resolver) -> tuple[JSON, ...]:
    """The constant (alpha) terms of ``conditions``."""
    attributes = ATTRIBUTES[kind]
    return tuple(t for c in conditions for t in _terms(c, attributes[c.attr], resolve))


def _terms(condition: Condition, attribute: Attribute, resolve: Resolver) -> list[JSON]:
    name = attribute.name
    raw = condition.value
    if isinstance(raw, ContextValue):
        values = [resolve(raw, attribute)]
    elif isinstance(raw, tuple):
        values = list(dict.fromkeys(_literal(v, attribute) for v in raw))
    else:
        values = [_literal(raw, attribute)]
    op = condition.op
    if op is Op.EQ:
        return [{name: values[0]}]
    if op is Op.IN:
        return [{name: values[0]}] if len(values) == 1 else [{"$or": [{name: v} for v in values]}]
    if op is Op.NE:
        return [{"$neq": {name: values[0]}}]
    if op is Op.NOT_IN:
        return [{"$neq": {name: v}} for v in values]
    if op is Op.CONTAINS:
        return [{"$iany": {name: {"$i": values[0]}}}]
    return [{f"${op.value}": {name: values[0]}}]


def _literal(value: Scalar, attribute: Attribute) -> object:
    return encode_date(value) if isinstance(value, dt.date) else value
