"""A district's draw reads its own objects and side facts, and on PostgreSQL its streamed reads are planned
for every row: a cursor is planned for its first 10 % by default, which for one district of a province made
PostgreSQL walk every side-fact table in id order (25 s instead of 0.05 s at a million objects)."""

from __future__ import annotations

import sqlalchemy as sa
from bench.district_directory import district_directory
from bench.run import load_directory

from dualdraw.adapters.store import Store
from dualdraw.domain.jurisdiction import ObjectFilter
from dualdraw.domain.model import ObjectStatus


def test_a_districts_reads_are_its_own_and_planned_for_every_row(database_url: str) -> None:
    d = district_directory(20, 100, 2)
    store = Store.from_url(database_url)
    try:
        load_directory(store, d)
        branch = d.departments[-1]
        own = {
            o.credit_code
            for o in d.objects
            if o.registering_department_id == branch.id and o.status is ObjectStatus.ACTIVE
        }
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(" ".join(str(args[2]).split()))

        sa.event.listen(store.engine, "before_cursor_execute", seen)
        flt = ObjectFilter(frozenset({branch.id}), region_prefix=branch.region_code, active_only=True)
        with store.unit_of_work() as uow:
            objects = uow.directory.objects_matching(flt)
            facts = uow.directory.side_facts_matching(flt)
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    finally:
        store.dispose()
    assert {o.credit_code for o in objects} == own
    assert {c.credit_code for c in facts.complaints} == {c.credit_code for c in d.complaints} & own
    assert {s.credit_code for s in facts.statutory_designations} == {
        s.credit_code for s in d.statutory_designations
    } & own
    if database_url.startswith("postgresql"):
        hint = [n for n, s in enumerate(statements) if s == "SET LOCAL cursor_tuple_fraction = 1.0"]
        reads = [n for n, s in enumerate(statements) if s.startswith("SELECT") and "FROM complaints" in s]
        assert hint, "the streamed reads are planned for their first rows"
        assert reads
        assert min(hint) < min(reads)
