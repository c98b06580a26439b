"""A draw's commitments hashed in a worker process: the same bytes as in place, whatever fails."""

from __future__ import annotations

import gc
import os
import random
import signal
from collections.abc import Iterator

import pytest

from dualdraw.adapters import commitment_worker
from dualdraw.adapters.commitment_worker import PIECE_ROWS, CommitmentWorker
from dualdraw.domain.draw.commitments import EligibleEntry, TextColumn, eligible_root
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRow, PlanRows, RaisedRow, plan_commitments
from dualdraw.service_layer.commitment_hashing import HashedInPlace
from dualdraw.service_layer.ports import DrawHashing, Roots

SALT_KEY = bytes(range(32))


class Draw:
    """The in-scope objects of a draw, which of them are eligible, and the eligible ones' plan."""

    def __init__(self, in_scope: int, codes: list[str] | None = None, seed: int = 1) -> None:
        rnd = random.Random(seed)
        self.codes = codes or [f"91130102MA{n:08d}" for n in range(in_scope)]
        self.classes = [rnd.choice("ABCD") for _ in self.codes]
        self.keep = [rnd.random() < 0.9 for _ in self.codes]
        eligible = [c for c, kept in zip(self.codes, self.keep, strict=True) if kept]
        departments = TextColumn.of(f"d-{n % 7}" for n in range(len(eligible)))
        offices = TextColumn.of("所" + str(n % 3) for n in range(len(eligible)))  # not plain ASCII
        conflicts = {eligible[1]: ("B2", "B9"), eligible[-1]: ("B1",)}
        recent = {eligible[1]: ("B3",), eligible[len(eligible) // 2]: ("B4",)}
        raised = {eligible[2]: RaisedRow(eligible[2], "A", "C")}
        self.plan = ObjectPlan(PlanRows(eligible, departments, offices, conflicts, recent), raised)
        self.entries = [
            EligibleEntry(c, r, r)
            for c, r, kept in zip(self.codes, self.classes, self.keep, strict=True)
            if kept
        ]

    def expected(self, salt_key: bytes = SALT_KEY) -> Roots:
        return eligible_root(self.entries, salt_key), plan_commitments(self.plan, salt_key)

    def hashing(self, committer: CommitmentWorker, salt_key: bytes = SALT_KEY) -> DrawHashing:
        return committer.draw_hashing(self.codes, self.classes, salt_key)


@pytest.fixture
def worker() -> Iterator[CommitmentWorker]:
    with CommitmentWorker() as started:
        yield started


def never_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("hashed in place, not in the worker")

    monkeypatch.setattr(commitment_worker, "HashedInPlace", refuse)


def test_the_worker_gives_the_roots_of_a_draw_of_several_pieces(
    worker: CommitmentWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    draw = Draw(2 * PIECE_ROWS + 123)
    never_in_place(monkeypatch)

    hashing = draw.hashing(worker)
    assert list(hashing.pending) == []  # nothing for the draw to do meanwhile
    answer = hashing.roots(draw.keep, draw.plan)
    assert answer() == draw.expected()
    assert answer() == draw.expected()  # asked again: the same answer

    other = draw.hashing(worker, bytes(32))  # the worker is free again; another salt key, other roots
    assert other.roots(None, draw.plan)() == (None, plan_commitments(draw.plan, bytes(32)))


def test_a_worker_killed_mid_draw_leaves_the_draw_to_hash_in_place(worker: CommitmentWorker) -> None:
    draw = Draw(3 * PIECE_ROWS)
    first = worker.worker_pid
    assert first is not None

    hashing = draw.hashing(worker)
    os.kill(first, signal.SIGKILL)

    assert hashing.roots(draw.keep, draw.plan)() == draw.expected()
    assert draw.hashing(worker).roots(draw.keep, draw.plan)() == draw.expected()  # a fresh worker
    assert worker.worker_pid not in (None, first)


def test_no_answer_in_time_leaves_the_draw_to_hash_in_place() -> None:
    draw = Draw(2 * PIECE_ROWS)
    with CommitmentWorker(timeout_s=0.001) as late:
        pid = late.worker_pid
        assert draw.hashing(late).roots(draw.keep, draw.plan)() == draw.expected()
        assert late.worker_pid != pid  # the worker that was late is gone


def test_a_code_with_a_newline_is_hashed_in_place(worker: CommitmentWorker) -> None:
    draw = Draw(0, codes=["A", "B\nC", "D", "E", "F"])
    assert draw.hashing(worker).roots(draw.keep, draw.plan)() == draw.expected()


def test_a_draw_that_finds_the_worker_taken_hashes_in_place(worker: CommitmentWorker) -> None:
    big, small = Draw(2 * PIECE_ROWS, seed=2), Draw(1000, seed=3)
    first = big.hashing(worker)
    second = small.hashing(worker)
    assert isinstance(second, HashedInPlace)
    assert second.roots(small.keep, small.plan)() == small.expected()
    assert first.roots(big.keep, big.plan)() == big.expected()


def test_a_plan_given_as_a_dict_is_hashed_in_place(worker: CommitmentWorker) -> None:
    draw = Draw(1000)
    rows = {"B": PlanRow("B", "d", "o"), "A": PlanRow("A", "d", "o", ("X",))}
    plan = ObjectPlan(rows, {})
    expected = (draw.expected()[0], plan_commitments(plan, SALT_KEY))
    assert draw.hashing(worker).roots(draw.keep, plan)() == expected


def test_a_draw_refused_before_its_roots_lets_the_next_draw_have_a_fresh_worker(
    worker: CommitmentWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    draw = Draw(PIECE_ROWS + 1)
    first = worker.worker_pid
    hashing = draw.hashing(worker)
    hashing.roots(draw.keep, draw.plan)  # begun, never asked for: as a draw refused meanwhile
    del hashing
    gc.collect()
    never_in_place(monkeypatch)
    assert draw.hashing(worker).roots(draw.keep, draw.plan)() == draw.expected()
    assert worker.worker_pid not in (None, first)  # the old worker's pipe held the refused draw's answer


def test_a_draw_over_the_row_limit_hashes_in_place() -> None:
    draw = Draw(1001)
    with CommitmentWorker(max_rows=1000) as limited:
        assert isinstance(draw.hashing(limited), HashedInPlace)
        small = Draw(1000)
        hashing = small.hashing(limited)
        assert not isinstance(hashing, HashedInPlace)
        assert hashing.roots(small.keep, small.plan)() == small.expected()


def test_in_place_the_leaves_are_hashed_a_step_at_a_time() -> None:
    draw = Draw(3 * 50_000 + 7)
    hashing = HashedInPlace(draw.codes, draw.classes, SALT_KEY)
    assert next(hashing.pending, "done") is None  # one step taken, while a shard would be evaluated
    assert hashing.roots(draw.keep, draw.plan)() == draw.expected()
