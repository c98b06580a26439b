"""The JSON Schema (draft 2020-12) of rule files, generated from the vocabulary in ``schema``.

Editors validate rule files live against the committed copy ``rules/schema/rule-file.schema.json`` (each rule
file names it in a ``# yaml-language-server: $schema=...`` comment); a test proves the copy equals
``rule_file_schema()``, so the two never drift. The loader remains the authority (it also checks the
durable_rules limits and reports file:line:column); the schema gives editors the same vocabulary.
Regenerate: ``python -m dualdraw.domain.exclusions.json_schema > rules/schema/rule-file.schema.json``.
"""

from __future__ import annotations

import json
import sys

from dualdraw.domain.exclusions.model import RULE_FORMAT_VERSION
from dualdraw.domain.exclusions.schema import (
    ATTRIBUTES,
    CONTEXT_TYPES,
    LIST_OPS,
    MAX_LIST_VALUES,
    OPS_BY_TYPE,
    SIDE_FACT_KINDS,
    Attribute,
    AttrType,
    FactKind,
    context_fits,
)
from dualdraw.domain.model import ExclusionCategory

SCHEMA_ID = "https://dualdraw.example/schemas/rule-file.schema.json"
JSONDict = dict[str, object]
_DATE: JSONDict = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def _literal(attribute: Attribute) -> JSONDict:
    if attribute.type is AttrType.DATE:
        return dict(_DATE)
    if attribute.type is AttrType.INT:
        return {"type": "integer"}
    if attribute.type is AttrType.ENUM:
        return {"enum": list(attribute.choices)}
    return {"type": "string"}


def _context(attribute: Attribute) -> JSONDict | None:
    names = [n for n, t in CONTEXT_TYPES.items() if context_fits(t, attribute.type)]
    if not names:
        return None
    properties: JSONDict = {"context": {"enum": names}}
    if attribute.type is AttrType.DATE:
        days: JSONDict = {"type": "integer", "minimum": 0, "maximum": 36500}
        properties |= {"minus_days": days, "plus_days": days}
    return {
        "type": "object",
        "properties": properties,
        "required": ["context"],
        "additionalProperties": False,
        "not": {"required": ["minus_days", "plus_days"]},
    }


def _condition(attribute: Attribute) -> JSONDict:
    ops = sorted(o.value for o in OPS_BY_TYPE[attribute.type])
    list_ops = sorted(o.value for o in OPS_BY_TYPE[attribute.type] if o in LIST_OPS)
    scalar_ops = [o for o in ops if o not in list_ops]
    single: list[JSONDict] = [
        _literal(attribute) if attribute.type is not AttrType.STRING_LIST else {"type": "string"}
    ]
    context = _context(attribute)
    if context is not None:
        single.append(context)
    branches: list[JSONDict] = [
        {"properties": {"op": {"enum": scalar_ops}, "value": {"anyOf": single}}},
    ]
    if list_ops:
        branches.append(
            {
                "properties": {
                    "op": {"enum": list_ops},
                    "value": {
                        "type": "array",
                        "items": _literal(attribute),
                        "minItems": 1,
                        "maxItems": MAX_LIST_VALUES,
                    },
                }
            }
        )
    return {
        "type": "object",
        "properties": {"attr": {"const": attribute.name}, "op": {"enum": ops}, "value": {}},
        "required": ["attr", "op", "value"],
        "additionalProperties": False,
        "anyOf": branches,
    }


def _conditions(kind: FactKind) -> JSONDict:
    return {"type": "array", "items": {"oneOf": [_condition(a) for a in ATTRIBUTES[kind].values()]}}


def rule_file_schema() -> JSONDict:
    """The schema of one rule file (``version``, ``rules``), as JSON-ready data."""
    fact_kinds = [k.value for k in SIDE_FACT_KINDS]
    fact: JSONDict = {
        "type": "object",
        "properties": {
            "kind": {"enum": fact_kinds},
            "absent": {"type": "boolean"},
            "where": {"type": "array"},
        },
        "required": ["kind"],
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": k.value}}},
                "then": {"properties": {"where": _conditions(k)}},
            }
            for k in SIDE_FACT_KINDS
        ],
    }
    rule: JSONDict = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9.-]{0,99}$"},
            "title": {"type": "string", "minLength": 1},
            "category": {"enum": [c.value for c in ExclusionCategory]},
            "legal_basis": {
                "type": "object",
                "properties": {"article": {"type": "string"}, "text": {"type": "string"}},
                "required": ["article", "text"],
                "additionalProperties": False,
            },
            "reason": {"type": "string", "minLength": 1},
            "effective_from": dict(_DATE),
            "effective_to": dict(_DATE),
            "jurisdictions": {
                "description": "department ids or six-digit region codes (quoted) the rule applies to",
                "type": "array",
                "items": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
                "minItems": 1,
                "uniqueItems": True,
            },
            "when": {
                "type": "object",
                "properties": {
                    "object": _conditions(FactKind.OBJECT),
                    "facts": {"type": "array", "items": fact},
                },
                "additionalProperties": False,
                "minProperties": 1,
            },
        },
        "required": ["id", "title", "category", "legal_basis", "reason", "when"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "dualdraw exclusion rule file (Art. 16)",
        "description": (
            "See docs/RULES.md. Generated by dualdraw.domain.exclusions.json_schema; do not edit by hand."
        ),
        "type": "object",
        "properties": {
            "version": {"const": RULE_FORMAT_VERSION},
            "rules": {"type": "array", "items": rule},
        },
        "required": ["version", "rules"],
        "additionalProperties": False,
    }


def rendered() -> str:
    """The committed file's exact text."""
    return json.dumps(rule_file_schema(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(rendered())
