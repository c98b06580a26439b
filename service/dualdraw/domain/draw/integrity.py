"""Re-deriving a stored draw from its committed roots (docs/DRAW-ALGORITHM.md §6.1, §15).

``check_stored_draw`` takes what the store holds for one draw (the manifest, the eligible rows with their
salt key, the exclusion rows, the pool lines, the assignments with their teams, the executed
substitutions) and answers the first way in which those rows no longer give what the manifest committed
to: the manifest's own hash, the eligible/exclusions/pool Merkle roots and digests, the seed, the
selection and the teams (executed substitutions replayed). Publication refuses a draw with a difference,
and the audit-log verification names the first draw that has one.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dualdraw.domain.canonical_json import sha256_hex
from dualdraw.domain.draw.algorithm import derive_seed, eligible_digest
from dualdraw.domain.draw.commitments import EligibleEntry, eligible_root, exclusions_root, pool_root
from dualdraw.domain.draw.coordination import other_level_problem
from dualdraw.domain.draw.object_plan import ObjectPlan, plan_commitments
from dualdraw.domain.draw.selection import Selected
from dualdraw.domain.draw.strata import codes_by_stratum
from dualdraw.domain.draw.substitution import Substitution, pick_replacement, sub_seed
from dualdraw.domain.draw.versions import algorithm_for
from dualdraw.domain.errors import DomainError
from dualdraw.domain.model import Assignment, Draw, Exclusion


@dataclass(frozen=True)
class Difference:
    """The first way a stored draw differs from its commitments: ``what`` names the part (``manifest``,
    ``eligible``, ``exclusions``, ``pool``, ``seed``, ``selection``, ``teams``, ``substitutions``),
    ``detail`` says how, ``at`` names the row at fault where there is one (``position 3``, ``rule R``,
    a substitution id)."""

    what: str
    detail: str
    at: str = ""

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}"


@dataclass(frozen=True)
class StoredDraw:
    """Everything the store holds for one draw, as read back from its rows."""

    draw: Draw
    salt_key: bytes
    entries: Sequence[EligibleEntry]
    eligible_codes: Sequence[str]
    exclusions: Sequence[Exclusion]
    pool_lines: Sequence[str]
    assignments: Sequence[Assignment]
    substitutions: Sequence[Substitution]
    plan: ObjectPlan = field(default_factory=ObjectPlan)
    """The object plan: the manifest's, or (``dualdraw-draw/4``) the rows stored beside the commitments."""


def check_stored_draw(stored: StoredDraw) -> Difference | None:
    """``None`` when the stored rows re-derive the draw's commitments and outcome, else the first
    difference. A committed (not executed) or abandoned-before-execution draw is checked up to its roots."""
    draw = stored.draw
    if sha256_hex(draw.manifest_json.encode("utf-8")) != draw.manifest_hash:
        return Difference("manifest", "the stored manifest does not hash to the draw's manifest hash")
    manifest: dict[str, Any] = json.loads(draw.manifest_json)
    found = _check_roots(stored, manifest)
    if found is not None or not draw.seed:
        return found
    return _check_outcome(stored, manifest)


def _check_roots(stored: StoredDraw, manifest: Mapping[str, Any]) -> Difference | None:
    objects, inspectors = manifest["objects"], manifest["inspectors"]
    entry_codes = [e.code for e in stored.entries]
    if sorted(entry_codes) != sorted(stored.eligible_codes):
        missing = sorted(set(entry_codes) ^ set(stored.eligible_codes))
        return Difference("eligible", f"the eligible rows and the committed entries differ at {missing[:1]}")
    if eligible_root(stored.entries, stored.salt_key) != objects["eligible_root"]:
        return Difference("eligible", "the eligible rows do not give the committed eligible root")
    if eligible_digest(stored.eligible_codes) != objects["eligible_digest"]:
        return Difference("eligible", "the eligible codes do not give the committed eligible digest")
    pairs = [(e.credit_code, e.rule_id) for e in stored.exclusions]
    if exclusions_root(pairs) != objects["exclusions_root"]:
        committed = Counter(objects.get("exclusions_by_rule", {}))
        held = Counter(rule for _, rule in pairs)
        rules = sorted(r for r in set(committed) | set(held) if committed[r] != held[r])
        if not rules:
            return Difference("exclusions", "the exclusion rows do not give the committed root (same counts)")
        rule = rules[0]
        return Difference(
            "exclusions",
            f"the exclusion rows do not give the committed root: rule {rule} has {held[rule]} row(s), "
            f"{committed[rule]} committed",
            f"rule {rule}",
        )
    if len({code for code, _ in pairs}) != objects["excluded"]:
        return Difference("exclusions", "the number of excluded objects differs from the manifest")
    problem = other_level_problem(manifest, pairs)
    if problem is not None:
        return Difference("exclusions", problem)
    if pool_root(stored.pool_lines) != inspectors["pool_root"]:
        return Difference("pool", "the inspector pool lines do not give the committed pool root")
    if not algorithm_for(stored.draw.algorithm_version).plan_in_manifest:
        for name, value in plan_commitments(stored.plan, stored.salt_key).items():
            if objects[name] != value:
                return Difference("plan", f"the stored object plan does not give the committed {name}")
        if set(stored.plan.rows) != set(entry_codes):
            return Difference("plan", "the object plan does not cover exactly the eligible objects")
    return None


