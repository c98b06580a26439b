"""Committing a draw (docs/DRAW-ALGORITHM.md §3): freezes the manifest — task, rule-set hash, Merkle roots
and per-stratum counts of the eligible objects and the inspector pool, exclusions by rule, algorithm version
and the declared entropy source — and logs it, before any entropy exists. A task has at most one live
(not abandoned) draw.
"""

from __future__ import annotations

import datetime as dt
import operator
import secrets
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dualdraw.domain import model
from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw.algorithm import eligible_digest
from dualdraw.domain.draw.ascending import strictly_ascending
from dualdraw.domain.draw.commitments import (
    EligibleEntries,
    TextColumn,
    eligible_root,
    exclusion_commitments,
    pool_root,
)
from dualdraw.domain.draw.entropy import (
    LOCAL_SECRET,
    ROLE_LOCAL,
    EntropyProblem,
    check_rounds_after,
    expected_inputs,
    validate_declaration,
)
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRows, RaisedRow
from dualdraw.domain.draw.qualified_teams import QualifiedPoolMember
from dualdraw.domain.draw.strata import manifest_strata
from dualdraw.domain.draw.teams import inspector_pool_digest
from dualdraw.domain.draw.versions import algorithm_for_new_draw
from dualdraw.domain.errors import AlreadyExists, FailedPrecondition, invalid
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.inspection_history import history_scope, reads_history
from dualdraw.domain.jurisdiction import DepartmentTree, task_object_filter
from dualdraw.domain.plan.model import PlanEntry
from dualdraw.domain.policy import DrawRules, Raise, TaskPolicy
from dualdraw.runtime.background import in_background
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.commitment_hashing import DrawHashing
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_policy import gather_policy_inputs
from dualdraw.service_layer.draw_progress import Progress, cycle_collection_paused
from dualdraw.service_layer.draw_state import (
    COMMITTED,
    entropy_failure,
    new_local_secret_source,
    repeated_request,
)
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.plans import check_draw
from dualdraw.service_layer.ports import DrawRecord, ExclusionMatcher, UnitOfWork
from dualdraw.service_layer.rule_preview import department_path


def _kept(codes: Sequence[str], excluded: set[str], eligible: Sequence[str]) -> list[bool]:
    """For each of ``codes``, whether it is eligible: not ``excluded`` (the eligible set is the in-scope
    codes less every excluded one, which ``eligible``'s length confirms). One C-level pass; a set of a
    million eligible codes would be one more structure at the draw's peak."""
    flags = list(map(operator.not_, map(excluded.__contains__, codes)))
    if sum(flags) != len(eligible):
        raise AssertionError(f"{len(eligible)} eligible codes, but {sum(flags)} in scope and not excluded")
    return flags


def _risk_classes(objects: model.DrawObjects) -> TextColumn:
    """Each object's risk class, as a column (read once per profile: an enum's ``.value`` is slow at a
    million objects)."""
    return TextColumn.by_number(*objects.numbered(), lambda profile: profile.risk_class.value)


def object_plan(rows: PlanRows, pool: Sequence[QualifiedPoolMember], raises: Sequence[Raise]) -> ObjectPlan:
    """The plan ``rows`` with the badges each object bars (declared conflicts, recent inspections;
    ascending), and the raises."""
    conflicts: dict[str, list[str]] = {}
    recent: dict[str, list[str]] = {}
    for m in sorted(pool, key=lambda m: m.badge_number):
        for code in m.conflicts:
            conflicts.setdefault(code, []).append(m.badge_number)
        for code in m.recent:
            recent.setdefault(code, []).append(m.badge_number)
    # the columns of ``rows`` are shared, not copied: only the objects somebody is barred from are added
    barred = rows.barring(
        {code: tuple(badges) for code, badges in conflicts.items()},
        {code: tuple(badges) for code, badges in recent.items()},
    )
    raised = {r.credit_code: RaisedRow(r.credit_code, r.from_class, r.to_class) for r in raises}
    return ObjectPlan(barred, raised)


def new_draw_id() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"


