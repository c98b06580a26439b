"""The SQL store against real databases: every test runs on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dualdraw.adapters.store import Store, bulk, migrate
from dualdraw.adapters.store.codes import pack_codes, unpack_codes
from dualdraw.adapters.store.object_profiles import profile_key
from dualdraw.domain.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable
from dualdraw.domain.item_list import ItemVersion
from dualdraw.domain.jurisdiction import DepartmentTree, ObjectFilter
from dualdraw.domain.model import (
    Assignment,
    AuditRecord,
    Campaign,
    Complaint,
    ComplaintStatus,
    Department,
    DepartmentLevel,
    Draw,
    Exclusion,
    ExclusionCategory,
    InspectionItem,
    InspectionObject,
    Inspector,
    ItemKind,
    ObjectStatus,
    RiskAssessment,
    RiskClass,
    RiskConclusion,
    Speciality,
    StatutoryDesignation,
    Task,
    TaskScope,
    TeamMember,
)
from dualdraw.service_layer.ports import DrawRecord, PageRequest, UnitOfWork

CST = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2025, 3, 1)

PROVINCE = Department("p", "浙江省市场监督管理局", None, DepartmentLevel.PROVINCE, "330000")
CITY = Department("c", "杭州市市场监督管理局", "p", DepartmentLevel.CITY, "330100")
WEST = Department("d1", "西湖区分局", "c", DepartmentLevel.DISTRICT, "330106")
EAST = Department("d2", "上城区分局", "c", DepartmentLevel.DISTRICT, "330102")
DEPARTMENTS = [PROVINCE, CITY, WEST, EAST]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    yield store
    store.dispose()


def code(n: int) -> str:
    """An 18-character credit-code-shaped key (the store does not verify check characters)."""
    return f"91330100MA{n:08d}"


def obj(n: int, department: Department = WEST, **changes: object) -> InspectionObject:
    values: dict[str, object] = {
        "credit_code": code(n),
        "name": f"企业{n}",
        "region_code": department.region_code,
        "registering_department_id": department.id,
        "industry": "food",
        "business_lines": ("catering", "retail"),
        "risk_class": RiskClass.B,
        "status": ObjectStatus.ACTIVE,
        "office": "所1",
    }
    values.update(changes)
    return InspectionObject(**values)  # type: ignore[arg-type]  # the keys are InspectionObject's fields


def inspector(badge: str, department: Department = WEST, **changes: object) -> Inspector:
    values: dict[str, object] = {
        "badge_number": badge,
        "name": f"检查员{badge}",
        "department_id": department.id,
        "office": "所1",
        "specialities": (Speciality("food", dt.date(2026, 1, 1)), Speciality("general")),
        "available": True,
        "conflicts": frozenset({code(1), code(2)}),
    }
    values.update(changes)
    return Inspector(**values)  # type: ignore[arg-type]  # the keys are Inspector's fields


ITEM = InspectionItem(
    code="ITEM-1",
    name="食品经营检查",
    legal_basis="《食品安全法》第八十七条",
    business_line="catering",
    target_scope="餐饮服务经营者",
    required_speciality="food",
    kind=ItemKind.GENERAL,
    default_ratio=Fraction(1, 30),
    department_id=CITY.id,
    created_at=dt.datetime(2025, 1, 2, 9, 30, tzinfo=CST),
)


def task(task_id: str = "t-1", **changes: object) -> Task:
    values: dict[str, object] = {
        "id": task_id,
        "item_code": ITEM.code,
        "department_id": WEST.id,
        "ratio": Fraction(1, 3),
        "team_size": 2,
        "scope": TaskScope("3301", ("food", "drink")),
        "title": "2025 年第一批",
        "created_at": dt.datetime(2025, 2, 1, 8, 0, tzinfo=dt.UTC),
    }
    values.update(changes)
    return Task(**values)  # type: ignore[arg-type]  # the keys are Task's fields


def draw_record(draw_id: str = "d-1", task_id: str = "t-1", eligible: int = 1500) -> DrawRecord:
    eligible_codes = [code(n) for n in range(eligible)]
    draw = Draw(
        id=draw_id,
        task_id=task_id,
        created_at=dt.datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=CST),
        actor="alice",
        algorithm_version="tickets-v1",
        seed="ab" * 32,
        entropy_source="local-csprng",
        entropy="cd" * 32,
        manifest_hash="ef" * 32,
        manifest_json='{"a":1,"名":"值"}',
        rule_set_hash="01" * 32,
        rule_set_version="2025.1",
        as_of=DAY,
        in_scope_count=eligible + 2,
        excluded_count=2,
        eligible_count=eligible,
        selected_count=3,
        team_size=2,
        ratio=Fraction(1, 500),
        eligible_digest="23" * 32,
        inspector_pool_digest="45" * 32,
    )
    art16 = "第十六条"
    category = ExclusionCategory
    exclusions = [
        Exclusion(code(900_001), "R-COMPLAINT", category.COMPLAINT_HANDLING, "投诉处理中", art16, ("c-1",)),
        Exclusion(code(900_001), "R-RISK", category.RISK_UNSUITABLE, "风险评估不适宜", art16, ()),
        Exclusion(code(900_002), "R-CAMPAIGN", category.HIGHER_LEVEL_CAMPAIGN, "专项", art16, ("k", "m")),
    ]
    assignments = [
        Assignment(
            position,
            eligible_codes[position * 3],
            f"{position:064x}",
            "B",
            (TeamMember(f"b{position}", True), TeamMember(f"b{position + 10}", False)),
        )
        for position in (1, 2, 3)
    ]
    return DrawRecord(draw, eligible_codes, ['{"badge_number":"b1"}', "b2", "b3"], exclusions, assignments)


def seed_directory(uow: UnitOfWork) -> None:
    uow.directory.upsert_departments(DEPARTMENTS)
    uow.directory.upsert_objects([obj(n) for n in range(1, 4)] + [obj(900_001), obj(900_002)])
    uow.items.add(ITEM)
    uow.tasks.add(task())


# --- round trips -------------------------------------------------------------------------------------------


def test_directory_records_round_trip(store: Store) -> None:
    complaint = Complaint("c-1", code(1), ComplaintStatus.HANDLING, DAY, None, "无证经营")
    closed = Complaint("c-2", code(2), ComplaintStatus.CLOSED, DAY, DAY + dt.timedelta(days=3))
    campaign = Campaign("k-1", "专项", PROVINCE.id, "330000", "food", "catering", DAY, DAY.replace(day=30))
    assessment = RiskAssessment("r-1", code(1), RiskConclusion.UNSUITABLE, DAY, dt.date(2025, 12, 31), "停业")
    designation = StatutoryDesignation("s-1", code(2), "catering", "全覆盖", "法规第三条", DAY)
    badge = inspector("b1")
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(1), obj(2, business_lines=(), office="")])
        uow.directory.upsert_inspectors([badge])
        uow.directory.upsert_complaints([complaint, closed])
        uow.directory.upsert_campaigns([campaign])
        uow.directory.upsert_risk_assessments([assessment])
        uow.directory.upsert_statutory_designations([designation])
        uow.commit()

    with store.unit_of_work() as uow:
        d = uow.directory
        assert d.get_department("c") == CITY
        assert d.all_departments() == sorted(DEPARTMENTS, key=lambda x: x.id)
        assert d.get_department("nope") is None
        assert d.get_object(code(1)) == obj(1)
        assert d.get_object(code(2)) == obj(2, business_lines=(), office="")
        assert d.get_object(code(3)) is None
        assert d.get_inspector("b1") == badge
        assert d.get_inspector("b2") is None
        assert d.get_complaint("c-1") == complaint
        assert d.get_complaint("c-2") == closed
        assert d.get_campaign("k-1") == campaign
        assert d.get_risk_assessment("r-1") == assessment
        assert d.get_statutory_designation("s-1") == designation
        assert d.count_objects() == 2
        assert d.existing_credit_codes([code(1), code(3), code(2), code(1)]) == {code(1), code(2)}
        assert d.existing_credit_codes([]) == set()


def test_item_and_task_round_trip(store: Store) -> None:
    bare = task("t-2", scope=TaskScope(), title="", created_at=None, ratio=Fraction(1))
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.tasks.add(bare)
        uow.commit()
    with store.unit_of_work() as uow:
        item = uow.items.get(ITEM.code)
        assert item == ITEM
        assert item is not None
        assert item.created_at is not None
        assert item.created_at.utcoffset() == dt.timedelta(0)  # stored and returned in UTC
        assert item.default_ratio == Fraction(1, 30)
        assert uow.items.get("nope") is None
        assert uow.tasks.get("t-1") == task()
        assert uow.tasks.get("t-2") == bare
        uow.tasks.set_draw("t-1", "d-9")
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.tasks.get("t-1")
        assert stored is not None
        assert stored.draw_id == "d-9"
        with pytest.raises(NotFound):
            uow.tasks.set_draw("t-404", "d-9")


def test_an_items_assistant_setting_round_trips_with_its_published_versions(store: Store) -> None:
    assisted = replace(ITEM, code="ITEM-ASSIST", unqualified_assistant=True)
    published = dt.datetime(2025, 1, 3, tzinfo=dt.UTC)
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.items.add(assisted)
        for n, item in enumerate((ITEM, assisted)):
            uow.item_versions.add(
                ItemVersion(item.code, 1, item, dt.date(2025, 1, 3), published, "policy", f"v{n}", "basis")
            )
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.items.get("ITEM-ASSIST") == assisted
        assert uow.items.get(ITEM.code) == ITEM
        assert not ITEM.unqualified_assistant
        assert [v.item.unqualified_assistant for v in uow.item_versions.history("ITEM-ASSIST")] == [True]
        assert [v.item.unqualified_assistant for v in uow.item_versions.history(ITEM.code)] == [False]


def test_adding_an_existing_item_or_task_is_already_exists(store: Store) -> None:
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists) as item_error:
            uow.items.add(ITEM)
        with pytest.raises(AlreadyExists) as task_error:
            uow.tasks.add(task(title="again"))
        assert (item_error.value.reason, task_error.value.reason) == ("ITEM_EXISTS", "TASK_EXISTS")
        uow.tasks.add(task("t-3"))  # the transaction is still usable
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.tasks.get("t-1") == task()
        assert uow.tasks.get("t-3") is not None


def test_naive_timestamps_are_rejected(store: Store) -> None:
    with store.unit_of_work() as uow, pytest.raises(ValueError, match="timezone"):
        uow.audit.append(
            AuditRecord(
                actor="a",
                action="x",
                resource="r",
                occurred_at=dt.datetime(2025, 1, 1),
            )
        )


# --- upserts -----------------------------------------------------------------------------------------------


def test_upsert_replaces_whole_records_and_child_rows(store: Store) -> None:
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.directory.upsert_inspectors([inspector("b1"), inspector("b2")])
        uow.directory.upsert_complaints([Complaint("c-1", code(1), ComplaintStatus.RECEIVED, DAY)])
        uow.commit()

    renamed = obj(1, name="新", risk_class=RiskClass.D, status=ObjectStatus.SUSPENDED, business_lines=("x",))
    retrained = inspector(
        "b1",
        department=EAST,
        available=False,
        specialities=(Speciality("special-equipment", dt.date(2027, 5, 1)),),
        conflicts=frozenset({code(3)}),
    )
    with store.unit_of_work() as uow:
        uow.directory.upsert_objects([obj(1, name="first"), renamed])  # within a call, the last one wins
        uow.directory.upsert_inspectors([retrained])
        uow.directory.upsert_complaints([Complaint("c-1", code(1), ComplaintStatus.CLOSED, DAY, DAY)])
        uow.directory.upsert_departments([Department("c", "新名", "p", DepartmentLevel.CITY, "330100")])
        uow.commit()

    with store.unit_of_work() as uow:
        assert uow.directory.get_object(code(1)) == renamed
        assert uow.directory.get_inspector("b1") == retrained
        assert uow.directory.get_inspector("b2") == inspector("b2")  # untouched
        complaint = uow.directory.get_complaint("c-1")
        assert complaint is not None
        assert complaint.status is ComplaintStatus.CLOSED
        department = uow.directory.get_department("c")
        assert department is not None
        assert department.name == "新名"
        assert uow.directory.count_objects() == 5


@pytest.mark.parametrize("count", [1, 1_500])  # the row-by-row and the bulk (COPY on PostgreSQL) paths
def test_an_upsert_breaking_a_foreign_key_is_an_integrity_error(store: Store, count: int) -> None:
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        with pytest.raises(sa.exc.IntegrityError):
            uow.directory.upsert_objects([obj(n, registering_department_id="nowhere") for n in range(count)])


def test_departments_upsert_in_any_order_within_a_batch(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments([EAST, WEST, CITY, PROVINCE])  # children before parents
        uow.commit()
    with store.unit_of_work() as uow:
        assert len(uow.directory.all_departments()) == 4


def test_bulk_upsert_of_many_objects(store: Store) -> None:
    objects = [obj(n, department=WEST if n % 2 else EAST) for n in range(12_000)]
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects(objects)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.directory.upsert_objects([obj(n, name="v2") for n in range(0, 12_000, 2)])
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == 12_000
        stored = uow.directory.objects_matching(ObjectFilter(frozenset({WEST.id, EAST.id})))
        assert [o.credit_code for o in stored] == [code(n) for n in range(12_000)]
        assert sum(o.name == "v2" for o in stored) == 6_000
        assert len(uow.directory.existing_credit_codes([code(n) for n in range(0, 20_000, 3)])) == 4_000


def test_bulk_upsert_of_new_and_stored_objects_in_one_batch(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(n) for n in range(0, 6_000, 3)])  # into the empty table
        uow.commit()
    with store.unit_of_work() as uow:  # none of these keys is stored
        uow.directory.upsert_objects([obj(n) for n in range(1, 6_000, 3)])
        uow.commit()
    with store.unit_of_work() as uow:  # two thirds of the keys are stored: the batch takes the upsert
        uow.directory.upsert_objects([obj(n, name="v2", business_lines=("x",)) for n in range(6_000)])
        uow.commit()
    with store.unit_of_work() as uow:
        stored = uow.directory.objects_by_code([code(n) for n in range(6_000)])
    assert stored == {code(n): obj(n, name="v2", business_lines=("x",)) for n in range(6_000)}


TRICKY_TEXTS = ["a\tb", "line\nbreak", "cr\rlf", "back\\slash", "\\N", "bell\x07", "\x08\x0c\x0b", "", "企"]


@pytest.mark.parametrize("plain", [True, False])
def test_copy_text_blocks_store_the_same_rows_as_write_row(
    store: Store, monkeypatch: pytest.MonkeyPatch, plain: bool
) -> None:
    """``COPY`` blocks written by ``rows_text`` store exactly what psycopg's ``write_row`` stores: blocks
    with any value to escape fall back to ``write_row``, the others are written in one piece. Compared with
    rows written one by one (``rows_text`` off)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's bulk path")
    objects = [
        obj(n, name=f"企业{n}", office=TRICKY_TEXTS[n % len(TRICKY_TEXTS)] if n >= 12_000 else f"所{n % 7}")
        for n in range(bulk.COPY_BLOCK + 3_000)
    ]  # the first block is plain text; the second holds values to escape
    formatted: list[bool] = []
    rows_text = bulk.rows_text

    def recorded(rows: Any, width: int) -> bytes | None:
        text = rows_text(rows, width) if plain else None
        formatted.append(text is not None)
        return text

    monkeypatch.setattr(bulk, "rows_text", recorded)
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects(objects)
        uow.commit()
    assert formatted == ([True, False] if plain else [False, False])
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM objects ORDER BY credit_code")).all()
    lines = '["catering","retail"]'
    expected = [
        (o.credit_code, o.name, o.region_code, WEST.id, o.industry, lines, "B", "active", o.office)
        for o in objects
    ]
    assert [tuple(r)[:-1] for r in rows] == expected
    assert [r.profile_key for r in rows] == [profile_key(row[2:]) for row in expected]
    with store.engine.connect() as connection:
        profiles = connection.execute(sa.text("SELECT * FROM object_profiles")).all()
    assert sorted(tuple(r) for r in profiles) == sorted(
        {(profile_key(row[2:]), *row[2:]) for row in expected}
    )


