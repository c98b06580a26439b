"""The rule language's vocabulary: fact kinds, their typed attributes, operators, context names and limits.

Every attribute a rule may test is listed here with its type, so that the loader rejects ``lt`` on a string
or an unknown attribute before anything reaches durable_rules. Fact values are normalised to these types
(``dualdraw.domain.exclusions.facts``): dates become ``int`` ``YYYYMMDD``, enumerations their string value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dualdraw.domain.model import ComplaintStatus, ObjectStatus, RiskClass, RiskConclusion


class FactKind(StrEnum):
    """What a fact describes; side facts are everything but ``object``."""

    OBJECT = "object"
    COMPLAINT = "complaint"
    CAMPAIGN = "campaign"
    RISK_ASSESSMENT = "risk_assessment"
    STATUTORY_DESIGNATION = "statutory_designation"


SIDE_FACT_KINDS = (
    FactKind.COMPLAINT,
    FactKind.CAMPAIGN,
    FactKind.RISK_ASSESSMENT,
    FactKind.STATUTORY_DESIGNATION,
)
CREDIT_CODE_JOINED = frozenset({FactKind.COMPLAINT, FactKind.RISK_ASSESSMENT, FactKind.STATUTORY_DESIGNATION})
"""Side-fact kinds joined to the object on ``credit_code``; campaigns are joined by territory instead."""


class AttrType(StrEnum):
    STRING = "string"
    ENUM = "enum"
    INT = "integer"
    DATE = "date"
    STRING_LIST = "list of strings"


class OpenEnd(StrEnum):
    """How a missing (open-ended) date is encoded: ``UPPER`` → 9999-12-31, ``LOWER`` → 0."""

    UPPER = "upper"
    LOWER = "lower"


OPEN_UPPER_DATE = 99991231
"""An open upper bound (``valid_to``/``valid_until``/``closed_on`` of ``None``): later than every date."""
OPEN_LOWER_DATE = 0
"""An open lower bound: earlier than every date (no attribute of the current schema needs it)."""


@dataclass(frozen=True)
class Attribute:
    name: str
    type: AttrType
    choices: tuple[str, ...] = ()
    open_end: OpenEnd | None = None


def _attrs(*items: Attribute) -> dict[str, Attribute]:
    return {a.name: a for a in items}


ATTRIBUTES: dict[FactKind, dict[str, Attribute]] = {
    FactKind.OBJECT: _attrs(
        Attribute("credit_code", AttrType.STRING),
        Attribute("status", AttrType.ENUM, tuple(s.value for s in ObjectStatus)),
        Attribute("risk_class", AttrType.ENUM, tuple(r.value for r in RiskClass)),
        Attribute("industry", AttrType.STRING),
        Attribute("region_code", AttrType.STRING),
        Attribute("region_province", AttrType.STRING),
        Attribute("region_city", AttrType.STRING),
        Attribute("region_district", AttrType.STRING),
        Attribute("registering_department_id", AttrType.STRING),
        Attribute("business_lines", AttrType.STRING_LIST),
        Attribute("office", AttrType.STRING),
    ),
    FactKind.COMPLAINT: _attrs(
        Attribute("status", AttrType.ENUM, tuple(s.value for s in ComplaintStatus)),
        Attribute("received_on", AttrType.DATE),
        Attribute("closed_on", AttrType.DATE, open_end=OpenEnd.UPPER),
    ),
    FactKind.CAMPAIGN: _attrs(
        Attribute("organizer_level", AttrType.INT),
        Attribute("industry", AttrType.STRING),
        Attribute("business_line", AttrType.STRING),
        Attribute("starts_on", AttrType.DATE),
        Attribute("ends_on", AttrType.DATE),
    ),
    FactKind.RISK_ASSESSMENT: _attrs(
        Attribute("conclusion", AttrType.ENUM, tuple(c.value for c in RiskConclusion)),
        Attribute("assessed_on", AttrType.DATE),
        Attribute("valid_until", AttrType.DATE, open_end=OpenEnd.UPPER),
    ),
    FactKind.STATUTORY_DESIGNATION: _attrs(
        Attribute("business_line", AttrType.STRING),
        Attribute("method", AttrType.STRING),
        Attribute("valid_from", AttrType.DATE),
        Attribute("valid_to", AttrType.DATE, open_end=OpenEnd.UPPER),
    ),
}


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"


LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
_ORDERED = frozenset({Op.LT, Op.LTE, Op.GT, Op.GTE})
_EQUALITY = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN})

OPS_BY_TYPE: dict[AttrType, frozenset[Op]] = {
    AttrType.STRING: _EQUALITY,
    AttrType.ENUM: _EQUALITY,
    AttrType.INT: _EQUALITY | _ORDERED,
    AttrType.DATE: _EQUALITY | _ORDERED,
    AttrType.STRING_LIST: frozenset({Op.CONTAINS}),
}

CONTEXT_TYPES: dict[str, AttrType] = {
    "as_of": AttrType.DATE,
    "business_line": AttrType.STRING,
    "item_code": AttrType.STRING,
    "department_id": AttrType.STRING,
    "department_level": AttrType.INT,
}
"""Names a ``{context: NAME}`` value may use, with the type of value they stand for."""


def context_fits(context_type: AttrType, attr_type: AttrType) -> bool:
    """True when a context value of ``context_type`` may be compared with an attribute of ``attr_type``."""
    if attr_type is AttrType.STRING_LIST:
        return context_type is AttrType.STRING
    return context_type is attr_type and attr_type is not AttrType.ENUM


# Limits that keep a rule set inside durable_rules' C constants (see docs of the loader for each).
MAX_LIST_VALUES = 200
"""Values in one ``in``/``not_in`` list; an ``in`` list becomes sibling alpha nodes (durable: < 511)."""
MAX_DISTINCT_CONDITIONS_PER_KIND = 400
"""Distinct (attribute, operator, value) tests on one fact kind over the whole set, an upper bound of the
sibling alpha nodes under any one node (durable hangs or fails at 511)."""
MAX_PATTERNS_PER_RULE = 16
"""Facts one compiled rule joins, the object included (durable error 304 at assert time)."""
MAX_RULES_PER_PATTERN = 250
"""Compiled rules sharing one identical pattern (durable error 108 at 256)."""
MAX_COMPILED_RULES = 4096
"""Compiled durable rules in one rule set, the sentinel rule and campaign variants included."""
