"""The draw algorithms by version: the one place that decides what a draw of a given version computes.

Execute, recompute and the offline verifier all call ``algorithm_for(draw's algorithm_version)``; every new
draw is a ``COMMITTED_PLAN_DRAW`` (caps and raises apply to all, every team member qualified, the object plan
committed by root and given to the methods beside the manifest); ``PLAIN_DRAW``, ``POLICY_DRAW`` and
``QUALIFIED_DRAW`` stay to verify the draws made with them (docs/DRAW-ALGORITHM.md §4-§8, §14).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import Any, Protocol

from dualdraw.domain.draw.algorithm import set_digest
from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.object_plan import ObjectPlan, RaisedRow, plan_places
from dualdraw.domain.draw.policy_teams import PoolMember, form_policy_teams, policy_substitution_pool
from dualdraw.domain.draw.qualified_teams import (
    QualifiedPoolMember,
    plan_staffing_shortages,
    pool_members,
    qualified_substitution_pool,
    qualified_team_rules,
    qualified_teams_of_selected,
    refuse_unstaffable,
)
from dualdraw.domain.draw.selection import Selected, select_by_strata, select_objects
from dualdraw.domain.draw.strata import DEFAULT_STRATUM, parse_fraction, stratum_ratios
from dualdraw.domain.draw.teams import form_teams
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.domain.model import Inspector, Speciality, TeamMember

PLAIN_DRAW = "dualdraw-draw/1"
POLICY_DRAW = "dualdraw-draw/2"
QUALIFIED_DRAW = "dualdraw-draw/3"
COMMITTED_PLAN_DRAW = "dualdraw-draw/4"
POOL_SPECIALITY = "pool"
"""The speciality a plain draw's frozen pool entries are given when read back: they are qualified already."""

Team = tuple[TeamMember, ...]


class UnknownDrawAlgorithm(FailedPrecondition):
    """A draw names an algorithm version this code does not know."""

    def __init__(self, version: str, known: Sequence[str]):
        super().__init__(
            f"unknown draw algorithm {version!r}: expected one of {', '.join(sorted(known))}",
            reason="UNKNOWN_DRAW_ALGORITHM",
            metadata={"algorithm_version": version},
        )
        self.version = version


