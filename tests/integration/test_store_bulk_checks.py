"""Which checks and answers the directory store gives for many records at once, on SQLite and PostgreSQL:
the foreign-key check of a large write into an empty table, and the owners an import's ownership check
asks for."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dualdraw.adapters.store import Store, bulk
from dualdraw.domain.model import Complaint, ComplaintStatus
from tests.integration.test_store import (
    DAY,
    DEPARTMENTS,
    EAST,
    _foreign_keys,
    code,
    obj,
    record_set_aside,
    store,
)

__all__ = ["store"]  # the fixture, shared with test_store


def test_a_large_copy_referencing_a_larger_table_keeps_the_row_by_row_check(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Complaints of a directory with more objects than complaints: the anti-join of a bulk check would read
    every object, so the foreign key to objects stays and checks the complaints one by one."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the bulk check is PostgreSQL's empty-table COPY path")
    count = bulk.BULK_CHECK_THRESHOLD
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(n) for n in range(count + 1)])
        uow.commit()
    set_aside = record_set_aside(monkeypatch)
    complaints = [Complaint(f"c{n}", code(n), ComplaintStatus.HANDLING, DAY) for n in range(count)]
    with store.unit_of_work() as uow:
        uow.directory.upsert_complaints(complaints)
        uow.commit()
    assert len(set_aside) == 1
    assert not [s for s in set_aside[0] if "FOREIGN KEY" in s]  # its index only
    with store.unit_of_work() as uow:
        assert len(uow.directory.complaints_by_id([c.id for c in complaints])) == count
        with pytest.raises(sa.exc.IntegrityError, match="fk_complaints_credit_code_objects"):
            uow.directory.upsert_complaints([Complaint("c-x", code(10**7), ComplaintStatus.HANDLING, DAY)])


@pytest.mark.parametrize("broken", [False, True])
def test_a_large_copy_referencing_a_table_this_import_holds_alone_checks_in_bulk_by_index(
    store: Store, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    """Complaints imported with the objects they reference: the objects' own bulk write holds their table
    alone, so the complaints' foreign key is set aside too and added again with its check probing the
    objects' key, the planner's joins as they were afterwards. A complaint of no object fails the check and
    nothing is written."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the bulk check is PostgreSQL's empty-table COPY path")
    constraints = _foreign_keys(store)
    set_aside = record_set_aside(monkeypatch)
    count = bulk.BULK_CHECK_THRESHOLD
    complaints = [Complaint(f"c{n}", code(n), ComplaintStatus.HANDLING, DAY) for n in range(count)]
    if broken:
        complaints[1_234] = Complaint("c-x", code(10**7), ComplaintStatus.HANDLING, DAY)
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(n) for n in range(count + 1)])
        if broken:
            with pytest.raises(sa.exc.IntegrityError, match="fk_complaints_credit_code_objects"):
                uow.directory.upsert_complaints(complaints)
            return
        uow.directory.upsert_complaints(complaints)
        session = uow._session
        assert session is not None
        joins = [session.execute(sa.text(f"SHOW {name}")).scalar() for name in bulk._JOINS]
        uow.commit()
    checks = [s for s in set_aside[-1] if "FOREIGN KEY" in s]
    assert len(checks) == 1
    assert "fk_complaints_credit_code_objects" in checks[0]
    probes = set_aside[-1].index(checks[0])
    assert set_aside[-1][probes - 2 : probes] == bulk._INDEX_PROBES
    assert joins == ["on", "on"]
    assert _foreign_keys(store) == constraints
    with store.unit_of_work() as uow:
        assert len(uow.directory.complaints_by_id([c.id for c in complaints])) == count
        with pytest.raises(sa.exc.IntegrityError, match="fk_complaints_credit_code_objects"):
            uow.directory.upsert_complaints([Complaint("c-y", code(10**7), ComplaintStatus.HANDLING, DAY)])


def test_owning_departments_outside_a_jurisdiction_leaves_out_the_records_it_owns(store: Store) -> None:
    """An import's ownership check asks only for the replaced records owned outside the caller's subtree;
    side facts are owned through their object."""
    with store.unit_of_work() as uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects([obj(1), obj(2, department=EAST), obj(3)])
        uow.directory.upsert_complaints(
            [
                Complaint("c1", code(1), ComplaintStatus.HANDLING, DAY),
                Complaint("c2", code(2), ComplaintStatus.HANDLING, DAY),
            ]
        )
        uow.commit()
    keys = [code(n) for n in (1, 2, 3, 4)]
    with store.unit_of_work() as uow:
        directory = uow.directory
        assert directory.owning_departments("object", keys) == {code(1): "d1", code(2): "d2", code(3): "d1"}
        assert directory.owning_departments("object", keys, outside={"d1", "c"}) == {code(2): "d2"}
        assert directory.owning_departments("object", keys, outside={"d1", "d2"}) == {}
        assert directory.owning_departments("complaint", ["c1", "c2", "c3"], outside={"d2"}) == {"c1": "d1"}
