"""Inspection items and tasks."""

from __future__ import annotations

from collections.abc import Iterator

from dualdraw.v1 import items_pb2, tasks_pb2

from ..names import named
from .base import ClientBase, new_request_id


class CatalogueCalls(ClientBase):
    """The random-inspection item list and the tasks drawn from it."""

    # -- inspection items -------------------------------------------------------------------------------

    def create_item(
        self, item: items_pb2.InspectionItem, *, request_id: str | None = None
    ) -> items_pb2.InspectionItem:
        """Creates an inspection item (``create_time`` is set by the server); returns it as stored."""
        request = items_pb2.CreateInspectionItemRequest(item=item, request_id=request_id or new_request_id())
        return self._call(self._items.CreateInspectionItem, request)

    def get_item(self, code: str) -> items_pb2.InspectionItem:
        """The inspection item with this code."""
        return self._call(
            self._items.GetInspectionItem, items_pb2.GetInspectionItemRequest(name=named("items", code))
        )

    def list_items(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> items_pb2.ListInspectionItemsResponse:
        """One page of the item list."""
        request = items_pb2.ListInspectionItemsRequest(page_size=page_size, page_token=page_token)
        return self._call(self._items.ListInspectionItems, request)

    def iter_items(self, *, page_size: int = 0) -> Iterator[items_pb2.InspectionItem]:
        """Every inspection item, following page tokens."""
        return self._follow(
            lambda token: self.list_items(page_size=page_size, page_token=token), lambda page: page.items
        )

    # -- tasks -------------------------------------------------------------------------------------------

    def create_task(self, task: tasks_pb2.Task, *, request_id: str | None = None) -> tasks_pb2.Task:
        """Creates a task (the server assigns ``id`` and ``create_time``); returns it as stored."""
        request = tasks_pb2.CreateTaskRequest(task=task, request_id=request_id or new_request_id())
        return self._call(self._tasks.CreateTask, request)

    def get_task(self, task_id: str) -> tasks_pb2.Task:
        """The task with this id (the call names it ``tasks/{task_id}``)."""
        return self._call(self._tasks.GetTask, tasks_pb2.GetTaskRequest(name=f"tasks/{task_id}"))

    def list_tasks(
        self, *, department_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> tasks_pb2.ListTasksResponse:
        """One page of tasks (``department_id``: only that department's)."""
        request = tasks_pb2.ListTasksRequest(
            department_id=department_id, page_size=page_size, page_token=page_token
        )
        return self._call(self._tasks.ListTasks, request)

    def iter_tasks(self, *, department_id: str = "", page_size: int = 0) -> Iterator[tasks_pb2.Task]:
        """Every task (of ``department_id``), following page tokens."""
        return self._follow(
            lambda token: self.list_tasks(department_id=department_id, page_size=page_size, page_token=token),
            lambda page: page.tasks,
        )