def test_numbers_and_flags_are_written_as_copy_reads_them() -> None:
    types = [sa.String(), sa.Integer(), sa.Boolean()]
    assert bulk._as_text([("a", 1, True), ("b", 22, False)], types) == [("a", "1", "t"), ("b", "22", "f")]
    assert bulk._as_text([("a", None, True)], types) == [("a", None, True)]  # NULL is psycopg's to write
    assert bulk.rows_text(bulk._as_text([("a", 1, True)], types), 3) == b"a\t1\tt\n"


def _foreign_keys(store: Store) -> list[tuple[str, str, str]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'f' ORDER BY 1, 2"
            )
        ).all()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def _indexes(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")
        ).all()
    return [(str(a), str(b)) for a, b in rows]


def record_set_aside(monkeypatch: pytest.MonkeyPatch, *, real: bool = True) -> list[list[str]]:
    """What each bulk write sets aside from now on (``bulk._set_aside``'s restore statements, one list per
    write); with ``real=False`` the writes set nothing aside."""
    calls: list[list[str]] = []
    set_aside = bulk._set_aside

    def recorded(cursor: Any, target: str, rows: int) -> list[str]:
        calls.append(set_aside(cursor, target, rows) if real else [])
        return calls[-1]

    monkeypatch.setattr(bulk, "_set_aside", recorded)
    return calls