class DrawAlgorithm(Protocol):
    """What a draw of one algorithm version computes from its seed and its frozen inputs alone."""

    @property
    def version(self) -> str: ...

    @property
    def manifest_version(self) -> str: ...

    @property
    def stratified(self) -> bool:
        """Selection needs each eligible object's stratum (from the commitments), not only its code."""
        ...

    @property
    def plan_in_manifest(self) -> bool:
        """The manifest lists the object plan (``objects.plan``, ``objects.raised``); otherwise it commits to
        it by roots and the plan travels beside the eligible rows (``dualdraw-draw/4``)."""
        ...

    def manifest_problem(self, manifest: Mapping[str, Any]) -> str | None:
        """What is wrong with the manifest's strata for this version, if anything."""
        ...

    def manifest_plan(self, manifest: Mapping[str, Any]) -> ObjectPlan:
        """The object plan the manifest lists (empty for versions without one, or whose plan is beside it)."""
        ...

    def select(
        self, seed: bytes, codes_by_stratum: Mapping[str, Sequence[str]], manifest: Mapping[str, Any]
    ) -> list[Selected]:
        """The selected objects in assignment order. Raises ``ValueError`` for inputs the manifest
        does not allow (a stratum it does not name, duplicate codes)."""
        ...

    def form_teams(
        self,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> list[Team]:
        """One team per selected object, in order (``plan`` has at least the selected objects' rows).
        Raises ``FailedPrecondition`` when the constraints cannot be met (nothing is relaxed)."""
        ...

    def teams_as_formed(
        self,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> Iterator[Team]:
        """The teams of ``form_teams``, each as soon as it is formed, for a caller that stores them
        meanwhile. Its ``FailedPrecondition`` may come after the last team, voiding those yielded."""
        ...

    def substitution_pool(
        self,
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
        credit_code: str,
        removed_badge: str,
        leader: bool,
    ) -> dict[str, Collection[str]]:
        """The candidates of a substitution on ``credit_code``'s team as ``badge → barred codes``."""
        ...

    def departments(self, plan: ObjectPlan) -> dict[str, str]:
        """Credit code → the department the object is handed to (empty: the task's department)."""
        ...

    def eligible_problem(
        self, entries: Sequence[EligibleEntry], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> str | None:
        """What is wrong with the eligible entries' strata against the manifest and the plan's raises
        (and, for versions with a plan, whether the plan covers exactly the entries), if anything."""
        ...

    def pool_problem(self, pool_lines: Sequence[str]) -> str | None:
        """What is wrong with the frozen pool lines' form, if anything."""
        ...

    def refuse_unstaffable(
        self, pool_lines: Sequence[str], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> None:
        """Before the entropy exists: raises ``FailedPrecondition`` when some eligible object could not be
        given a team whatever the seed (only versions that can know it check)."""
        ...


def stratum_problem(n: int, entry: EligibleEntry, raised: Mapping[str, RaisedRow]) -> str | None:
    """What is wrong with the ``n``-th eligible entry's stratum (a policy draw's: its risk class, or the class
    a raise moved it to), if anything."""
    if entry.stratum == entry.risk_class and entry.code not in raised:
        return None
    row = raised.get(entry.code)
    old, new = (row.from_class, row.to_class) if row is not None else (entry.risk_class, entry.risk_class)
    if old == entry.risk_class and entry.stratum == new:
        return None
    return (
        f"eligible[{n}]: stratum {entry.stratum} is not its class {entry.risk_class} "
        "or the class the manifest raised it to"
    )


def pool_inspector(line: str) -> Inspector:
    """A plain draw's frozen pool entry (badge and declared conflicts) as an inspector for team formation."""
    entry = json.loads(line)
    return Inspector(
        badge_number=entry["badge_number"],
        name="",
        department_id="",
        office="",
        specialities=(Speciality(POOL_SPECIALITY),),
        conflicts=frozenset(entry["conflicts"]),
    )


class _TeamsAtOnce:
    """For versions whose teams are formed all at once: ``teams_as_formed`` gives ``form_teams``' list."""

    def teams_as_formed(
        self: DrawAlgorithm,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> Iterator[Team]:
        return iter(self.form_teams(seed, selected, pool_lines, manifest, plan))


class PlainDraw(_TeamsAtOnce):
    """``dualdraw-draw/1``: one stratum ``all`` at the task's ratio; teams from the department's pool."""

    version = PLAIN_DRAW
    manifest_version = "dualdraw-manifest/2"
    stratified = False
    plan_in_manifest = True

    def manifest_plan(self, manifest: Mapping[str, Any]) -> ObjectPlan:
        return ObjectPlan()

    def manifest_problem(self, manifest: Mapping[str, Any]) -> str | None:
        ratios = stratum_ratios(manifest)
        if not set(ratios) <= {DEFAULT_STRATUM}:
            return f"manifest: a {PLAIN_DRAW} draw has the one stratum '{DEFAULT_STRATUM}'"
        if any(r != _task_ratio(manifest) for r in ratios.values()):
            return "manifest: the stratum ratio is not the task's"
        return None

    def select(
        self, seed: bytes, codes_by_stratum: Mapping[str, Sequence[str]], manifest: Mapping[str, Any]
    ) -> list[Selected]:
        other = sorted(set(codes_by_stratum) - {DEFAULT_STRATUM})
        if other:
            raise ValueError(f"a {PLAIN_DRAW} draw has the one stratum {DEFAULT_STRATUM!r}, not {other[0]!r}")
        codes = codes_by_stratum.get(DEFAULT_STRATUM, ())
        return select_objects(seed, codes, _task_ratio(manifest), DEFAULT_STRATUM)

    def form_teams(
        self,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> list[Team]:
        return form_teams(
            seed,
            [s.credit_code for s in selected],
            [pool_inspector(line) for line in pool_lines],
            manifest["task"]["team_size"],
            dt.date.fromisoformat(manifest["as_of"]),
            POOL_SPECIALITY,
        )

    def substitution_pool(
        self,
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
        credit_code: str,
        removed_badge: str,
        leader: bool,
    ) -> dict[str, Collection[str]]:
        return {i.badge_number: i.conflicts for i in map(pool_inspector, pool_lines)}

    def departments(self, plan: ObjectPlan) -> dict[str, str]:
        return {}

    def eligible_problem(
        self, entries: Sequence[EligibleEntry], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> str | None:
        return None

    def pool_problem(self, pool_lines: Sequence[str]) -> str | None:
        return None

    def refuse_unstaffable(
        self, pool_lines: Sequence[str], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> None:
        return None


class PolicyDraw(_TeamsAtOnce):
    """``dualdraw-draw/2``: one stratum per risk class after raises; teams by the task policy (§14)."""

    version = POLICY_DRAW
    manifest_version = "dualdraw-manifest/3"
    stratified = True
    plan_in_manifest = True

    def manifest_plan(self, manifest: Mapping[str, Any]) -> ObjectPlan:
        return ObjectPlan.from_manifest(manifest)

    def manifest_problem(self, manifest: Mapping[str, Any]) -> str | None:
        return None

    def select(
        self, seed: bytes, codes_by_stratum: Mapping[str, Sequence[str]], manifest: Mapping[str, Any]
    ) -> list[Selected]:
        return select_by_strata(seed, codes_by_stratum, stratum_ratios(manifest))

    def form_teams(
        self,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> list[Team]:
        return form_policy_teams(seed, selected, pool_lines, dict(manifest), plan)

    def substitution_pool(
        self,
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
        credit_code: str,
        removed_badge: str,
        leader: bool,
    ) -> dict[str, Collection[str]]:
        return dict(
            policy_substitution_pool(pool_lines, dict(manifest), credit_code, removed_badge, leader, plan)
        )

    def departments(self, plan: ObjectPlan) -> dict[str, str]:
        return {code: department_id for code, department_id, _ in plan_places(plan.rows)}

    def eligible_problem(
        self, entries: Sequence[EligibleEntry], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> str | None:
        raised = plan.raised or {}
        for n, entry in enumerate(entries):
            problem = stratum_problem(n, entry, raised)
            if problem is not None:
                return problem
        plan_codes = set_digest(plan.rows)
        if plan_codes != manifest["objects"]["eligible_digest"]:
            return "manifest: the plan does not cover exactly the eligible objects"
        return None

    def pool_problem(self, pool_lines: Sequence[str]) -> str | None:
        if any(PoolMember.from_line(line).line() != line for line in pool_lines):
            return "pool: lines not canonical"
        return None

    def refuse_unstaffable(
        self, pool_lines: Sequence[str], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> None:
        return None


class QualifiedDraw(PolicyDraw):
    """``dualdraw-draw/3``: as ``dualdraw-draw/2``, but every member holds their part's line on the draw date
    (one unqualified assistant where the item allows it), cooperating picks skip members already on the team,
    and a department that cannot staff its objects refuses the draw before the entropy (§14.6)."""

    version = QUALIFIED_DRAW
    manifest_version = "dualdraw-manifest/4"

    def manifest_problem(self, manifest: Mapping[str, Any]) -> str | None:
        task = manifest.get("task", {})
        policy = task.get("policy", {})
        if not isinstance(task.get("unqualified_assistant"), bool):
            return "manifest: task.unqualified_assistant is not true or false"
        lines = policy.get("cooperating_lines")
        if not isinstance(lines, dict) or set(lines) != set(policy.get("cooperating_department_ids", ())):
            return "manifest: task.policy.cooperating_lines does not name exactly the cooperating departments"
        return None

    def form_teams(
        self,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> list[Team]:
        return list(self.teams_as_formed(seed, selected, pool_lines, manifest, plan))

    def teams_as_formed(
        self,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> Iterator[Team]:
        return qualified_teams_of_selected(seed, selected, pool_lines, manifest, plan)

    def substitution_pool(
        self,
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
        credit_code: str,
        removed_badge: str,
        leader: bool,
    ) -> dict[str, Collection[str]]:
        return dict(qualified_substitution_pool(pool_lines, manifest, credit_code, removed_badge, plan))

    def pool_problem(self, pool_lines: Sequence[str]) -> str | None:
        if any(QualifiedPoolMember.from_line(line).line() != line for line in pool_lines):
            return "pool: lines not canonical"
        return None

    def refuse_unstaffable(
        self, pool_lines: Sequence[str], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> None:
        pool = [QualifiedPoolMember.from_line(line) for line in pool_lines]
        refuse_unstaffable(plan_staffing_shortages(plan.rows, pool, qualified_team_rules(manifest)))


class CommittedPlanDraw(QualifiedDraw):
    """``dualdraw-draw/4``: teams exactly as ``dualdraw-draw/3``, but the manifest commits to the object
    plan and the raises by salted Merkle roots (``objects.plan_root``, ``objects.raised_root``) instead of
    listing them, and the pool lines name no objects: each plan row carries the badges barred from its
    object (conflicts, recent inspections). A public bundle then shows no code but the selected ones
    (docs/DRAW-ALGORITHM.md §14.8)."""

    version = COMMITTED_PLAN_DRAW
    manifest_version = "dualdraw-manifest/5"
    plan_in_manifest = False

    def manifest_plan(self, manifest: Mapping[str, Any]) -> ObjectPlan:
        return ObjectPlan()

    def teams_as_formed(
        self,
        seed: bytes,
        selected: Sequence[Selected],
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
    ) -> Iterator[Team]:
        return qualified_teams_of_selected(seed, selected, pool_lines, manifest, plan, bars_in_plan=True)

    def substitution_pool(
        self,
        pool_lines: Sequence[str],
        manifest: Mapping[str, Any],
        plan: ObjectPlan,
        credit_code: str,
        removed_badge: str,
        leader: bool,
    ) -> dict[str, Collection[str]]:
        return dict(
            qualified_substitution_pool(
                pool_lines, manifest, credit_code, removed_badge, plan, bars_in_plan=True
            )
        )

    def pool_problem(self, pool_lines: Sequence[str]) -> str | None:
        if any(QualifiedPoolMember.from_bare_line(line).bare_line() != line for line in pool_lines):
            return "pool: lines not canonical"
        return None

    def refuse_unstaffable(
        self, pool_lines: Sequence[str], manifest: Mapping[str, Any], plan: ObjectPlan
    ) -> None:
        pool = pool_members(pool_lines, plan)
        refuse_unstaffable(plan_staffing_shortages(plan.rows, pool, qualified_team_rules(manifest)))


ALGORITHMS: dict[str, DrawAlgorithm] = {
    PLAIN_DRAW: PlainDraw(),
    POLICY_DRAW: PolicyDraw(),
    QUALIFIED_DRAW: QualifiedDraw(),
    COMMITTED_PLAN_DRAW: CommittedPlanDraw(),
}


def algorithm_for(version: str) -> DrawAlgorithm:
    """The algorithm of ``version``; raises ``UnknownDrawAlgorithm`` for any other."""
    try:
        return ALGORITHMS[version]
    except KeyError:
        raise UnknownDrawAlgorithm(version, tuple(ALGORITHMS)) from None


def algorithm_for_new_draw() -> DrawAlgorithm:
    """The algorithm every new draw uses; ``PLAIN_DRAW``, ``POLICY_DRAW`` and ``QUALIFIED_DRAW`` only verify
    older draws."""
    return ALGORITHMS[COMMITTED_PLAN_DRAW]


def _task_ratio(manifest: Mapping[str, Any]) -> Fraction:
    return parse_fraction(manifest["task"]["ratio"])