def pool_entry(inspector: model.Inspector, eligible: set[str]) -> str:
    """One pool inspector as frozen in the draw: badge and declared conflicts with eligible objects."""
    entry = {"badge_number": inspector.badge_number, "conflicts": sorted(inspector.conflicts & eligible)}
    return canonical_json(entry).decode("utf-8")


@dataclass(frozen=True)
class Committed:
    """What ``commit_in`` stored: the draw, its record, its eligible entries (strata, risk classes) and its
    object plan."""

    draw: model.Draw
    record: DrawRecord
    entries: EligibleEntries
    plan: ObjectPlan


def claim_history_scope(
    uow: UnitOfWork, tree: DepartmentTree, task: model.Task, policy: TaskPolicy, item_code: str
) -> None:
    """Makes what a new draw of ``task`` reads of the inspection history final until its transaction ends.

    Takes the draw lock of every department of the draw's scope (``history_scope``, and every department
    below the task's: another level's draws of the same item are read too), then refuses the draw while
    another draw is committed but not executed whose scope overlaps when either of the two reads its own
    department's history (a cap or the recent-inspections rule), or which draws the same item at another
    level (an ancestor or a descendant department): that draw's selection is not known yet, so
    neither the caps and other-level exclusions it froze nor those this one would freeze could count it.
    Raises ``FailedPrecondition`` (``PENDING_DRAW_IN_SCOPE``, naming the pending draw) before the objects
    or the history are read and anything is written, so before the new draw has any entropy: execute or
    abandon the pending draw, then commit again. A one-step draw (commit and execute in one transaction)
    holds the lock through its execution and is never pending for others.
    """
    reads = reads_history(policy)
    scope = history_scope(task.department_id, policy, _subtree(tree, task.department_id, policy))
    below = _below(tree, task.department_id)
    uow.lifecycle.lock_history_scope(scope | below, exclusive=True)
    for pending in uow.lifecycle.pending_draws():
        if pending.task_id == task.id:
            continue
        other = TaskPolicy.loads(pending.policy_json).for_item(pending.item_frequency_cap)
        shared: frozenset[str] = frozenset()
        if reads or reads_history(other):
            shared = scope & history_scope(
                pending.department_id, other, _subtree(tree, pending.department_id, other)
            )
        levels = pending.item_code == item_code and (
            pending.department_id in below - {task.department_id}
            or task.department_id in _below(tree, pending.department_id) - {pending.department_id}
        )
        if shared or levels:
            why = (
                f"shares the inspection history of department(s) {', '.join(sorted(shared))} with this draw"
                if shared
                else f"draws item {item_code} at another level (department {pending.department_id})"
            )
            raise FailedPrecondition(
                f"draw {pending.draw_id} of task {pending.task_id} is committed and not executed yet, and "
                f"{why}: the frequency caps, recent inspections and other-level exclusions of one of them "
                f"would miss the other's selection; execute or abandon draw {pending.draw_id} first",
                reason="PENDING_DRAW_IN_SCOPE",
                metadata={
                    "draw_id": pending.draw_id,
                    "task_id": pending.task_id,
                    "department_ids": ",".join(sorted(shared or {pending.department_id})),
                },
            )


def _subtree(tree: DepartmentTree, department_id: str, policy: TaskPolicy) -> frozenset[str]:
    return tree.subtree_ids(department_id) if policy.central and tree.get(department_id) else frozenset()


def _below(tree: DepartmentTree, department_id: str) -> frozenset[str]:
    return tree.subtree_ids(department_id) if tree.get(department_id) else frozenset({department_id})


def draw_policy(task: model.Task, entry: PlanEntry | None, item: model.InspectionItem) -> TaskPolicy:
    """The policy a new draw of ``task`` uses: its plan entry's (in the version in force) over the task's
    team rules; outside a plan the task's own, which creation filled from the bureau defaults (a task
    stored without one gets ``DrawRules()``). Always enabled: caps and raises apply to every draw."""
    own = TaskPolicy.loads(task.policy_json)
    if entry is not None:
        return entry.draw_policy(own)
    return DrawRules().policy_for(own, item_frequency_cap=item.frequency_cap)