@pytest.mark.parametrize("bulk_check", [True, False])
def test_a_large_copy_into_an_empty_table_checks_foreign_keys_in_bulk_and_stores_the_same_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch, bulk_check: bool
) -> None:
    """Above ``BULK_CHECK_THRESHOLD`` rows the empty-table ``COPY`` drops the foreign keys and the secondary
    indexes and adds them again (one check for all rows, one sort per index): the stored rows, the
    constraints and the indexes are those of the row-by-row check."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the bulk check is PostgreSQL's empty-table COPY path")
    constraints, indexes = _foreign_keys(store), _indexes(store)
    set_aside = record_set_aside(monkeypatch, real=bulk_check)
    objects = [obj(n, department=WEST if n % 2 else EAST) for n in range(bulk.BULK_CHECK_THRESHOLD)]
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects(objects)
        uow.commit()
    assert [[statement.split()[2] for statement in found] for found in set_aside] == [
        ["ix_objects_registering_department_id_credit_code", "objects"] if bulk_check else []
    ]
    if bulk_check:
        assert "fk_objects_registering_department_id_departments" in set_aside[0][1]
    assert _foreign_keys(store) == constraints
    assert _indexes(store) == indexes
    with store.engine.connect() as connection:
        lock_timeout = connection.execute(sa.text("SHOW lock_timeout")).scalar()
    with store.unit_of_work() as uow:
        stored = uow.directory.objects_by_code([o.credit_code for o in objects])
    assert stored == {o.credit_code: o for o in objects}
    assert lock_timeout == "0"  # the check's own lock_timeout ended with it
    with store.unit_of_work() as uow, pytest.raises(sa.exc.IntegrityError):  # the constraint holds again
        uow.directory.upsert_objects([obj(10**6, registering_department_id="nowhere")])


def test_a_bulk_checked_copy_breaking_a_foreign_key_writes_nothing_and_keeps_it(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the bulk check is PostgreSQL's empty-table COPY path")
    constraints = _foreign_keys(store)
    objects = [obj(n) for n in range(bulk.BULK_CHECK_THRESHOLD)]
    objects[4_321] = obj(4_321, registering_department_id="nowhere")
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        with pytest.raises(sa.exc.IntegrityError, match="fk_objects_registering_department_id_departments"):
            uow.directory.upsert_objects(objects)
    assert _foreign_keys(store) == constraints
    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == 0


def test_a_bulk_check_gives_way_to_the_row_by_row_check_when_a_reader_holds_a_lock(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction reading the departments keeps its lock; the import neither waits for it (beyond
    ``LOCK_WAIT``) nor makes it wait: it checks its rows one by one, as before."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the bulk check is PostgreSQL's empty-table COPY path")
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.commit()
    set_aside = record_set_aside(monkeypatch)
    objects = [obj(n) for n in range(bulk.BULK_CHECK_THRESHOLD)]
    with store.engine.connect() as reader:
        reader.execute(sa.text("SELECT count(*) FROM departments")).scalar()  # ACCESS SHARE until rollback
        start = time.perf_counter()
        with store.unit_of_work() as uow:
            uow.directory.upsert_objects(objects)
            uow.commit()
        took = time.perf_counter() - start
        assert reader.execute(sa.text("SELECT count(*) FROM objects")).scalar() == len(objects)  # not blocked
        reader.rollback()
    assert took < 10
    assert set_aside == [[]]  # the lock was taken: nothing dropped
    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == len(objects)


def test_a_bulk_insert_racing_a_concurrent_writer_of_one_of_its_keys_upserts_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the plain-insert fast path is PostgreSQL's COPY path")
    inserted: list[bool] = []
    plain_insert = bulk._without_conflict

    def recorded(*args: Any) -> bool:
        inserted.append(plain_insert(*args))
        return inserted[-1]

    monkeypatch.setattr(bulk, "_without_conflict", recorded)
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.commit()
    other_wrote = threading.Event()

    def other_writer() -> None:
        with store.unit_of_work() as uow:
            # another profile: the bulk insert's profile is not held up by this transaction's
            uow.directory.upsert_objects([obj(7, name="other", office="所2")])
            other_wrote.set()
            time.sleep(0.5)  # the bulk insert finds no stored key, then waits for this row's outcome
            uow.commit()

    thread = threading.Thread(target=other_writer)
    thread.start()
    other_wrote.wait(5)
    with store.unit_of_work() as uow:
        uow.directory.upsert_objects([obj(n) for n in range(1_500)])
        uow.commit()
    thread.join(30)
    with store.unit_of_work() as uow:
        assert uow.directory.objects_by_code([code(7)]) == {code(7): obj(7)}
        assert uow.directory.count_objects() == 1_500
    assert inserted == [False]  # the COPY into the empty table met the other row and gave way to the upsert


# --- paging ------------------------------------------------------------------------------------------------


def test_objects_page_by_credit_code_with_department_filter(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(n, department=WEST if n % 3 else EAST) for n in range(30)])
        uow.commit()
    with store.unit_of_work() as uow:
        seen: list[str] = []
        after: str | None = None
        pages = 0
        while True:
            page = uow.directory.list_objects(PageRequest(size=7, after=after), department_ids=[WEST.id])
            seen += [o.credit_code for o in page.items]
            pages += 1
            if page.next_after is None:
                break
            assert page.next_after == page.items[-1].credit_code
            after = page.next_after
        assert seen == [code(n) for n in range(30) if n % 3]
        assert pages == 3  # 20 objects: 7 + 7 + 6

        exact = uow.directory.list_objects(PageRequest(size=10), department_ids=[EAST.id])
        assert len(exact.items) == 10
        assert exact.next_after is None
        assert uow.directory.list_objects(PageRequest(size=5), department_ids=[]).items == []
        assert len(uow.directory.list_objects(PageRequest(size=100)).items) == 30


def test_department_subtree_is_the_department_and_everything_below(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.commit()
    with store.read_unit_of_work() as uow:
        d = uow.directory
        assert d.department_subtree(PROVINCE.id) == {"p", "c", "d1", "d2"}
        assert d.department_subtree(CITY.id) == {"c", "d1", "d2"}
        assert d.department_subtree(WEST.id) == {"d1"}
        assert d.department_subtree("nowhere") == frozenset()
        tree = DepartmentTree(d.all_departments())
        assert all(d.department_subtree(x.id) == tree.subtree_ids(x.id) for x in DEPARTMENTS)


def test_other_lists_page_by_key(store: Store) -> None:
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.directory.upsert_inspectors([inspector(f"b{n:02d}", WEST if n % 2 else EAST) for n in range(9)])
        uow.directory.upsert_complaints(
            [Complaint(f"c-{n}", code(1 + n % 2), ComplaintStatus.RECEIVED, DAY) for n in range(6)]
        )
        uow.directory.upsert_campaigns(
            [Campaign(f"k-{n}", "专项", PROVINCE.id, "330000", "food", "x", DAY, DAY) for n in range(3)]
        )
        uow.directory.upsert_risk_assessments(
            [RiskAssessment(f"r-{n}", code(1), RiskConclusion.SUITABLE, DAY) for n in range(3)]
        )
        uow.directory.upsert_statutory_designations(
            [StatutoryDesignation(f"s-{n}", code(2), "catering", "m", "b", DAY) for n in range(3)]
        )
        uow.tasks.add(task("t-2", department_id=EAST.id))
        uow.commit()
    with store.unit_of_work() as uow:
        d = uow.directory
        first = d.list_departments(PageRequest(size=3))
        assert [x.id for x in first.items] == ["c", "d1", "d2"]
        assert first.next_after == "d2"
        assert [x.id for x in d.list_departments(PageRequest(size=3, after="d2")).items] == ["p"]
        assert [x.id for x in d.list_departments(PageRequest(size=9), ids=["p", "d2"]).items] == ["d2", "p"]

        west = d.list_inspectors(PageRequest(size=3), department_ids=[WEST.id])
        assert [i.badge_number for i in west.items] == ["b01", "b03", "b05"]
        assert west.next_after == "b05"
        assert west.items[0] == inspector("b01", WEST)
        rest = d.list_inspectors(PageRequest(size=3, after="b05"), department_ids=[WEST.id])
        assert [i.badge_number for i in rest.items] == ["b07"]
        assert rest.next_after is None

        of_one = d.list_complaints(PageRequest(size=2), credit_code=code(1))
        assert [c.id for c in of_one.items] == ["c-0", "c-2"]
        assert of_one.next_after == "c-2"
        assert [c.id for c in d.list_complaints(PageRequest(size=2, after="c-2"), code(1)).items] == ["c-4"]
        assert [c.id for c in d.list_campaigns(PageRequest(size=2, after="k-0")).items] == ["k-1", "k-2"]
        assert len(d.list_risk_assessments(PageRequest(size=5), credit_code=code(1)).items) == 3
        assert d.list_risk_assessments(PageRequest(size=5), credit_code=code(2)).items == []
        assert len(d.list_statutory_designations(PageRequest(size=5)).items) == 3

        assert [t.id for t in uow.tasks.list(PageRequest(size=5)).items] == ["t-1", "t-2"]
        assert [t.id for t in uow.tasks.list(PageRequest(size=5), department_ids=[EAST.id]).items] == ["t-2"]
        assert [i.code for i in uow.items.list(PageRequest(size=1)).items] == [ITEM.code]


def test_bad_page_requests_are_invalid_arguments(store: Store) -> None:
    with store.unit_of_work() as uow:
        with pytest.raises(InvalidArgument):
            uow.directory.list_objects(PageRequest(size=0))
        with pytest.raises(InvalidArgument):
            uow.audit.list(PageRequest(size=5, after="not-a-number"))
        with pytest.raises(InvalidArgument):
            uow.draws.list_assignments("d-1", PageRequest(size=5, after="x"))
        with pytest.raises(InvalidArgument):
            uow.draws.list_exclusions("d-1", PageRequest(size=5, after="no-slash"))


# --- draw scope queries ------------------------------------------------------------------------------------


def test_objects_matching_applies_every_filter(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects(
            [
                obj(5, WEST),
                obj(4, WEST, region_code="330106001"),
                obj(3, WEST, industry="drugs"),
                obj(2, WEST, status=ObjectStatus.DEREGISTERED),
                obj(1, EAST),
                obj(6, WEST, region_code="33%106"),
            ]
        )
        uow.commit()
    with store.unit_of_work() as uow:

        def matching(**kwargs: object) -> list[int]:
            flt = ObjectFilter(**kwargs)  # type: ignore[arg-type]  # ObjectFilter's own fields
            return [int(o.credit_code[-8:]) for o in uow.directory.objects_matching(flt)]

        assert matching(department_ids=frozenset({WEST.id})) == [2, 3, 4, 5, 6]
        assert matching(department_ids=frozenset({WEST.id, EAST.id})) == [1, 2, 3, 4, 5, 6]
        assert matching(department_ids=frozenset()) == []
        assert matching(department_ids=frozenset({WEST.id}), region_prefix="330106") == [2, 3, 4, 5]
        assert matching(department_ids=frozenset({WEST.id}), region_prefix="3301060") == [4]
        assert matching(department_ids=frozenset({WEST.id}), region_prefix="33%") == [6]  # % is literal
        assert matching(department_ids=frozenset({WEST.id}), industries=frozenset({"drugs"})) == [3]
        assert matching(department_ids=frozenset({WEST.id}), active_only=True) == [3, 4, 5, 6]
        assert matching(
            department_ids=frozenset({WEST.id, EAST.id}),
            region_prefix="3301",
            industries=frozenset({"food"}),
            active_only=True,
        ) == [1, 4, 5]


def test_side_facts_matching_follows_the_object_filter(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        suspended = obj(3, WEST, status=ObjectStatus.SUSPENDED)
        uow.directory.upsert_objects([obj(1, WEST), obj(2, EAST), suspended])
        uow.directory.upsert_complaints(
            [Complaint(f"c-{n}", code(n), ComplaintStatus.HANDLING, DAY) for n in (1, 2, 3)]
        )
        uow.directory.upsert_risk_assessments(
            [RiskAssessment(f"r-{n}", code(n), RiskConclusion.UNSUITABLE, DAY) for n in (1, 2)]
        )
        uow.directory.upsert_statutory_designations(
            [StatutoryDesignation(f"s-{n}", code(n), "catering", "m", "b", DAY) for n in (2, 3)]
        )
        uow.directory.upsert_campaigns([Campaign("k-1", "专项", CITY.id, "330100", "food", "x", DAY, DAY)])
        uow.commit()
    with store.unit_of_work() as uow:
        facts = uow.directory.side_facts_matching(ObjectFilter(frozenset({WEST.id})))
        assert [c.id for c in facts.complaints] == ["c-1", "c-3"]
        assert [r.id for r in facts.risk_assessments] == ["r-1"]
        assert [s.id for s in facts.statutory_designations] == ["s-3"]
        assert [k.id for k in facts.campaigns] == ["k-1"]
        active = uow.directory.side_facts_matching(ObjectFilter(frozenset({WEST.id}), active_only=True))
        assert [c.id for c in active.complaints] == ["c-1"]
        assert active.statutory_designations == []
        none = uow.directory.side_facts_matching(ObjectFilter(frozenset({"nowhere"})))
        assert (none.complaints, none.risk_assessments, len(none.campaigns)) == ([], [], 1)


def test_side_facts_of_codes_held_are_those_the_filter_selects(store: Store) -> None:
    """Given the credit codes its filter selects, ``side_facts_matching`` reads every side fact when the
    tables hold no more than there are codes and keeps the codes' own; otherwise it asks the database as
    without them. Both ways, the same facts as without the codes."""
    west = [
        obj(n, WEST, status=ObjectStatus.SUSPENDED if n % 5 == 0 else ObjectStatus.ACTIVE)
        for n in range(1, 21)
    ]
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([*west, *(obj(n, EAST) for n in range(21, 31))])
        uow.directory.upsert_complaints(
            [Complaint(f"c-{n}", code(n), ComplaintStatus.HANDLING, DAY) for n in (1, 5, 22, 9)]
        )
        uow.directory.upsert_risk_assessments(
            [RiskAssessment(f"r-{n}", code(n), RiskConclusion.UNSUITABLE, DAY) for n in (2, 25)]
        )
        uow.directory.upsert_statutory_designations(
            [StatutoryDesignation(f"s-{n}", code(n), "catering", "m", "b", DAY) for n in (3, 10, 30)]
        )
        uow.commit()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        for flt, joins in [
            (ObjectFilter(frozenset({WEST.id})), False),  # 20 codes, 9 side facts: read whole
            (ObjectFilter(frozenset({WEST.id}), active_only=True), False),
            (
                ObjectFilter(frozenset({WEST.id}), region_prefix="330106", industries=frozenset({"none"})),
                True,
            ),
        ]:
            with store.unit_of_work() as uow:
                codes = [o.credit_code for o in uow.directory.objects_matching(flt)]
                statements.clear()
                held = uow.directory.side_facts_matching(flt, codes)
                assert any("EXISTS" in s.upper() for s in statements) == joins
                assert held == uow.directory.side_facts_matching(flt)
                statements.clear()
                assert uow.directory.side_facts_matching(flt, codes[::-1]) == held  # out of order: joins
                assert any("EXISTS" in s.upper() for s in statements) or len(codes) < 2
                if flt.active_only:
                    assert [c.id for c in held.complaints] == ["c-1", "c-9"]
                    assert [r.id for r in held.risk_assessments] == ["r-2"]
                    assert [d.id for d in held.statutory_designations] == ["s-3"]
                elif not joins:
                    assert [c.id for c in held.complaints] == ["c-1", "c-5", "c-9"]
                    assert [d.id for d in held.statutory_designations] == ["s-10", "s-3"]
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)


def test_inspectors_of_loads_children_without_a_query_per_inspector(store: Store) -> None:
    team = [
        inspector(f"b{n:03d}", WEST if n % 2 else EAST, conflicts=frozenset({code(n)})) for n in range(50)
    ]
    team.append(inspector("b999", WEST, specialities=(), conflicts=frozenset()))
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_inspectors(team)
        uow.commit()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        with store.unit_of_work() as uow:
            found = uow.directory.inspectors_of([WEST.id])
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert found == sorted((i for i in team if i.department_id == WEST.id), key=lambda i: i.badge_number)
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 3  # inspectors, specialities, conflicts
    with store.unit_of_work() as uow:
        assert uow.directory.inspectors_of([]) == []


# --- draws -------------------------------------------------------------------------------------------------


def test_many_assignments_round_trip(store: Store) -> None:
    """Enough assignments and members for PostgreSQL's COPY, their numbers and flags written as text."""
    base = draw_record(eligible=2_500)
    assignments = [
        Assignment(
            n,
            base.eligible_codes[n],
            f"{n:064x}",
            "B",
            (TeamMember(f"b{n % 7}", True), TeamMember(f"b{n % 5 + 10}", False)),
        )
        for n in range(1, 1_201)
    ]
    record = DrawRecord(base.draw, base.eligible_codes, base.inspector_pool, base.exclusions, assignments)
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.draws.add(record)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.draws.get_record("d-1") == record


