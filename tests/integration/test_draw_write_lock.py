"""How long a draw on SQLite locks out other writers (``InProcessDraws`` with ``Store.snapshot_unit_of_work``,
as the draw process runs draws): the load, the rules and the commitments run on a snapshot, so another
writer is not kept waiting meanwhile; a draw whose snapshot went stale before it wrote is drawn again under
the write lock, with nothing of the first attempt written.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from dualdraw.adapters.store import Store
from dualdraw.domain.errors import Unavailable
from dualdraw.service_layer import publication
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.draw_runner import InProcessDraws

from .test_annual_plan import CALLER, NO_RULES, planned_task, published_plan
from .test_entropy_rule import DEVELOPMENT


@pytest.fixture
def sqlite_path(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's one writer lock")
    return str(make_url(database_url).database)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The demo with its item list published before ``CALLER.now``: plans may name its items."""
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    publication.publish_item_list(
        store.unit_of_work(),
        effective_from=dt.date(2026, 1, 1),
        change_summary="first list",
        change_legal_basis="Art. 5",
        caller=Caller(actor="planner", now=dt.datetime(2025, 12, 20, tzinfo=dt.UTC)),
    )
    yield store
    store.dispose()


def _write_elsewhere(path: str, task_id: str) -> None:
    """Renames the task from a connection of its own that waits at most 0.2 s for the write lock."""
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE tasks SET title = 'renamed meanwhile' WHERE id = ?", (task_id,))
        other.execute("COMMIT")
    finally:
        other.close()


class WritesMeanwhile:
    """The rules engine port, excluding nothing; during its first evaluation another connection writes
    (``BEGIN IMMEDIATE``, 0.2 s busy timeout: it fails if the draw holds the write lock)."""

    def __init__(self, path: str, task_id: str) -> None:
        self.path, self.task_id = path, task_id
        self.evaluations = 0

    def evaluate(self, rule_set, context, objects, side_facts, *, progress=None):  # type: ignore[no-untyped-def]  # the port's signature; test double
        self.evaluations += 1
        if self.evaluations == 1:
            _write_elsewhere(self.path, self.task_id)
        return []


def _titles_and_draws(path: str, task_id: str) -> tuple[str, str | None, int]:
    """The task's title and draw id, and how many draws are stored."""
    connection = sqlite3.connect(path)
    try:
        title, draw_id = connection.execute(
            "SELECT title, draw_id FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        (count,) = connection.execute("SELECT count(*) FROM draws").fetchone()
    finally:
        connection.close()
    return title, draw_id, count


def test_a_sqlite_draw_lets_another_writer_in_while_it_loads_and_evaluates(
    store: Store,
    sqlite_path: str,
) -> None:
    task_id = planned_task(store, *published_plan(store)).id
    matcher = WritesMeanwhile(sqlite_path, task_id)
    runner = InProcessDraws(
        store.unit_of_work, matcher, DEVELOPMENT, snapshot_unit_of_work=store.snapshot_unit_of_work
    )
    draw = runner.run_draw(NO_RULES, task_id=task_id, as_of=None, caller=CALLER)
    # The other writer got in during the first attempt; that attempt's snapshot was then stale, so the
    # draw was made again under the write lock, reading the renamed task.
    assert matcher.evaluations == 2
    assert draw.state == "executed"
    title, draw_id, draws = _titles_and_draws(sqlite_path, task_id)
    assert (title, draw_id, draws) == ("renamed meanwhile", draw.id, 1)


def test_without_another_writer_a_sqlite_draw_is_made_once_on_its_snapshot(
    store: Store,
    sqlite_path: str,
) -> None:
    task_id = planned_task(store, *published_plan(store)).id
    matcher = WritesMeanwhile(sqlite_path, task_id)
    matcher.evaluations = 1  # it does not write
    runner = InProcessDraws(
        store.unit_of_work, matcher, DEVELOPMENT, snapshot_unit_of_work=store.snapshot_unit_of_work
    )
    draw = runner.run_draw(NO_RULES, task_id=task_id, as_of=None, caller=CALLER)
    assert matcher.evaluations == 2  # one evaluation: one attempt
    assert _titles_and_draws(sqlite_path, task_id)[1:] == (draw.id, 1)


def test_a_snapshot_unit_of_work_cannot_write_over_a_write_committed_since_it_read(
    store: Store,
    sqlite_path: str,
) -> None:
    task_id = planned_task(store, *published_plan(store)).id

    def stale_draw() -> None:
        with store.snapshot_unit_of_work() as draw:
            draw.lifecycle.lock_history_scope({"any"}, exclusive=True)
            assert draw.tasks.get(task_id) is not None  # its snapshot
            _write_elsewhere(sqlite_path, task_id)  # not kept waiting: the snapshot holds no write lock
            draw.rule_sets.remember("stale", "1", "{}", CALLER.now)  # its first write
            draw.commit()

    with pytest.raises(Unavailable):
        stale_draw()
    assert _titles_and_draws(sqlite_path, task_id)[0] == "renamed meanwhile"
    connection = sqlite3.connect(sqlite_path)
    try:
        assert connection.execute("SELECT count(*) FROM rule_sets WHERE hash = 'stale'").fetchone() == (0,)
    finally:
        connection.close()