def commit_in(
    uow: UnitOfWork,
    engine: ExclusionMatcher,
    rule_set: RuleSet,
    task: model.Task,
    day: dt.date,
    caller: Caller,
    declaration: dict[str, Any],
    progress: Progress | None = None,
    *,
    entropy: EntropyPolicy,
) -> Committed:
    """Freezes and stores the manifest of a new draw of ``task`` inside ``uow`` (not committed).

    Every new draw passes here, so here ``entropy`` decides which sources are allowed: ``local-secret``
    outside development raises ``FailedPrecondition`` (``LOCAL_ENTROPY_FORBIDDEN``) before anything is read
    or written. The commitments (the in-scope leaves, the eligible set's root, the object plan's) are
    hashed in threads beside the rest of the commit (``commitment_hashing``)."""
    entropy.require_allowed(declaration)
    try:
        validate_declaration(declaration)
    except EntropyProblem as exc:
        raise invalid("entropy_source", str(exc), reason="ENTROPY_SOURCE_INVALID") from None
    try:
        check_rounds_after(declaration, caller.now)
    except EntropyProblem as exc:
        raise entropy_failure(exc) from None
    planned = check_draw(uow, task, day, caller)
    entry = planned[0] if planned else None
    item = (
        planned[1] if planned else require(uow.items.get(task.item_code), "inspection item", task.item_code)
    )
    departments = uow.directory.all_departments()
    tree = DepartmentTree(departments)
    department = require(tree.get(task.department_id), "department", task.department_id)
    policy = draw_policy(task, entry, item)
    algorithm = algorithm_for_new_draw()
    claim_history_scope(uow, tree, task, policy, item.code)
    object_filter = task_object_filter(tree, task)
    objects = uow.directory.draw_objects_matching(object_filter)
    side_facts = uow.directory.side_facts_matching(object_filter, objects.codes)
    in_scope_count = len(objects)
    if progress:
        progress("load", in_scope_count, in_scope_count)
    context = EvaluationContext(
        as_of=day,
        business_line=item.business_line,
        item_code=item.code,
        department_id=department.id,
        department_level=int(department.level),
        organizer_levels={d.id: int(d.level) for d in departments},
        department_path=department_path(tree, department.id),  # rule jurisdictions
        department_region=department.region_code,
    )
    salt_key = secrets.token_bytes(32)
    codes = list(objects.codes)  # the policy stage empties the objects' own columns
    ascending = strictly_ascending(codes)
    # An eligible entry's stratum is its risk class unless a raise moves it: the leaves of every in-scope
    # object are hashed while the rules worker evaluates them (in a thread beside this one); the eligible
    # set's root then only picks the eligible ones (when nothing was raised).
    hashing = DrawHashing(codes if ascending else [], _risk_classes(objects) if ascending else (), salt_key)
    evaluated = engine.evaluate(
        rule_set,
        context,
        objects,
        side_facts,
        progress=(lambda done, total: progress("rules", done, total)) if progress else None,
    )
    exclusions = sorted(evaluated, key=lambda e: (e.credit_code, e.rule_id))
    excluded = {e.credit_code for e in exclusions}
    prepared = gather_policy_inputs(
        uow,
        policy=policy,
        task=task,
        item=item,
        tree=tree,
        objects=objects,
        side_facts=side_facts,
        rule_excluded=excluded,
        day=day,
    )
    del objects  # a draw's largest structure: what follows reads the policy inputs only
    exclusions = sorted(
        exclusions + prepared.cap_exclusions + prepared.other_level_exclusions,
        key=lambda e: (e.credit_code, e.rule_id),
    )
    excluded = {e.credit_code for e in exclusions}
    eligible = prepared.eligible
    entries = prepared.entries
    raises = prepared.raises
    # dualdraw-draw/4: the pool lines name no object; each plan row names the badges barred from its object.
    pool_lines = [m.bare_line() for m in prepared.pool]
    # The stored eligible codes and pool are compressed in a thread (Zstandard releases the GIL) meanwhile.
    packed_codes = in_background(lambda: uow.draws.pack_codes(eligible, pool_lines), "dualdraw-stored-codes")
    pool_digest = inspector_pool_digest(m.badge_number for m in prepared.pool)
    plan = object_plan(prepared.plan, prepared.pool, raises)
    # The eligible set's root and the plan's are hashed beside the rest of the manifest (in a thread); a
    # draw refused meanwhile just drops them.
    roots = hashing.roots(_kept(codes, excluded, eligible) if ascending and not raises else None, plan)
    del codes
    # The stored form of the entries and plan rows too: its compression releases the GIL, and the draw
    # waits on the database while it stores the rest.
    packed = in_background(lambda: uow.lifecycle.pack_commitments(entries, plan), "dualdraw-stored-form")
    left_out = prepared.left_out
    strata = manifest_strata(entries, prepared.ratios)
    eligible_root_hex = None if ascending and not raises else eligible_root(entries, salt_key)
    excluded_pairs = [(e.credit_code, e.rule_id) for e in exclusions]
    excluded_digest, excluded_root = exclusion_commitments(excluded_pairs)
    eligible_hash = eligible_digest(eligible)
    draw_id = new_draw_id()
    manifest: dict[str, Any] = {
        "manifest_version": algorithm.manifest_version,
        "algorithm_version": algorithm.version,
        "draw_id": draw_id,
        "created_at": caller.now.astimezone(dt.UTC).isoformat(),
        "actor": caller.actor,
        "task": {
            "id": task.id,
            "item_code": item.code,
            "business_line": item.business_line,
            "required_speciality": item.required_speciality,
            "department_id": task.department_id,
            "ratio": f"{task.ratio.numerator}/{task.ratio.denominator}",
            "team_size": task.team_size,
            "scope": {
                "region_code": task.scope.region_code or "",
                "industries": sorted(task.scope.industries),
            },
        },
        "as_of": day.isoformat(),
        "rule_set": {"hash": rule_set.hash, "version": rule_set.version},
        "objects": {
            "in_scope": in_scope_count,
            "excluded": len(excluded),
            "eligible": len(eligible),
            "eligible_digest": eligible_hash,
            "strata": strata,
            "exclusions_digest": excluded_digest,
            "exclusions_root": excluded_root,
            "exclusions_by_rule": dict(Counter(e.rule_id for e in exclusions)),
        },
        "inspectors": {
            "pool_size": len(pool_lines),
            "pool_digest": pool_digest,
            "pool_root": pool_root(pool_lines),
            "left_out": left_out,
        },
        "entropy_source": declaration,
    }
    if task.plan is not None:  # absent from draws outside a plan: their manifests keep their bytes
        manifest["task"]["plan"] = {
            "plan_id": task.plan.plan_id,
            "version": task.plan.version,
            "entry_id": task.plan.entry_id,
            "period": task.plan.period,
        }
    if task.rehearsal:
        manifest["rehearsal"] = True
    manifest["task"]["policy"] = policy.to_json()
    manifest["task"]["policy"]["cooperating_lines"] = dict(sorted(policy.cooperating_lines.items()))
    manifest["task"]["unqualified_assistant"] = item.unqualified_assistant
    manifest["objects"]["other_level"] = sorted(
        {(e.credit_code, draw_id) for e in prepared.other_level_exclusions for draw_id in e.evidence}
    )
    # Known before the entropy: a department that cannot staff some eligible object refuses the draw now,
    # so that success never depends on the seed (no re-roll by failure).
    algorithm.refuse_unstaffable(pool_lines, manifest, plan)
    subset_root, plan_members = roots()
    manifest["objects"]["eligible_root"] = eligible_root_hex or subset_root
    manifest["objects"] |= plan_members
    manifest_json = canonical_json(manifest).decode("utf-8")
    manifest_hash = sha256_hex(manifest_json.encode("utf-8"))
    if progress:
        progress("commitments", len(eligible), len(eligible))
    draw = model.Draw(
        id=draw_id,
        task_id=task.id,
        created_at=caller.now,
        actor=caller.actor,
        algorithm_version=algorithm.version,
        seed="",
        entropy_source=declaration["kind"],
        entropy="",
        manifest_hash=manifest_hash,
        manifest_json=manifest_json,
        rule_set_hash=rule_set.hash,
        rule_set_version=rule_set.version,
        as_of=day,
        in_scope_count=in_scope_count,
        excluded_count=len(excluded),
        eligible_count=len(eligible),
        selected_count=0,
        team_size=task.team_size,
        ratio=task.ratio,
        eligible_digest=eligible_hash,
        inspector_pool_digest=pool_digest,
        state=COMMITTED,
    )
    record = DrawRecord(
        draw=draw, eligible_codes=eligible, inspector_pool=pool_lines, exclusions=exclusions, assignments=[]
    )

    def store() -> None:
        uow.rule_sets.remember(rule_set.hash, rule_set.version, rule_set.canonical_json(), caller.now)
        uow.draws.add(record, packed_codes())
        if raises:
            uow.draws.add_raises(draw_id, raises)
        uow.lifecycle.add_commitments(draw_id, salt_key.hex(), packed())
        uow.lifecycle.add_entropy_inputs(draw_id, expected_inputs(declaration))
        uow.tasks.set_draw(task.id, draw_id)

    # Written before the commit; a draw executed in the same transaction writes it beside its selection
    # and teams (``execute_in``), which read nothing of it. Nothing about the draw depends on it but its
    # success: a task drawn meanwhile (DRAW_EXISTS) or a commitment used before is refused there.
    uow.defer(store)
    record_event(
        uow,
        caller,
        action="draw.commit",
        resource=f"draws/{draw_id}",
        after={
            "draw_id": draw_id,
            "task_id": task.id,
            "manifest_hash": manifest_hash,
            "entropy_source": declaration,
        },
    )
    if progress:
        progress("store", len(eligible), len(eligible))
    return Committed(draw, record, entries, plan)


