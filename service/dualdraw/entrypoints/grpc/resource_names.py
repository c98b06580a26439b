"""Resource names (AIP-122) of the task, draw, plan and result collections: one format and one parse
function per collection, the one place a request's ``name`` is taken apart. A malformed name is
``INVALID_ARGUMENT`` with a field violation (reason ``RESOURCE_NAME_MALFORMED``, an empty one
``FIELD_REQUIRED``) at the request field that held it; a well-formed name of nothing is the use case's
``NOT_FOUND``."""

from __future__ import annotations

from dualdraw.domain.errors import invalid


def _segments(name: str, pattern: str, field: str) -> list[str]:
    """The variable segments of ``name`` against ``pattern`` (``draws/{draw}/…``); each is non-empty and
    holds no ``/``."""
    if not name:
        raise invalid(field, f"is required: a resource name {pattern}", "FIELD_REQUIRED")
    parts, shape = name.split("/"), pattern.split("/")
    fits = len(parts) == len(shape) and all(
        (s.startswith("{") and p.strip() == p and p) or p == s for p, s in zip(parts, shape, strict=True)
    )
    if not fits:
        raise invalid(field, f"{name!r} is not a resource name {pattern}", "RESOURCE_NAME_MALFORMED")
    return [p for p, s in zip(parts, shape, strict=True) if s.startswith("{")]


def task_name(task_id: str) -> str:
    return f"tasks/{task_id}"


def parse_task(name: str, field: str = "name") -> str:
    """The task id of ``tasks/{task}``."""
    return _segments(name, "tasks/{task}", field)[0]


def draw_name(draw_id: str) -> str:
    return f"draws/{draw_id}"


def parse_draw(name: str, field: str = "name") -> str:
    """The draw id of ``draws/{draw}``."""
    return _segments(name, "draws/{draw}", field)[0]


def plan_name(plan_id: str) -> str:
    return f"plans/{plan_id}"


def parse_plan(name: str, field: str = "name") -> str:
    """The plan id of ``plans/{plan}``."""
    return _segments(name, "plans/{plan}", field)[0]


def result_name(draw_id: str, position: int) -> str:
    """The result of one assignment, named as the follow-ups and objections name it."""
    return f"draws/{draw_id}/assignments/{position}/result"


def parse_result(name: str, field: str = "name") -> tuple[str, int]:
    """The draw id and assignment position of ``draws/{draw}/assignments/{position}/result``; the position
    is a whole number from 1."""
    draw_id, position = _segments(name, "draws/{draw}/assignments/{position}/result", field)
    if not position.isascii() or not position.isdigit() or int(position) < 1:
        raise invalid(
            field, f"{name!r}: the position must be a whole number from 1", "RESOURCE_NAME_MALFORMED"
        )
    return draw_id, int(position)
