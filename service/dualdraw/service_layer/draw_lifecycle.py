"""The verifiable draw lifecycle: commit → (reveal | beacon) → execute; abandon; substitute.

- ``commit_draw`` freezes the manifest (task, rule-set hash, Merkle roots and per-stratum counts of the
  eligible objects and the inspector pool, exclusions by rule, algorithm version and the declared entropy
  source) and logs it, before any entropy exists. A task has at most one live (not abandoned) draw.
- ``reveal_entropy`` takes a party's secret (checked against its commitment; each party reveals once);
  once every party has revealed, the draw executes in the same transaction.
- ``execute_draw`` supplies a beacon value (beacon source, or the declared fallback after the reveal
  deadline) or opens the local secret, and computes selection and teams.
- ``abandon_draw`` retires a live draw with a reason code; it stays visible and counted.
- ``request_substitution`` logs reason and evidence hash first; ``execute_substitution`` then takes entropy
  bound to that event's leaf hash and picks the replacement.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from itertools import compress, pairwise
from typing import Any

from dualdraw.domain import model
from dualdraw.domain.audit.entries import event_leaf_hash
from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw.algorithm import (
    ALGORITHM_VERSION,
    DEFAULT_STRATUM,
    derive_seed,
    eligible_digest,
    select_objects,
    set_digest,
)
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
    LeafSet,
    eligible_root,
    exclusions_digest,
    exclusions_root,
    pool_root,
)
from dualdraw.domain.draw.entropy import (
    BEACON,
    COMMIT_REVEAL,
    LOCAL_SECRET,
    ROLE_BEACON,
    ROLE_FALLBACK,
    ROLE_LOCAL,
    ROLE_PARTY,
    EntropyProblem,
    check_hex,
    check_reveal,
    combine,
    expected_inputs,
    local_commitment,
    validate_declaration,
)
from dualdraw.domain.draw.policy_teams import ALGORITHM_VERSION_2, select_v2, substitution_pool_v2, teams_v2
from dualdraw.domain.draw.substitution import REASONS as SUBSTITUTION_REASONS
from dualdraw.domain.draw.substitution import Substitution, pick_replacement, sub_seed
from dualdraw.domain.draw.teams import conflict_digest, form_teams, inspector_pool, inspector_pool_digest
from dualdraw.domain.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.jurisdiction import DepartmentTree, task_object_filter
from dualdraw.domain.policy import Raise, TaskPolicy, history_scope, reads_history
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_policy import MANIFEST_VERSION_3, fraction_text, prepare_v2
from dualdraw.service_layer.draws import (
    _POOL_SPECIALITY,
    DrawOutcome,
    Progress,
    _pool_inspector,
    _repeated_request,
    cycle_collection_paused,
    new_draw_id,
    pool_entry,
)
from dualdraw.service_layer.ports import DrawRecord, ExclusionMatcher, UnitOfWork
from dualdraw.service_layer.rule_preview import department_path

MANIFEST_VERSION = "dualdraw-manifest/2"
ABANDON_REASONS = (
    "DATA_ERROR",
    "RULES_ERROR",
    "ENTROPY_FAILED",
    "TASK_CHANGED",
    "ORDERED_BY_SUPERVISOR",
    "OTHER",
)
COMMITTED, EXECUTED, ABANDONED = "committed", "executed", "abandoned"


def _problem(exc: EntropyProblem) -> FailedPrecondition:
    return FailedPrecondition(str(exc), reason=exc.reason)


def _invalid(field: str, text: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation(field, text)])


def new_local_secret_source() -> tuple[dict[str, Any], bytes]:
    secret = secrets.token_bytes(32)
    return {"kind": LOCAL_SECRET, "commitment": local_commitment(secret)}, secret


@dataclass(frozen=True)
class Committed:
    """What ``commit_in`` stored: the draw, its record and its eligible entries (strata, risk classes)."""

    draw: model.Draw
    record: DrawRecord
    entries: list[EligibleEntry]


def claim_history_scope(uow: UnitOfWork, tree: DepartmentTree, task: model.Task, policy: TaskPolicy) -> None:
    """Makes what a new draw of ``task`` reads of the inspection history final until its transaction ends.

    Takes the draw lock of every department of the draw's scope (``history_scope``: exclusive when the draw
    reads the history, shared when it only adds to it), then refuses the draw while another draw of an
    overlapping scope is committed but not executed, when either of the two reads the history: that draw's
    selection is not known yet, so neither the caps it froze nor the caps this one would freeze could
    count it. Raises ``FailedPrecondition`` (``PENDING_DRAW_IN_SCOPE``, naming the pending draw) before
    the objects or the history are read and anything is written, so before the new draw has any entropy:
    execute or abandon the pending draw, then commit again. A one-step draw (commit and execute in one
    transaction) holds the lock through its execution and is never pending for others.
    """
    reads = reads_history(policy)
    scope = history_scope(task.department_id, policy, _subtree(tree, task.department_id, policy))
    uow.lifecycle.lock_history_scope(scope, exclusive=reads)
    for pending in uow.lifecycle.pending_draws():
        if pending.task_id == task.id:
            continue
        other = TaskPolicy.loads(pending.policy_json).for_item(pending.item_frequency_cap)
        if not (reads or reads_history(other)):
            continue
        shared = scope & history_scope(
            pending.department_id, other, _subtree(tree, pending.department_id, other)
        )
        if shared:
            raise FailedPrecondition(
                f"draw {pending.draw_id} of task {pending.task_id} is committed and not executed yet, and "
                f"shares the inspection history of department(s) {', '.join(sorted(shared))} with this "
                f"draw: the frequency caps and recent inspections of one of them would miss the other's "
                f"selection; execute or abandon draw {pending.draw_id} first",
                reason="PENDING_DRAW_IN_SCOPE",
                metadata={
                    "draw_id": pending.draw_id,
                    "task_id": pending.task_id,
                    "department_ids": ",".join(sorted(shared)),
                },
            )


def _subtree(tree: DepartmentTree, department_id: str, policy: TaskPolicy) -> frozenset[str]:
    return tree.subtree_ids(department_id) if policy.central and tree.get(department_id) else frozenset()


def commit_in(
    uow: UnitOfWork,
    engine: ExclusionMatcher,
    rule_set: RuleSet,
    task: model.Task,
    day: dt.date,
    caller: Caller,
    declaration: dict[str, Any],
    progress: Progress | None = None,
) -> Committed:
    """Freezes and stores the manifest of a new draw of ``task`` inside ``uow`` (not committed)."""
    try:
        validate_declaration(declaration)
    except EntropyProblem as exc:
        raise _invalid("entropy_source", str(exc)) from None
    item = require(uow.items.get(task.item_code), "inspection item", task.item_code)
    departments = uow.directory.all_departments()
    tree = DepartmentTree(departments)
    department = require(tree.get(task.department_id), "department", task.department_id)
    # The cap a draw uses (and its manifest records): the task's own, else the item's, else the default.
    policy = TaskPolicy.loads(task.policy_json).for_item(item.frequency_cap)
    claim_history_scope(uow, tree, task, policy)
    object_filter = task_object_filter(tree, task)
    objects = uow.directory.objects_matching(object_filter)
    side_facts = uow.directory.side_facts_matching(object_filter)
    candidates = uow.directory.inspectors_of([task.department_id])
    if progress:
        progress("load", len(objects), len(objects))
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
    in_scope: list[EligibleEntry] = []
    leaf_set: LeafSet | None = None
    eligible_root_hex = ""
    codes = [o.credit_code for o in objects]
    if not policy.enabled and all(a < b for a, b in pairwise(codes)):
        # A dualdraw-draw/1 entry depends on its object alone: the leaves of every in-scope object are
        # hashed while the rules worker evaluates them; the exclusions then only pick the eligible ones.
        risk_class_text = {c: c.value for c in model.RiskClass}  # an enum's .value is slow at 1M objects
        in_scope = [
            EligibleEntry(o.credit_code, DEFAULT_STRATUM, risk_class_text[o.risk_class]) for o in objects
        ]
        leaf_set = LeafSet(in_scope, salt_key)
    evaluated = engine.evaluate(
        rule_set,
        context,
        objects,
        side_facts,
        progress=(lambda done, total: progress("rules", done, total)) if progress else None,
        meanwhile=leaf_set.pending if leaf_set is not None else None,
    )
    exclusions = sorted(evaluated, key=lambda e: (e.credit_code, e.rule_id))
    excluded = {e.credit_code for e in exclusions}
    raises: list[Raise] = []
    if policy.enabled:
        prepared = prepare_v2(
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
        exclusions = sorted(exclusions + prepared.cap_exclusions, key=lambda e: (e.credit_code, e.rule_id))
        excluded = {e.credit_code for e in exclusions}
        eligible = prepared.eligible
        entries = prepared.entries
        raises = prepared.raises
        pool_lines = [m.line() for m in prepared.pool]
        pool_digest = inspector_pool_digest(m.badge_number for m in prepared.pool)
        conflicts = set_digest(f"{m.badge_number}\t{code}" for m in prepared.pool for code in m.conflicts)
        left_out = prepared.left_out
        strata_counts = Counter(e.stratum for e in entries)
        strata = {
            name: {"count": strata_counts[name], "ratio": fraction_text(prepared.ratios[name])}
            for name in sorted(strata_counts)
        }
        algorithm_version = ALGORITHM_VERSION_2
    else:
        if leaf_set is not None:
            keep = [code not in excluded for code in codes]
            entries = list(compress(in_scope, keep))
            eligible_root_hex = leaf_set.subset_root(keep)
        else:  # objects not given in code order (objects_matching sorts them): the plain way
            entries = sorted(
                EligibleEntry(o.credit_code, DEFAULT_STRATUM, o.risk_class.value)
                for o in objects
                if o.credit_code not in excluded
            )
        eligible = [e.code for e in entries]
        pool = inspector_pool(candidates, item.required_speciality, day)
        eligible_set = set(eligible)
        pool_lines = [pool_entry(i, eligible_set) for i in pool.qualified]
        pool_digest = pool.digest
        conflicts = conflict_digest(pool.qualified, eligible)
        left_out = [[badge, reason] for badge, reason in pool.left_out]
        strata = {
            DEFAULT_STRATUM: {
                "count": len(eligible),
                "ratio": f"{task.ratio.numerator}/{task.ratio.denominator}",
            }
        }
        algorithm_version = ALGORITHM_VERSION
    del in_scope, codes, leaf_set
    if not eligible_root_hex:
        eligible_root_hex = eligible_root(entries, salt_key)
    excluded_pairs = [(e.credit_code, e.rule_id) for e in exclusions]
    eligible_hash = eligible_digest(eligible)
    draw_id = new_draw_id()
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION_3 if policy.enabled else MANIFEST_VERSION,
        "algorithm_version": algorithm_version,
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
            "in_scope": len(objects),
            "excluded": len(excluded),
            "eligible": len(eligible),
            "eligible_digest": eligible_hash,
            "eligible_root": eligible_root_hex,
            "strata": strata,
            "exclusions_digest": exclusions_digest(excluded_pairs),
            "exclusions_root": exclusions_root(excluded_pairs),
            "exclusions_by_rule": dict(Counter(e.rule_id for e in exclusions)),
        },
        "inspectors": {
            "pool_size": len(pool_lines),
            "pool_digest": pool_digest,
            "pool_root": pool_root(pool_lines),
            "conflict_digest": conflicts,
            "left_out": left_out,
        },
        "entropy_source": declaration,
    }
    if policy.enabled:
        manifest["task"]["policy"] = policy.to_json()
        manifest["objects"]["plan"] = prepared.plan
        manifest["objects"]["raised"] = [[r.credit_code, r.from_class, r.to_class] for r in raises]
    manifest_json = canonical_json(manifest).decode("utf-8")
    manifest_hash = sha256_hex(manifest_json.encode("utf-8"))
    if progress:
        progress("commitments", len(eligible), len(eligible))
    draw = model.Draw(
        id=draw_id,
        task_id=task.id,
        created_at=caller.now,
        actor=caller.actor,
        algorithm_version=algorithm_version,
        seed="",
        entropy_source=declaration["kind"],
        entropy="",
        manifest_hash=manifest_hash,
        manifest_json=manifest_json,
        rule_set_hash=rule_set.hash,
        rule_set_version=rule_set.version,
        as_of=day,
        in_scope_count=len(objects),
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
    uow.rule_sets.remember(rule_set.hash, rule_set.version, rule_set.canonical_json(), caller.now)
    uow.draws.add(record)
    if raises:
        uow.draws.add_raises(draw_id, raises)
    uow.lifecycle.add_commitments(draw_id, salt_key.hex(), entries)
    uow.lifecycle.add_entropy_inputs(draw_id, expected_inputs(declaration))
    uow.tasks.set_draw(task.id, draw_id)
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
    return Committed(draw, record, entries)


def execute_in(
    uow: UnitOfWork,
    draw_id: str,
    caller: Caller,
    *,
    committed: DrawRecord | None = None,
    entries: list[EligibleEntry] | None = None,
    progress: Progress | None = None,
) -> DrawOutcome:
    """Combines the supplied entropy, selects objects and teams and stores them (inside ``uow``).

    ``committed`` (and, for a ``dualdraw-draw/2`` draw, its eligible ``entries``) is the record that
    ``commit_in`` just stored in this same ``uow``: given, it is not read back (a 1M draw's eligible set).
    ``progress(stage, done, total)`` is told when selection, teams, persisting and the audit event are done.
    """
    record = committed if committed is not None else require(uow.draws.get_record(draw_id), "draw", draw_id)
    draw = record.draw
    if draw.state != COMMITTED:
        raise FailedPrecondition(
            f"draw {draw_id} is {draw.state}, not committed", reason="DRAW_NOT_COMMITTED"
        )
    declaration = json.loads(draw.manifest_json)["entropy_source"]
    values = {(i.role, i.name): i.value for i in uow.lifecycle.entropy_inputs(draw_id)}
    try:
        entropy, label = combine(declaration, values, now=caller.now)
    except EntropyProblem as exc:
        raise _problem(exc) from None
    seed = derive_seed(draw.manifest_hash, entropy)
    if draw.algorithm_version == ALGORITHM_VERSION_2:
        manifest = json.loads(draw.manifest_json)
        if entries is None:
            _, entries = require(uow.lifecycle.commitments(draw_id), "draw commitments", draw_id)
        selected = select_v2(seed, entries, manifest)
        if progress:
            progress("selection", len(entries), len(entries))
        teams = teams_v2(seed, selected, record.inspector_pool, manifest)
    else:
        selected = select_objects(seed, record.eligible_codes, draw.ratio)
        if progress:
            progress("selection", len(record.eligible_codes), len(record.eligible_codes))
        pool = [_pool_inspector(line) for line in record.inspector_pool]
        teams = form_teams(
            seed, [s.credit_code for s in selected], pool, draw.team_size, draw.as_of, _POOL_SPECIALITY
        )
    if progress:
        progress("teams", len(teams), len(teams))
    assignments = [
        model.Assignment(
            position=n, credit_code=s.credit_code, ticket=s.ticket_hex, stratum=s.stratum, team=team
        )
        for n, (s, team) in enumerate(zip(selected, teams, strict=True), start=1)
    ]
    uow.lifecycle.execute(
        draw_id,
        seed=seed.hex(),
        entropy_source=label,
        entropy=entropy.hex(),
        executed_at=caller.now,
        assignments=assignments,
    )
    if progress:
        progress("persist", len(assignments), len(assignments))
    record_event(
        uow,
        caller,
        action="draw.execute",
        resource=f"draws/{draw_id}",
        after={
            "draw_id": draw_id,
            "manifest_hash": draw.manifest_hash,
            "entropy_source": label,
            "entropy": entropy.hex(),
            "seed": seed.hex(),
            "selected": [a.credit_code for a in assignments],
        },
    )
    if progress:
        progress("audit", len(assignments), len(assignments))
    executed = require(uow.draws.get(draw_id), "draw", draw_id)
    return DrawOutcome(
        executed,
        DrawRecord(executed, record.eligible_codes, record.inspector_pool, record.exclusions, assignments),
    )


def commit_draw(
    uow: UnitOfWork,
    engine: ExclusionMatcher,
    rule_set: RuleSet,
    *,
    task_id: str,
    as_of: dt.date | None,
    caller: Caller,
    declaration: dict[str, Any],
    progress: Progress | None = None,
) -> model.Draw:
    """Commits a draw whose entropy comes later. ``declaration`` without a commitment for ``local-secret``
    gets a fresh server secret. Raises ``AlreadyExists`` (``DRAW_EXISTS``) when the task has a live draw,
    ``FailedPrecondition`` (``PENDING_DRAW_IN_SCOPE``) as ``claim_history_scope`` says.
    ``progress`` is told the stages up to ``store``, then ``commit``."""
    day = as_of or caller.today()
    secret = b""
    if declaration.get("kind") == LOCAL_SECRET and "commitment" not in declaration:
        declaration, secret = new_local_secret_source()
    with uow, cycle_collection_paused():
        task = require(uow.tasks.get(task_id), "task", task_id)
        if task.draw_id:
            repeated = _repeated_request(uow, task.draw_id, caller)
            if repeated is not None:
                return repeated.draw
            raise AlreadyExists(
                f"task {task.id} has a live draw {task.draw_id}; abandon it with a reason code first",
                reason="DRAW_EXISTS",
                metadata={"draw_id": task.draw_id},
            )
        draw = commit_in(uow, engine, rule_set, task, day, caller, declaration, progress).draw
        if secret:
            # Stored unrevealed beside its commitment: a demo source, the operator could read it.
            uow.lifecycle.set_entropy_value(draw.id, ROLE_LOCAL, "local", secret.hex(), caller.now)
        uow.commit()
        if progress:
            progress("commit", draw.eligible_count, draw.eligible_count)
    return draw


def reveal_entropy(
    uow: UnitOfWork, *, draw_id: str, party: str, secret_hex: str, caller: Caller
) -> model.Draw:
    """Records a party's reveal; executes the draw when it was the last one missing."""
    try:
        secret = check_hex(secret_hex, "secret")
    except EntropyProblem as exc:
        raise _invalid("secret", str(exc)) from None
    with uow, cycle_collection_paused():
        uow.lifecycle.lock_draw(draw_id)
        draw = require(uow.draws.get(draw_id), "draw", draw_id)
        if draw.state != COMMITTED:
            raise FailedPrecondition(
                f"draw {draw_id} is {draw.state}: reveals are only taken while it is committed",
                reason="DRAW_NOT_COMMITTED",
            )
        declaration = json.loads(draw.manifest_json)["entropy_source"]
        if declaration["kind"] != COMMIT_REVEAL:
            raise FailedPrecondition(f"draw {draw_id} does not use commit-reveal", reason="NOT_COMMIT_REVEAL")
        try:
            check_reveal(declaration, party, secret)
        except EntropyProblem as exc:
            raise _problem(exc) from None
        inputs = {(i.role, i.name): i for i in uow.lifecycle.entropy_inputs(draw_id)}
        if inputs[(ROLE_PARTY, party)].value:
            raise FailedPrecondition(
                f"{party!r} has revealed already; a reveal is taken once", reason="ALREADY_REVEALED"
            )
        uow.lifecycle.set_entropy_value(draw_id, ROLE_PARTY, party, secret.hex(), caller.now)
        record_event(
            uow,
            caller,
            action="draw.reveal",
            resource=f"draws/{draw_id}",
            after={"draw_id": draw_id, "party": party, "secret": secret.hex()},
        )
        waiting = [n for (role, n), i in inputs.items() if role == ROLE_PARTY and n != party and not i.value]
        result = draw if waiting else execute_in(uow, draw_id, caller).draw
        uow.commit()
    return result


def execute_draw(uow: UnitOfWork, *, draw_id: str, beacon_value: str, caller: Caller) -> DrawOutcome:
    """Executes a committed draw: opens the local secret, or takes the beacon value (the beacon source,
    or the declared fallback once the reveal deadline has passed)."""
    with uow, cycle_collection_paused():
        uow.lifecycle.lock_draw(draw_id)
        draw = require(uow.draws.get(draw_id), "draw", draw_id)
        if draw.state != COMMITTED:
            raise FailedPrecondition(
                f"draw {draw_id} is {draw.state}, not committed", reason="DRAW_NOT_COMMITTED"
            )
        declaration = json.loads(draw.manifest_json)["entropy_source"]
        if beacon_value:
            try:
                check_hex(beacon_value, "beacon value")
            except EntropyProblem as exc:
                raise _invalid("beacon_value", str(exc)) from None
            if declaration["kind"] == BEACON:
                role, name, round_ = ROLE_BEACON, declaration["beacon"], declaration["round"]
            elif declaration["kind"] == COMMIT_REVEAL:
                role, name, round_ = (
                    ROLE_FALLBACK,
                    declaration["fallback"]["beacon"],
                    declaration["fallback"]["round"],
                )
            else:
                raise _invalid("beacon_value", "this draw's entropy source takes no beacon value")
            uow.lifecycle.set_entropy_value(draw_id, role, name, beacon_value, caller.now)
            record_event(
                uow,
                caller,
                action="draw.beacon",
                resource=f"draws/{draw_id}",
                after={"draw_id": draw_id, "beacon": name, "round": round_, "value": beacon_value},
            )
        outcome = execute_in(uow, draw_id, caller)
        uow.commit()
    return outcome


def abandon_draw(uow: UnitOfWork, *, draw_id: str, reason: str, note: str, caller: Caller) -> model.Draw:
    """Retires a live draw so that the task may be drawn again; the draw and this event stay visible."""
    if reason not in ABANDON_REASONS:
        raise _invalid("reason", f"must be one of {', '.join(ABANDON_REASONS)}")
    if not note.strip():
        raise _invalid("note", "say why the draw is abandoned")
    with uow:
        uow.lifecycle.lock_draw(draw_id)
        draw = require(uow.draws.get(draw_id), "draw", draw_id)
        if draw.state == ABANDONED:
            raise FailedPrecondition(f"draw {draw_id} is abandoned already", reason="DRAW_ABANDONED")
        uow.lifecycle.abandon(draw_id, draw.task_id, reason, note.strip())
        record_event(
            uow,
            caller,
            action="draw.abandon",
            resource=f"draws/{draw_id}",
            before={"state": draw.state},
            after={
                "draw_id": draw_id,
                "task_id": draw.task_id,
                "state": ABANDONED,
                "reason": reason,
                "note": note.strip(),
            },
        )
        uow.commit()
        return require(uow.draws.get(draw_id), "draw", draw_id)


@dataclass(frozen=True)
class SubstitutionRequest:
    draw_id: str
    position: int
    badge_number: str
    reason: str
    evidence_hash: str
    beacon: str = ""
    beacon_round: int = 0


def request_substitution(uow: UnitOfWork, request: SubstitutionRequest, caller: Caller) -> Substitution:
    """Logs the substitution (reason, evidence hash, entropy source) before any entropy for it exists."""
    if request.reason not in SUBSTITUTION_REASONS:
        raise _invalid("reason", f"must be one of {', '.join(SUBSTITUTION_REASONS)}")
    try:
        check_hex(request.evidence_hash, "evidence hash")
        if len(request.evidence_hash) != 64:
            raise EntropyProblem("", "")
    except EntropyProblem:
        raise _invalid("evidence_hash", "must be the 64 hex digits of a SHA-256 of the evidence") from None
    secret = b""
    if request.beacon:
        declaration: dict[str, Any] = {
            "kind": BEACON,
            "beacon": request.beacon,
            "round": request.beacon_round,
        }
        try:
            validate_declaration(declaration)
        except EntropyProblem as exc:
            raise _invalid("beacon_round", str(exc)) from None
    else:
        declaration, secret = new_local_secret_source()
    with uow:
        uow.lifecycle.lock_draw(request.draw_id)
        record = require(uow.draws.get_record(request.draw_id), "draw", request.draw_id)
        if record.draw.state != EXECUTED:
            raise FailedPrecondition(
                f"draw {request.draw_id} is {record.draw.state}", reason="DRAW_NOT_EXECUTED"
            )
        assignment = next((a for a in record.assignments if a.position == request.position), None)
        if assignment is None:
            raise _invalid("position", f"draw {request.draw_id} has no position {request.position}")
        if request.badge_number not in {m.badge_number for m in assignment.team}:
            raise _invalid(
                "badge_number", f"{request.badge_number} is not on the team of position {request.position}"
            )
        sub_id = f"s-{uuid.uuid4().hex[:12]}"
        event = record_event(
            uow,
            caller,
            action="draw.substitution.request",
            resource=f"draws/{request.draw_id}",
            after={
                "substitution_id": sub_id,
                "position": request.position,
                "removed_badge": request.badge_number,
                "reason_code": request.reason,
                "evidence_hash": request.evidence_hash,
                "entropy_source": declaration,
            },
        )
        sub = Substitution(
            id=sub_id,
            draw_id=request.draw_id,
            position=request.position,
            removed_badge=request.badge_number,
            reason_code=request.reason,
            evidence_hash=request.evidence_hash,
            entropy_source=canonical_json(declaration).decode("utf-8"),
            requested_at=caller.now,
            actor=caller.actor,
            event_leaf_hash=event_leaf_hash(event).hex(),
        )
        uow.lifecycle.add_substitution(sub, secret.hex())
        uow.commit()
    return sub


def current_loads(assignments: list[model.Assignment]) -> Counter[str]:
    return Counter(m.badge_number for a in assignments for m in a.team)


def execute_substitution(
    uow: UnitOfWork, *, substitution_id: str, beacon_value: str, caller: Caller
) -> Substitution:
    """Takes the entropy of a requested substitution and swaps the replacement into the team."""
    with uow:
        found = uow.lifecycle.get_substitution(substitution_id)
        sub, local_secret = require(found, "substitution", substitution_id)
        uow.lifecycle.lock_draw(sub.draw_id)
        if sub.state != "requested":
            raise FailedPrecondition(f"substitution {sub.id} is {sub.state}", reason="SUBSTITUTION_DONE")
        declaration = json.loads(sub.entropy_source)
        values = {(ROLE_LOCAL, "local"): local_secret}
        if declaration["kind"] == BEACON:
            values = {(ROLE_BEACON, declaration["beacon"]): beacon_value}
        try:
            entropy, _ = combine(declaration, values)
        except EntropyProblem as exc:
            raise _problem(exc) from None
        record = require(uow.draws.get_record(sub.draw_id), "draw", sub.draw_id)
        assignment = next(a for a in record.assignments if a.position == sub.position)
        removed_before = {
            s.removed_badge
            for s in uow.lifecycle.substitutions(sub.draw_id)
            if s.position == sub.position and s.state == "executed"
        } | {sub.removed_badge}
        pool: dict[str, Collection[str]] = {
            json.loads(line)["badge_number"]: set(json.loads(line)["conflicts"])
            for line in record.inspector_pool
        }
        if record.draw.algorithm_version == ALGORITHM_VERSION_2:
            removed_member = next(m for m in assignment.team if m.badge_number == sub.removed_badge)
            pool = dict(
                substitution_pool_v2(
                    record.inspector_pool,
                    json.loads(record.draw.manifest_json),
                    assignment.credit_code,
                    sub.removed_badge,
                    removed_member.leader,
                )
            )
        replacement = pick_replacement(
            sub_seed(bytes.fromhex(record.draw.seed), bytes.fromhex(sub.event_leaf_hash), entropy),
            [m.badge_number for m in assignment.team],
            pool,
            assignment.credit_code,
            current_loads(record.assignments),
            removed_before,
        )
        uow.lifecycle.complete_substitution(
            sub, replacement=replacement, entropy=entropy.hex(), at=caller.now
        )
        record_event(
            uow,
            caller,
            action="draw.substitution.execute",
            resource=f"draws/{sub.draw_id}",
            after={"substitution_id": sub.id, "replacement_badge": replacement, "entropy": entropy.hex()},
        )
        uow.commit()
        done, _ = require(uow.lifecycle.get_substitution(substitution_id), "substitution", substitution_id)
    return done