def commit_draw(
    uow: UnitOfWork,
    engine: ExclusionMatcher,
    rule_set: RuleSet,
    *,
    task_id: str,
    as_of: dt.date | None,
    caller: Caller,
    declaration: dict[str, Any],
    entropy: EntropyPolicy,
    progress: Progress | None = None,
) -> model.Draw:
    """Commits a draw whose entropy comes later. ``declaration`` without a commitment for ``local-secret``
    gets a fresh server secret (only when ``entropy`` allows it: ``LOCAL_ENTROPY_FORBIDDEN``).
    Raises ``AlreadyExists`` (``DRAW_EXISTS``) when the task has a live draw, ``FailedPrecondition``
    (``PENDING_DRAW_IN_SCOPE``) as ``claim_history_scope`` says.
    ``progress`` is told the stages up to ``store``, then ``commit``."""
    day = as_of or caller.today()
    secret = b""
    if declaration.get("kind") == LOCAL_SECRET and "commitment" not in declaration:
        declaration, secret = new_local_secret_source()
    with uow, cycle_collection_paused():
        task = require(uow.tasks.get(task_id), "task", task_id)
        if task.draw_id:
            repeated = repeated_request(uow, task.draw_id, caller)
            if repeated is not None:
                return repeated.draw
            raise AlreadyExists(
                f"task {task.id} has a live draw {task.draw_id}; abandon it with a reason code first",
                reason="DRAW_EXISTS",
                metadata={"draw_id": task.draw_id},
            )
        draw = commit_in(
            uow,
            engine,
            rule_set,
            task,
            day,
            caller,
            declaration,
            progress,
            entropy=entropy,
        ).draw
        if secret:
            # Stored unrevealed beside its commitment: a demo source, the operator could read it.
            uow.defer(
                lambda: uow.lifecycle.set_entropy_value(
                    draw.id, ROLE_LOCAL, "local", secret.hex(), caller.now
                )
            )
        uow.commit()
        if progress:
            progress("commit", draw.eligible_count, draw.eligible_count)
    return draw
