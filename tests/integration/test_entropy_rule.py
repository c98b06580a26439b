"""Entropy no insider knows, decided in the use cases: outside development no path (one-step draw, commit,
the runner, the one-step ``Draw``'s choice) makes a draw from a local secret, and a draw made from one in
development is never published; abandon-and-redraw of a plan entry's period stops at the cap. Through the
use cases on a real SQLite and PostgreSQL store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from dualdraw.adapters.store import Store
from dualdraw.domain.draw.beacon import DRAND_QUICKNET
from dualdraw.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from dualdraw.domain.results import Outcome, ResultEntry
from dualdraw.service_layer import draw_lifecycle, publication, redraws, results
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.draw_runner import InProcessDraws, draw_at_once
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import LOCAL_SECRET_MARK, EntropyPolicy

from .test_annual_plan import CALLER, NO_RULES, NoExclusions, planned_task, published_plan

PRODUCTION = EntropyPolicy()
DEVELOPMENT = EntropyPolicy(allow_local=True)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The demo with its item list published a month before ``NOW``: plans may name its items."""
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    publication.publish_item_list(
        store.unit_of_work(),
        effective_from=dt.date(2026, 1, 1),
        change_summary="first list",
        change_legal_basis="Art. 5",
        caller=Caller(actor="planner", now=dt.datetime(2025, 12, 20, tzinfo=dt.UTC)),  # published before 2026
    )
    yield store
    store.dispose()


def _task_id(store: Store) -> str:
    plan_id, entry_id = published_plan(store)
    return planned_task(store, plan_id, entry_id).id


def test_no_path_draws_from_a_local_secret_outside_development(store: Store) -> None:
    task_id = _task_id(store)
    with pytest.raises(FailedPrecondition) as one_step:
        run_draw(
            store.unit_of_work(), NoExclusions(), NO_RULES, task_id=task_id, as_of=None, caller=CALLER,
            entropy=PRODUCTION,
        )  # fmt: skip
    assert one_step.value.reason == "LOCAL_ENTROPY_FORBIDDEN"
    with pytest.raises(FailedPrecondition) as committed:
        draw_lifecycle.commit_draw(
            store.unit_of_work(), NoExclusions(), NO_RULES, task_id=task_id, as_of=None, caller=CALLER,
            declaration={"kind": "local-secret"}, entropy=PRODUCTION,
        )  # fmt: skip
    assert committed.value.reason == "LOCAL_ENTROPY_FORBIDDEN"
    runner = InProcessDraws(store.unit_of_work, NoExclusions())  # a runner without a policy: production
    with pytest.raises(FailedPrecondition) as by_runner:
        runner.run_draw(NO_RULES, task_id=task_id, as_of=None, caller=CALLER)
    assert by_runner.value.reason == "LOCAL_ENTROPY_FORBIDDEN"
    # A caller that asks a production runner for a local draw through a development policy is still refused.
    with pytest.raises(FailedPrecondition) as mixed:
        draw_at_once(
            runner, DEVELOPMENT, NO_RULES, task_id=task_id, as_of=None, caller=CALLER, beacon_round=0
        )
    assert mixed.value.reason == "LOCAL_ENTROPY_FORBIDDEN"
    with store.unit_of_work() as uow:
        task = uow.tasks.get(task_id)
        assert task is not None
        assert not task.draw_id  # nothing written by any of them

    # The one-step Draw outside development commits to the first beacon round after the delay.
    draw = draw_at_once(
        runner, PRODUCTION, NO_RULES, task_id=task_id, as_of=None, caller=CALLER, beacon_round=0
    )
    assert draw.state == "committed"
    assert draw.entropy_source == "beacon"
    round_ = DRAND_QUICKNET.first_round_after(CALLER.now + dt.timedelta(seconds=PRODUCTION.beacon_delay_s))
    assert f'"round":{round_}' in draw.manifest_json


