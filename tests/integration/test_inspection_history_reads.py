"""Every draw reads the inspection history and the serious-violation results of all its candidates: above
``WHOLE_TABLE_ABOVE`` codes the store reads them whole and filters, and answers exactly as code by code —
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from fractions import Fraction

import pytest

from dualdraw.adapters.store import Store
from dualdraw.adapters.store.repositories import draws as draw_rows
from dualdraw.domain import model
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.domain.inspection_history import PastInspection
from dualdraw.service_layer import catalogue
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy

DEVELOPMENT = EntropyPolicy(allow_local=True)  # development mode: one-step draws use a local secret
CALLER = Caller(actor="tester", now=dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC))


class NoExclusions:
    def evaluate(self, rule_set, context, objects, side_facts, *, progress=None):  # type: ignore[no-untyped-def]  # the port's signature; test double
        return []


def order(p: PastInspection) -> tuple[str, int]:
    return (p.draw_id, p.position)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    yield store
    store.dispose()


def test_reading_whole_tables_answers_as_reading_code_by_code(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    suggested = demo_directory().suggested_task
    task = catalogue.create_task(
        store.unit_of_work(),
        item_code=suggested.item_code,
        department_id=suggested.department_id,
        ratio=Fraction(suggested.ratio),
        team_size=suggested.team_size,
        scope=model.TaskScope(),
        title="history",
        caller=CALLER,
    )
    draw = run_draw(
        store.unit_of_work(),
        NoExclusions(),
        RuleSet.of([]),
        task_id=task.id,
        as_of=DEMO_AS_OF,
        caller=CALLER,
        entropy=DEVELOPMENT,
    ).draw
    with store.unit_of_work() as uow:
        record = uow.draws.get_record(draw.id)
        assert record is not None
        codes = [*record.eligible_codes, "91000000000000000X"]
        by_code = sorted(uow.draws.inspection_history(codes), key=order)
        violations = uow.draws.serious_violations(codes)
        monkeypatch.setattr(draw_rows, "WHOLE_TABLE_ABOVE", 0)
        assert sorted(uow.draws.inspection_history(codes), key=order) == by_code
        assert uow.draws.serious_violations(codes) == violations
    assert {p.credit_code for p in by_code} == {a.credit_code for a in record.assignments}
    assert {p.item_code for p in by_code} == {suggested.item_code}