def test_deferred_writes_run_behind_or_at_the_commit_and_a_rollback_drops_them(store: Store) -> None:
    """``defer`` queues writes nothing reads before they run: ``write_behind`` starts them (a thread on
    PostgreSQL), ``settle`` waits for them and raises what they raised, the commit runs any still queued,
    and a rollback drops them."""
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.defer(lambda: uow.directory.upsert_objects([obj(1)]))
        assert uow.directory.count_objects() == 0  # queued, not written
        uow.write_behind()
        uow.settle()
        assert uow.directory.count_objects() == 1
        uow.defer(lambda: uow.directory.upsert_objects([obj(2)]))
        uow.commit()  # the queued write first
    with store.unit_of_work() as uow:
        # deferred after write_behind: run behind (in the order deferred), all done at settle
        uow.write_behind()
        uow.defer(lambda: uow.directory.upsert_objects([obj(5)]))
        uow.defer(lambda: uow.directory.upsert_objects([obj(5, name="改名")]))
        uow.settle()
        assert uow.directory.count_objects() == 3
        assert uow.directory.get_object(obj(5).credit_code).name == "改名"
        uow.rollback()
    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == 2
        uow.defer(lambda: uow.directory.upsert_objects([obj(3)]))
        uow.rollback()
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == 2
        nowhere = Department("d9", "无", "c", DepartmentLevel.DISTRICT, "330199")  # never stored
        uow.defer(lambda: uow.directory.upsert_objects([obj(4, department=nowhere)]))

        def written() -> None:  # raised by write_behind on SQLite (the writes run then), else by settle
            uow.write_behind()
            uow.settle()

        with pytest.raises(sa.exc.IntegrityError):
            written()
    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == 2


