"""Objects another level drew (docs/DRAW-ALGORITHM.md §14.6): which ones a new draw takes out before
entropy, and the check of the manifest's ``objects.other_level`` list against the exclusions under the two
reserved rule ids that the offline verifier and the server's integrity check share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dualdraw.domain.inspection_history import PastInspection
from dualdraw.domain.model import Exclusion, SystemExclusionCategory
from dualdraw.domain.policy import EXCLUDE, JOIN, TaskPolicy

OTHER_LEVEL_RULE_ID = "drawn-by-other-level"
"""Reserved rule id: an object another level's draw of the same item selected this year, left to it."""
JOINED_RULE_ID = "joined-to-other-level"
"""Reserved rule id: an object another level's draw selected this year, joined into that inspection."""


def other_level_exclusions(
    policy: TaskPolicy,
    item_code: str,
    as_of: dt.date,
    codes: Iterable[str],
    history: Iterable[PastInspection],
    other_levels: frozenset[str],
) -> list[Exclusion]:
    """Objects among ``codes`` that a draw of ``item_code`` by another level (a department of
    ``other_levels``: the task department's ancestors and descendants) selected in ``as_of``'s calendar
    year, taken out before entropy as ``policy.other_level`` says: ``drawn-by-other-level`` (left to that
    draw) or ``joined-to-other-level`` (joined into its inspection). The evidence names the other draws."""
    year = as_of.year
    drawn: dict[str, list[PastInspection]] = {}
    for past in history:
        if past.item_code == item_code and past.as_of.year == year and past.department_id in other_levels:
            drawn.setdefault(past.credit_code, []).append(past)
    if not drawn:  # nothing drawn by another level this year: no set of a million codes to make
        return []
    join = policy.other_level == JOIN
    out = []
    for code in sorted(set(codes) & set(drawn)):
        pasts = sorted(drawn[code], key=lambda p: (p.as_of, p.draw_id))
        names = ", ".join(f"draw {p.draw_id} of department {p.department_id}" for p in pasts)
        out.append(
            Exclusion(
                credit_code=code,
                rule_id=JOINED_RULE_ID if join else OTHER_LEVEL_RULE_ID,
                category=SystemExclusionCategory.OTHER_LEVEL,
                reason=(
                    f"selected for item {item_code} in {year} by {names}: "
                    + ("joined into that inspection" if join else "left to that draw")
                ),
                legal_basis="coordination of levels (Art. 8, 15): one inspection per object, item and year",
                evidence=tuple(sorted({p.draw_id for p in pasts})),
            )
        )
    return out


def other_levels(department_id: str, ancestors: Iterable[str], subtree: Iterable[str]) -> frozenset[str]:
    """The departments of another level than ``department_id``: those above it and those below it."""
    return frozenset({*ancestors, *subtree} - {department_id})


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
