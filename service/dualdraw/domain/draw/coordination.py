"""What a new draw did with the objects another level drew (docs/DRAW-ALGORITHM.md §14.6): the manifest's
``objects.other_level`` list against the exclusions under the two reserved rule ids, checked the same way
by the offline verifier and the server's integrity check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dualdraw.domain.policy import EXCLUDE, JOIN, JOINED_RULE_ID, OTHER_LEVEL_RULE_ID


def other_level_problem(manifest: Mapping[str, Any], pairs: Sequence[tuple[str, str]] | None) -> str | None:
    """What is wrong with the manifest's other-level handling, if anything. ``pairs`` are the exclusion
    rows ``(code, rule_id)`` (``None``: a public bundle, which lists none). Draws made before the rule
    have no ``objects.other_level`` and nothing to check."""
    objects = manifest["objects"]
    if "other_level" not in objects:
        return None
    handling = manifest["task"].get("policy", {}).get("other_level")
    if handling not in (EXCLUDE, JOIN):
        return f"manifest: task.policy.other_level is {handling!r}, not {EXCLUDE!r} or {JOIN!r}"
    rule, other = (JOINED_RULE_ID, OTHER_LEVEL_RULE_ID)
    if handling == EXCLUDE:
        rule, other = other, rule
    listed = [tuple(row) for row in objects["other_level"]]
    if any(len(row) != 2 for row in listed) or listed != sorted(set(listed)):
        return "manifest: objects.other_level is not a sorted list of distinct [code, draw_id] pairs"
    codes = {code for code, _ in listed}
    by_rule = objects["exclusions_by_rule"]
    if by_rule.get(other, 0):
        return f"manifest: exclusions under {other} in a draw whose other_level is {handling!r}"
    if by_rule.get(rule, 0) != len(codes):
        held = by_rule.get(rule, 0)
        return f"manifest: {held} exclusion(s) under {rule}, objects.other_level names {len(codes)}"
    if pairs is not None and {code for code, r in pairs if r == rule} != codes:
        return f"exclusions: the objects under {rule} are not those objects.other_level names"
    return None