@pytest.mark.parametrize("count", [1, 1_200])  # one row, and enough for PostgreSQL's COPY
@pytest.mark.parametrize(
    ("table", "row"),
    [
        (
            "exclusions",
            {"credit_code": "c", "rule_id": "r", "category": "x", "reason": "", "legal_basis": ""},
        ),
        ("assignments", {"credit_code": "c", "ticket": "t", "stratum": "B"}),
        ("assignment_members", {"badge_number": "b1", "leader": True}),
    ],
)
def test_a_draws_rows_must_name_their_parents(
    store: Store, table: str, row: dict[str, object], count: int
) -> None:
    """What the foreign keys did, the per-statement checks do: a draw's exclusion or assignment names a
    draw, a team member an assignment; a write naming none is refused whole, on both databases."""
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.draws.add(draw_record())  # draw d-1 with assignments at positions 1 to 3
        uow.commit()
    keys = {
        "exclusions": lambda n: {"draw_id": "d-404", "credit_code": code(n), "evidence_json": "[]"},
        "assignments": lambda n: {"draw_id": "d-404", "position": n},
        "assignment_members": lambda n: {"draw_id": "d-1", "position": 3 + n, "member_order": 0},
    }[table]
    rows = [{**row, **keys(n)} for n in range(1, count + 1)]
    target = sa.Table(table, sa.MetaData(), autoload_with=store.engine)
    refused = r"names no row|FOREIGN KEY"
    with pytest.raises(sa.exc.IntegrityError, match=refused), store.engine.begin() as connection:
        bulk.insert(connection, target, rows)
    named = {"exclusions": {"draw_id": "d-1"}, "assignments": {"draw_id": "d-1", "position": 99}}
    with store.engine.begin() as connection:  # a row that names its parent goes in
        bulk.insert(connection, target, [{**rows[0], **named.get(table, {"position": 1, "member_order": 5})}])
    if table == "assignment_members":  # and cannot be moved to an assignment that does not exist
        moved = target.update().where(target.c.member_order == 5).values(position=77)
        with pytest.raises(sa.exc.IntegrityError, match=refused), store.engine.begin() as connection:
            connection.execute(moved)


