"""Executing a committed draw: ``reveal_entropy`` takes a party's secret (checked against its commitment;
each party reveals once) and executes once every party has revealed; ``execute_draw`` supplies a beacon
value (beacon source, or the declared fallback after the reveal deadline) or opens the local secret.
``execute_in`` derives the seed and computes selection and teams with the draw's algorithm version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import partial
from itertools import islice

from dualdraw.domain import model
from dualdraw.domain.draw.algorithm import derive_seed
from dualdraw.domain.draw.commitments import (
    EligibleEntry,
)
from dualdraw.domain.draw.entropy import (
    BEACON,
    COMMIT_REVEAL,
    ROLE_BEACON,
    ROLE_FALLBACK,
    ROLE_PARTY,
    EntropyProblem,
    check_hex,
    check_reveal,
    combine,
)
from dualdraw.domain.draw.object_plan import ObjectPlan
from dualdraw.domain.draw.strata import DEFAULT_STRATUM, codes_by_stratum
from dualdraw.domain.draw.versions import algorithm_for
from dualdraw.domain.errors import FailedPrecondition, invalid
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_policy import stored_object_plan
from dualdraw.service_layer.draw_progress import Progress, cycle_collection_paused
from dualdraw.service_layer.draw_state import COMMITTED, DrawOutcome, entropy_failure
from dualdraw.service_layer.ports import DrawRecord, UnitOfWork

ASSIGNMENT_BATCH = 4096
"""Assignments written at a time while the teams of the next are formed."""


def execute_in(
    uow: UnitOfWork,
    draw_id: str,
    caller: Caller,
    *,
    committed: DrawRecord | None = None,
    entries: Sequence[EligibleEntry] | None = None,
    plan: ObjectPlan | None = None,
    revealed: Mapping[tuple[str, str], str] | None = None,
    progress: Progress | None = None,
) -> DrawOutcome:
    """Combines the supplied entropy, selects objects and teams and stores them (inside ``uow``).

    ``committed`` (and, for a ``dualdraw-draw/2`` draw or later, its eligible ``entries`` and object
    ``plan``) is what ``commit_in`` just stored in this same ``uow``: given, it is not read back (a 1M
    draw's eligible set and plan). ``revealed``: the entropy values by (role, name), when the caller holds
    them (a one-step draw); else they are read from the draw's entropy inputs. What ``uow`` has queued
    (``defer``: a one-step draw's commit) is written beside the selection and teams.
    ``progress(stage, done, total)`` is told when selection, teams, persisting and the audit event are done.
    """
    record = committed if committed is not None else require(uow.draws.get_record(draw_id), "draw", draw_id)
    draw = record.draw
    if draw.state != COMMITTED:
        raise FailedPrecondition(
            f"draw {draw_id} is {draw.state}, not committed", reason="DRAW_NOT_COMMITTED"
        )
    declaration = json.loads(draw.manifest_json)["entropy_source"]
    values = (
        revealed
        if revealed is not None
        else {(i.role, i.name): i.value for i in uow.lifecycle.entropy_inputs(draw_id)}
    )
    try:
        entropy, label = combine(declaration, values, now=caller.now)
    except EntropyProblem as exc:
        raise entropy_failure(exc) from None
    seed = derive_seed(draw.manifest_hash, entropy)
    algorithm = algorithm_for(draw.algorithm_version)
    manifest = json.loads(draw.manifest_json)
    if algorithm.stratified:
        if entries is None:
            _, entries = require(uow.lifecycle.commitments(draw_id), "draw commitments", draw_id)
        eligible = codes_by_stratum(entries)
    else:
        eligible = {DEFAULT_STRATUM: record.eligible_codes}
    if plan is None:
        plan = stored_object_plan(uow, draw)
    # Selection and teams read nothing from the database: what the commit queued is written meanwhile,
    # then the assignments, a batch at a time as their teams are formed.
    uow.write_behind()
    selected = algorithm.select(seed, eligible, manifest)
    if progress:
        ranked = sum(map(len, eligible.values()))
        progress("selection", ranked, ranked)
    uow.defer(
        lambda: uow.lifecycle.execute(
            draw_id,
            seed=seed.hex(),
            entropy_source=label,
            entropy=entropy.hex(),
            executed_at=caller.now,
            selected_count=len(selected),
        )
    )
    teams = algorithm.teams_as_formed(seed, selected, record.inspector_pool, manifest, plan)
    formed = (
        model.Assignment(
            position=n, credit_code=s.credit_code, ticket=s.ticket_hex, stratum=s.stratum, team=team
        )
        for n, (s, team) in enumerate(zip(selected, teams, strict=True), start=1)
    )
    assignments: list[model.Assignment] = []
    while batch := list(islice(formed, ASSIGNMENT_BATCH)):
        uow.defer(partial(uow.lifecycle.add_assignments, draw_id, batch))  # behind the next batch's teams
        assignments += batch
        if progress and len(assignments) < len(selected):
            progress("teams", len(assignments), len(selected))
    if progress:
        progress("teams", len(assignments), len(assignments))
    uow.settle()
    if progress:
        progress("persist", len(assignments), len(assignments))
    record_event(
        uow,
        caller,
        action="draw.execute",
        resource=f"draws/{draw_id}",
        after={
            "draw_id": draw_id,
            "task_id": draw.task_id,
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


def reveal_entropy(
    uow: UnitOfWork, *, draw_id: str, party: str, secret_hex: str, caller: Caller
) -> model.Draw:
    """Records a party's reveal; executes the draw when it was the last one missing."""
    try:
        secret = check_hex(secret_hex, "secret")
    except EntropyProblem as exc:
        raise invalid("secret", str(exc), reason="HEX_INVALID") from None
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
            raise entropy_failure(exc) from None
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
                raise invalid("beacon_value", str(exc), reason="HEX_INVALID") from None
            if declaration["kind"] == BEACON:
                role, name, round_ = ROLE_BEACON, declaration["beacon"], declaration["round"]
            elif declaration["kind"] == COMMIT_REVEAL:
                role, name, round_ = (
                    ROLE_FALLBACK,
                    declaration["fallback"]["beacon"],
                    declaration["fallback"]["round"],
                )
            else:
                raise invalid(
                    "beacon_value", "this draw's entropy source takes no beacon value", "FIELDS_CONFLICT"
                )
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