def _check_outcome(stored: StoredDraw, manifest: Mapping[str, Any]) -> Difference | None:
    draw = stored.draw
    seed = derive_seed(draw.manifest_hash, bytes.fromhex(draw.entropy))
    if seed.hex() != draw.seed:
        return Difference("seed", "the stored seed is not derive_seed(manifest hash, entropy)")
    algorithm = algorithm_for(draw.algorithm_version)
    selected = algorithm.select(seed, codes_by_stratum(stored.entries), manifest)
    assignments = sorted(stored.assignments, key=lambda a: a.position)
    for s, a in zip(selected, assignments, strict=False):
        if (s.credit_code, s.ticket_hex) != (a.credit_code, a.ticket):
            return Difference(
                "selection",
                f"position {a.position} should be {s.credit_code}, the row says {a.credit_code}",
                f"position {a.position}",
            )
    if len(selected) != len(assignments):
        return Difference(
            "selection", f"{len(assignments)} assignment rows, the draw selects {len(selected)}"
        )
    try:
        teams = algorithm.form_teams(
            seed,
            [Selected(a.credit_code, a.ticket, a.stratum) for a in assignments],
            stored.pool_lines,
            manifest,
            stored.plan,
        )
    except DomainError as exc:
        return Difference("teams", f"teams cannot be formed: {exc}")
    expected = [[(m.badge_number, m.leader) for m in team] for team in teams]
    found = _replay_substitutions(stored, manifest, seed, assignments, expected)
    if found is not None:
        return found
    for a, team in zip(assignments, expected, strict=True):
        held = [(m.badge_number, m.leader) for m in a.team]
        if held != team:
            return Difference(
                "teams",
                f"position {a.position} ({a.credit_code}) should have {_badges(team)}, the rows say "
                f"{_badges(held)}",
                f"position {a.position}",
            )
    return None


def _replay_substitutions(
    stored: StoredDraw,
    manifest: Mapping[str, Any],
    seed: bytes,
    assignments: Sequence[Assignment],
    teams: list[list[tuple[str, bool]]],
) -> Difference | None:
    """Applies the executed substitutions, in the order they were requested, to ``teams`` in place."""
    algorithm = algorithm_for(stored.draw.algorithm_version)
    removed: dict[int, set[str]] = {}
    for sub in stored.substitutions:
        if sub.state != "executed":
            continue
        if not 1 <= sub.position <= len(teams):
            return Difference(
                "substitutions", f"{sub.id} names position {sub.position}, which does not exist"
            )
        team = teams[sub.position - 1]
        badges = [b for b, _ in team]
        if sub.removed_badge not in badges:
            return Difference("substitutions", f"{sub.id}: {sub.removed_badge} was not on the team")
        index = badges.index(sub.removed_badge)
        before = removed.setdefault(sub.position, set())
        before.add(sub.removed_badge)
        code = assignments[sub.position - 1].credit_code
        candidates = algorithm.substitution_pool(
            stored.pool_lines, manifest, stored.plan, code, sub.removed_badge, team[index][1]
        )
        loads = Counter(b for t in teams for b, _ in t)
        try:
            replacement = pick_replacement(
                sub_seed(seed, bytes.fromhex(sub.event_leaf_hash), bytes.fromhex(sub.entropy)),
                badges,
                candidates,
                code,
                loads,
                before,
            )
        except DomainError as exc:
            return Difference("substitutions", f"{sub.id}: {exc}")
        if replacement != sub.replacement_badge:
            return Difference(
                "substitutions",
                f"{sub.id}: the replacement should be {replacement}, not {sub.replacement_badge}",
            )
        team[index] = (replacement, team[index][1])
    return None


def _badges(team: Sequence[tuple[str, bool]]) -> str:
    return "[" + ", ".join(b + ("*" if leader else "") for b, leader in team) + "]"