@pytest.mark.parametrize("evidence", ["plain", "escaped"])
def test_draw_record_round_trip(store: Store, evidence: str) -> None:
    """Stored and read back alike, whether some evidence has to be escaped in JSON (and in COPY) or not."""
    base = draw_record(eligible=2_500)
    odd = 'a "quoted"\\ ref\twith\ncontrol \x01 文' if evidence == "escaped" else "s-odd"
    many = [
        Exclusion(
            code(n),
            f"R-{n % 3}",
            ExclusionCategory.STATUTORY_METHOD,
            "法定",
            "第十六条",
            (f"s-{n}", odd) if n == 700 else (f"s-{n}",),
        )
        for n in range(1_200)  # enough to take the bulk path (COPY on PostgreSQL)
    ]
    record = DrawRecord(
        base.draw,
        base.eligible_codes,
        base.inspector_pool,
        sorted(base.exclusions + many, key=lambda e: (e.credit_code, e.rule_id)),
        base.assignments,
    )
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.draws.add(record)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.draws.get("d-1") == record.draw
        assert uow.draws.get("d-2") is None
        assert uow.draws.get_record("d-2") is None
        stored = uow.draws.get_record("d-1")
        assert stored == record
        assert stored is not None
        assert stored.draw.created_at.utcoffset() == dt.timedelta(0)
        assert stored.draw.ratio == Fraction(1, 500)
        assert [d.id for d in uow.draws.list(PageRequest(size=5)).items] == ["d-1"]
        assert [d.id for d in uow.draws.list(PageRequest(size=5), task_id="t-1").items] == ["d-1"]
        assert uow.draws.list(PageRequest(size=5), task_id="t-404").items == []


