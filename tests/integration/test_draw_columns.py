"""A draw of a generated directory, both databases: the policy stage hands commit and execute its eligible
entries and object plan column by column (``EligibleEntries``, ``PlanRows``), what the store keeps reads back
as the same entries and rows, the stored plan is read back into columns, and the draw verifies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bench.generate import AS_OF, ITEM, PROVINCE, directory
from bench.run import CALLER, load_directory

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store
from dualdraw.domain.draw.commitments import EligibleEntries
from dualdraw.domain.draw.object_plan import PlanRows
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.domain.model import TaskScope
from dualdraw.service_layer import catalogue, draws
from dualdraw.service_layer.draw_commit import Committed, commit_in
from dualdraw.service_layer.draw_integrity import require_draw_verifies
from dualdraw.service_layer.draw_policy import stored_object_plan
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from tests.e2e.conftest import RULES


@pytest.fixture(scope="module")
def generated() -> object:
    return directory(2000, 60)


@pytest.fixture
def store(database_url: str, generated: object) -> Iterator[Store]:
    store = Store.from_url(database_url)
    load_directory(store, generated)  # type: ignore[arg-type]  # a bench Directory
    yield store
    store.dispose()


def test_a_draw_holds_its_entries_and_plan_in_columns(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    task = catalogue.create_task(
        store.unit_of_work(),
        item_code=ITEM.code,
        department_id=PROVINCE,
        ratio=ITEM.default_ratio,
        team_size=2,
        scope=TaskScope(),
        title="columns",
        caller=CALLER,
    )
    seen: list[Committed] = []

    def watched(*args: Any, **kwargs: Any) -> Committed:
        committed = commit_in(*args, **kwargs)
        seen.append(committed)
        return committed

    monkeypatch.setattr(draws, "commit_in", watched)
    with ExclusionEngine() as engine:
        outcome = draws.run_draw(
            store.unit_of_work(),
            engine,
            load_rule_set([RULES]),
            task_id=task.id,
            as_of=AS_OF,
            caller=CALLER,
            entropy=EntropyPolicy(allow_local=True),
        )
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
