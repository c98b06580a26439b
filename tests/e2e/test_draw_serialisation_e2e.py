"""Frequency caps hold under concurrent draws: draws whose inspection history overlaps are serialised in the
database, and a committed draw that has not executed yet blocks later commits of its scope.

Two capped tasks of one department drawn at the same moment, in one server (draws in the server's own
process) on SQLite and PostgreSQL, and across two ``dualdraw serve`` processes on one PostgreSQL database;
then the two-step path (commit, commit, execute) on both databases.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.v1 import draws_pb2, tasks_pb2
from dualdraw_client import DualdrawClient, FailedPreconditionError
from dualdraw_client.decimals import decimal_pb

from .conftest import Served
from .server_processes import server_processes
from .test_task_policy_e2e import AS_OF, HZ, KEY, SC, load_world, load_world_into

HZ_SCOPE = {o.credit_code for o in HZ + SC}
"""The objects a non-central task of c-hz draws from (its own and its subtree's)."""
ROUNDS = 4


def capped_task(client: DualdrawClient, department: str = "c-hz", **policy: object) -> tasks_pb2.Task:
    """A task drawing every eligible object (ratio 1) under the default cap of one inspection a year."""
    return client.create_task(
        tasks_pb2.Task(
            item_code=KEY,
            department_id=department,
            ratio=decimal_pb("1"),
            team_size=2,
            title="capped",
            policy=tasks_pb2.TaskPolicy(**policy),  # type: ignore[arg-type]
        )
    )


def selected(client: DualdrawClient, draw_id: str) -> list[str]:
    return [a.credit_code for a in client.iter_assignments(draw_id)]


def draw_together(targets: list[str], task_ids: list[str]) -> list[draws_pb2.Draw]:
    """Draws every task at the same moment, task ``n`` through ``targets[n % len(targets)]``."""
    start = threading.Barrier(len(task_ids))
    drawn: list[draws_pb2.Draw | BaseException] = [RuntimeError("not drawn")] * len(task_ids)

    def one(n: int) -> None:
        with DualdrawClient(targets[n % len(targets)], actor="racer", timeout=120) as c:
            start.wait()
            try:
                drawn[n] = c.draw(task_ids[n], as_of=AS_OF)
            except BaseException as exc:  # reported below, with the other thread's outcome
                drawn[n] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(task_ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [d for d in drawn if isinstance(d, BaseException)]
    assert not failed, failed
    return [d for d in drawn if isinstance(d, draws_pb2.Draw)]


def check_rounds(client: DualdrawClient, targets: list[str]) -> None:
    """Draws two capped tasks of c-hz at once, ``ROUNDS`` times; abandons both draws after each round."""
    for _ in range(ROUNDS):
        tasks = [capped_task(client), capped_task(client)]
        draws = draw_together(targets, [t.id for t in tasks])
        counted = Counter(code for d in draws for code in selected(client, d.id))
        assert set(counted) == HZ_SCOPE
        past_cap = {code: n for code, n in counted.items() if n > 1}
        assert not past_cap, f"drawn past the cap of 1: {past_cap}"
        assert sorted(d.selected_count for d in draws) == [0, len(HZ_SCOPE)]
        for d in draws:  # abandoned draws do not count: the next round starts from no history
            client.abandon_draw(d.id, "OTHER", "concurrency round done")


@pytest.mark.draws_in_process
def test_two_capped_draws_of_one_department_at_once_never_select_an_object_twice(
    served: Served, client: DualdrawClient
) -> None:
    load_world(served)
    check_rounds(client, [served.target])


@pytest.fixture
def two_servers(database_url: str) -> Iterator[list[str]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("several server processes share one PostgreSQL database")
    store = Store.from_url(database_url)
    load_world_into(store.unit_of_work)
    store.dispose()
    with server_processes(database_url, 2) as targets:
        yield targets


@pytest.mark.slow
def test_two_capped_draws_through_two_server_processes_never_select_an_object_twice(
    two_servers: list[str],
) -> None:
    with DualdrawClient(two_servers[0], actor="racer", timeout=120) as client:
        check_rounds(client, two_servers)


def test_a_committed_draw_blocks_commits_of_its_scope_until_it_executes(
    served: Served, client: DualdrawClient
) -> None:
    load_world(served)
    first = client.commit_draw(capped_task(client).id, as_of=AS_OF)
    assert first.state == draws_pb2.DRAW_STATE_COMMITTED
    blocked = [
        ("two-step, same department", lambda: client.commit_draw(capped_task(client).id, as_of=AS_OF)),
        ("one step, same department", lambda: client.draw(capped_task(client).id, as_of=AS_OF)),
        (
            "central draw of the province",
            lambda: client.draw(capped_task(client, "p-zj", central=True).id, as_of=AS_OF),
        ),
        (
            "no policy, same department",
            lambda: client.commit_draw(plain_task(client, "c-hz").id, as_of=AS_OF),
        ),
    ]
    for what, attempt in blocked:
        with pytest.raises(FailedPreconditionError) as refused:
            attempt()
        assert refused.value.reason == "PENDING_DRAW_IN_SCOPE", what
        assert refused.value.metadata["draw_id"] == first.id, what
        assert first.id in refused.value.message, what
    # Another city shares nothing with c-hz: its draw goes ahead.
    assert client.draw(capped_task(client, "c-nb").id, as_of=AS_OF).selected_count > 0

    executed = client.execute_draw(first.id)
    assert executed.state == draws_pb2.DRAW_STATE_EXECUTED
    taken = set(selected(client, first.id))
    assert taken == HZ_SCOPE
    second = client.commit_draw(capped_task(client).id, as_of=AS_OF)
    assert second.eligible_count == 0
    capped = {e.credit_code for e in client.iter_exclusions(second.id) if e.rule_id == "frequency-cap"}
    assert capped == taken
    assert not set(selected(client, client.execute_draw(second.id).id)) & taken


def test_abandoning_a_committed_draw_frees_its_scope(served: Served, client: DualdrawClient) -> None:
    load_world(served)
    first = client.commit_draw(capped_task(client).id, as_of=AS_OF)
    with pytest.raises(FailedPreconditionError):
        client.commit_draw(capped_task(client).id, as_of=AS_OF)
    client.abandon_draw(first.id, "OTHER", "drawn again")
    again = client.draw(capped_task(client).id, as_of=AS_OF)
    assert set(selected(client, again.id)) == HZ_SCOPE


def test_draws_without_a_cap_or_history_rule_do_not_block_each_other(
    served: Served, client: DualdrawClient
) -> None:
    load_world(served)
    pending = client.commit_draw(plain_task(client, "c-hz").id, as_of=AS_OF)
    other = client.commit_draw(plain_task(client, "c-hz").id, as_of=AS_OF)
    uncapped = client.draw(capped_task(client, no_frequency_cap=True).id, as_of=AS_OF)
    assert {pending.state, other.state, uncapped.state} == {
        draws_pb2.DRAW_STATE_COMMITTED,
        draws_pb2.DRAW_STATE_EXECUTED,
    }


def plain_task(client: DualdrawClient, department: str) -> tasks_pb2.Task:
    """A task with the frequency cap switched off and no recent-inspections rule: it reads no inspection
    history of its own department (only other levels' draws of its item)."""
    return client.create_task(
        tasks_pb2.Task(
            item_code=KEY,
            department_id=department,
            ratio=decimal_pb("1"),
            team_size=2,
            title="plain",
            policy=tasks_pb2.TaskPolicy(no_frequency_cap=True),
        )
    )
