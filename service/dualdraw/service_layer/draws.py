"""The draw use case (Art. 7, 10, 16): exclusions by rule, selection by tickets, teams, in one transaction.

Order of work, so that the randomness cannot be steered:
1. everything the result depends on is gathered and frozen into a canonical JSON manifest;
2. fresh entropy is taken only after the manifest hash is fixed:
   ``seed = derive_seed(manifest_hash, entropy)``;
3. objects are selected by SHA-256 tickets and teams formed from the same seed (``domain.draw_algorithm``,
   ``domain.teams``); an infeasible team constraint fails the draw and nothing is written;
4. the draw, its eligible set, inspector pool, exclusions and assignments and the audit event are written in
   one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from dualdraw.audit.log import record_event
from dualdraw.domain import model
from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw_algorithm import (
    ALGORITHM_VERSION,
    derive_seed,
    eligible_digest,
    select_objects,
)
from dualdraw.domain.errors import AlreadyExists
from dualdraw.domain.jurisdiction import DepartmentTree, task_object_filter
from dualdraw.domain.teams import conflict_digest, form_teams, inspector_pool, inspector_pool_digest
from dualdraw.rules.engine import ExclusionEngine
from dualdraw.rules.model import EvaluationContext, RuleSet
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import DrawRecord, PageRequest, UnitOfWork
from dualdraw.service_layer.rule_preview import department_path

ENTROPY_SOURCE = "local-csprng"  # issue #4 adds commit-reveal and public beacons
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DrawOutcome:
    draw: model.Draw
    record: DrawRecord


def new_draw_id() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"


def pool_entry(inspector: model.Inspector, eligible: set[str]) -> str:
    """One pool inspector as frozen in the draw: badge and declared conflicts with eligible objects."""
    entry = {"badge_number": inspector.badge_number, "conflicts": sorted(inspector.conflicts & eligible)}
    return canonical_json(entry).decode("utf-8")


def run_draw(
    uow: UnitOfWork,
    engine: ExclusionEngine,
    rule_set: RuleSet,
    *,
    task_id: str,
    as_of: dt.date | None,
    caller: Caller,
    entropy: bytes | None = None,
    progress: Progress | None = None,
) -> DrawOutcome:
    """Draws objects and teams for ``task_id`` and stores the result; a task is drawn at most once.

    A repeated request (same ``caller.request_id`` as the draw's creation) returns the stored draw.
    Raises ``NotFound`` for an unknown task, ``AlreadyExists`` (``DRAW_EXISTS``) when the task was drawn
    already, ``FailedPrecondition`` when the team constraints cannot be met, ``Unavailable`` when the rules
    engine fails.
    """
    day = as_of or caller.today()
    with uow:
        task = require(uow.tasks.get(task_id), "task", task_id)
        if task.draw_id:
            repeated = _repeated_request(uow, task.draw_id, caller)
            if repeated is not None:
                return repeated
            raise AlreadyExists(
                f"task {task.id} was drawn already (draw {task.draw_id}); a task is drawn once",
                reason="DRAW_EXISTS",
                metadata={"draw_id": task.draw_id},
            )
        item = require(uow.items.get(task.item_code), "inspection item", task.item_code)
        departments = uow.directory.all_departments()
        tree = DepartmentTree(departments)
        department = require(tree.get(task.department_id), "department", task.department_id)
        object_filter = task_object_filter(tree, task)
        objects = uow.directory.objects_matching(object_filter)
        side_facts = uow.directory.side_facts_matching(object_filter)
        candidates = uow.directory.inspectors_of([task.department_id])

        context = EvaluationContext(
            as_of=day,
            business_line=item.business_line,
            item_code=item.code,
            department_id=department.id,
            department_level=int(department.level),
            organizer_levels={d.id: int(d.level) for d in departments},
            department_path=department_path(tree, department.id),  # rule jurisdictions (issue 3)
            department_region=department.region_code,
        )
        evaluated = engine.evaluate(
            rule_set,
            context,
            objects,
            side_facts,
            progress=(lambda done, total: progress("rules", done, total)) if progress else None,
        )
        exclusions = sorted(evaluated, key=lambda e: (e.credit_code, e.rule_id))
        excluded = {e.credit_code for e in exclusions}
        eligible = sorted(o.credit_code for o in objects if o.credit_code not in excluded)
        pool = inspector_pool(candidates, item.required_speciality, day)
        eligible_set = set(eligible)
        pool_lines = [pool_entry(i, eligible_set) for i in pool.qualified]

        eligible_hash = eligible_digest(eligible)
        draw_id = new_draw_id()
        manifest = {
            "algorithm_version": ALGORITHM_VERSION,
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
                "exclusions_digest": sha256_hex(
                    canonical_json([[e.credit_code, e.rule_id] for e in exclusions])
                ),
            },
            "inspectors": {
                "pool_size": len(pool.qualified),
                "pool_digest": pool.digest,
                "conflict_digest": conflict_digest(pool.qualified, eligible),
                "left_out": [[badge, reason] for badge, reason in pool.left_out],
            },
            "entropy_source": ENTROPY_SOURCE,
        }
        manifest_json = canonical_json(manifest).decode("utf-8")
        manifest_hash = sha256_hex(manifest_json.encode("utf-8"))
        # Entropy is taken only now, after the manifest is fixed.
        fresh = entropy if entropy is not None else secrets.token_bytes(32)
        seed = derive_seed(manifest_hash, fresh)

        selected = select_objects(seed, eligible, task.ratio)
        if progress:
            progress("selection", len(selected), len(selected))
        teams = form_teams(
            seed,
            [s.credit_code for s in selected],
            pool.qualified,
            task.team_size,
            day,
            item.required_speciality,
        )
        assignments = [
            model.Assignment(
                position=n, credit_code=s.credit_code, ticket=s.ticket_hex, stratum=s.stratum, team=team
            )
            for n, (s, team) in enumerate(zip(selected, teams, strict=True), start=1)
        ]
        draw = model.Draw(
            id=draw_id,
            task_id=task.id,
            created_at=caller.now,
            actor=caller.actor,
            algorithm_version=ALGORITHM_VERSION,
            seed=seed.hex(),
            entropy_source=ENTROPY_SOURCE,
            entropy=fresh.hex(),
            manifest_hash=manifest_hash,
            manifest_json=manifest_json,
            rule_set_hash=rule_set.hash,
            rule_set_version=rule_set.version,
            as_of=day,
            in_scope_count=len(objects),
            excluded_count=len(excluded),
            eligible_count=len(eligible),
            selected_count=len(selected),
            team_size=task.team_size,
            ratio=task.ratio,
            eligible_digest=eligible_hash,
            inspector_pool_digest=pool.digest,
        )
        record = DrawRecord(
            draw=draw,
            eligible_codes=eligible,
            inspector_pool=pool_lines,
            exclusions=exclusions,
            assignments=assignments,
        )
        uow.rule_sets.remember(rule_set.hash, rule_set.version, rule_set.canonical_json(), caller.now)
        uow.draws.add(record)
        uow.tasks.set_draw(task.id, draw.id)
        record_event(
            uow,
            caller,
            action="draw.create",
            resource=f"draws/{draw.id}",
            after={
                "draw_id": draw.id,
                "task_id": task.id,
                "manifest_hash": manifest_hash,
                "seed": draw.seed,
                "selected": [a.credit_code for a in assignments],
                "excluded": len(excluded),
            },
        )
        uow.commit()
    return DrawOutcome(draw, record)


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


def recompute(record: DrawRecord) -> Recomputation:
    """Re-runs selection and team formation from a stored record alone and compares with what was stored."""
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
    selected = select_objects(seed, record.eligible_codes, draw.ratio)
    stored = sorted(record.assignments, key=lambda a: a.position)
    if [(s.credit_code, s.ticket_hex) for s in selected] != [(a.credit_code, a.ticket) for a in stored]:
        problems.append("selection differs from the stored assignments")
    teams = form_teams(
        seed, [s.credit_code for s in selected], pool, draw.team_size, draw.as_of, _POOL_SPECIALITY
    )
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