def test_a_development_draw_is_executed_at_once_and_never_published(store: Store) -> None:
    task_id = _task_id(store)
    runner = InProcessDraws(store.unit_of_work, NoExclusions(), DEVELOPMENT)
    draw = draw_at_once(
        runner, DEVELOPMENT, NO_RULES, task_id=task_id, as_of=None, caller=CALLER, beacon_round=0
    )
    assert draw.state == "executed"
    assert draw.entropy_source.startswith("local-secret")
    with store.unit_of_work() as uow:
        record = uow.draws.get_record(draw.id)
        assert record is not None
        positions = [a.position for a in record.assignments]
    assert positions
    for position in positions:
        results.record_result(
            store.unit_of_work(),
            draw_id=draw.id,
            position=position,
            entry=ResultEntry(outcome=Outcome.NO_PROBLEM, inspected_on=CALLER.today()),
            caller=CALLER,
        )
    with pytest.raises(FailedPrecondition) as refused:
        publication.publish_draw(store.unit_of_work(), publication.HolidayCalendar(), draw.id, CALLER)
    assert refused.value.reason == "LOCAL_ENTROPY_NOT_PUBLISHABLE"
    assert refused.value.metadata == {"draw_id": draw.id}
    assert LOCAL_SECRET_MARK in str(refused.value)
    with store.unit_of_work() as uow:
        assert uow.publications.latest(draw.id) is None
    assert publication.public_draws(store.unit_of_work()) == []
    # Once abandoned it is public, and marked there too.
    draw_lifecycle.abandon_draw(
        store.unit_of_work(), draw_id=draw.id, reason="OTHER", note="开发环境试抽", caller=CALLER
    )
    shown = redraws.public_abandoned_draw(store.unit_of_work(), draw.id)
    assert shown.entropy_note == LOCAL_SECRET_MARK
    assert shown.entropy_source.startswith("local-secret")


@pytest.mark.parametrize("cap", [1, 2])
def test_a_plan_entry_period_is_redrawn_exactly_up_to_the_abandon_cap(store: Store, cap: int) -> None:
    plan_id, entry_id = published_plan(store)
    task_id = planned_task(store, plan_id, entry_id).id
    draws = []
    for n in range(cap + 1):
        draw = run_draw(
            store.unit_of_work(), NoExclusions(), NO_RULES, task_id=task_id, as_of=None, caller=CALLER,
            entropy=DEVELOPMENT,
        ).draw  # fmt: skip
        draws.append(draw.id)
        if n < cap:
            abandoned = draw_lifecycle.abandon_draw(
                store.unit_of_work(),
                draw_id=draw.id,
                reason="DATA_ERROR",
                note=f"第{n + 1}次作废",
                caller=CALLER,
                max_abandons=cap,
            )
            assert abandoned.state == "abandoned"
    with pytest.raises(FailedPrecondition) as capped:
        draw_lifecycle.abandon_draw(
            store.unit_of_work(),
            draw_id=draws[-1],
            reason="OTHER",
            note="再抽",
            caller=CALLER,
            max_abandons=cap,
        )
    assert capped.value.reason == "ABANDON_LIMIT_REACHED"
    assert capped.value.metadata["limit"] == str(cap)
    assert capped.value.metadata["plan_slot"] == f"{plan_id}/{entry_id}/1"
    # A new task for the same entry and period is no way around the cap: the period is held.
    with pytest.raises(FailedPrecondition) as held:
        planned_task(store, plan_id, entry_id)
    assert held.value.reason == "PLAN_ENTRY_ALREADY_DRAWN"
    with store.unit_of_work() as uow:
        assert uow.lifecycle.abandoned_of_task(task_id) == cap


def test_an_abandonment_needs_a_reason_code_from_the_closed_list(store: Store) -> None:
    task_id = _task_id(store)
    draw = run_draw(
        store.unit_of_work(), NoExclusions(), NO_RULES, task_id=task_id, as_of=None, caller=CALLER,
        entropy=DEVELOPMENT,
    ).draw  # fmt: skip
    for reason, note in (("BORED", "不喜欢结果"), ("", "没有原因"), ("OTHER", "  ")):
        with pytest.raises(InvalidArgument) as refused:
            draw_lifecycle.abandon_draw(
                store.unit_of_work(), draw_id=draw.id, reason=reason, note=note, caller=CALLER
            )
        assert refused.value.violations[0].field == ("note" if reason == "OTHER" else "reason")
    with store.unit_of_work() as uow:
        current = uow.draws.get(draw.id)
        assert current is not None
        assert current.state == "executed"
    with pytest.raises(AlreadyExists):
        run_draw(
            store.unit_of_work(), NoExclusions(), NO_RULES, task_id=task_id, as_of=None, caller=CALLER,
            entropy=DEVELOPMENT,
        )  # fmt: skip
