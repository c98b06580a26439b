"""An import whose objects are written while the stream arrives (``import_directory(..., arriving=...)``),
on SQLite and PostgreSQL: it stores, audits and refuses exactly what the same import given whole does."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from dualdraw.adapters.store import Store, bulk
from dualdraw.domain import model
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.draw.algorithm import set_digest
from dualdraw.domain.errors import FieldViolation, InvalidArgument
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import demo_directory
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.directory import DirectoryBatch, import_directory
from dualdraw.service_layer.ports import PageRequest

CLERK = Caller(actor="clerk", request_id="r-1")
COUNT = bulk.BULK_CHECK_THRESHOLD + 2_000  # enough for the store to start writing before the stream ends
PART = 1_500


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.from_url(database_url)
    yield s
    s.dispose()


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each ``CopyStream.finish`` answered (PostgreSQL): ``True`` when the streamed rows were stored."""
    answers: list[bool] = []
    real = bulk.CopyStream.finish

    def recorded(self: bulk.CopyStream, count: int) -> bool:
        answers.append(real(self, count))
        return answers[-1]

    monkeypatch.setattr(bulk.CopyStream, "finish", recorded)
    return answers


def objects(count: int = COUNT, body: str = "MC") -> list[model.InspectionObject]:
    first = demo_directory().objects[0]
    return [
        replace(
            first,
            credit_code=make_credit_code("9", "1", first.region_code, f"{body}{n:06d}"),
            name=f"企业{n}",
        )
        for n in range(count)
    ]


def streamed(batch: DirectoryBatch, complete: DirectoryBatch) -> Iterator[Sequence[model.InspectionObject]]:
    """Fills ``batch`` with the records of ``complete`` as a stream would: objects in parts of ``PART``."""
    batch.departments.extend(complete.departments)
    batch.complaints.extend(complete.complaints)
    for start in range(0, len(complete.objects), PART):
        part = complete.objects[start : start + PART]
        batch.objects.extend(part)
        yield part


def last_event(store: Store) -> model.AuditEvent:
    with store.unit_of_work() as uow:
        return uow.audit.list(PageRequest(size=1000)).items[-1]


def schema(store: Store) -> list[tuple[str, ...]]:
    """Constraints and indexes (PostgreSQL; nothing on SQLite, where nothing is set aside)."""
    if store.engine.dialect.name != "postgresql":
        return []
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint UNION ALL"
                " SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"
            )
        ).all()
    return [tuple(str(x) for x in row) for row in rows]


def test_a_first_import_streamed_into_empty_tables_stores_and_audits_it_all(
    store: Store, streams: list[bool]
) -> None:
    demo = demo_directory()
    import_directory(store.unit_of_work(), DirectoryBatch(departments=list(demo.departments)), CLERK)
    before = schema(store)
    new = objects()
    complaint = model.Complaint("C-S", new[7].credit_code, model.ComplaintStatus.RECEIVED, demo.as_of)
    batch = DirectoryBatch()

    counts = import_directory(
        store.unit_of_work(),
        batch,
        lambda: CLERK,
        streamed(batch, DirectoryBatch(objects=new, complaints=[complaint])),
    )

    assert counts["objects"] == COUNT
    assert streams == ([True] if store.engine.dialect.name == "postgresql" else [])
    with store.unit_of_work() as uow:
        assert uow.directory.objects_by_code([o.credit_code for o in new]) == {o.credit_code: o for o in new}
        assert uow.directory.get_complaint("C-S") == complaint
    event = last_event(store)
    after = json.loads(event.after_json)
    assert (event.action, event.request_id, event.before_json) == ("directory.import", "r-1", "")
    assert after["created"]["objects"] == {
        "count": COUNT,
        "keys_digest": set_digest(o.credit_code for o in new),
    }
    assert after["updated"] == {}
    assert schema(store) == before  # the foreign keys and indexes set aside are back


def test_a_streamed_reimport_records_before_and_after_of_what_it_changes(
    store: Store, streams: list[bool]
) -> None:
    load_demo(store.unit_of_work)
    stored = objects()
    import_directory(store.unit_of_work(), DirectoryBatch(objects=stored), CLERK)
    changed = replace(stored[5], risk_class=model.RiskClass.D)
    again = [changed if o.credit_code == changed.credit_code else o for o in stored]
    batch = DirectoryBatch()

    import_directory(store.unit_of_work(), batch, CLERK, streamed(batch, DirectoryBatch(objects=again)))

    assert streams[-1:] == ([True] if store.engine.dialect.name == "postgresql" else [])
    event = last_event(store)
    before, after = json.loads(event.before_json), json.loads(event.after_json)
    assert list(before["objects"]) == [changed.credit_code]
    assert after["updated"]["objects"][changed.credit_code]["risk_class"] == "D"
    assert after["created"] == {}
    with store.unit_of_work() as uow:
        assert uow.directory.get_object(changed.credit_code) == changed


def test_a_stream_failing_half_way_writes_nothing(store: Store) -> None:
    demo = demo_directory()
    import_directory(store.unit_of_work(), DirectoryBatch(departments=list(demo.departments)), CLERK)
    before = schema(store)
    new = objects()
    batch = DirectoryBatch()

    def cut_off() -> Iterator[Sequence[model.InspectionObject]]:
        parts = streamed(batch, DirectoryBatch(objects=new))
        for _ in range(COUNT // PART):  # past the threshold: rows were sent
            yield next(parts)
        raise InvalidArgument([FieldViolation("final", "the stream ended without its final chunk")])

    with pytest.raises(InvalidArgument):
        import_directory(store.unit_of_work(), batch, CLERK, cut_off())

    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == 0
    assert schema(store) == before


@pytest.mark.parametrize(
    "spoil",
    [
        lambda objs: objs.append(objs[3]),  # a code twice: the COPY fails on its key
        lambda objs: objs.__setitem__(9_000, replace(objs[9_000], registering_department_id="nowhere")),
    ],
    ids=["duplicate", "unknown-department"],
)
def test_a_streamed_import_the_store_refuses_answers_with_the_batch_violations(
    store: Store, spoil: Any, streams: list[bool]
) -> None:
    demo = demo_directory()
    import_directory(store.unit_of_work(), DirectoryBatch(departments=list(demo.departments)), CLERK)
    new = objects()
    spoil(new)
    batch = DirectoryBatch()

    with pytest.raises(InvalidArgument) as raised:  # not the database's IntegrityError
        import_directory(store.unit_of_work(), batch, CLERK, streamed(batch, DirectoryBatch(objects=new)))

    assert raised.value.violations
    with store.unit_of_work() as uow:
        assert uow.directory.count_objects() == 0
