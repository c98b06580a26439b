"""A draw's commitments hashed in threads beside it: the roots of the definitions, whatever the pieces, and
errors raised to the draw."""

from __future__ import annotations

import random

import pytest

from dualdraw.domain.draw.commitments import EligibleEntry, LeafSet, TextColumn, eligible_root
from dualdraw.domain.draw.object_plan import ObjectPlan, PlanRow, PlanRows, RaisedRow, plan_commitments
from dualdraw.service_layer.commitment_hashing import DrawHashing, Roots

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

    def hashing(self, salt_key: bytes = SALT_KEY) -> DrawHashing:
        return DrawHashing(self.codes, self.classes, salt_key)


@pytest.mark.parametrize("step", [7, 1000, 50_000])
def test_the_roots_are_those_of_the_definitions_in_pieces_of_any_size(
    step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LeafSet, "STEP", step)
    draw = Draw(3 * 1000 + 7)
    answer = draw.hashing().roots(draw.keep, draw.plan)
    assert answer() == draw.expected()
    assert answer() == draw.expected()  # asked again: the same answer
    assert draw.hashing(bytes(32)).roots(None, draw.plan)() == (None, plan_commitments(draw.plan, bytes(32)))


def test_a_plan_given_as_a_dict_is_hashed_row_by_row() -> None:
    draw = Draw(1000)
    plan = ObjectPlan({"B": PlanRow("B", "d", "o"), "A": PlanRow("A", "d", "o", ("X",))}, {})
    assert draw.hashing().roots(draw.keep, plan)() == (draw.expected()[0], plan_commitments(plan, SALT_KEY))


def test_codes_that_need_escapes_give_the_canonical_leaves() -> None:
    draw = Draw(0, codes=["A", 'B"C', "D\\E", "F", "G"])
    assert draw.hashing().roots(draw.keep, draw.plan)() == draw.expected()


def test_an_error_while_hashing_reaches_the_draw_at_its_roots() -> None:
    draw = Draw(0, codes=["91A", "91码", "91C", "91D", "91E"])  # a code beyond ASCII: no salt for it
    answer = draw.hashing().roots(draw.keep, draw.plan)
    with pytest.raises(UnicodeEncodeError):
        answer()


def test_the_plan_error_is_raised_by_the_answer_every_time() -> None:
    draw = Draw(100)
    plan = ObjectPlan({"O1": PlanRow("O1", "d", "\ud800")}, {})  # a lone surrogate: no UTF-8 for it
    answer = draw.hashing().roots(draw.keep, plan)
    for _ in range(2):
        with pytest.raises(ValueError, match="surrogate"):
            answer()
