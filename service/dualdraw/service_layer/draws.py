"""The one-step draw (Art. 7, 10, 16) and the recomputation of a stored draw.

``run_draw`` is commit + execute with the local-secret entropy source (demos, tests and the ``Draw`` RPC);
the steps themselves live in ``draw_lifecycle``: commit freezes the canonical manifest (exclusions by rule,
eligible set, pool, Merkle commitments) before any entropy exists; execute derives
``seed = derive_seed(manifest_hash, entropy)``, selects by SHA-256 tickets and forms teams — an infeasible
team constraint fails the draw and nothing is written. ``recompute`` re-derives selection and teams from a
stored record alone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from dualdraw.domain import model
from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw.algorithm import (
    derive_seed,
    eligible_digest,
    select_objects,
)
from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.policy_teams import ALGORITHM_VERSION_2, select_v2, teams_v2
from dualdraw.domain.draw.teams import conflict_digest, form_teams, inspector_pool_digest
from dualdraw.domain.errors import AlreadyExists, FailedPrecondition
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.runtime import collection_pause
from dualdraw.runtime.crashpoints import crash_point
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import DrawRecord, ExclusionMatcher, PageRequest, UnitOfWork

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: told as a draw goes; a stage has ended when ``done == total`` (the
items it went through: objects evaluated, eligible objects ranked, teams formed...). In this order:
``load`` (objects in scope), ``rules`` (after each shard), ``commitments`` (manifest and Merkle roots),
``store`` (the committed draw and its commit event written, not yet committed), then for an executed
draw ``selection``, ``teams``, ``persist`` (assignments and teams written), ``audit`` (the execute event
appended to the audit log) and ``commit`` (the transaction)."""

DRAW_STAGES = ("load", "rules", "commitments", "store", "selection", "teams", "persist", "audit", "commit")


