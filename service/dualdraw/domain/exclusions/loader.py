"""Loads rule files (YAML, data only) into a ``RuleSet``, reporting every problem with file:line:column.

The files are composed with PyYAML's safe loader into nodes (which keep their line and column) and only
plain scalars, mappings and sequences are read: no tag can construct an object or run code. All problems
of all files are collected and raised together as ``RuleFileError``.

A rule file::

    version: 1
    rules:
      - id: complaint-handling.open-complaint
        title: 投诉举报正在依法处理 / Complaint being handled
        category: complaint_handling
        legal_basis:
          article: 第十六条第（二）项 / Art. 16(2)
          text: 依法对被投诉举报企业违法违规行为进行处理的
        reason: ...
        when:
          object:
            - {attr: status, op: eq, value: active}
          facts:
            - kind: complaint
              where:
                - {attr: status, op: in, value: [received, handling]}
                - {attr: received_on, op: gte, value: {context: as_of, minus_days: 365}}

Besides the shape, the loader enforces durable_rules' limits (``schema.MAX_*``) on the compiled form.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from yaml.nodes import MappingNode, Node

from dualdraw.domain.exclusions.compiler import rule_shape
from dualdraw.domain.exclusions.model import (
    RULE_FORMAT_VERSION,
    Condition,
    ContextValue,
    FactPattern,
    LegalBasis,
    Rule,
    RuleSet,
    Scalar,
    SourceLocation,
)
from dualdraw.domain.exclusions.plain_yaml import (
    PlainYamlReader,
    Problem,
    RuleFileError,
    describe,
    one_of,
)
from dualdraw.domain.exclusions.schema import (
    ATTRIBUTES,
    CONTEXT_TYPES,
    LIST_OPS,
    MAX_COMPILED_RULES,
    MAX_DISTINCT_CONDITIONS_PER_KIND,
    MAX_LIST_VALUES,
    MAX_PATTERNS_PER_RULE,
    MAX_RULES_PER_PATTERN,
    OPS_BY_TYPE,
    SIDE_FACT_KINDS,
    Attribute,
    AttrType,
    FactKind,
    Op,
    context_fits,
)
from dualdraw.domain.model import ExclusionCategory

RULE_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{0,99}")
RULE_FILE_SUFFIX = ".yaml"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def load_rule_set(paths: Iterable[str | Path] | str | Path) -> RuleSet:
    """The rule set in ``paths`` (files, or directories meaning every ``*.yaml`` in them, sorted).

    Raises ``RuleFileError`` listing every problem of every file.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for path in (Path(p) for p in paths):
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix == RULE_FILE_SUFFIX and p.is_file())
            if not files:
                problems.append(
                    Problem(str(path), 1, 1, f"no rule files (*{RULE_FILE_SUFFIX}) in this folder")
                )
        else:
            files = [path]
        for file in files:
            try:
                texts[str(file)] = file.read_text(encoding="utf-8")
            except FileNotFoundError:
                problems.append(Problem(str(file), 1, 1, "file not found"))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(str(file), 1, 1, f"cannot read the file: {exc}"))
    try:
        rule_set = load_rule_texts(texts)
    except RuleFileError as exc:
        raise RuleFileError(problems + exc.problems) from None
    if problems:
        raise RuleFileError(problems)
    return rule_set


def load_rule_texts(texts: Mapping[str, str]) -> RuleSet:
    """The rule set in ``texts`` (file name → YAML text, in order). Raises ``RuleFileError``."""
    problems: list[Problem] = []
    total = sum(len(t.encode("utf-8")) for t in texts.values())
    if total > MAX_SET_BYTES:
        first = next(iter(texts), "<rules>")
        raise RuleFileError(
            [
                Problem(
                    first,
                    1,
                    1,
                    f"the rule files have {total} bytes together; a set may have at most {MAX_SET_BYTES}",
                )
            ]
        )
    parsed: list[tuple[Rule, SourceLocation]] = []
    for file, text in texts.items():
        reader = _RuleReader(file)
        parsed.extend(reader.read(text))
        problems.extend(reader.problems)
    problems.extend(_set_problems(parsed))
    if problems:
        order = {file: n for n, file in enumerate(texts)}
        raise RuleFileError(sorted(problems, key=lambda p: (order.get(p.file, -1), p.line, p.column)))
    return RuleSet.of([rule for rule, _ in parsed], sources=tuple(texts))


