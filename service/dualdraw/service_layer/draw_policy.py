"""The policy parts of a draw (``dualdraw-draw/3`` and ``/4``; every new draw is ``/4``, whose manifest
commits to the plan by a root): what commit freezes and how execute computes.

Commit: the frequency-cap exclusions, the objects another level drew (left to it or joined), the raises,
one stratum per (raised) credit-risk class with its ratio, the plan (which department every eligible object
is handed to, and its office) and the pool of every department involved with each inspector's certificate
for the line their department needs (the item's, or the line declared for a cooperating department),
declared conflicts and recent inspections — all in the manifest or the pool lines, before any entropy
exists. Execute computes from the seed and those frozen inputs alone (``domain.draw.versions``), so the
offline verifier can redo it.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from dualdraw.domain import model
from dualdraw.domain.draw.ascending import positions_in
from dualdraw.domain.draw.commitments import EligibleEntries, TextColumn
from dualdraw.domain.draw.coordination import other_level_exclusions, other_levels
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRows
from dualdraw.domain.draw.qualified_teams import QualifiedPoolMember, certificate_for
from dualdraw.domain.draw.strata import risk_strata
from dualdraw.domain.draw.versions import algorithm_for
from dualdraw.domain.errors import FailedPrecondition
from dualdraw.domain.inspection_history import (
    JointInspection,
    frequency_cap_exclusions,
    merge_joint_inspections,
    recent_inspectors,
)
from dualdraw.domain.jurisdiction import DepartmentTree
from dualdraw.domain.model import SideFacts
from dualdraw.domain.policy import Raise, TaskPolicy, compute_raises, hand_over
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import UnitOfWork


@dataclass(frozen=True)
class PolicyInputs:
    """What a policy draw's commit freezes beside the rule exclusions."""

    cap_exclusions: list[model.Exclusion]
    other_level_exclusions: list[model.Exclusion]
    raises: list[Raise]
    entries: EligibleEntries
    ratios: dict[str, Fraction]
    plan: PlanRows
    """Every eligible object's plan row without the badges it bars (``draw_commit.object_plan`` adds them)."""
    pool: list[QualifiedPoolMember]
    left_out: list[list[str]]
    eligible: list[str]


def gather_policy_inputs(
    uow: UnitOfWork,
    *,
    policy: TaskPolicy,
    task: model.Task,
    item: model.InspectionItem,
    tree: DepartmentTree,
    objects: model.DrawObjects,
    side_facts: SideFacts,
    rule_excluded: set[str],
    day: dt.date,
) -> PolicyInputs:
    """Everything a ``dualdraw-draw/3`` or ``/4`` commit freezes, from the in-scope objects after rule
    exclusions. Takes ``objects`` over (the list is emptied): a draw's memory peaks here, and each object
    is let go as soon as its eligible entry and plan row exist.

    Raises ``FailedPrecondition`` ``COOPERATING_LINE_NOT_DECLARED`` when a cooperating department has no
    declared line, before anything is frozen."""
    undeclared = [d for d in policy.cooperating_department_ids if not policy.cooperating_lines.get(d)]
    if undeclared:
        raise FailedPrecondition(
            f"the task's policy declares no line for cooperating department(s) {', '.join(undeclared)}: "
            "every cooperating member must hold their department's line, so it must be declared "
            "(task.policy.cooperating_lines) before the draw",
            reason="COOPERATING_LINE_NOT_DECLARED",
            metadata={"departments": ",".join(undeclared)},
        )
    remaining = objects.where(list(map(operator.not_, map(rule_excluded.__contains__, objects.codes))))
    objects.clear()  # taken over
    codes = remaining.codes
    history = uow.draws.inspection_history(codes)
    cap = frequency_cap_exclusions(policy, task.department_id, day, codes, history)
    levels = other_levels(
        task.department_id,
        (d.id for d in tree.ancestors(task.department_id)),
        tree.subtree_ids(task.department_id),
    )
    drawn_elsewhere = other_level_exclusions(policy, task.item_code, day, codes, history, levels)
    del codes  # the draw's peak is in this function: every list keyed by object is dropped when done
    taken = {e.credit_code for e in cap} | {e.credit_code for e in drawn_elsewhere}
    eligible_objects = remaining.where(list(map(operator.not_, map(taken.__contains__, remaining.codes))))
    del remaining
    eligible = eligible_objects.codes  # shared by the entries, the plan and the stored eligible set
    complaints: dict[str, list[tuple[str, dt.date]]] = {}
    for c in side_facts.complaints:
        complaints.setdefault(c.credit_code, []).append((c.id, c.received_on))
    serious = uow.draws.serious_violations(eligible) if policy.raise_on_serious_violation else {}
    raises = compute_raises(policy, eligible_objects, day, complaints, serious)
    # Without raises each object's stratum is its risk class: the column of risk classes serves as both.
    strata: list[str] | None = None
    if raises:
        strata, ratios = risk_strata(policy.class_ratios, task.ratio, eligible_objects, raises)
    home = hand_over(
        eligible_objects, task.department_id, policy.central, tree.subtree_ids(task.department_id)
    )
    departments = sorted({task.department_id, *home, *policy.cooperating_department_ids})
    entries, plan = _entries_and_plan(eligible_objects, strata, home)
    if strata is None:
        ratios = {c: policy.class_ratios.get(c, task.ratio) for c in entries.risk_classes.values}
    del eligible_objects
    for dep in departments:
        tree.require(dep)
    recent = recent_inspectors(policy.recent_cycles, eligible, history)
    pool: list[QualifiedPoolMember] = []
    left_out: list[list[str]] = []
    for i in sorted(uow.directory.inspectors_of(departments), key=lambda i: i.badge_number):
        if not i.available:
            left_out.append([i.badge_number, "unavailable"])
            continue
        pool.append(
            QualifiedPoolMember(
                badge_number=i.badge_number,
                department_id=i.department_id,
                office=i.office,
                certificate=certificate_for(
                    i, policy.cooperating_lines.get(i.department_id, item.required_speciality)
                ),
                conflicts=frozenset(_among(i.conflicts, eligible)),
                recent=frozenset(_among(recent.get(i.badge_number, ()), eligible)),
            )
        )
    return PolicyInputs(cap, drawn_elsewhere, raises, entries, ratios, plan, pool, left_out, eligible)


