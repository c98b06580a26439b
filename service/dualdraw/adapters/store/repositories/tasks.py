"""Tasks (``TaskRepository``)."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa

from dualdraw.adapters.store.repositories.base import SqlRepository, keyset_page
from dualdraw.adapters.store.rows import TASKS, task_values, to_task
from dualdraw.domain.errors import NotFound
from dualdraw.domain.model import Task
from dualdraw.service_layer.ports import Page, PageRequest


class SqlTaskRepository(SqlRepository):
    """Tasks (``TaskRepository``)."""

    def add(self, task: Task) -> None:
        """Raises ``AlreadyExists`` (reason ``TASK_EXISTS``) when the id is taken."""
        self._add_new(TASKS, task_values(task), "TASK_EXISTS", "task")

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
