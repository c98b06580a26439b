"""A draw's load path (``DirectoryRepository.draw_objects_matching``: compact ``DrawObject`` tuples without
names) against the directory's own read (``objects_matching``: ``InspectionObject`` records), on a generated
directory, both databases: the same objects in the same order under every kind of filter, and the same
exclusions from the rules engine for either form.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench.generate import AS_OF, ITEM, PROVINCE, directory
from bench.run import load_directory

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.domain.exclusions.model import EvaluationContext
from dualdraw.domain.jurisdiction import DepartmentTree, ObjectFilter
from dualdraw.domain.model import Department, DepartmentLevel, DrawObject, InspectionObject, ObjectProfile
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
    profile = ObjectProfile(
        o.region_code,
        o.registering_department_id,
        o.industry,
        o.business_lines,
        o.risk_class,
        o.status,
        o.office,
    )
    return DrawObject(o.credit_code, profile)


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
            sizes.append(len(drawn))
    assert sizes[0] > sizes[1] > 0  # inactive objects in the directory, and left out when asked
    assert 0 < sizes[2] < sizes[1]
    assert sizes[-1] == 0


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