def test_draw_assignments_and_exclusions_page(store: Store) -> None:
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.draws.add(draw_record())
        uow.commit()
    with store.unit_of_work() as uow:
        first = uow.draws.list_assignments("d-1", PageRequest(size=2))
        assert [a.position for a in first.items] == [1, 2]
        assert first.next_after == "2"
        assert first.items[0].team == (TeamMember("b1", True), TeamMember("b11", False))
        rest = uow.draws.list_assignments("d-1", PageRequest(size=2, after="2"))
        assert [a.position for a in rest.items] == [3]
        assert rest.next_after is None
        assert uow.draws.list_assignments("d-404", PageRequest(size=2)).items == []

        page = uow.draws.list_exclusions("d-1", PageRequest(size=2))
        assert [(e.credit_code, e.rule_id) for e in page.items] == [
            (code(900_001), "R-COMPLAINT"),
            (code(900_001), "R-RISK"),
        ]
        assert page.next_after == f"{code(900_001)}/R-RISK"
        last = uow.draws.list_exclusions("d-1", PageRequest(size=2, after=page.next_after))
        assert [e.rule_id for e in last.items] == ["R-CAMPAIGN"]
        assert last.next_after is None
        assert last.items[0].evidence == ("k", "m")


def test_a_second_draw_for_a_task_is_already_exists(store: Store) -> None:
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.draws.add(draw_record("d-1"))
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists) as error:
            uow.draws.add(draw_record("d-2"))
        assert error.value.reason == "DRAW_EXISTS"
        assert error.value.metadata == {"task_id": "t-1", "draw_id": "d-1"}
        with pytest.raises(AlreadyExists):
            uow.draws.add(draw_record("d-1"))  # the same draw id again
        with pytest.raises(NotFound):
            uow.draws.add(draw_record("d-3", task_id="t-404"))
        uow.tasks.set_draw("t-1", "d-1")  # the transaction is still usable
        uow.commit()
    with store.unit_of_work() as uow:
        assert [d.id for d in uow.draws.list(PageRequest(size=5)).items] == ["d-1"]
        stored = uow.tasks.get("t-1")
        assert stored is not None
        assert stored.draw_id == "d-1"


def test_concurrent_draws_of_one_task_serialise_on_the_database(store: Store) -> None:
    with store.unit_of_work() as uow:
        seed_directory(uow)
        uow.commit()
    first_added = threading.Event()
    outcomes: dict[str, str] = {}

    def first() -> None:
        with store.unit_of_work() as uow:
            uow.draws.add(draw_record("d-1", eligible=10))
            first_added.set()
            time.sleep(0.3)  # the second draw must wait for this transaction
            uow.commit()
        outcomes["first"] = "stored"

    def second() -> None:
        first_added.wait(5)
        try:
            with store.unit_of_work() as uow:
                uow.draws.add(draw_record("d-2", eligible=10))
                uow.commit()
            outcomes["second"] = "stored"
        except AlreadyExists as exc:
            outcomes["second"] = exc.reason

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {"first": "stored", "second": "DRAW_EXISTS"}


def test_code_lists_pack_compactly_and_exactly() -> None:
    codes = [code(n) for n in range(100_000)]
    blob = pack_codes(codes)
    assert unpack_codes(blob) == codes
    assert len(blob) < len(codes) * 19 / 4
    assert unpack_codes(pack_codes([])) == []
    assert unpack_codes(pack_codes(["b", "a"])) == ["b", "a"]
    for bad in ("", "a\nb"):
        with pytest.raises(ValueError, match="newline"):
            pack_codes(["x", bad])


