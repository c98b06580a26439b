"""Nothing withdrawn is hidden: abandoned draws are public (PublicService, with reason, note and manifest
hash, beside the draw that replaced them), re-draw statistics are public per department, and a task may be
abandoned only DUALDRAW_MAX_ABANDONS_PER_TASK times; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.v1 import draws_pb2, results_pb2, tasks_pb2
from dualdraw_client import DualdrawClient, FailedPreconditionError, InvalidArgumentError, NotFoundError
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb

from .conftest import Served, publishable_draw

pytestmark = pytest.mark.draws_in_process


def new_task(client: DualdrawClient) -> tasks_pb2.Task:
    s = demo_directory().suggested_task
    return client.create_task(
        tasks_pb2.Task(
            item_code=s.item_code,
            department_id=s.department_id,
            ratio=decimal_pb(s.ratio),
            team_size=s.team_size,
        )
    )


def test_an_abandoned_draw_is_public_beside_its_replacement_and_counted(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = new_task(client)
    first = client.draw(task.id, as_of=DEMO_AS_OF)
    with pytest.raises(NotFoundError):  # a live draw is not public before its results
        client.abandoned_draw(first.id)
    client.abandon_draw(first.id, "DATA_ERROR", "目录导入不完整")
    shown = client.abandoned_draw(first.id)
    assert (shown.reason, shown.note, shown.manifest_hash) == (
        draws_pb2.ABANDON_REASON_DATA_ERROR,
        "目录导入不完整",
        first.manifest_hash,
    )
    assert shown.seed == first.seed
    assert shown.selected_count == first.selected_count
    assert shown.abandon_time.seconds
    assert shown.replaced_by_draw_id == ""
    second = client.draw(task.id, as_of=DEMO_AS_OF)
    [listed] = client.abandoned_draws(task_id=task.id)
    assert listed.draw_id == first.id
    assert listed.replaced_by_draw_id == second.id
    assert not listed.replacement_published
    assert [d.draw_id for d in client.abandoned_draws(department_id=task.department_id)] == [first.id]
    assert client.abandoned_draws(department_id="no-such-department") == []

    stats = client.redraw_statistics()
    assert stats.max_abandons_per_task == 1
    [department] = [d for d in stats.departments if d.department_id == task.department_id]
    assert (department.draws, department.abandoned, department.tasks_with_abandons) == (2, 1, 1)
    assert dict(department.abandoned_by_reason) == {"DATA_ERROR": 1}
    assert department.department_name


def test_abandoning_beyond_the_cap_is_refused_and_writes_nothing(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = new_task(client)
    first = client.draw(task.id, as_of=DEMO_AS_OF)
    client.abandon_draw(first.id, "RULES_ERROR", "规则文件有误")
    second = client.draw(task.id, as_of=DEMO_AS_OF)
    with pytest.raises(FailedPreconditionError) as caught:
        client.abandon_draw(second.id, "OTHER", "再抽一次")
    assert caught.value.reason == "ABANDON_LIMIT_REACHED"
    assert caught.value.metadata == {"task_id": task.id, "abandoned": "1", "limit": "1"}
    assert client.get_draw(second.id).state == draws_pb2.DRAW_STATE_EXECUTED
    assert [d.draw_id for d in client.abandoned_draws(task_id=task.id)] == [first.id]
    other = client.draw(new_task(client).id, as_of=DEMO_AS_OF)  # the cap is per task
    abandoned = client.abandon_draw(other.id, "TASK_CHANGED", "任务范围调整")
    assert abandoned.state == draws_pb2.DRAW_STATE_ABANDONED


def test_the_reason_is_one_of_a_closed_list(demo_served: Served, client: DualdrawClient) -> None:
    draw = client.draw(new_task(client).id, as_of=DEMO_AS_OF)
    with pytest.raises(InvalidArgumentError) as caught:
        client.abandon_draw(draw.id, "DID_NOT_LIKE_IT", "换一批")
    assert [v.field for v in caught.value.field_violations] == ["reason"]
    assert client.get_draw(draw.id).state == draws_pb2.DRAW_STATE_EXECUTED


@pytest.fixture
def two_abandons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUALDRAW_MAX_ABANDONS_PER_TASK", "2")


def test_the_cap_is_configured(two_abandons: None, demo_served: Served, client: DualdrawClient) -> None:
    task = new_task(client)
    for _ in range(2):
        client.abandon_draw(client.draw(task.id, as_of=DEMO_AS_OF).id, "OTHER", "复核")
    third = client.draw(task.id, as_of=DEMO_AS_OF)
    with pytest.raises(FailedPreconditionError, match="ABANDONS_PER_TASK=2"):
        client.abandon_draw(third.id, "OTHER", "复核")
    assert client.redraw_statistics().max_abandons_per_task == 2


def test_the_public_site_shows_the_abandoned_draw_beside_its_published_replacement(
    demo_served: Served, client: DualdrawClient, tmp_path: Path
) -> None:
    task = new_task(client)
    first = client.draw(task.id, as_of=DEMO_AS_OF)
    client.abandon_draw(first.id, "ORDERED_BY_SUPERVISOR", "上级要求按新名录重抽")
    second = publishable_draw(client, task.id, as_of=DEMO_AS_OF)
    today = Caller("x").today().isoformat()
    for a in client.iter_assignments(second.id):
        client.record_result(
            results_pb2.InspectionResult(
                draw_id=second.id,
                position=a.position,
                outcome=results_pb2.OUTCOME_NO_PROBLEM,
                inspected_on=date_pb(today),
            )
        )
    client.publish_results(second.id)
    site = tmp_path / "site"
    assert dualdraw_cli.main(["publish", "site", str(site), "--server", demo_served.target]) == 0
    listing = (site / "abandoned.html").read_text(encoding="utf-8")
    assert first.id in listing
    assert "上级责令" in listing
    assert "上级要求按新名录重抽" in listing
    assert first.manifest_hash in listing
    assert f'href="draws/{second.id}.html"' in listing
    assert "上级责令：1" in listing  # the department's statistics
    page = (site / "draws" / f"{second.id}.html").read_text(encoding="utf-8")
    assert "此任务此前作废的抽取" in page
    assert first.id in page
