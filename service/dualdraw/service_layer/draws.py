"""The one-step draw (Art. 7, 10, 16) and the recomputation of a stored draw.

``run_draw`` is commit (``draw_commit``) + execute (``draw_execute``) with the local-secret entropy source
(demos, tests and the ``Draw`` RPC): commit freezes the canonical manifest (exclusions by rule, eligible
set, pool, Merkle commitments) before any entropy exists; execute derives
``seed = derive_seed(manifest_hash, entropy)``, selects by SHA-256 tickets and forms teams — an infeasible
team constraint fails the draw and nothing is written. ``recompute`` re-derives selection and teams from a
stored record alone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from dualdraw.domain.canonical_json import sha256_hex
from dualdraw.domain.draw.algorithm import derive_seed, eligible_digest
from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.strata import DEFAULT_STRATUM, codes_by_stratum
from dualdraw.domain.draw.teams import conflict_digest, inspector_pool_digest
from dualdraw.domain.draw.versions import algorithm_for, pool_inspector
from dualdraw.domain.errors import AlreadyExists, FailedPrecondition
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.runtime.crashpoints import crash_point
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_commit import commit_in
from dualdraw.service_layer.draw_execute import execute_in
from dualdraw.service_layer.draw_progress import Progress, cycle_collection_paused
from dualdraw.service_layer.draw_state import DrawOutcome, new_local_secret_source, repeated_request
from dualdraw.service_layer.ports import DrawRecord, ExclusionMatcher, UnitOfWork


def run_draw(
    uow: UnitOfWork,
    engine: ExclusionMatcher,
    rule_set: RuleSet,
    *,
    task_id: str,
    as_of: dt.date | None,
    caller: Caller,
    entropy: bytes | None = None,
    progress: Progress | None = None,
) -> DrawOutcome:
    """Draws objects and teams for ``task_id`` in one step (commit with a local secret, then execute).

    A task has at most one live draw: abandon it (``draw_abandon.abandon_draw``) to draw again.

    A repeated request (same ``caller.request_id`` as the draw's creation) returns the stored draw.
    Raises ``NotFound`` for an unknown task, ``AlreadyExists`` (``DRAW_EXISTS``) when the task was drawn
    already, ``FailedPrecondition`` when the team constraints cannot be met or another draw sharing its
    inspection history is committed and not executed (``PENDING_DRAW_IN_SCOPE``), ``Unavailable`` when the
    rules engine fails. Concurrent draws sharing that history run one after the other (the lock is held
    from before the history is read until the draw's transaction commits).
    """
    day = as_of or caller.today()
    # One step for demos and tests: commit with a local secret committed by hash, then reveal it and execute.
    declaration, secret = new_local_secret_source()
    if entropy is not None:
        declaration = {"kind": "local-secret", "commitment": sha256_hex(entropy)}
        secret = entropy
    with uow, cycle_collection_paused():
        task = require(uow.tasks.get(task_id), "task", task_id)
        if task.draw_id:
            repeated = repeated_request(uow, task.draw_id, caller)
            if repeated is not None:
                return repeated
            raise AlreadyExists(
                f"task {task.id} has a live draw {task.draw_id}; abandon it with a reason code first",
                reason="DRAW_EXISTS",
                metadata={"draw_id": task.draw_id},
            )
        committed = commit_in(uow, engine, rule_set, task, day, caller, declaration, progress)
        draw = committed.draw
        crash_point("draw.after_commitment")
        uow.lifecycle.set_entropy_value(draw.id, "local-secret", "local", secret.hex(), caller.now)
        outcome = execute_in(
            uow, draw.id, caller, committed=committed.record, entries=committed.entries, progress=progress
        )
        crash_point("draw.before_commit")
        uow.commit()
        if progress:
            progress("commit", outcome.draw.selected_count, outcome.draw.selected_count)
    crash_point("draw.after_commit")
    return outcome


@dataclass(frozen=True)
class Recomputation:
    matches: bool
    problems: list[str]


def recompute(record: DrawRecord, entries: Sequence[EligibleEntry] | None = None) -> Recomputation:
    """Re-runs selection and team formation from a stored record alone and compares with what was stored.

    A ``dualdraw-draw/2`` draw also needs its eligible ``entries`` (their strata), from its commitments."""
    draw = record.draw
    problems: list[str] = []
    if sha256_hex(draw.manifest_json.encode("utf-8")) != draw.manifest_hash:
        problems.append("manifest hash does not match the stored manifest")
    seed = derive_seed(draw.manifest_hash, bytes.fromhex(draw.entropy))
    if seed.hex() != draw.seed:
        problems.append("seed is not derive_seed(manifest_hash, entropy)")
    if eligible_digest(record.eligible_codes) != draw.eligible_digest:
        problems.append("eligible set does not match its digest")
    pool = [pool_inspector(line) for line in record.inspector_pool]
    if inspector_pool_digest(i.badge_number for i in pool) != draw.inspector_pool_digest:
        problems.append("inspector pool does not match its digest")
    manifest = json.loads(draw.manifest_json)
    if conflict_digest(pool, record.eligible_codes) != manifest["inspectors"]["conflict_digest"]:
        problems.append("declared conflicts do not match the manifest's conflict digest")
    stored = sorted(record.assignments, key=lambda a: a.position)
    algorithm = algorithm_for(draw.algorithm_version)
    if algorithm.stratified:
        if entries is None:
            return Recomputation(False, [*problems, f"a {algorithm.version} draw needs its eligible strata"])
        eligible = codes_by_stratum(entries)
    else:
        eligible = {DEFAULT_STRATUM: record.eligible_codes}
    selected = algorithm.select(seed, eligible, manifest)
    if [(s.credit_code, s.ticket_hex) for s in selected] != [(a.credit_code, a.ticket) for a in stored]:
        problems.append("selection differs from the stored assignments")
    try:
        teams = algorithm.form_teams(seed, selected, record.inspector_pool, manifest)
    except FailedPrecondition as exc:
        return Recomputation(False, [*problems, f"teams cannot be formed: {exc}"])
    if list(teams) != [a.team for a in stored]:
        problems.append("teams differ from the stored assignments")
    return Recomputation(not problems, problems)
