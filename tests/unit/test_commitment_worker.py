"""The object plan's commitments hashed in a worker process: the same bytes as in place, whatever fails."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from dualdraw.adapters import commitment_worker
from dualdraw.adapters.commitment_worker import PIECE_ROWS, CommitmentWorker
from dualdraw.domain.draw.commitments import TextColumn
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRow, PlanRows, RaisedRow, plan_commitments
from dualdraw.service_layer.draw_commit import plan_commitments_beside

SALT_KEY = bytes(range(32))


def a_plan(rows: int, codes: list[str] | None = None) -> ObjectPlan:
    codes = codes or [f"91130102MA{n:08d}" for n in range(rows)]
    departments = TextColumn.of(f"d-{n % 7}" for n in range(len(codes)))
    offices = TextColumn.of("所" + str(n % 3) for n in range(len(codes)))  # not plain ASCII
    conflicts = {codes[1]: ("B2", "B9"), codes[-1]: ("B1",)}
    recent = {codes[1]: ("B3",), codes[len(codes) // 2]: ("B4",)}
    raised = {codes[2]: RaisedRow(codes[2], "A", "C")}
    return ObjectPlan(PlanRows(codes, departments, offices, conflicts, recent), raised)


@pytest.fixture
def worker() -> Iterator[CommitmentWorker]:
    with_worker = CommitmentWorker()
    with_worker.start()
    yield with_worker
    with_worker.close()


def never_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(plan: ObjectPlan, salt_key: bytes) -> dict[str, object]:
        raise AssertionError("hashed in place, not in the worker")

    monkeypatch.setattr(commitment_worker, "plan_commitments", refuse)


def test_the_worker_gives_the_commitments_of_a_plan_of_several_pieces(
    worker: CommitmentWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = a_plan(2 * PIECE_ROWS + 123)
    expected = plan_commitments(plan, SALT_KEY)
    never_in_place(monkeypatch)

    assert worker.begin(plan, SALT_KEY)() == expected
    assert worker.worker_pid is not None
    assert worker.begin(plan, bytes(32))() != expected  # another salt key, other roots: it hashes anew


def test_a_worker_killed_mid_plan_leaves_the_plan_to_be_hashed_in_place(worker: CommitmentWorker) -> None:
    plan = a_plan(3 * PIECE_ROWS)
    expected = plan_commitments(plan, SALT_KEY)
    first = worker.worker_pid
    assert first is not None

    pending = worker.begin(plan, SALT_KEY)
    os.kill(first, signal.SIGKILL)

    assert pending() == expected
    assert worker.begin(plan, SALT_KEY)() == expected  # a fresh worker
    assert worker.worker_pid not in (None, first)


def test_no_answer_in_time_leaves_the_plan_to_be_hashed_in_place() -> None:
    plan = a_plan(2 * PIECE_ROWS)
    late = CommitmentWorker(timeout_s=0.001)
    late.start()
    try:
        pid = late.worker_pid
        assert late.begin(plan, SALT_KEY)() == plan_commitments(plan, SALT_KEY)
        assert late.worker_pid != pid  # the worker that was late is gone
    finally:
        late.close()


def test_a_code_with_a_newline_is_hashed_in_place(worker: CommitmentWorker) -> None:
    plan = a_plan(0, codes=["A", "B\nC", "D"])
    assert worker.begin(plan, SALT_KEY)() == plan_commitments(plan, SALT_KEY)


def test_a_plan_begun_while_another_is_in_the_worker_is_hashed_by_its_caller(
    worker: CommitmentWorker,
) -> None:
    big, small = a_plan(2 * PIECE_ROWS), a_plan(1000)
    first = worker.begin(big, SALT_KEY)
    second = worker.begin(small, SALT_KEY)  # the worker is busy: computed when asked, here
    assert second() == plan_commitments(small, SALT_KEY)
    assert first() == plan_commitments(big, SALT_KEY)
    assert first() == plan_commitments(big, SALT_KEY)  # asked again: the same answer, not hashed again


def test_rows_given_as_a_dict_are_hashed_in_place(worker: CommitmentWorker) -> None:
    rows = {"B": PlanRow("B", "d", "o"), "A": PlanRow("A", "d", "o", ("X",))}
    plan = ObjectPlan(rows, {})
    assert worker.begin(plan, SALT_KEY)() == plan_commitments(plan, SALT_KEY)


def test_a_commit_that_fails_before_asking_leaves_the_worker_free(
    worker: CommitmentWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = a_plan(PIECE_ROWS + 1)
    expected = plan_commitments(plan, SALT_KEY)
    with pytest.raises(LookupError), plan_commitments_beside(worker, plan, SALT_KEY):
        raise LookupError("refused before the entropy")  # as a staffing refusal would
    never_in_place(monkeypatch)
    assert worker.begin(plan, SALT_KEY)() == expected  # the worker was free, and its answer is this plan's


def test_a_plan_over_the_row_limit_is_hashed_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = a_plan(1001)
    expected = plan_commitments(plan, SALT_KEY)
    calls: list[int] = []

    def counted(plan: ObjectPlan, salt_key: bytes) -> dict[str, object]:
        calls.append(len(plan.rows))
        return plan_commitments(plan, salt_key)

    monkeypatch.setattr(commitment_worker, "plan_commitments", counted)
    with CommitmentWorker(max_rows=1000) as limited:
        assert limited.begin(plan, SALT_KEY)() == expected
        assert calls == [1001]  # in place
        assert limited.begin(a_plan(1000), SALT_KEY)() == plan_commitments(a_plan(1000), SALT_KEY)
        assert calls == [1001]  # the worker's
