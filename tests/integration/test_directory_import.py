"""Directory imports through the use case, on SQLite and PostgreSQL: validation, atomicity, audit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dualdraw.adapters.store import Store
from dualdraw.adapters.store.database import migrate
from dualdraw.domain import model
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.errors import DeadlineExceeded, FieldViolation, InvalidArgument, Violations
from dualdraw.domain.jurisdiction import DepartmentTree
from dualdraw.runtime import deadlines
from dualdraw.service_layer import directory as use_case
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE, demo_directory
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.directory import DirectoryBatch, import_directory
from dualdraw.service_layer.ports import PageRequest

CLERK = Caller(actor="clerk", request_id="r-1")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.from_url(database_url)
    yield s
    s.dispose()


def events(store: Store) -> list[model.AuditEvent]:
    with store.unit_of_work() as uow:
        return uow.audit.list(PageRequest(size=1000)).items


def test_reimporting_a_changed_object_records_before_and_after(store: Store) -> None:
    load_demo(store.unit_of_work)
    original = demo_directory().objects[0]
    changed = replace(original, risk_class=model.RiskClass.D, name=original.name + "（更名）")
    new_object = replace(original, credit_code="91130273MA0NEW123C", name="新设企业")

    import_directory(store.unit_of_work(), DirectoryBatch(objects=[changed, new_object]), CLERK)

    event = events(store)[-1]
    assert (event.action, event.actor, event.request_id) == ("directory.import", "clerk", "r-1")
    before, after = json.loads(event.before_json), json.loads(event.after_json)
    assert before["objects"][original.credit_code]["risk_class"] == original.risk_class.value
    assert after["updated"]["objects"][original.credit_code]["risk_class"] == "D"
    assert after["created"]["objects"]["keys"] == [new_object.credit_code]
    assert after["counts"]["objects"] == 2
    with store.unit_of_work() as uow:
        assert uow.directory.get_object(original.credit_code) == changed


def test_an_unchanged_reimport_lists_no_updates(store: Store) -> None:
    load_demo(store.unit_of_work)
    demo = demo_directory()
    import_directory(store.unit_of_work(), DirectoryBatch(objects=list(demo.objects[:5])), CLERK)
    event = events(store)[-1]
    assert event.before_json == ""
    assert json.loads(event.after_json)["updated"] == {}


def test_a_bad_import_names_every_problem_and_writes_nothing(store: Store) -> None:
    load_demo(store.unit_of_work)
    demo = demo_directory()
    first = demo.objects[0]
    outside = replace(  # registered by the high-tech-zone branch, located in 路南 district
        first,
        credit_code="91130273MA0NEW123C",
        registering_department_id=HIGH_TECH_ZONE,
        region_code="130202",
    )
    orphan = model.Complaint("C-X", "91130273MA0NEW222Y", model.ComplaintStatus.RECEIVED, demo.as_of)
    no_department = replace(demo.inspectors[0], badge_number="X-1", department_id="nowhere")
    before = len(events(store))

    with pytest.raises(InvalidArgument) as raised:
        import_directory(
            store.unit_of_work(),
            DirectoryBatch(objects=[outside, first], complaints=[orphan], inspectors=[no_department]),
            CLERK,
        )

    fields = {v.field for v in raised.value.violations}
    assert fields == {"objects[0].region_code", "complaints[0].credit_code", "inspectors[0].department_id"}
    assert len(events(store)) == before
    with store.unit_of_work() as uow:
        assert uow.directory.get_object(outside.credit_code) is None
        assert uow.directory.get_inspector("X-1") is None


def test_by_key_lookups_return_only_stored_records(store: Store) -> None:
    load_demo(store.unit_of_work)
    demo = demo_directory()
    with store.unit_of_work() as uow:
        codes = [o.credit_code for o in demo.objects[:3]] + ["91130273MA0NEW123C"]
        assert set(uow.directory.objects_by_code(codes)) == set(codes[:3])
        badges = [i.badge_number for i in demo.inspectors[:2]] + ["nobody"]
        found = uow.directory.inspectors_by_badge(badges)
        assert found == {i.badge_number: i for i in demo.inspectors[:2]}
        assert set(uow.directory.complaints_by_id([c.id for c in demo.complaints] + ["none"])) == {
            c.id for c in demo.complaints
        }
        assert set(uow.directory.campaigns_by_id([c.id for c in demo.campaigns])) == {
            c.id for c in demo.campaigns
        }


def test_sqlite_reads_neither_wait_for_nor_see_an_open_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rw.db'}"
    migrate(url)
    store = Store.from_url(url, sqlite_busy_timeout_ms=50)  # a waiting reader would fail at once
    try:
        department = demo_directory().departments[0]
        with store.unit_of_work() as writer:
            writer.directory.upsert_departments([department])  # holds SQLite's write lock until commit
            with store.read_unit_of_work() as reader:
                assert reader.directory.all_departments() == []
            writer.commit()
        with store.read_unit_of_work() as reader:
            assert reader.directory.all_departments() == [department]
    finally:
        store.dispose()


def test_a_write_whose_deadline_passed_is_rolled_back(store: Store) -> None:
    demo = demo_directory()
    with deadlines.started(0.0), pytest.raises(DeadlineExceeded):
        import_directory(store.unit_of_work(), DirectoryBatch(departments=list(demo.departments)), CLERK)
    with store.unit_of_work() as uow:
        assert uow.directory.all_departments() == []
    assert events(store) == []
    with deadlines.started(60.0):
        import_directory(store.unit_of_work(), DirectoryBatch(departments=list(demo.departments)), CLERK)
    with store.unit_of_work() as uow:
        assert len(uow.directory.all_departments()) == len(demo.departments)


def test_by_key_lookups_on_an_empty_directory_and_over_many_keys(store: Store) -> None:
    demo = demo_directory()
    many = [f"91130273MA{n:07d}X" for n in range(2_500)]  # more keys than one IN list holds
    with store.unit_of_work() as uow:
        assert uow.directory.objects_by_code([o.credit_code for o in demo.objects]) == {}
        assert uow.directory.complaints_by_id([c.id for c in demo.complaints]) == {}
        assert uow.directory.existing_credit_codes([o.credit_code for o in demo.objects]) == set()
    load_demo(store.unit_of_work)
    codes = [o.credit_code for o in demo.objects]
    with store.unit_of_work() as uow:
        assert uow.directory.objects_by_code(many + codes + many) == {o.credit_code: o for o in demo.objects}
        assert uow.directory.existing_credit_codes([*many, codes[0]]) == {codes[0]}
        assert uow.directory.complaints_by_id([*many, demo.complaints[0].id]) == {
            demo.complaints[0].id: demo.complaints[0]
        }


def test_a_wrong_check_character_is_refused_with_its_field_path(store: Store) -> None:
    load_demo(store.unit_of_work)
    demo = demo_directory()
    good = demo.objects[0]
    wrong = replace(good, credit_code=good.credit_code[:17] + ("0" if good.credit_code[17] != "0" else "1"))
    lower = replace(good, credit_code="91130273ma0new123c")

    with pytest.raises(InvalidArgument) as raised:
        import_directory(store.unit_of_work(), DirectoryBatch(objects=[good, wrong, lower]), CLERK)

    found = {v.field: v.description for v in raised.value.violations}
    assert found["objects[1].credit_code"].startswith(f"wrong check character {wrong.credit_code[17]!r}")
    assert found["objects[2].credit_code"] == (
        "must be written as issued, upper case without spaces: write it as 91130273MA0NEW123C"
    )
    assert set(found) == {"objects[1].credit_code", "objects[2].credit_code"}
    assert raised.value.reason == "INVALID_ARGUMENT"  # two kinds of problem: each violation names its own
    assert {v.field: v.reason for v in raised.value.violations} == {
        "objects[1].credit_code": "CREDIT_CODE_CHECK_CHARACTER",
        "objects[2].credit_code": "CREDIT_CODE_NOT_CANONICAL",
    }

    with pytest.raises(InvalidArgument) as only_wrong:
        import_directory(store.unit_of_work(), DirectoryBatch(objects=[good, wrong]), CLERK)
    assert only_wrong.value.reason == "CREDIT_CODE_CHECK_CHARACTER"  # one kind: the error says it


@pytest.mark.parametrize("spelling", [str.lower, lambda c: f" {c} "])
def test_a_non_canonical_code_never_overwrites_the_stored_record(
    store: Store, spelling: Callable[[str], str]
) -> None:
    load_demo(store.unit_of_work)
    stored = demo_directory().objects[0]
    rewrite = replace(stored, credit_code=spelling(stored.credit_code), name="改名的公司")
    before = len(events(store))

    with pytest.raises(InvalidArgument) as raised:
        import_directory(store.unit_of_work(), DirectoryBatch(objects=[rewrite]), CLERK)

    assert raised.value.reason == "CREDIT_CODE_NOT_CANONICAL"
    assert raised.value.violations[0].field == "objects[0].credit_code"
    assert raised.value.violations[0].description.endswith(f"write it as {stored.credit_code}")
    with store.unit_of_work() as uow:
        assert uow.directory.get_object(stored.credit_code) == stored
    assert len(events(store)) == before


@pytest.mark.parametrize("count", [1, 1_200])  # row by row, and the bulk path (COPY on PostgreSQL)
def test_a_write_failing_on_a_bad_batch_answers_with_the_batch_violations(store: Store, count: int) -> None:
    load_demo(store.unit_of_work)
    first = demo_directory().objects[0]
    codes = [make_credit_code("9", "1", first.region_code, f"MB{n:06d}") for n in range(count)]
    objects = [replace(first, credit_code=c, registering_department_id="nowhere") for c in codes]
    before = len(events(store))

    with pytest.raises(InvalidArgument) as raised:  # not the IntegrityError of the foreign key
        import_directory(store.unit_of_work(), DirectoryBatch(objects=objects), CLERK)

    assert {v.field for v in raised.value.violations} == {
        f"objects[{n}].registering_department_id" for n in range(count)
    }
    assert len(events(store)) == before
    with store.unit_of_work() as uow:
        assert uow.directory.objects_by_code(codes) == {}


def test_bulk_object_checks_give_the_violations_of_the_object_by_object_checks() -> None:
    """``_validate`` checks objects' credit codes and places in bulk and walks them only when something is
    wrong: a batch with every kind of problem gets exactly the violations, in order, of the walk alone."""
    demo = demo_directory()
    first = demo.objects[0]
    objects = [
        *demo.objects[:50],
        replace(first, credit_code=first.credit_code[:17] + ("0" if first.credit_code[17] != "0" else "1")),
        replace(demo.objects[1], registering_department_id="nowhere"),
        replace(demo.objects[2], registering_department_id=HIGH_TECH_ZONE, region_code="130202"),
        replace(demo.objects[3], region_code="13020"),
        demo.objects[4],  # a duplicate
    ]
    departments = list(demo.departments)
    facts = use_case._StoredFacts({}, {o.credit_code for o in objects})

    def walked(batch_objects: list[model.InspectionObject]) -> list[FieldViolation]:
        expected = Violations()
        use_case._duplicates_of([o.credit_code for o in batch_objects], "objects", expected)
        use_case._object_problems(batch_objects, DepartmentTree(departments), expected)
        return expected.items

    def validated(batch_objects: list[model.InspectionObject]) -> list[FieldViolation]:
        try:
            use_case._validate(DirectoryBatch(departments, batch_objects), facts)
        except InvalidArgument as exc:
            return list(exc.violations)
        return []

    assert validated(objects[:50]) == walked(objects[:50]) == []
    for count in range(51, len(objects) + 1):
        assert validated(objects[:count]) == walked(objects[:count])
    assert [v.field for v in validated(objects)] == [
        "objects[51]",  # the same credit code as objects[1]
        "objects[52]",
        "objects[53]",
        "objects[54]",
        "objects[50].credit_code",
        "objects[51].registering_department_id",
        "objects[52].region_code",
        "objects[53].region_code",
    ]


@pytest.mark.parametrize("ascending", [False, True])
def test_a_bulk_import_held_in_columns_stores_exactly_its_objects_and_a_reimport_replaces_them(
    store: Store, ascending: bool
) -> None:
    """Above ``COPY_THRESHOLD`` the objects go from their columns to ``COPY`` rows (``object_rows``); given
    in any order (ascending codes need no sort: their rows are made as ``COPY`` reads them), with shared
    and distinct values, they read back as imported, and a re-import of changed ones (an upsert through
    the staging table) replaces exactly those."""
    load_demo(store.unit_of_work)
    first = demo_directory().objects[0]
    objects = [
        replace(
            first,
            credit_code=make_credit_code("9", "1", first.region_code, f"MC{n:06d}"),
            name=f"批量企业{n}",
            business_lines=(("metrology",), (), ("metrology", "special_equipment"))[n % 3],
            risk_class=list(model.RiskClass)[n % 4],
            office=("", "一所")[n % 2],
        )
        for n in (range if ascending else lambda n: reversed(range(n)))(1_500)
    ]
    codes = [o.credit_code for o in objects]
    assert (codes == sorted(codes)) == ascending
    import_directory(store.unit_of_work(), DirectoryBatch(objects=objects), CLERK)
    with store.unit_of_work() as uow:
        assert uow.directory.objects_by_code(codes) == {o.credit_code: o for o in objects}

    changed = [replace(o, name=o.name + "（更名）") if n % 7 == 0 else o for n, o in enumerate(objects)]
    import_directory(store.unit_of_work(), DirectoryBatch(objects=changed), CLERK)
    with store.unit_of_work() as uow:
        assert uow.directory.objects_by_code(codes) == {o.credit_code: o for o in changed}
    updated = json.loads(events(store)[-1].after_json)["updated"]["objects"]  # the newest event last
    assert set(updated) == {o.credit_code for n, o in enumerate(objects) if n % 7 == 0}