class StageLog:
    """A ``Progress`` that logs each stage of a draw as it ends, with how long it took (and the rules
    stage every ``every_s`` seconds while it runs), so that an operator sees where a long draw is.
    ``seconds`` keeps each ended stage's duration: the time since the previous stage ended."""

    def __init__(
        self, what: str, every_s: float = 5.0, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._what = what
        self._every_s = every_s
        self._clock = clock
        self._since = self._reported = clock()
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self._clock()
        if done < total:
            if now - self._reported >= self._every_s:
                self._reported = now
                log.info("%s: %s %d of %d", self._what, stage, done, total)
            return
        self.seconds[stage] = now - self._since
        log.info("%s: %s done (%d) in %.2f s", self._what, stage, total, self.seconds[stage])
        self._since = self._reported = now


@dataclass(frozen=True)
class DrawOutcome:
    draw: model.Draw
    record: DrawRecord


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """Runs the block without the cyclic garbage collector, restoring its previous state afterwards.

    A draw allocates millions of small objects that live until it ends (a 1M draw: objects, entries,
    leaves); each allocation burst triggers collections that walk all of them again, which cost more than
    half of loading a million objects. Reference counting still frees everything; cycles wait for the
    next collection after the block.
    """
    with collection_pause.paused():  # one counted pause, shared with concurrent imports
        yield


def new_draw_id() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"


def pool_entry(inspector: model.Inspector, eligible: set[str]) -> str:
    """One pool inspector as frozen in the draw: badge and declared conflicts with eligible objects."""
    entry = {"badge_number": inspector.badge_number, "conflicts": sorted(inspector.conflicts & eligible)}
    return canonical_json(entry).decode("utf-8")


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

    A task has at most one live draw: abandon it (``draw_lifecycle.abandon_draw``) to draw again.

    A repeated request (same ``caller.request_id`` as the draw's creation) returns the stored draw.
    Raises ``NotFound`` for an unknown task, ``AlreadyExists`` (``DRAW_EXISTS``) when the task was drawn
    already, ``FailedPrecondition`` when the team constraints cannot be met or another draw sharing its
    inspection history is committed and not executed (``PENDING_DRAW_IN_SCOPE``), ``Unavailable`` when the
    rules engine fails. Concurrent draws sharing that history run one after the other (the lock is held
    from before the history is read until the draw's transaction commits).
    """
    day = as_of or caller.today()
    # One step for demos and tests: commit with a local secret committed by hash, then reveal it and execute.
    from dualdraw.service_layer import draw_lifecycle

    declaration, secret = draw_lifecycle.new_local_secret_source()
    if entropy is not None:
        declaration = {"kind": "local-secret", "commitment": sha256_hex(entropy)}
        secret = entropy
    with uow, cycle_collection_paused():
        task = require(uow.tasks.get(task_id), "task", task_id)
        if task.draw_id:
            repeated = _repeated_request(uow, task.draw_id, caller)
            if repeated is not None:
                return repeated
            raise AlreadyExists(
                f"task {task.id} has a live draw {task.draw_id}; abandon it with a reason code first",
                reason="DRAW_EXISTS",
                metadata={"draw_id": task.draw_id},
            )
        committed = draw_lifecycle.commit_in(uow, engine, rule_set, task, day, caller, declaration, progress)
        draw = committed.draw
        crash_point("draw.after_commitment")
        uow.lifecycle.set_entropy_value(draw.id, "local-secret", "local", secret.hex(), caller.now)
        outcome = draw_lifecycle.execute_in(
            uow, draw.id, caller, committed=committed.record, entries=committed.entries, progress=progress
        )
        crash_point("draw.before_commit")
        uow.commit()
        if progress:
            progress("commit", outcome.draw.selected_count, outcome.draw.selected_count)
    crash_point("draw.after_commit")
    return outcome


def _repeated_request(uow: UnitOfWork, draw_id: str, caller: Caller) -> DrawOutcome | None:
    """The stored outcome when ``caller`` repeats the request id that created ``draw_id`` (AIP-155)."""
    if not caller.request_id:
        return None
    events = uow.audit.list(PageRequest(size=1), resource=f"draws/{draw_id}").items
    if not events or events[0].request_id != caller.request_id:
        return None
    record = uow.draws.get_record(draw_id)
    return DrawOutcome(record.draw, record) if record is not None else None


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
    pool = [_pool_inspector(line) for line in record.inspector_pool]
    if inspector_pool_digest(i.badge_number for i in pool) != draw.inspector_pool_digest:
        problems.append("inspector pool does not match its digest")
    manifest = json.loads(draw.manifest_json)
    if conflict_digest(pool, record.eligible_codes) != manifest["inspectors"]["conflict_digest"]:
        problems.append("declared conflicts do not match the manifest's conflict digest")
    stored = sorted(record.assignments, key=lambda a: a.position)
    if draw.algorithm_version == ALGORITHM_VERSION_2:
        if entries is None:
            return Recomputation(False, [*problems, "a dualdraw-draw/2 draw needs its eligible strata"])
        selected = select_v2(seed, entries, manifest)
    else:
        selected = select_objects(seed, record.eligible_codes, draw.ratio)
    if [(s.credit_code, s.ticket_hex) for s in selected] != [(a.credit_code, a.ticket) for a in stored]:
        problems.append("selection differs from the stored assignments")
    try:
        if draw.algorithm_version == ALGORITHM_VERSION_2:
            teams = teams_v2(seed, selected, record.inspector_pool, manifest)
        else:
            teams = form_teams(
                seed, [s.credit_code for s in selected], pool, draw.team_size, draw.as_of, _POOL_SPECIALITY
            )
    except FailedPrecondition as exc:
        return Recomputation(False, [*problems, f"teams cannot be formed: {exc}"])
    if list(teams) != [a.team for a in stored]:
        problems.append("teams differ from the stored assignments")
    return Recomputation(not problems, problems)


_POOL_SPECIALITY = "pool"  # stored pool entries are qualified already; recomputation gives them this marker


def _pool_inspector(line: str) -> model.Inspector:
    entry = json.loads(line)
    return model.Inspector(
        badge_number=entry["badge_number"],
        name="",
        department_id="",
        office="",
        specialities=(model.Speciality(_POOL_SPECIALITY),),
        conflicts=frozenset(entry["conflicts"]),
    )
