"""Resource names (AIP-122) of the dualdraw.v1 resources: one collection per resource type, each formatting a
key as ``{collection}/{key}`` and parsing a name back to its key. Every ``Get`` method that takes a ``name``
parses it here; a malformed name is ``INVALID_ARGUMENT`` with a violation at the field (reason
``RESOURCE_NAME_MALFORMED``), a well-formed name of no resource is the use case's ``NOT_FOUND``."""

from __future__ import annotations

from dataclasses import dataclass

from dualdraw.domain.errors import invalid


@dataclass(frozen=True)
class Collection:
    """The names ``{collection_id}/{key}`` of one resource type: ``key`` non-empty, without ``/``."""

    collection_id: str
    pattern: str

    def format(self, key: str | int) -> str:
        """The resource name of ``key``."""
        return f"{self.collection_id}/{key}"

    def parse(self, name: str, field: str = "name") -> str:
        """The key ``name`` names; ``InvalidArgument`` (``RESOURCE_NAME_MALFORMED`` at ``field``) when it is
        not ``{collection_id}/{key}``."""
        prefix = f"{self.collection_id}/"
        key = name.removeprefix(prefix)
        if not name.startswith(prefix) or not key or "/" in key or key != key.strip():
            raise invalid(
                field, f"must be a resource name {self.pattern}, got {name!r}", "RESOURCE_NAME_MALFORMED"
            )
        return key


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

CURRENT_RULE_SET = "current"
"""``ruleSets/current``: the rule set in force."""
LATEST_CHECKPOINT = "latest"
"""``checkpoints/latest``: the newest checkpoint."""


def checkpoint_size(name: str, field: str = "name") -> int:
    """The tree size ``checkpoints/{tree_size}`` names; 0 (the newest) for ``checkpoints/latest``."""
    key = CHECKPOINTS.parse(name, field)
    if key == LATEST_CHECKPOINT:
        return 0
    if not key.isascii() or not key.isdigit() or int(key) < 1:
        raise invalid(
            field,
            f"must be checkpoints/{{tree_size}} (a tree size from 1) or checkpoints/latest, got {name!r}",
            "RESOURCE_NAME_MALFORMED",
        )
    return int(key)
