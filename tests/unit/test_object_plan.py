"""The object plan of ``dualdraw-draw/4`` (docs/DRAW-ALGORITHM.md §14.8): stored rows read back as written,
the bars inverted per inspector, and the one-pass proofs equal to the audit log's one-leaf proofs."""

from __future__ import annotations

import hashlib
import random

import pytest

from dualdraw.domain.audit.merkle import inclusion_proof, root, verify_inclusion
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import TextColumn
from dualdraw.domain.draw.object_plan import (
    ObjectPlan,
    PlanRow,
    PlanRows,
    RaisedRow,
    inclusion_proofs,
    leaf_bytes,
    plan_leaf,
    plan_leaf_hashes,
    plan_salt,
    plan_text,
    raise_salt,
    rows_from_stored,
    stored_lines,
)

ROWS = [
    PlanRow("91330000000000001H", "杭州市局", 'a "quoted" office\n', ("B-1", "B-2"), ("B-3",)),
    PlanRow("91330000000000002J", "330100", "西湖所\u2028\x7f\\", (), ()),
    PlanRow("91330000000000003K", "330100", "", (), ("B-1",)),
    PlanRow("91330000000000004L", "330100", "\x01\x1f\t\b\f\r 😀", ("B-9",), ()),
    PlanRow("91330000000000005M", "330100", "西湖所\u2028\x7f\\", (), ()),
]


def test_a_stored_plan_row_reads_back_as_written() -> None:
    row = PlanRow("91330000000000001H", "杭州市局", 'a "quoted" office\n', ("B-1", "B-2"), ("B-3",))
    assert PlanRow.from_stored(row.stored()) == row
    assert "\n" not in row.stored()


def test_stored_lines_are_the_canonical_rows_and_read_back_in_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dualdraw.domain.draw.object_plan as object_plan

    assert list(stored_lines(ROWS)) == [r.stored() for r in ROWS]
    monkeypatch.setattr(object_plan, "STORED_BATCH", 2)
    assert list(rows_from_stored(stored_lines(ROWS))) == ROWS
    assert list(rows_from_stored([])) == []
    with pytest.raises(ValueError, match="surrogate"):
        list(stored_lines([PlanRow("O1", "d", "\ud800")]))


def generated_plan(count: int, extra_offices: tuple[str, ...] = ()) -> tuple[list[PlanRow], PlanRows]:
    """``count`` rows over several departments and offices (some written with escapes), every seventh with
    badges, the first and last too; and the same rows as ``PlanRows`` whose office values also hold
    ``extra_offices``, which no row uses."""
    rnd = random.Random(count)
    departments = ["330100", "杭州市局", 'd"q', "330200"]
    offices = ["", "西湖所", "a\\b", "\x01\u2028", "330200-所1"]
    badge_lists = [("B-1",), ("B-1", "B-2"), ("高",)]
    rows = []
    for n in range(count):
        barred = n % 7 == 3 or n in (0, count - 1)
        conflicts = rnd.choice([(), *badge_lists]) if barred else ()
        recent = rnd.choice([(), *badge_lists]) if barred else ()
        rows.append(PlanRow(f"9133{n:014d}", rnd.choice(departments), rnd.choice(offices), conflicts, recent))
    office_values = [*dict.fromkeys(r.office for r in rows), *extra_offices]
    columns = PlanRows(
        [r.code for r in rows],
        TextColumn.of(r.department_id for r in rows),
        TextColumn(office_values, [office_values.index(r.office) for r in rows]),
        {r.code: r.conflicts for r in rows if r.conflicts},
        {r.code: r.recent for r in rows if r.recent},
    )
    return rows, columns


