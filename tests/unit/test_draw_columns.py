"""A draw's eligible entries and plan rows held column by column (``EligibleEntries``, ``PlanRows``) behave
exactly as the list of ``EligibleEntry`` and the dict of ``PlanRow`` by code they replace, and the policy
stage builds them."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dualdraw.domain import model
from dualdraw.domain.draw.commitments import (
    EligibleEntries,
    EligibleEntry,
    TextColumn,
    entry_lines,
    entry_text,
    object_leaf_hashes,
    salted_leaf_hashes,
)
from dualdraw.domain.draw.object_plan import (
    ObjectPlan,
    PlanRow,
    PlanRows,
    RaisedRow,
    plan_commitments,
    plan_fields,
    plan_leaf_hashes,
    plan_places,
    stored_lines,
)
from dualdraw.domain.draw.qualified_teams import QualifiedPoolMember
from dualdraw.domain.draw.strata import codes_by_stratum, manifest_strata
from dualdraw.domain.policy import Raise
from dualdraw.service_layer import draw_commit, draw_policy
from dualdraw.service_layer.draw_commit import object_plan

TEXTS = st.sampled_from(["A", "B", "C", "D", "高", "a\tb", "x\\y", 'q"'])
PLAIN_TEXTS = st.sampled_from(["A", "B", "C", "all"])  # the leaves' fast path
CODES = st.lists(st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=6), unique=True).map(sorted)
BADGES = st.lists(st.sampled_from(["b1", "b2", "b3", "b4"]), unique=True).map(lambda b: tuple(sorted(b)))


@st.composite
def entries(draw: st.DrawFn) -> list[EligibleEntry]:
    codes = draw(CODES)
    texts = draw(st.sampled_from([TEXTS, PLAIN_TEXTS]))
    return [EligibleEntry(code, draw(texts), draw(texts)) for code in codes]


@st.composite
def plan_rows(draw: st.DrawFn) -> list[PlanRow]:
    codes = draw(CODES)
    rows = []
    for code in codes:
        barred = draw(st.booleans())
        conflicts, recent = (draw(BADGES), draw(BADGES)) if barred else ((), ())
        rows.append(PlanRow(code, draw(TEXTS), draw(TEXTS), conflicts, recent))
    return rows


def columns_of(listed: list[EligibleEntry]) -> EligibleEntries:
    return EligibleEntries(
        [e.code for e in listed],
        TextColumn.of(e.stratum for e in listed),
        TextColumn.of(e.risk_class for e in listed),
    )


def plan_columns_of(rows: list[PlanRow]) -> PlanRows:
    plain = PlanRows(
        [r.code for r in rows],
        TextColumn.of(r.department_id for r in rows),
        TextColumn.of(r.office for r in rows),
    )
    return plain.barring({r.code: r.conflicts for r in rows}, {r.code: r.recent for r in rows})


@given(st.lists(TEXTS), st.data())
def test_a_text_column_is_the_list_of_its_texts(texts: list[str], data: st.DataObject) -> None:
    column = TextColumn.of(texts)
    assert len(column) == len(texts)
    assert list(column) == texts
    assert [column[i] for i in range(-len(texts), len(texts))] == texts + texts
    start, stop, step = (data.draw(st.integers(-6, 6) | st.none()) for _ in range(3))
    if step == 0:
        step = None
    assert list(column[start:stop:step]) == texts[start:stop:step]
    assert column.counts() == dict(Counter(texts))
    assert list(column.counts()) == list(dict.fromkeys(texts))
    items = [str(n) for n in range(len(texts))]
    for text in [*set(texts), "absent"]:
        assert column.where(text, items) == [n for n, t in zip(items, texts, strict=True) if t == text]


class _Profile:
    """An item shared by identity, with a text read from it (counted)."""

    reads = 0

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self) -> str:
        _Profile.reads += 1
        return self.text


@given(st.lists(TEXTS, max_size=6), st.lists(st.integers(0, 5)))
def test_a_column_by_identity_reads_each_shared_item_once(texts: list[str], picks: list[int]) -> None:
    shared = [_Profile(t) for t in texts]  # two items may hold equal texts: still two items
    items = [shared[p % len(shared)] for p in picks] if shared else []
    _Profile.reads = 0
    column = TextColumn.by_identity(items, _Profile.read)
    assert list(column) == [i.text for i in items]
    assert column.values == TextColumn.of([i.text for i in items]).values  # numbered by first occurrence
    assert _Profile.reads == len({id(i) for i in items})


@given(st.lists(TEXTS, max_size=6), st.lists(st.integers(0, 5)))
def test_a_column_by_number_is_the_column_by_identity(texts: list[str], picks: list[int]) -> None:
    """Items numbered already (each entry a number into ``shared``): the column ``by_identity`` makes of
    the items themselves, each item that occurs read once."""
    shared = [_Profile(t) for t in texts]
    numbers = [p % len(shared) for p in picks] if shared else []
    items = [shared[n] for n in numbers]
    _Profile.reads = 0
    column = TextColumn.by_number(shared, np.array(numbers, dtype=np.intp), _Profile.read)
    assert _Profile.reads == len(set(numbers))
    expected = TextColumn.by_identity(items, _Profile.read)
    assert list(column) == list(expected)
    assert column.values == expected.values
    assert column.indices == expected.indices


@pytest.mark.parametrize("distinct", [256, 257, 65_537])
def test_a_column_by_number_widens_its_numbers_as_one_by_identity(distinct: int) -> None:
    shared = [_Profile(str(n)) for n in range(distinct)]
    numbers = np.arange(distinct - 1, -1, -1, dtype=np.intp)
    column = TextColumn.by_number(shared, numbers, _Profile.read)
    assert (
        column.indices == TextColumn.by_identity([shared[n] for n in numbers.tolist()], _Profile.read).indices
    )


@pytest.mark.parametrize(("distinct", "typecode"), [(256, "B"), (257, "H"), (65_537, "I")])
def test_a_text_column_widens_its_numbers_with_its_distinct_texts(distinct: int, typecode: str) -> None:
    texts = [str(n) for n in range(distinct)]
    column = TextColumn.of(texts)
    assert column.indices.typecode == typecode
    assert list(column) == texts


@given(entries(), st.data())
def test_eligible_entries_are_the_list_of_entries(listed: list[EligibleEntry], data: st.DataObject) -> None:
    columns = columns_of(listed)
    assert len(columns) == len(listed)
    assert list(columns) == listed
    assert all(type(e) is EligibleEntry for e in columns)
    for i in range(-len(listed), len(listed)):
        assert columns[i] == listed[i]
    for i in (len(listed), -len(listed) - 1):
        with pytest.raises(IndexError):
            columns[i]
    start, stop, step = (data.draw(st.integers(-6, 6) | st.none()) for _ in range(3))
    if step == 0:
        step = None
    part = columns[start:stop:step]
    assert isinstance(part, EligibleEntries)
    assert list(part) == listed[start:stop:step]
    assert list(reversed(columns)) == listed[::-1]
    if listed:
        assert listed[-1] in columns
        assert columns.index(listed[-1]) == len(listed) - 1
    assert EligibleEntry("not a code", "A", "A") not in columns


@given(entries(), st.booleans())
def test_eligible_entries_give_the_lines_strata_and_codes_of_the_list(
    listed: list[EligibleEntry], backwards: bool
) -> None:
    columns = columns_of(listed)
    if backwards:  # numbers no longer in order of first occurrence
        columns, listed = columns[::-1], listed[::-1]
    assert list(entry_lines(columns)) == [e.line() for e in listed] == list(entry_lines(listed))
    text = entry_text(columns, 3)  # written in C, three lines a piece, where the codes allow it
    if text is not None:
        assert b"\n".join(text) == "\n".join(e.line() for e in listed).encode()
    assert codes_by_stratum(columns) == codes_by_stratum(listed)
    assert list(codes_by_stratum(columns)) == list(codes_by_stratum(listed))  # strata in the same order
    assert object_leaf_hashes(columns, b"k" * 32) == object_leaf_hashes(listed, b"k" * 32)
    salts = [str(n) for n in range(len(listed))]
    assert salted_leaf_hashes(columns, salts) == salted_leaf_hashes(listed, salts)
    ratios = {e.stratum: Fraction(1, len(e.stratum) + 1) for e in listed}
    assert manifest_strata(columns, ratios) == manifest_strata(listed, ratios)


def test_entry_text_is_written_for_ascii_codes_only() -> None:
    plain = columns_of([EligibleEntry("A1", "B", "A"), EligibleEntry("B2", "高", "A")])
    assert b"\n".join(entry_text(plain, 1) or ()) == "A1\tB\tA\nB2\t高\tA".encode()
    assert entry_text(columns_of([EligibleEntry("编码", "B", "A")]), 1) is None
    assert entry_text(columns_of([EligibleEntry("A\n1", "B", "A")]), 1) is None
    assert entry_text(columns_of([EligibleEntry("A1", "\ud800", "A")]), 1) is None
    assert entry_text([EligibleEntry("A1", "B", "A")], 1) is None  # not columns


def test_eligible_entries_share_the_codes_they_are_given() -> None:
    codes = ["A1", "B2"]
    columns = EligibleEntries(codes, TextColumn.of(["A", "B"]), TextColumn.of(["A", "A"]))
    assert columns.codes is codes
    with pytest.raises(ValueError, match="lengths"):
        EligibleEntries(codes, TextColumn.of(["A"]), TextColumn.of(["A", "A"]))


@given(plan_rows(), st.text(alphabet="0123456789ABCDEFG", max_size=6))
def test_plan_rows_are_the_dict_of_rows_by_code(rows: list[PlanRow], other: str) -> None:
    by_code = {r.code: r for r in rows}
    columns = plan_columns_of(rows)
    assert len(columns) == len(by_code)
    assert list(columns) == list(by_code)
    assert list(columns.keys()) == list(by_code.keys())
    assert list(columns.values()) == list(by_code.values())
    assert list(columns.items()) == list(by_code.items())
    assert len(columns.values()) == len(columns.items()) == len(rows)
    assert dict(columns) == by_code
    assert columns == by_code  # Mapping equality, as a dict compares
    for code, row in by_code.items():
        assert code in columns
        assert columns[code] == row
        assert columns.get(code) == row
        assert (code, row) in columns.items()
        assert row in columns.values()
    anything: Any  # a dict takes keys of any type
    for anything in (other, "", "ZZZZZZZ", 7, None):
        if anything in by_code:
            continue
        assert anything not in columns
        assert columns.get(anything) is None
        with pytest.raises(KeyError):
            columns[anything]


@given(plan_rows(), st.integers(0, 7))
def test_plan_rows_give_the_lines_leaves_and_bars_of_the_dict(rows: list[PlanRow], key: int) -> None:
    by_code = {r.code: r for r in rows}
    columns = plan_columns_of(rows)
    assert list(stored_lines(columns.values())) == list(stored_lines(by_code.values()))
    salt_key = bytes([key]) * 32
    assert plan_leaf_hashes(columns.values(), salt_key) == plan_leaf_hashes(by_code.values(), salt_key)
    assert ObjectPlan(columns).bars() == ObjectPlan(by_code).bars()
    assert list(plan_places(columns)) == list(plan_places(by_code)) == [r[:3] for r in rows]
    assert list(plan_fields(columns.values())) == [tuple(r) for r in rows]
    again = columns.barring({r.code: ("b9",) for r in rows[:1]}, {})  # both badge lists replaced
    assert dict(again) == by_code | {r.code: r._replace(conflicts=("b9",), recent=()) for r in rows[:1]}
    assert plan_commitments(ObjectPlan(columns), salt_key) == plan_commitments(ObjectPlan(by_code), salt_key)


@given(plan_rows(), st.randoms(use_true_random=False))
def test_a_plan_read_in_ascending_order_is_held_in_columns(rows: list[PlanRow], rnd: Any) -> None:
    plan = ObjectPlan.of(rows)
    assert isinstance(plan.rows, PlanRows)
    assert plan.rows == {r.code: r for r in rows}
    assert list(plan.rows.values()) == rows
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    if len(rows) > 1:
        shuffled.append(shuffled[0]._replace(office="again"))  # a code twice: the later row wins, as a dict
    other = ObjectPlan.of(iter(shuffled))
    expected = {r.code: r for r in shuffled}
    assert other.rows == expected
    assert list(other.rows.items()) == list(expected.items())
    if shuffled != rows:
        assert type(other.rows) is dict


@given(plan_rows(), st.lists(st.sampled_from(["b1", "b2", "b3"]), unique=True), st.data())
def test_barred_badges_are_added_to_the_rows_as_the_dict_had_them(
    rows: list[PlanRow], badges: list[str], data: st.DataObject
) -> None:
    plain = [r._replace(conflicts=(), recent=()) for r in rows]
    codes = [r.code for r in rows]
    pool = [
        QualifiedPoolMember(
            badge_number=badge,
            department_id="D",
            office="O",
            certificate=None,
            conflicts=frozenset(data.draw(st.lists(st.sampled_from([*codes, "ELSEWHERE"])))),
            recent=frozenset(data.draw(st.lists(st.sampled_from([*codes, "ELSEWHERE"])))),
        )
        for badge in badges
    ]
    raises = [Raise(codes[0], "C", "A", "complaint")] if codes else []
    columns = PlanRows(
        codes, TextColumn.of(r.department_id for r in rows), TextColumn.of(r.office for r in rows)
    )
    plan = object_plan(columns, pool, raises)
    assert isinstance(plan.rows, PlanRows)
    assert plan.rows.codes is codes
    assert plan.rows == reference_object_plan(plain, pool)
    assert list(plan.rows.values()) == list(reference_object_plan(plain, pool).values())
    assert plan.bars() == ObjectPlan(reference_object_plan(plain, pool)).bars()
    assert list(columns.values()) == plain  # the rows given are not changed
    assert plan.raised == ({codes[0]: RaisedRow(codes[0], "C", "A")} if codes else {})


def reference_object_plan(rows: list[PlanRow], pool: list[QualifiedPoolMember]) -> dict[str, PlanRow]:
    """``draw_commit.object_plan`` as it was, on a dict of rows."""
    plan = {row.code: row for row in rows}
    conflicts: dict[str, list[str]] = {}
    recent: dict[str, list[str]] = {}
    for m in sorted(pool, key=lambda m: m.badge_number):
        for code in m.conflicts:
            conflicts.setdefault(code, []).append(m.badge_number)
        for code in m.recent:
            recent.setdefault(code, []).append(m.badge_number)
    for code in conflicts.keys() | recent.keys():
        if code in plan:
            barred = tuple(conflicts.get(code, ())), tuple(recent.get(code, ()))
            plan[code] = plan[code]._replace(conflicts=barred[0], recent=barred[1])
    return plan


@given(st.lists(st.tuples(st.sampled_from(list(model.RiskClass)), TEXTS, TEXTS, TEXTS), max_size=30))
def test_the_policy_stage_builds_the_columns_of_the_entries_and_rows_it_built(
    facts: list[tuple[model.RiskClass, str, str, str]],
) -> None:
    listed = [
        model.DrawObject(
            f"C{n:04d}",
            model.ObjectProfile("130000", "D", "C31", (), risk_class, model.ObjectStatus.ACTIVE, office),
        )
        for n, (risk_class, office, _, _) in enumerate(facts)
    ]
    codes = [o.credit_code for o in listed]
    objects = model.DrawObjects(codes, [o.profile for o in listed])
    strata = [stratum for _, _, stratum, _ in facts]
    home = [department for _, _, _, department in facts]
    expected_entries = [
        EligibleEntry(o.credit_code, s, o.risk_class.value) for o, s in zip(listed, strata, strict=True)
    ]
    expected_rows = {
        o.credit_code: PlanRow(o.credit_code, h, o.office) for o, h in zip(listed, home, strict=True)
    }
    built_entries, built_plan = draw_policy._entries_and_plan(objects, strata, home)
    assert isinstance(built_entries, EligibleEntries)
    assert isinstance(built_plan, PlanRows)
    assert built_entries.codes is codes
    assert built_plan.codes is codes
    assert list(built_entries) == expected_entries
    assert built_plan == expected_rows
    assert list(built_plan.items()) == list(expected_rows.items())
    assert strata == home == []


def test_the_policy_inputs_hold_columns() -> None:
    hints = draw_policy.PolicyInputs.__annotations__
    assert hints["entries"] == "EligibleEntries"
    assert hints["plan"] == "PlanRows"


def test_the_kept_flags_are_the_codes_not_excluded_and_must_count_the_eligible() -> None:
    codes = ["a", "b", "c", "d"]
    assert draw_commit._kept(codes, {"b", "d"}, ["a", "c"]) == [True, False, True, False]
    with pytest.raises(AssertionError, match="3 eligible codes, but 2"):
        draw_commit._kept(codes, {"b", "d"}, ["a", "c", "d"])  # an eligible code that was excluded
