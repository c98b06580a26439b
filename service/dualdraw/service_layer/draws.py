"""The one-step draw (Art. 7, 10, 16).

``run_draw`` is commit (``draw_commit``) + execute (``draw_execute``) with the local-secret entropy source
(demos, tests and the ``Draw`` RPC): commit freezes the canonical manifest (exclusions by rule, eligible
set, pool, Merkle commitments) before any entropy exists; execute derives
``seed = derive_seed(manifest_hash, entropy)``, selects by SHA-256 tickets and forms teams — an infeasible
team constraint fails the draw and nothing is written. A stored draw is re-derived from its committed roots
by ``domain.draw.integrity`` (publication and the audit-log check use it).
"""

from __future__ import annotations

import datetime as dt

from dualdraw.domain.canonical_json import sha256_hex
from dualdraw.domain.draw.entropy import ROLE_LOCAL
from dualdraw.domain.errors import AlreadyExists
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.runtime.crashpoints import crash_point
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_commit import commit_in
from dualdraw.service_layer.draw_execute import execute_in
from dualdraw.service_layer.draw_progress import Progress, cycle_collection_paused
from dualdraw.service_layer.draw_state import DrawOutcome, new_local_secret_source, repeated_request
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.ports import ExclusionMatcher, UnitOfWork


def run_draw(
    uow: UnitOfWork,
    engine: ExclusionMatcher,
    rule_set: RuleSet,
    *,
    task_id: str,
    as_of: dt.date | None,
    caller: Caller,
    entropy: EntropyPolicy,
    secret: bytes | None = None,
    progress: Progress | None = None,
) -> DrawOutcome:
    """Draws objects and teams for ``task_id`` in one step (commit with a local secret, then execute):
    development only, ``entropy`` must allow a local secret (``FailedPrecondition``
    ``LOCAL_ENTROPY_FORBIDDEN`` otherwise, nothing written).

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
    if secret is None:
        declaration, secret = new_local_secret_source()
    else:
        declaration = {"kind": "local-secret", "commitment": sha256_hex(secret)}
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
        committed = commit_in(
            uow,
            engine,
            rule_set,
            task,
            day,
            caller,
            declaration,
            progress,
            entropy=entropy,
        )
        draw = committed.draw
        crash_point("draw.after_commitment")
        revealed = {(ROLE_LOCAL, "local"): secret.hex()}
        uow.defer(
            lambda: uow.lifecycle.set_entropy_value(draw.id, ROLE_LOCAL, "local", secret.hex(), caller.now)
        )
        outcome = execute_in(
            uow,
            draw.id,
            caller,
            committed=committed.record,
            entries=committed.entries,
            plan=committed.plan,
            revealed=revealed,
            progress=progress,
        )
        crash_point("draw.before_commit")
        uow.commit()
        if progress:
            progress("commit", outcome.draw.selected_count, outcome.draw.selected_count)
    crash_point("draw.after_commit")
    return outcome