# --- transactions and audit --------------------------------------------------------------------------------


def test_nothing_is_kept_without_commit(store: Store) -> None:
    class AbandonedError(Exception):
        pass

    def write_then_fail() -> None:
        with store.unit_of_work() as uow:
            seed_directory(uow)
            uow.draws.add(draw_record())
            uow.audit.append(
                AuditRecord(
                    actor="a",
                    action="x",
                    resource="r",
                    occurred_at=dt.datetime.now(dt.UTC),
                )
            )
            raise AbandonedError

    with pytest.raises(AbandonedError):
        write_then_fail()
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)  # left without commit
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments([PROVINCE])
        uow.rollback()
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.directory.all_departments() == []
        assert uow.directory.count_objects() == 0
        assert uow.draws.get("d-1") is None
        assert uow.audit.list(PageRequest(size=5)).items == []


def test_audit_sequence_follows_append_order(store: Store) -> None:
    start = dt.datetime(2025, 3, 1, 8, 0, tzinfo=CST)
    with store.unit_of_work() as uow:
        appended = [
            uow.audit.append(
                AuditRecord(
                    actor="alice",
                    action="task.create",
                    resource=f"tasks/t-{n % 2}",
                    before_json="" if n == 0 else f'{{"n":{n - 1}}}',
                    after_json=f'{{"n":{n}}}',
                    request_id=f"req-{n}",
                    occurred_at=start + dt.timedelta(seconds=n),
                )
            )
            for n in range(5)
        ]
        uow.commit()
    with store.unit_of_work() as uow:
        appended.append(
            uow.audit.append(
                AuditRecord(
                    actor="bob",
                    action="draw.create",
                    resource="draws/d-1",
                    after_json="{}",
                    occurred_at=start,
                )
            )
        )
        uow.commit()
    sequences = [e.sequence for e in appended]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 6
    assert sequences[0] == 1  # truncate_all restarts the sequence
    with store.unit_of_work() as uow:
        everything = uow.audit.list(PageRequest(size=10))
        assert everything.items == appended
        assert everything.next_after is None
        assert everything.items[0].occurred_at == start
        assert everything.items[0].occurred_at.tzinfo == dt.UTC
        odd = uow.audit.list(PageRequest(size=1), resource="tasks/t-1")
        assert [e.request_id for e in odd.items] == ["req-1"]
        assert odd.next_after == str(sequences[1])
        more = uow.audit.list(PageRequest(size=1, after=odd.next_after), resource="tasks/t-1")
        assert [e.request_id for e in more.items] == ["req-3"]
        assert more.next_after is None


def test_an_unreachable_database_is_unavailable() -> None:
    store = Store.from_url("postgresql://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(Unavailable) as error, store.unit_of_work() as uow:
            uow.directory.count_objects()
        assert error.value.reason == "DATABASE_UNAVAILABLE"
        with pytest.raises(Unavailable):
            store.ping()
    finally:
        store.dispose()


def test_a_sqlite_database_locked_past_the_busy_timeout_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    migrate(url)
    holder, waiter = Store.from_url(url), Store.from_url(url, sqlite_busy_timeout_ms=100)
    try:
        with holder.unit_of_work() as uow:
            uow.directory.upsert_departments([PROVINCE])  # holds the write lock until the block ends
            with pytest.raises(Unavailable), waiter.unit_of_work() as other:
                other.directory.count_objects()
    finally:
        holder.dispose()
        waiter.dispose()


def test_ping_answers_on_a_live_database(store: Store) -> None:
    store.ping()


def test_point_reads_answer_as_reads_do_and_survive_a_dropped_connection(store: Store) -> None:
    """``point_read`` reads what a read unit of work reads. On PostgreSQL its connections are not pinged
    before use: when the database drops one (a restart, an administrator), the read fails on it, and runs
    once more on a fresh connection, unnoticed by the caller."""
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(1)])
        uow.commit()

    def read(uow: Any) -> InspectionObject | None:
        return uow.directory.get_object(code(1))  # type: ignore[no-any-return]  # the port's answer

    assert store.point_read(read) == obj(1)
    assert store.point_read(lambda uow: uow.directory.get_object(code(2))) is None
    if store.engine.dialect.name != "postgresql":
        assert store.point_reader is store.reader
        return
    assert store.point_reader is not store.reader

    def backend(uow: Any) -> int:
        return int(uow.directory._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    pid = store.point_read(backend)
    with store.engine.connect() as other:  # another connection ends the pooled one
        assert other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one() is True
    attempts: list[int] = []

    def counted(uow: Any) -> InspectionObject | None:
        attempts.append(1)
        return read(uow)

    assert store.point_read(counted) == obj(1)
    assert len(attempts) == 2  # the first attempt met the dropped connection

    def failing(invalidated: bool) -> Any:
        def read(uow: Any) -> None:
            attempts.append(1)
            raise sa.exc.OperationalError(
                "SELECT", None, Exception("gone"), connection_invalidated=invalidated
            )

        return read

    for invalidated, tries in ((False, 1), (True, 2)):  # only a dropped connection is retried, once
        attempts.clear()
        with pytest.raises(Unavailable):
            store.point_read(failing(invalidated))
        assert len(attempts) == tries


def test_the_object_lookup_reads_what_the_directory_reads_and_survives_a_dropped_connection(
    store: Store,
) -> None:
    """``GetObject``'s read on a pooled driver connection (PostgreSQL) answers as ``get_object``; when the
    database drops its connection it reads again on a fresh one."""
    lookup = store.object_lookup
    if store.engine.dialect.name != "postgresql":
        assert lookup is None
        return
    assert lookup is not None
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(1), obj(2, business_lines=(), office="")])
        uow.commit()
    with store.read_unit_of_work() as uow:
        assert [lookup(code(n)) for n in (1, 2, 3)] == [uow.directory.get_object(code(n)) for n in (1, 2, 3)]
    assert lookup(code(3)) is None
    with store.engine.connect() as other:  # ends every other connection to the database, the lookup's too
        ended = other.exec_driver_sql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert ended.scalar_one() >= 1
    assert lookup(code(1)) == obj(1)