def _entries_and_plan(
    objects: model.DrawObjects, strata: list[str] | None, home: list[str]
) -> tuple[EligibleEntries, PlanRows]:
    """The eligible entries and plan rows of ``objects`` (ascending by code; their codes list is shared by
    both; stratum and department from the lists alongside, same order, each stratum the object's risk
    class when ``strata`` is ``None``), column by column, emptying ``strata`` and ``home``. Risk class and
    office are read once per profile."""
    profiles, numbers = objects.numbered()
    risk_class_column = TextColumn.by_number(profiles, numbers, lambda profile: profile.risk_class.value)
    office_column = TextColumn.by_number(profiles, numbers, lambda profile: profile.office)
    stratum_column = risk_class_column if strata is None else TextColumn.of(strata)
    department_column = TextColumn.of(home)
    if strata is not None:
        strata.clear()
    home.clear()
    codes = objects.codes
    entries = EligibleEntries(codes, stratum_column, risk_class_column)
    return entries, PlanRows(codes, department_column, office_column)


def _among(codes: Iterable[str], ordered: Sequence[str]) -> Iterator[str]:
    """The ``codes`` found in ``ordered`` (ascending, no duplicates)."""
    listed = list(codes)
    return (code for code, at in zip(listed, positions_in(ordered, listed), strict=True) if at is not None)


def policy_manifest(policy: TaskPolicy) -> dict[str, Any]:
    return policy.to_json()


def stored_object_plan(uow: UnitOfWork, draw: model.Draw) -> ObjectPlan:
    """The object plan and raises of a stored draw: its manifest's, or (``dualdraw-draw/4``) the rows stored
    beside its commitments. Raises ``NotFound`` when a draw that keeps them beside has none."""
    algorithm = algorithm_for(draw.algorithm_version)
    if algorithm.plan_in_manifest:
        return algorithm.manifest_plan(json.loads(draw.manifest_json))
    return require(uow.lifecycle.object_plan(draw.id), "draw object plan", draw.id)


def assignment_departments(uow: UnitOfWork, draw: model.Draw, task_department_id: str) -> dict[str, str]:
    """Credit code → the department each selected object is handed to (v1: the task's department)."""
    return algorithm_for(draw.algorithm_version).departments(stored_object_plan(uow, draw))


def joint_inspections(
    uow: UnitOfWork, *, year: int, department_ids: frozenset[str] | None
) -> list[JointInspection]:
    """Objects selected by several departments' executed draws in ``year``, or joined by one into another
    level's inspection before entropy, merged (Art. 15)."""
    with uow:
        history = uow.draws.inspection_history(None) + uow.draws.joined_inspections()
    merged = merge_joint_inspections(history, year)
    if department_ids is None:
        return merged
    return [j for j in merged if department_ids & set(j.department_ids)]
