"""The public progress of a published plan counts published data only: a draw made with a local secret, its
recorded results and a rehearsal count as nothing (the staff progress counts them), an abandoned draw counts
as the public abandoned list shows it, a period past its end without a published draw is overdue."""

from __future__ import annotations

import datetime as dt

from dualdraw.adapters.store import Store
from dualdraw.domain.results import Outcome, ResultEntry
from dualdraw.service_layer import plans, results
from dualdraw.service_layer.draw_abandon import abandon_draw
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.plan_estimates import plan_progress
from dualdraw.service_layer.ports import PageRequest
from dualdraw.service_layer.published_plan_progress import PeriodState, published_plan_progress

from .test_annual_plan import CALLER, DEVELOPMENT, NO_RULES, NoExclusions, planned_task, published_plan
from .test_annual_plan import store as store  # the fixture

TODAY = dt.date(2026, 12, 1)


def _draw(store: Store, task_id: str, as_of: dt.date | None = None) -> str:
    return run_draw(
        store.unit_of_work(),
        NoExclusions(),
        NO_RULES,
        task_id=task_id,
        as_of=as_of,
        caller=CALLER,
        entropy=DEVELOPMENT,
    ).draw.id


def test_unpublished_draws_results_and_rehearsals_are_not_counted(store: Store) -> None:
    plan_id, entry_id = published_plan(store, frequency=4)  # today (2026-12-01) is in period 4
    task = planned_task(store, plan_id, entry_id)
    abandoned = _draw(store, task.id)
    abandon_draw(store.unit_of_work(), draw_id=abandoned, reason="DATA_ERROR", note="目录有误", caller=CALLER)
    drawn = _draw(store, task.id)  # a local secret: never publishable
    with store.unit_of_work() as uow:
        positions = [a.position for a in uow.draws.list_assignments(drawn, PageRequest(size=1000)).items]
    assert positions
    for position in positions:
        results.record_result(
            store.unit_of_work(),
            draw_id=drawn,
            position=position,
            entry=ResultEntry(outcome=Outcome.NO_PROBLEM, inspected_on=TODAY),
            caller=CALLER,
        )
    rehearsal = planned_task(store, plan_id, entry_id, rehearsal=True, period=2)
    _draw(store, rehearsal.id, as_of=dt.date(2026, 5, 1))

    plan = plans.get_plan(store.unit_of_work(), plan_id)
    staff = plan_progress(store.unit_of_work(), plan, TODAY)
    assert staff[3].drawn == staff[3].inspected == len(positions)  # the staff view counts the unpublished

    public = published_plan_progress(store.unit_of_work(), plan, TODAY)
    assert [(p.entry_id, p.period) for p in public] == [(entry_id, n) for n in (1, 2, 3, 4)]
    assert [p.state for p in public] == [PeriodState.OVERDUE] * 3 + [PeriodState.OPEN]
    assert all(p.planned_draws == 1 for p in public)
    for p in public:
        assert (p.draws_published, p.objects_drawn, p.results_published, p.results_on_time) == (0, 0, 0, 0)
    assert [p.abandoned_draws for p in public] == [0, 0, 0, 1]  # as the public abandoned list shows it
    assert (public[0].start, public[-1].end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
