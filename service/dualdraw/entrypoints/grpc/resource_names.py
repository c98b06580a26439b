"""Resource names (AIP-122) of the dualdraw.v1 resources: one collection per resource type, each formatting a
key as ``{collection}/{key}`` and parsing a name back to its key, and the result's name below its assignment.
Every ``Get`` method that takes a ``name`` parses it here; an empty name is ``FIELD_REQUIRED``, a name not in
its pattern ``RESOURCE_NAME_INVALID``, both as a violation at the request field that held it; a well-formed
name of no resource is the use case's ``NOT_FOUND``."""

from __future__ import annotations

from dataclasses import dataclass

from dualdraw.domain.errors import invalid

MALFORMED = "RESOURCE_NAME_INVALID"
"""The violation reason of a name not in its pattern (the one the other resource names use)."""


def _segments(name: str, pattern: str, field: str) -> list[str]:
    """The variable segments of ``name`` against ``pattern`` (``draws/{draw}/…``); each is non-empty and
    holds no ``/`` and no surrounding spaces."""
    if not name:
        raise invalid(field, f"is required: a resource name {pattern}", "FIELD_REQUIRED")
    parts, shape = name.split("/"), pattern.split("/")
    fits = len(parts) == len(shape) and all(
        (s.startswith("{") and p.strip() == p and p) or p == s for p, s in zip(parts, shape, strict=True)
    )
    if not fits:
        raise invalid(field, f"{name!r} is not a resource name {pattern}", MALFORMED)
    return [p for p, s in zip(parts, shape, strict=True) if s.startswith("{")]


@dataclass(frozen=True)
class Collection:
    """The names ``{collection_id}/{key}`` of one resource type: ``key`` non-empty, without ``/``."""

    collection_id: str
    pattern: str

    def format(self, key: str | int) -> str:
        """The resource name of ``key``."""
        return f"{self.collection_id}/{key}"

    def parse(self, name: str, field: str = "name") -> str:
        """The key ``name`` names (``FIELD_REQUIRED`` when empty, ``RESOURCE_NAME_INVALID`` when it is not
        ``{collection_id}/{key}``, both at ``field``)."""
        return _segments(name, self.pattern, field)[0]


DEPARTMENTS = Collection("departments", "departments/{department}")
OBJECTS = Collection("objects", "objects/{credit_code}")
INSPECTORS = Collection("inspectors", "inspectors/{badge_number}")
COMPLAINTS = Collection("complaints", "complaints/{complaint}")
CAMPAIGNS = Collection("campaigns", "campaigns/{campaign}")
RISK_ASSESSMENTS = Collection("riskAssessments", "riskAssessments/{risk_assessment}")
STATUTORY_DESIGNATIONS = Collection("statutoryDesignations", "statutoryDesignations/{statutory_designation}")
ITEMS = Collection("items", "items/{item}")
RULE_SETS = Collection("ruleSets", "ruleSets/{rule_set}")
AUDIT_EVENTS = Collection("auditEvents", "auditEvents/{sequence}")
CHECKPOINTS = Collection("checkpoints", "checkpoints/{tree_size}")
SUBSTITUTIONS = Collection("substitutions", "substitutions/{substitution}")
TASKS = Collection("tasks", "tasks/{task}")
DRAWS = Collection("draws", "draws/{draw}")
PLANS = Collection("plans", "plans/{plan}")

CURRENT_RULE_SET = "current"
"""``ruleSets/current``: the rule set in force."""
LATEST_CHECKPOINT = "latest"
"""``checkpoints/latest``: the newest checkpoint."""
RESULT_PATTERN = "draws/{draw}/assignments/{position}/result"
"""A result: one per assignment (with versions), named as follow-ups and objections name it."""


def checkpoint_size(name: str, field: str = "name") -> int:
    """The tree size ``checkpoints/{tree_size}`` names; 0 (the newest) for ``checkpoints/latest``."""
    key = CHECKPOINTS.parse(name, field)
    if key == LATEST_CHECKPOINT:
        return 0
    if not key.isascii() or not key.isdigit() or int(key) < 1:
        raise invalid(
            field,
            f"must be checkpoints/{{tree_size}} (a tree size from 1) or checkpoints/latest, got {name!r}",
            MALFORMED,
        )
    return int(key)


def task_name(task_id: str) -> str:
    """``tasks/{task}``."""
    return TASKS.format(task_id)


def parse_task(name: str, field: str = "name") -> str:
    """The task id of ``tasks/{task}``."""
    return TASKS.parse(name, field)


def draw_name(draw_id: str) -> str:
    """``draws/{draw}``."""
    return DRAWS.format(draw_id)


def parse_draw(name: str, field: str = "name") -> str:
    """The draw id of ``draws/{draw}``."""
    return DRAWS.parse(name, field)


def plan_name(plan_id: str) -> str:
    """``plans/{plan}``."""
    return PLANS.format(plan_id)


def parse_plan(name: str, field: str = "name") -> str:
    """The plan id of ``plans/{plan}``."""
    return PLANS.parse(name, field)


def result_name(draw_id: str, position: int) -> str:
    """The result of one assignment, ``draws/{draw}/assignments/{position}/result``."""
    return f"draws/{draw_id}/assignments/{position}/result"


def parse_result(name: str, field: str = "name") -> tuple[str, int]:
    """The draw id and assignment position of ``draws/{draw}/assignments/{position}/result``; the position
    is a whole number from 1."""
    draw_id, position = _segments(name, RESULT_PATTERN, field)
    if not position.isascii() or not position.isdigit() or int(position) < 1:
        raise invalid(field, f"{name!r}: the position must be a whole number from 1", MALFORMED)
    return draw_id, int(position)