@pytest.mark.parametrize(("count", "batch"), [(0, 4), (1, 4), (999, 100), (1000, 100), (3001, 256)])
def test_stored_lines_from_columns_are_the_rows_lines_batch_by_batch(
    count: int, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dualdraw.domain.draw.object_plan as object_plan

    rows, columns = generated_plan(count, extra_offices=("\ud800",))  # a value no row uses is never written
    expected = [r.stored() for r in rows]
    assert list(stored_lines(rows)) == expected  # the rows one by one
    monkeypatch.setattr(object_plan, "STORED_BATCH", batch)

    def row_by_row(_rows: object) -> None:
        raise AssertionError("the columns' lines were written row by row")

    monkeypatch.setattr(object_plan, "_field_lines", row_by_row)
    assert list(stored_lines(columns.values())) == expected


@pytest.mark.parametrize(("count", "piece"), [(0, 4), (1, 4), (999, 100), (1000, 100), (3001, 256)])
def test_plan_text_from_columns_is_the_rows_lines(count: int, piece: int) -> None:
    rows, columns = generated_plan(count)
    text = plan_text(columns.values(), piece)
    assert text is not None
    assert b"\n".join(text) == "\n".join(r.stored() for r in rows).encode()


def test_plan_text_is_left_to_the_lines_for_rows_it_cannot_write() -> None:
    _, columns = generated_plan(10, extra_offices=("\ud800",))
    assert plan_text(columns.values(), 4) is None  # a lone surrogate
    assert plan_text(generated_plan(10)[0], 4) is None  # rows, not columns


def test_stored_lines_from_columns_stop_at_a_lone_surrogate_as_the_rows_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dualdraw.domain.draw.object_plan as object_plan

    monkeypatch.setattr(object_plan, "STORED_BATCH", 100)
    rows, _ = generated_plan(300)
    for bad in (rows[250]._replace(office="\ud800"), rows[250]._replace(recent=("\udfff",))):
        changed = [*rows[:250], bad, *rows[251:]]
        columns = ObjectPlan.of(changed).rows
        assert isinstance(columns, PlanRows)
        for given in (changed, columns.values()):
            lines = stored_lines(given)
            assert [next(lines) for _ in range(250)] == [r.stored() for r in rows[:250]]
            with pytest.raises(ValueError, match="surrogate"):
                next(lines)


@pytest.mark.parametrize("codes", ["plain", "escaped"])
def test_plan_leaf_hashes_are_the_canonical_leaves(codes: str) -> None:
    key = bytes(range(32))
    rows = ROWS if codes == "plain" else [*ROWS, PlanRow('Q"1\\', "d", "o")]
    expected = [
        hashlib.sha256(b"\x00" + canonical_json(plan_leaf(r, plan_salt(key, r.code)))).digest() for r in rows
    ]
    assert [leaf_bytes(plan_leaf(r, plan_salt(key, r.code))) for r in rows] == [
        canonical_json(plan_leaf(r, plan_salt(key, r.code))) for r in rows
    ]
    assert plan_leaf_hashes(rows, key) == expected
    with pytest.raises(ValueError, match="surrogate"):
        plan_leaf_hashes([PlanRow("O1", "d", "\ud800")], key)


@pytest.mark.parametrize("count", [0, 1, 2, 300, 1001])
def test_plan_leaf_hashes_from_columns_are_the_canonical_leaves(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columns' path (``sha256_batch``, a piece per distinct place and per barring row) against the
    canonical leaves, with escaped places, non-ASCII badges and rows barring badges at both ends."""
    import dualdraw.domain.draw.object_plan as object_plan

    key = bytes(range(32))
    rows, columns = generated_plan(count, extra_offices=("\ud800",))  # a value no row uses is never hashed
    expected = [
        hashlib.sha256(b"\x00" + canonical_json(plan_leaf(r, plan_salt(key, r.code)))).digest() for r in rows
    ]
    assert plan_leaf_hashes(rows, key) == expected  # row by row

    def row_by_row(*_args: object) -> None:
        raise AssertionError("the columns' leaves were hashed row by row")

    monkeypatch.setattr(object_plan, "iter_plan_leaf_hashes", row_by_row)
    for piece in (1 << 20, 64, 7, 1):  # pieces that split the places and the barring rows anywhere
        monkeypatch.setattr(object_plan, "PLAN_PIECE", piece)
        assert plan_leaf_hashes(columns.values(), key) == expected


def test_plan_leaf_hashes_from_columns_refuse_a_lone_surrogate_in_a_place() -> None:
    rows, _ = generated_plan(20)
    columns = ObjectPlan.of([*rows[:5], rows[5]._replace(department_id="\udc00"), *rows[6:]]).rows
    assert isinstance(columns, PlanRows)
    with pytest.raises(ValueError, match="surrogate"):
        plan_leaf_hashes(columns.values(), bytes(32))


def test_bars_list_for_each_badge_the_objects_that_name_it() -> None:
    plan = ObjectPlan.of(
        [PlanRow("O1", "d", "", ("A", "B"), ()), PlanRow("O2", "d", "", ("A",), ("B",))],
        [RaisedRow("O2", "B", "C")],
    )
    conflicts, recent = plan.bars()
    assert conflicts == {"A": {"O1", "O2"}, "B": {"O1"}}
    assert recent == {"B": {"O2"}}


def test_the_plan_and_raise_salts_are_not_the_eligible_salt() -> None:
    key = bytes(range(32))
    eligible = hashlib.sha256(b"dualdraw/salt/v1\x00" + key + b"O1").hexdigest()
    assert len({eligible, plan_salt(key, "O1"), raise_salt(key, "O1")}) == 3
    assert plan_salt(key, "O1") == hashlib.sha256(b"dualdraw/plan-salt/v1\x00" + key + b"O1").hexdigest()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 32, 33])
def test_one_pass_proofs_are_the_one_leaf_proofs(size: int) -> None:
    leaves = sorted(hashlib.sha256(str(i).encode()).digest() for i in range(size))
    marked = [*range(0, size, 3), size - 1]
    proofs = inclusion_proofs(leaves, marked)
    assert sorted(proofs) == sorted(set(marked))
    for i, proof in proofs.items():
        assert proof == inclusion_proof(i, leaves)
        assert verify_inclusion(i, size, leaves[i], proof, root(leaves))
    assert inclusion_proofs(leaves, []) == {}
    with pytest.raises(ValueError, match="outside"):
        inclusion_proofs(leaves, [size])