def _set_problems(parsed: list[tuple[Rule, SourceLocation]]) -> list[Problem]:
    """Problems of the set as a whole: duplicate ids and durable_rules' limits on the compiled rules."""
    problems: list[Problem] = []
    first_seen: dict[str, SourceLocation] = {}
    compiled_rules = 1  # the sentinel rule
    pattern_uses: Counter[str] = Counter()
    tests_per_kind: dict[str, set[str]] = {}
    for rule, id_at in parsed:

        def problem(message: str, at: SourceLocation = id_at) -> None:
            problems.append(Problem(at.file, at.line, at.column, message))

        if rule.id in first_seen:
            problem(f"duplicate rule id {rule.id!r} (first defined at {first_seen[rule.id]})")
        else:
            first_seen[rule.id] = id_at
        shape = rule_shape(rule)
        patterns = max(len(variant) for variant in shape)
        if patterns > MAX_PATTERNS_PER_RULE:
            problem(
                f"rule {rule.id!r} joins {patterns} facts (the object, its facts, 6 per absent campaign); "
                f"durable_rules allows at most {MAX_PATTERNS_PER_RULE}",
                rule.source,
            )
        compiled_rules += len(shape)
        if compiled_rules > MAX_COMPILED_RULES >= compiled_rules - len(shape):
            problem(
                f"the rule set compiles to more than {MAX_COMPILED_RULES} durable rules at rule {rule.id!r} "
                "(a rule with a campaign fact compiles to 6); split or simplify the rules",
                rule.source,
            )
        for variant in shape:
            for pattern in variant:
                pattern_uses[pattern.key] += 1
                if pattern_uses[pattern.key] == MAX_RULES_PER_PATTERN + 1:
                    problem(
                        f"more than {MAX_RULES_PER_PATTERN} compiled rules share the same {pattern.kind} "
                        f"conditions at rule {rule.id!r}; durable_rules allows at most 255",
                        rule.source,
                    )
                tests = tests_per_kind.setdefault(pattern.kind, set())
                before = len(tests)
                tests |= pattern.atomic_tests
                if before <= MAX_DISTINCT_CONDITIONS_PER_KIND < len(tests):
                    problem(
                        f"the rule set tests {pattern.kind} facts with more than "
                        f"{MAX_DISTINCT_CONDITIONS_PER_KIND} distinct conditions at rule {rule.id!r} "
                        "(every value of an 'in' list counts); durable_rules fails at 511",
                        rule.source,
                    )
    return problems


_TOP_KEYS = {"version", "rules"}
_RULE_KEYS = {"id", "title", "category", "legal_basis", "reason", "when"}
_OPTIONAL_RULE_KEYS = {"effective_from", "effective_to", "jurisdictions"}
MAX_SET_BYTES = 8 * 1024 * 1024
"""All rule files of one set together."""
MAX_JURISDICTIONS = 500
_JURISDICTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LEGAL_BASIS_KEYS = {"article", "text"}
_WHEN_KEYS = {"object", "facts"}
_FACT_KEYS = {"kind", "where", "absent"}
_CONDITION_KEYS = {"attr", "op", "value"}
_CONTEXT_KEYS = {"context", "minus_days", "plus_days"}


