"""A draw's load path (``DirectoryRepository.draw_objects_matching``: compact ``DrawObject`` tuples without
names) against the directory's own read (``objects_matching``: ``InspectionObject`` records), on a generated
directory, both databases: the same objects in the same order under every kind of filter, and the same
exclusions from the rules engine for either form. And what a draw holds after it: the policy stage hands
commit and execute its eligible entries and object plan column by column (``EligibleEntries``,
``PlanRows``), what the store keeps reads back as the same entries and rows, the stored plan is read back
into columns, and the draw verifies. Assignments written a batch at a time as their teams are formed read
back whole, and a draw refused after some batches were written leaves nothing.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from bench.generate import AS_OF, ITEM, PROVINCE, directory
from bench.run import CALLER, load_directory, province_task

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store, create_engine
from dualdraw.adapters.store.database import alembic_config
from dualdraw.domain.draw.commitments import EligibleEntries
from dualdraw.domain.draw.object_plan import PlanRows
from dualdraw.domain.draw.versions import CommittedPlanDraw, Team
from dualdraw.domain.errors import DataLoss, FailedPrecondition
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.domain.exclusions.model import EvaluationContext
from dualdraw.domain.jurisdiction import DepartmentTree, ObjectFilter
from dualdraw.domain.model import (
    Department,
    DepartmentLevel,
    DrawObject,
    DrawObjects,
    InspectionObject,
    ObjectProfile,
    RiskClass,
    Task,
)
from dualdraw.service_layer import draw_execute, draws
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_commit import Committed, commit_in
from dualdraw.service_layer.draw_integrity import require_draw_verifies
from dualdraw.service_layer.draw_policy import stored_object_plan
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from tests.e2e.conftest import RULES


@pytest.fixture(scope="module")
def generated() -> object:
    return directory(3000, 100)


@pytest.fixture
def store(database_url: str, generated: object) -> Iterator[Store]:
    store = Store.from_url(database_url)
    load_directory(store, generated)  # type: ignore[arg-type]  # a bench Directory
    yield store
    store.dispose()


def as_drawn(o: InspectionObject) -> DrawObject:
    return DrawObject(o.credit_code, ObjectProfile.of(o))


def filters(departments: list[Department]) -> list[ObjectFilter]:
    province = DepartmentTree(departments).subtree_ids(PROVINCE)
    district = sorted((d for d in departments if d.level == DepartmentLevel.DISTRICT), key=lambda d: d.id)[5]
    some_region = district.region_code
    return [
        ObjectFilter(province),
        ObjectFilter(province, active_only=True),
        ObjectFilter(frozenset({district.id})),
        ObjectFilter(province, region_prefix=some_region[:4]),
        ObjectFilter(province, industries=frozenset({"C31", "F52", "H61"}), active_only=True),
        ObjectFilter(frozenset({"no-such-department"})),
    ]


def test_a_draw_loads_the_objects_the_directory_reads_in_the_same_order(store: Store) -> None:
    with store.unit_of_work() as uow:
        sizes = []
        for flt in filters(uow.directory.all_departments()):
            read = uow.directory.objects_matching(flt)
            drawn = uow.directory.draw_objects_matching(flt)
            assert drawn == [as_drawn(o) for o in read], flt
            assert all(type(o) is DrawObject for o in drawn)
            profiles = {id(o.profile) for o in drawn}
            assert len(profiles) == len({o.profile for o in drawn})  # equal attributes, one profile
            distinct, numbers = drawn.numbered()  # as the load numbered them, as if numbered afresh
            fresh = DrawObjects(drawn.codes, drawn.profiles).numbered()
            assert [id(p) for p in distinct] == [id(p) for p in fresh[0]]
            assert numbers.tolist() == fresh[1].tolist()
            sizes.append(len(drawn))
    assert sizes[0] > sizes[1] > 0  # inactive objects in the directory, and left out when asked
    assert 0 < sizes[2] < sizes[1]
    assert sizes[-1] == 0


def test_an_object_changed_is_loaded_with_its_new_attributes(store: Store) -> None:
    """Profiles are named by their content: an object whose attributes change names another profile, and a
    draw reads the new attributes; the objects that still share the old profile keep it."""
    with store.unit_of_work() as uow:
        flt = ObjectFilter(DepartmentTree(uow.directory.all_departments()).subtree_ids(PROVINCE))
        read = uow.directory.objects_matching(flt)
        shared = Counter(map(ObjectProfile.of, read))
        first = next(o for o in read if shared[ObjectProfile.of(o)] > 1)
        same = [o for o in read if ObjectProfile.of(o) == ObjectProfile.of(first)]
        changed = dataclasses.replace(
            first, risk_class=RiskClass.D if first.risk_class != RiskClass.D else RiskClass.A, office="新所"
        )
        uow.directory.upsert_objects([changed])
        uow.commit()
    with store.unit_of_work() as uow:
        drawn = uow.directory.draw_objects_matching(flt)
        assert drawn == [as_drawn(o) for o in uow.directory.objects_matching(flt)]
    assert as_drawn(changed) in drawn
    kept = {o.credit_code for o in same} - {first.credit_code}
    assert kept
    assert [o.profile for o in drawn if o.credit_code in kept] == [ObjectProfile.of(first)] * len(kept)


def test_objects_stored_out_of_order_are_loaded_in_order(database_url: str, generated: Any) -> None:
    """Objects the database reads out of credit-code order (written in that order here; on PostgreSQL a
    scan may also start mid-table) are loaded in order, their profiles numbered as if afresh."""
    store = Store.from_url(database_url)
    try:
        objects: list[InspectionObject] = sorted(generated.objects, key=lambda o: o.credit_code)[:400]
        with store.unit_of_work() as uow:
            uow.directory.upsert_departments(generated.departments)
            for part in (objects[300:], objects[100:300], objects[:100]):  # each its own write
                uow.directory.upsert_objects(part)
            uow.commit()
        with store.unit_of_work() as uow:
            flt = ObjectFilter(DepartmentTree(generated.departments).subtree_ids(PROVINCE))
            drawn = uow.directory.draw_objects_matching(flt)
        assert drawn == [as_drawn(o) for o in objects]
        distinct, numbers = drawn.numbered()
        fresh = DrawObjects(drawn.codes, drawn.profiles).numbered()
        assert [id(p) for p in distinct] == [id(p) for p in fresh[0]]
        assert numbers.tolist() == fresh[1].tolist()
    finally:
        store.dispose()


def test_an_object_whose_profile_is_gone_is_data_loss(store: Store) -> None:
    with store.unit_of_work() as uow:
        flt = ObjectFilter(DepartmentTree(uow.directory.all_departments()).subtree_ids(PROVINCE))
    with store.engine.begin() as connection:
        code, key = connection.execute(
            sa.text("SELECT credit_code, profile_key FROM objects ORDER BY credit_code LIMIT 1")
        ).one()
        connection.execute(sa.text("DELETE FROM object_profiles WHERE profile_key = :k"), {"k": key})
    with store.unit_of_work() as uow, pytest.raises(DataLoss) as raised:
        uow.directory.draw_objects_matching(flt)
    assert raised.value.reason == "OBJECT_PROFILE_MISSING"
    assert raised.value.metadata == {"credit_code": code, "profile_key": key}


def test_the_rules_exclude_the_same_objects_loaded_either_way(store: Store) -> None:
    with store.unit_of_work() as uow:
        departments = uow.directory.all_departments()
        flt = ObjectFilter(DepartmentTree(departments).subtree_ids(PROVINCE), active_only=True)
        read = uow.directory.objects_matching(flt)
        drawn = uow.directory.draw_objects_matching(flt)
        side = uow.directory.side_facts_matching(flt)
    # As a district's draw sees them: the province's and cities' campaigns are of higher levels.
    district = min((d for d in departments if d.level == DepartmentLevel.DISTRICT), key=lambda d: d.id)
    context = EvaluationContext(
        AS_OF, ITEM.business_line, ITEM.code, district.id, 3, {d.id: int(d.level) for d in departments}
    )
    rule_set = load_rule_set([RULES])
    with ExclusionEngine(shard_size=200) as engine:
        from_records = engine.evaluate(rule_set, context, read, side)
        from_tuples = engine.evaluate(rule_set, context, drawn, side)
    assert from_tuples == from_records
    assert len({e.rule_id for e in from_records}) == 4  # every shipped rule excludes something


def test_a_draw_holds_its_entries_and_plan_in_columns(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    task = province_task(store, "columns")
    seen: list[Committed] = []

    def watched(*args: Any, **kwargs: Any) -> Committed:
        committed = commit_in(*args, **kwargs)
        seen.append(committed)
        return committed

    monkeypatch.setattr(draws, "commit_in", watched)
    outcome = _draw(store, task)
    [committed] = seen
    entries, plan = committed.entries, committed.plan
    assert isinstance(entries, EligibleEntries)
    assert isinstance(plan.rows, PlanRows)
    assert entries.codes is plan.rows.codes is committed.record.eligible_codes
    assert len(entries) == outcome.draw.eligible_count > outcome.draw.selected_count > 0
    assert any(row.conflicts or row.recent for row in plan.rows.values())  # badges barred from some
    with store.unit_of_work() as uow:
        _, stored_entries = uow.lifecycle.commitments(outcome.draw.id) or ("", [])
        assert stored_entries == list(entries)
        stored = stored_object_plan(uow, outcome.draw)
        assert isinstance(stored.rows, PlanRows)  # stored in ascending order of codes: read into columns
        assert list(stored.rows.items()) == list(plan.rows.items())
        assert stored.raised == plan.raised
        require_draw_verifies(uow, outcome.draw.id)


def test_going_back_a_revision_repacks_a_draw_with_zlib_and_coming_back_reads_it_again(
    store: Store, database_url: str
) -> None:
    """Revision ``packed_lists`` packs with Zstandard; its downgrade writes every blob again with zlib
    (which the code before reads), and the upgrade after it reads those zlib blobs as they are."""
    outcome = _draw(store, province_task(store, "repacked"))
    draw_id = outcome.draw.id

    def stored() -> tuple[Any, ...]:
        with store.unit_of_work() as uow:
            record = uow.draws.get_record(draw_id)
            assert record is not None
            plan = stored_object_plan(uow, outcome.draw)
            require_draw_verifies(uow, draw_id)
            return record, uow.lifecycle.commitments(draw_id), list(plan.rows.items()), plan.raised

    before = stored()
    record, (_, entries), _, _ = before
    store.dispose()
    config = alembic_config(database_url)
    command.downgrade(config, "draw_row_checks")
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            lists = connection.execute(
                sa.text(
                    "SELECT eligible_codes_zlib, inspector_pool_zlib FROM draw_eligible WHERE draw_id = :d"
                ),
                {"d": draw_id},
            ).one()
            commitments = connection.execute(
                sa.text("SELECT entries_zlib, plan_zlib FROM draw_commitments WHERE draw_id = :d"),
                {"d": draw_id},
            ).one()
    finally:
        engine.dispose()
    assert zlib.decompress(lists[0]).decode().split("\n") == record.eligible_codes
    assert zlib.decompress(lists[1]).decode().split("\n") == record.inspector_pool
    assert zlib.decompress(commitments[0]).decode().split("\n") == [e.line() for e in entries]
    assert zlib.decompress(commitments[1]).count(b"\n") + 1 == record.draw.eligible_count
    command.upgrade(config, "head")
    assert stored() == before


def _draw(store: Store, task: Task) -> draws.DrawOutcome:
    with ExclusionEngine() as engine:
        return draws.run_draw(
            store.unit_of_work(),
            engine,
            load_rule_set([RULES]),
            task_id=task.id,
            as_of=AS_OF,
            caller=CALLER,
            entropy=EntropyPolicy(allow_local=True),
        )


def test_assignments_stored_a_batch_at_a_time_as_teams_are_formed_read_back_whole(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(draw_execute, "ASSIGNMENT_BATCH", 9)  # many batches, the last one short
    outcome = _draw(store, province_task(store, "batched"))
    assert outcome.draw.selected_count % 9
    assert outcome.draw.selected_count > 9 * 3
    with store.unit_of_work() as uow:
        stored = uow.draws.get_record(outcome.draw.id)
        assert stored is not None
        assert stored.assignments == outcome.record.assignments
        assert [a.position for a in stored.assignments] == list(range(1, outcome.draw.selected_count + 1))
        require_draw_verifies(uow, outcome.draw.id)


def test_a_draw_refused_after_its_teams_were_written_behind_leaves_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shortage is known once the last team is formed: the batches written before it go with the
    transaction."""
    monkeypatch.setattr(draw_execute, "ASSIGNMENT_BATCH", 5)
    formed = CommittedPlanDraw.teams_as_formed
    yielded: list[Team] = []

    def short_at_the_end(self: CommittedPlanDraw, *args: Any) -> Iterator[Team]:
        for team in formed(self, *args):
            yielded.append(team)
            yield team
        raise FailedPrecondition("a shortage found at the end", reason="CONSTRAINTS_LEAVE_TOO_FEW")

    monkeypatch.setattr(CommittedPlanDraw, "teams_as_formed", short_at_the_end)
    task = province_task(store, "refused")
    with pytest.raises(FailedPrecondition, match="shortage found at the end"):
        _draw(store, task)
    assert len(yielded) > 5 * 3  # batches were handed over before the refusal
    with store.unit_of_work() as uow:
        assert require(uow.tasks.get(task.id), "task", task.id).draw_id is None
    with store.engine.begin() as connection:
        for table in ("draws", "assignments", "assignment_members", "exclusions"):
            assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
