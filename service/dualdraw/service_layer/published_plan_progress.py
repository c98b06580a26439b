"""The public progress of a published plan: per entry and period, what was published of it.

Read through the public read model only (``publication.public_draws`` / ``public_results`` and
``redraws.public_abandoned_draws``), so nothing unpublished is counted: a rehearsal, a draw made with a
local secret, a draw whose results are not published, a result not yet published all count as nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from dualdraw.domain.plan.model import PlanVersion, periods
from dualdraw.service_layer import publication, redraws
from dualdraw.service_layer.ports import UnitOfWork


class PeriodState(StrEnum):
    """Where a period stands for the public: not begun, running, drawn and published, or overdue."""

    UPCOMING = "upcoming"
    OPEN = "open"
    PUBLISHED = "published"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class PublishedPeriodProgress:
    """One period of one entry, counted from published data only."""

    entry_id: str
    item_code: str
    period: int
    start: dt.date
    end: dt.date
    planned_draws: int
    draws_published: int
    objects_drawn: int
    results_published: int
    results_on_time: int
    abandoned_draws: int
    state: PeriodState


def published_plan_progress(
    uow: UnitOfWork, plan: PlanVersion, today: dt.date
) -> list[PublishedPeriodProgress]:
    """Per entry and period of ``plan`` (a published version): one planned draw; published draws, the objects
    they drew, their published results (the current version of each) and how many of those were published
    on or before the Art. 14 deadline; the abandoned draws the public list shows. A period that
    ended (before ``today``) without a published draw is overdue."""
    with uow:
        slots = {
            t.id: (t.plan.entry_id, t.plan.period)
            for t in uow.plans.tasks_of(plan.plan_id)
            if t.plan is not None and not t.rehearsal
        }
    draws = [d for d in publication.public_draws(uow) if d.task_id in slots]
    drawn: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for d in draws:
        counts = drawn[slots[d.task_id]]
        shown = publication.public_results(uow, draw_id=d.draw_id)
        counts[0] += 1
        counts[1] += d.selected_count
        counts[2] += len(shown)
        counts[3] += sum(1 for r in shown if r.on_time)
    abandoned: dict[tuple[str, int], int] = defaultdict(int)
    for task_id, slot in slots.items():
        abandoned[slot] += len(redraws.public_abandoned_draws(uow, task_id=task_id))
    rows = []
    for entry in plan.entries:
        for period in periods(entry):
            key = (entry.id, period.index)
            published, objects, results_shown, on_time = drawn.get(key, (0, 0, 0, 0))
            rows.append(
                PublishedPeriodProgress(
                    entry.id,
                    entry.item_code,
                    period.index,
                    period.start,
                    period.end,
                    1,
                    published,
                    objects,
                    results_shown,
                    on_time,
                    abandoned.get(key, 0),
                    _state(published, period.start, period.end, today),
                )
            )
    return rows


def _state(published: int, start: dt.date, end: dt.date, today: dt.date) -> PeriodState:
    if published:
        return PeriodState.PUBLISHED
    if end < today:
        return PeriodState.OVERDUE
    return PeriodState.OPEN if start <= today else PeriodState.UPCOMING