class _RuleReader(PlainYamlReader):
    """Reads one rule file's nodes into rules."""

    def read(self, text: str) -> list[tuple[Rule, SourceLocation]]:
        root = self.compose(
            text, what="a rule file", empty="empty rule file; expected 'version: 1' and 'rules:'"
        )
        if root is None:
            return []
        top = self.mapping(root, "a rule file", required=_TOP_KEYS, optional=set())
        if top is None:
            return []
        rules: list[tuple[Rule, SourceLocation]] = []
        if "version" in top:
            version = self.scalar(top["version"])
            if type(version) is not int or version != RULE_FORMAT_VERSION:
                self.problem(
                    top["version"],
                    f"unsupported rule file version {describe(version)}; this dualdraw reads version "
                    f"{RULE_FORMAT_VERSION}",
                )
        if "rules" in top:
            for node in self.sequence(top["rules"], "rules") or []:
                parsed = self.rule(node)
                if parsed is not None:
                    rules.append(parsed)
        return rules

    # -- rules -----------------------------------------------------------------------------------------

    def rule(self, node: Node) -> tuple[Rule, SourceLocation] | None:
        fields = self.mapping(node, "a rule", required=_RULE_KEYS, optional=_OPTIONAL_RULE_KEYS)
        if fields is None:
            return None
        before = len(self.problems)
        rule_id = self.rule_id(fields["id"]) if "id" in fields else None
        title = self.text(fields["title"], "title") if "title" in fields else None
        reason = self.text(fields["reason"], "reason") if "reason" in fields else None
        category = self.category(fields["category"]) if "category" in fields else None
        legal_basis = self.legal_basis(fields["legal_basis"]) if "legal_basis" in fields else None
        when = self.when(fields["when"]) if "when" in fields else None
        effective_from = (
            self.date(fields["effective_from"], "effective_from") if "effective_from" in fields else None
        )
        effective_to = self.date(fields["effective_to"], "effective_to") if "effective_to" in fields else None
        if effective_from and effective_to and effective_to < effective_from:
            self.problem(
                fields["effective_to"],
                f"effective_to {effective_to} is before effective_from {effective_from}: the rule is never "
                "in force",
            )
        jurisdictions = self.jurisdictions(fields["jurisdictions"]) if "jurisdictions" in fields else ()
        if len(self.problems) > before or not (
            rule_id and title and reason and category and legal_basis and when
        ):
            return None
        object_conditions, facts = when
        rule = Rule(
            id=rule_id,
            title=title,
            category=category,
            legal_basis=legal_basis,
            reason=reason,
            object_conditions=object_conditions,
            facts=facts,
            source=self.location(node),
            effective_from=effective_from,
            effective_to=effective_to,
            jurisdictions=jurisdictions or (),
        )
        return rule, self.location(fields["id"])

    def date(self, node: Node, what: str) -> dt.date | None:
        value = self.scalar(node)
        if type(value) is dt.date:
            return value
        self.problem(node, f"{what} must be a date YYYY-MM-DD, got {self.kind_of(node)}")
        return None

    def jurisdictions(self, node: Node) -> tuple[str, ...] | None:
        items = self.sequence(node, "jurisdictions")
        if items is None:
            return None
        if not items:
            self.problem(
                node, "jurisdictions must not be empty; leave the key out for a rule that applies everywhere"
            )
            return None
        if len(items) > MAX_JURISDICTIONS:
            self.problem(node, f"at most {MAX_JURISDICTIONS} jurisdictions, got {len(items)}")
            return None
        values: list[str] = []
        for item in items:
            value = self.scalar(item)
            if isinstance(value, int) and not isinstance(value, bool):
                self.problem(
                    item, f'region code {value} must be quoted ("{value}"), or it loses leading zeros'
                )
                continue
            if not isinstance(value, str) or not _JURISDICTION.fullmatch(value):
                self.problem(
                    item,
                    f"a jurisdiction is a department id or a six-digit region code, got {self.kind_of(item)}",
                )
                continue
            if value in values:
                self.problem(item, f"duplicate jurisdiction {value!r}")
                continue
            values.append(value)
        return tuple(values) if len(values) == len(items) else None

    def rule_id(self, node: Node) -> str | None:
        value = self.text(node, "id")
        if value is not None and not RULE_ID_PATTERN.fullmatch(value):
            self.problem(
                node,
                f"rule id {value!r} must be 1-100 lower-case letters, digits, '.' or '-', "
                "starting with a letter or digit",
            )
            return None
        return value

    def category(self, node: Node) -> ExclusionCategory | None:
        value = self.text(node, "category")
        if value is None:
            return None
        try:
            return ExclusionCategory(value)
        except ValueError:
            self.problem(
                node, f"unknown category {value!r}; expected {one_of([c.value for c in ExclusionCategory])}"
            )
            return None

    def legal_basis(self, node: Node) -> LegalBasis | None:
        fields = self.mapping(node, "legal_basis", required=_LEGAL_BASIS_KEYS, optional=set())
        if fields is None or fields.keys() != _LEGAL_BASIS_KEYS:
            return None
        article = self.text(fields["article"], "legal_basis.article")
        text = self.text(fields["text"], "legal_basis.text")
        return LegalBasis(article, text) if article and text else None

    def when(self, node: Node) -> tuple[tuple[Condition, ...], tuple[FactPattern, ...]] | None:
        fields = self.mapping(node, "when", required=set(), optional=_WHEN_KEYS)
        if fields is None:
            return None
        object_nodes = self.sequence(fields["object"], "when.object") if "object" in fields else []
        fact_nodes = self.sequence(fields["facts"], "when.facts") if "facts" in fields else []
        if object_nodes is None or fact_nodes is None:
            return None
        if not object_nodes and not fact_nodes:
            self.problem(
                node, "when needs at least one object condition or fact; a rule must not exclude everything"
            )
            return None
        conditions = [self.condition(item, FactKind.OBJECT) for item in object_nodes]
        facts = [self.fact_pattern(item) for item in fact_nodes]
        return tuple(c for c in conditions if c is not None), tuple(f for f in facts if f is not None)

    def fact_pattern(self, node: Node) -> FactPattern | None:
        fields = self.mapping(node, "a fact", required={"kind"}, optional=_FACT_KEYS - {"kind"})
        if fields is None or "kind" not in fields:
            return None
        name = self.text(fields["kind"], "kind")
        if name is None:
            return None
        if name not in {k.value for k in SIDE_FACT_KINDS}:
            self.problem(
                fields["kind"],
                f"unknown fact kind {name!r}; expected {one_of([k.value for k in SIDE_FACT_KINDS])}",
            )
            return None
        kind = FactKind(name)
        absent = False
        if "absent" in fields:
            value = self.scalar(fields["absent"])
            if not isinstance(value, bool):
                self.problem(
                    fields["absent"], f"absent must be true or false, got {self.kind_of(fields['absent'])}"
                )
                return None
            absent = value
        where: list[Condition] = []
        ok = True
        if "where" in fields:
            for item in self.sequence(fields["where"], "where") or []:
                condition = self.condition(item, kind)
                if condition is None:
                    ok = False
                else:
                    where.append(condition)
        return FactPattern(kind=kind, where=tuple(where), absent=absent) if ok else None

    def condition(self, node: Node, kind: FactKind) -> Condition | None:
        fields = self.mapping(node, "a condition", required=_CONDITION_KEYS, optional=set())
        if fields is None or fields.keys() != _CONDITION_KEYS:
            return None
        attr_name = self.text(fields["attr"], "attr")
        op_name = self.text(fields["op"], "op")
        if attr_name is None or op_name is None:
            return None
        attributes = ATTRIBUTES[kind]
        attribute = attributes.get(attr_name)
        if attribute is None:
            close = difflib.get_close_matches(attr_name, list(attributes), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self.problem(
                fields["attr"],
                f"unknown attribute {attr_name!r} of {kind.value} facts; {hint}"
                f"expected {one_of(list(attributes))}",
            )
            return None
        try:
            op = Op(op_name)
        except ValueError:
            self.problem(
                fields["op"], f"unknown operator {op_name!r}; expected {one_of([o.value for o in Op])}"
            )
            return None
        allowed = OPS_BY_TYPE[attribute.type]
        if op not in allowed:
            self.problem(
                fields["op"],
                f"operator {op.value!r} does not apply to {attr_name} ({attribute.type.value}); "
                f"use {one_of(sorted(o.value for o in allowed))}",
            )
            return None
        value = self.condition_value(fields["value"], attribute, op)
        if value is None:
            return None
        return Condition(attr=attr_name, op=op, value=value, source=self.location(node))

    def condition_value(
        self, node: Node, attribute: Attribute, op: Op
    ) -> Scalar | tuple[Scalar, ...] | ContextValue | None:
        if op in LIST_OPS:
            items = self.sequence(node, f"the value of '{op.value}'")
            if items is None:
                return None
            if not items:
                self.problem(node, f"the list of '{op.value}' must not be empty")
                return None
            if len(items) > MAX_LIST_VALUES:
                self.problem(
                    node,
                    f"the list of '{op.value}' has {len(items)} values; at most {MAX_LIST_VALUES} are "
                    "allowed (durable_rules compiles each into a sibling condition and hangs past 511)",
                )
                return None
            values = [self.literal(item, attribute) for item in items]
            return None if any(v is None for v in values) else tuple(v for v in values if v is not None)
        if isinstance(node, MappingNode):
            return self.context_value(node, attribute)
        return self.literal(node, attribute)

    def context_value(self, node: MappingNode, attribute: Attribute) -> ContextValue | None:
        fields = self.mapping(
            node, "a context value", required={"context"}, optional=_CONTEXT_KEYS - {"context"}
        )
        if fields is None or "context" not in fields:
            return None
        name = self.text(fields["context"], "context")
        if name is None:
            return None
        context_type = CONTEXT_TYPES.get(name)
        if context_type is None:
            self.problem(
                fields["context"], f"unknown context value {name!r}; expected {one_of(list(CONTEXT_TYPES))}"
            )
            return None
        if not context_fits(context_type, attribute.type):
            self.problem(
                fields["context"],
                f"context value {name!r} is {context_type.value} and cannot be compared with "
                f"{attribute.name} ({attribute.type.value})",
            )
            return None
        shifts = [key for key in ("minus_days", "plus_days") if key in fields]
        if not shifts:
            return ContextValue(name)
        if len(shifts) > 1:
            self.problem(fields["plus_days"], "use either minus_days or plus_days, not both")
            return None
        shift_node = fields[shifts[0]]
        if context_type is not AttrType.DATE:
            self.problem(shift_node, f"{shifts[0]} applies to dates only, not to context value {name!r}")
            return None
        days = self.scalar(shift_node)
        if type(days) is not int or not 0 <= days <= 36500:
            self.problem(
                shift_node,
                f"{shifts[0]} must be a whole number of days from 0 to 36500, got {self.kind_of(shift_node)}",
            )
            return None
        return ContextValue(name, -days if shifts[0] == "minus_days" else days)

    def literal(self, node: Node, attribute: Attribute) -> Scalar | None:
        value = self.scalar(node)
        expected = attribute.type
        if expected is AttrType.DATE:
            if type(value) is dt.date:
                return value
            if isinstance(value, str) and _ISO_DATE.fullmatch(value):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            self.problem(
                node,
                f"{attribute.name} is a date: expected YYYY-MM-DD or a context value, "
                f"got {self.kind_of(node)}",
            )
            return None
        if expected is AttrType.INT:
            if type(value) is int:
                return value
            self.problem(
                node,
                f"{attribute.name} is an integer: expected a whole number or a context value, "
                f"got {self.kind_of(node)}",
            )
            return None
        if not isinstance(value, str):
            hint = (
                " (quote it)"
                if isinstance(value, int | float | dt.date) and not isinstance(value, bool)
                else ""
            )
            self.problem(
                node, f"{attribute.name} holds strings: expected a string, got {self.kind_of(node)}{hint}"
            )
            return None
        if expected is AttrType.ENUM and value not in attribute.choices:
            self.problem(
                node,
                f"{value!r} is not a valid {attribute.name}; expected {one_of(list(attribute.choices))}",
            )
            return None
        return value
