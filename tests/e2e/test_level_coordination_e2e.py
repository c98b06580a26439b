"""Draws of different levels for the same item in one year (Art. 8, 15), over the real server on SQLite and
PostgreSQL: an object a higher or lower level's draw already selected is taken out before entropy — left to
that draw (``drawn-by-other-level``) or joined into its inspection (``joined-to-other-level``) as the rules
say — so central and branch draws never select the same object twice; a committed, unexecuted draw of
another level blocks the commit."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from dualdraw.domain.draw.integrity import check_stored_draw
from dualdraw.service_layer.draw_integrity import stored_draw
from dualdraw.v1 import draws_pb2, draws_pb2_grpc, tasks_pb2, verification_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient, FailedPreconditionError
from dualdraw_client.decimals import decimal_pb

from .conftest import Served
from .test_task_policy_e2e import AS_OF, GENERAL, NB, assignments, load_world, manifest_of, task


@pytest.fixture
def world(served: Served) -> Served:
    load_world(served)
    return served


def selected(client: DualdrawClient, draw_id: str) -> set[str]:
    return {a.credit_code for a in assignments(client, draw_id)}


def checks(served: Served, client: DualdrawClient, draw_id: str) -> None:
    report = verify_bundle(client.export_draw_bundle(draw_id))
    assert report.ok, report.problem
    with served.running.services.unit_of_work() as uow:
        difference = check_stored_draw(stored_draw(uow, draw_id))
    assert difference is None, difference


@pytest.mark.parametrize("central_first", [True, False])
def test_central_and_branch_draws_of_one_year_never_select_the_same_object_twice(
    world: Served, client: DualdrawClient, central_first: bool
) -> None:
    central = task(client, "p-zj", central=True, ratio="0.5")
    branch = task(client, "c-nb")
    first, second = (central, branch) if central_first else (branch, central)
    a = client.draw(first.id, as_of=AS_OF)
    b = client.draw(second.id, as_of=AS_OF + dt.timedelta(days=1))
    nb = {o.credit_code for o in NB}
    assert a.selected_count > 0
    # The second draw finds something unless the first took every Ningbo object (central first, ratio 0.5
    # of 14: a 0.2 % chance with a random seed).
    assert b.selected_count > 0 or nb <= selected(client, a.id)
    assert not selected(client, a.id) & selected(client, b.id)
    excluded = [e for e in client.iter_exclusions(b.id) if e.rule_id == "drawn-by-other-level"]
    assert {e.credit_code for e in excluded} == selected(client, a.id) & nb
    for e in excluded:
        assert e.category == draws_pb2.EXCLUSION_CATEGORY_OTHER_LEVEL
        assert a.id in e.reason
        assert list(e.evidence) == [a.id]
    listed = manifest_of(client, b.id)["objects"]["other_level"]
    assert listed == sorted([e.credit_code, a.id] for e in excluded)
    assert manifest_of(client, a.id)["objects"]["other_level"] == []
    checks(world, client, a.id)
    checks(world, client, b.id)


def test_an_ancestors_draw_of_another_item_is_no_reason(world: Served, client: DualdrawClient) -> None:
    # The province draws the general item over Ningbo only, so whatever the seed it selects Ningbo objects.
    general = client.create_task(
        tasks_pb2.Task(
            item_code=GENERAL,
            department_id="p-zj",
            ratio=decimal_pb("0.2"),
            team_size=2,
            title="general item over Ningbo",
            scope=tasks_pb2.TaskScope(region_code="330200"),
            policy=tasks_pb2.TaskPolicy(),
        )
    )
    province = client.draw(general.id, as_of=AS_OF)
    drawn = selected(client, province.id)
    assert drawn
    assert drawn <= {o.credit_code for o in NB}
    city = client.draw(task(client, "c-nb").id, as_of=AS_OF)
    assert selected(client, city.id) == {o.credit_code for o in NB}


def test_a_joined_object_is_recorded_before_entropy_and_listed_as_one_joint_inspection(
    world: Served, client: DualdrawClient
) -> None:
    province = client.draw(task(client, "p-zj").id, as_of=AS_OF)  # the province draws the whole subtree
    city = client.draw(
        task(client, "c-nb", other_level=tasks_pb2.OTHER_LEVEL_HANDLING_JOIN).id,
        as_of=AS_OF + dt.timedelta(days=1),
    )
    nb = {o.credit_code for o in NB}
    assert city.selected_count == 0
    joined = list(client.iter_exclusions(city.id))
    assert {(e.credit_code, e.rule_id) for e in joined} == {(c, "joined-to-other-level") for c in nb}
    assert manifest_of(client, city.id)["task"]["policy"]["other_level"] == "join"
    assert manifest_of(client, city.id)["objects"]["other_level"] == sorted([c, province.id] for c in nb)
    checks(world, client, city.id)
    with grpc.insecure_channel(world.target) as channel:
        stub = draws_pb2_grpc.DrawServiceStub(channel)
        merged = stub.ListJointInspections(draws_pb2.ListJointInspectionsRequest(year=2026)).joint_inspections
    assert {j.credit_code for j in merged} == nb
    for j in merged:
        assert list(j.department_ids) == ["p-zj", "c-nb"]
        assert list(j.draw_ids) == [province.id, city.id]
        assert j.team[0].leader


def test_a_committed_draw_of_another_level_blocks_the_commit_until_it_executes(
    world: Served, client: DualdrawClient
) -> None:
    future = verification_pb2.EntropySource(
        kind=verification_pb2.ENTROPY_SOURCE_KIND_BEACON, beacon="drand-quicknet", beacon_round=10**9
    )
    pending = client.commit_draw(task(client, "p-zj").id, future, as_of=AS_OF)
    for department in ("c-nb", "d-sc"):
        with pytest.raises(FailedPreconditionError) as refused:
            client.commit_draw(task(client, department).id, future, as_of=AS_OF)
        assert refused.value.reason == "PENDING_DRAW_IN_SCOPE"
        assert pending.id in str(refused.value)
    other_item = client.commit_draw(task(client, "c-nb", item=GENERAL, ratio="0.2").id, future, as_of=AS_OF)
    assert other_item.state == draws_pb2.DRAW_STATE_COMMITTED
    # The other direction: a branch's pending draw blocks its ancestor's commit of the same item.
    for draw in (pending, other_item):
        client.abandon_draw(draw.id, "OTHER", "the branch draws first")
    branch = client.commit_draw(task(client, "d-sc").id, future, as_of=AS_OF)
    with pytest.raises(FailedPreconditionError) as refused:
        client.commit_draw(task(client, "p-zj").id, future, as_of=AS_OF)  # not central: no shared history
    assert refused.value.reason == "PENDING_DRAW_IN_SCOPE"
    assert branch.id in str(refused.value)
