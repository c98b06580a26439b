"""Tasks (``TaskRepository``)."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from dualdraw.adapters.store.repositories.base import SqlRepository, keyset_page
from dualdraw.adapters.store.rows import TASKS, task_values, to_task
from dualdraw.domain.errors import NotFound
from dualdraw.domain.model import Task
from dualdraw.domain.plan.model import already_drawn
from dualdraw.service_layer.ports import Page, PageRequest


class SqlTaskRepository(SqlRepository):
    """Tasks (``TaskRepository``)."""

    def add(self, task: Task) -> None:
        """Raises ``AlreadyExists`` (reason ``TASK_EXISTS``) when the id is taken, and ``FailedPrecondition``
        (``PLAN_ENTRY_ALREADY_DRAWN``, naming the holder) when another task holds its plan period."""
        try:
            self._add_new(TASKS, task_values(task), "TASK_EXISTS", "task")
        except IntegrityError as exc:  # another task took the plan period since the use case looked
            holder = self.task_in_slot(task.plan_slot) if task.plan_slot is not None else None
            if holder is None:
                raise
            raise already_drawn(holder) from exc

    def task_in_slot(self, slot: str) -> Task | None:
        row = self._connection.execute(sa.select(TASKS).where(TASKS.c.plan_slot == slot)).first()
        return None if row is None else to_task(row)

    def get(self, id: str) -> Task | None:
        return self._get(TASKS, id, to_task)

    def list(self, page: PageRequest, department_ids: Collection[str] | None = None) -> Page[Task]:
        stmt = sa.select(TASKS)
        if department_ids is not None:
            stmt = stmt.where(TASKS.c.department_id.in_(sorted(department_ids)))
        items, last = keyset_page(self._connection, stmt, TASKS.c.id, page, to_task)
        return Page(items, None if last is None else last.id)

    def set_draw(self, task_id: str, draw_id: str | None) -> None:
        """Records ``draw_id`` on the task; ``NotFound`` when there is no such task."""
        result = self._connection.execute(
            sa.update(TASKS).where(TASKS.c.id == task_id).values(draw_id=draw_id)
        )
        if result.rowcount == 0:
            raise NotFound("task", task_id)
