"""The object plan of a policy draw: which department every eligible object is handed to, its office and
the inspectors it bars, and which objects were raised to a higher class (docs/DRAW-ALGORITHM.md §14.1,
§14.8).

``dualdraw-draw/2`` and ``/3`` list the plan (``objects.plan``) and the raises (``objects.raised``) in the
manifest itself. From ``dualdraw-draw/4`` the manifest commits to them by salted Merkle roots
(``objects.plan_root``, ``objects.raised_root``, with their counts), and the rows travel beside the
eligible rows: a plan leaf is canonical JSON ``{"code", "conflicts", "department_id", "office", "recent",
"salt"}`` (``conflicts``/``recent``: the badges barred from the object), a raised leaf
``{"code", "from_class", "salt", "to_class"}``, each with a salt derived from the draw's salt key and the
code under a tag of its own, so that neither root nor a sibling hash in a proof lets anyone confirm a
guessed code.
"""

from __future__ import annotations

import binascii
import hashlib
import json
from array import array
from bisect import bisect_left
from collections.abc import Collection, ItemsView, Iterable, Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass, field
from itertools import chain, islice, repeat
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from dualdraw.domain import framed_text, sha256_batch
from dualdraw.domain.audit.merkle import leaf_hash, node_hash
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import (
    TextColumn,
    all_plain,
    packed_set_root,
    set_root,
    text_numbering,
    tuples_of,
)
from dualdraw.domain.draw.numbering import distinct_numbers

PLAN_SALT_TAG = b"dualdraw/plan-salt/v1\x00"
RAISE_SALT_TAG = b"dualdraw/raise-salt/v1\x00"
PLAN_LEAF_FIELDS = ("code", "conflicts", "department_id", "office", "recent", "salt")
RAISED_LEAF_FIELDS = ("code", "from_class", "salt", "to_class")


class PlanRow(NamedTuple):
    """One eligible object's plan: its department and office and (``dualdraw-draw/4``) the badges of the
    inspectors who declared a conflict with it or inspected it recently, each ascending."""

    code: str
    department_id: str
    office: str
    conflicts: tuple[str, ...] = ()
    recent: tuple[str, ...] = ()

    def stored(self) -> str:
        """The row as one line of text (canonical JSON array) for the store."""
        return canonical_json(
            [self.code, self.department_id, self.office, list(self.conflicts), list(self.recent)]
        ).decode("utf-8")

    @staticmethod
    def from_stored(line: str) -> PlanRow:
        code, department_id, office, conflicts, recent = json.loads(line)
        return PlanRow(code, department_id, office, tuple(conflicts), tuple(recent))


def _codes(rows: Collection[PlanRow]) -> Iterable[str]:
    """The code of each row, in order; from the column of a ``PlanRows``, without making its rows."""
    return rows.mapping.codes if isinstance(rows, _PlanValues) else (r.code for r in rows)


def stored_lines(rows: Collection[PlanRow]) -> Iterator[str]:
    """``PlanRow.stored`` of every row, one at a time. When every code is plain ASCII, a line is assembled
    from the code and fragments written canonically once per distinct department and office and per list
    of badges (from the columns of ``PlanRows.values()``, a batch of rows at a time); otherwise each row the
    canonical way. A lone surrogate raises ``ValueError`` once the lines of the rows before it are out."""
    if not isinstance(rows, _PlanValues):
        return _row_lines(rows)
    if all_plain(rows.mapping.codes):
        return chain.from_iterable(_column_lines(rows.mapping))
    return (r.stored() for r in rows)


def plan_text(rows: Collection[PlanRow], piece: int) -> Iterator[bytes] | None:
    """The lines of ``stored_lines(rows)`` as UTF-8 text, ``piece`` lines at a time (joined by a line feed,
    none after a piece's last), each piece written in one C call (``framed_text``) with the GIL released:
    a row's code between the same head and an end written once per (department, office) pair, or, for the
    few rows that bar badges, once per row. ``None`` (write ``stored_lines`` instead) unless ``rows`` are
    ``PlanRows.values()`` with plain codes and texts that encode as UTF-8."""
    if not (isinstance(rows, _PlanValues) and all_plain(rows.mapping.codes)):
        return None
    columns = rows.mapping
    codes, departments, offices = columns.codes, columns.departments.values, columns.offices.values
    barring = columns.barring_positions()
    try:
        ends = [f'",{_place_text(d, o)},[],[]]'.encode() for d in departments for o in offices]
        barred = [
            f'",{_place_text(r.department_id, r.office)},{_canonical_text(list(r.conflicts))},'
            f"{_canonical_text(list(r.recent))}]".encode()
            for r in map(columns.__getitem__, map(codes.__getitem__, barring))
        ]
    except (UnicodeEncodeError, ValueError):  # a lone surrogate: stored_lines says where
        return None
    own_end = dict(zip(barring, range(len(ends), len(ends) + len(barred)), strict=True))
    ends += barred

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(codes), piece):
            stop = start + piece
            frames = columns.pair_array(start, stop)
            for at in barring[bisect_left(barring, start) : bisect_left(barring, stop)]:
                frames[at - start] = own_end[at]
            yield framed_text.framed_lines(b'["', codes[start:stop], frames, ends)

    return pieces()


def _row_lines(rows: Collection[PlanRow]) -> Iterator[str]:
    """``stored_lines``, row by row."""
    if not all_plain(_codes(rows)):
        yield from (r.stored() for r in rows)
    else:
        yield from _field_lines(plan_fields(rows))


def _field_lines(rows: Iterable[PlanFields]) -> Iterator[str]:
    """``stored_lines`` of rows with plain codes, row by row."""
    places: dict[tuple[str, str], str] = {}
    badges: dict[tuple[str, ...], str] = {}
    for code, department_id, office, conflicts, recent in rows:
        place = places.get((department_id, office))
        if place is None:
            place = places[department_id, office] = _place_text(department_id, office)
        barred = badges.get(conflicts)
        if barred is None:
            barred = badges[conflicts] = _canonical_text(list(conflicts))
        inspected = badges.get(recent)
        if inspected is None:
            inspected = badges[recent] = _canonical_text(list(recent))
        yield f'["{code}",{place},{barred},{inspected}]'


def _column_lines(rows: PlanRows) -> Iterator[Iterable[str]]:
    """The lines of ``stored_lines`` of ``rows`` (plain codes), ``STORED_BATCH`` rows at a time: each row
    without badges is its code and the line's end written once per (department, office) pair, joined in one
    list comprehension; the few rows with badges are then written alone."""
    codes, conflicts, recent = rows.codes, rows.conflicts, rows.recent
    departments, offices = rows.departments.values, rows.offices.values
    width = len(offices)
    barring = rows.barring_positions()
    places: dict[int, str] = {}
    ends: dict[int, str] = {}
    for start in range(0, len(codes), STORED_BATCH):
        stop = start + STORED_BATCH
        try:
            pairs = rows.pair_numbers(start, stop)
            for pair in set(pairs).difference(ends):
                place = places[pair] = _place_text(departments[pair // width], offices[pair % width])
                ends[pair] = f'",{place},[],[]]'
            batch = zip(codes[start:stop], map(ends.__getitem__, pairs), strict=True)
            lines = [f'["{code}{end}' for code, end in batch]
            for at in barring[bisect_left(barring, start) : bisect_left(barring, stop)]:
                code = codes[at]
                barred = _canonical_text(list(conflicts.get(code, ())))
                inspected = _canonical_text(list(recent.get(code, ())))
                lines[at - start] = f'["{code}",{places[pairs[at - start]]},{barred},{inspected}]'
        except ValueError:  # a lone surrogate: row by row, which yields the lines before it and raises
            yield _field_lines(islice(rows.fields(), start, None))
            return
        yield lines


def _place_text(department_id: str, office: str) -> str:
    """The canonical text of ``[department_id, office]`` without its brackets."""
    return _canonical_text([department_id, office])[1:-1]


def _canonical_text(value: object) -> str:
    return canonical_json(value).decode("utf-8")


STORED_BATCH = 65_536


def rows_from_stored(lines: Iterable[str]) -> Iterator[PlanRow]:
    """``PlanRow.from_stored`` of each line, in order, decoding a batch of lines in one ``json`` call."""
    it = iter(lines)
    while batch := list(islice(it, STORED_BATCH)):
        for code, department_id, office, conflicts, recent in json.loads("[" + ",".join(batch) + "]"):
            yield PlanRow(code, department_id, office, tuple(conflicts), tuple(recent))


Badges = tuple[str, ...]
PlanFields = tuple[str, str, str, Badges, Badges]
"""A plan row's fields as a plain tuple: code, department, office, conflicts, recent."""


class PlanRows(Mapping[str, PlanRow]):
    """Plan rows by code, held column by column in ascending order of codes: the codes (a list, shared
    with the draw's eligible codes, not copied), each row's department and office as a ``TextColumn``,
    and the badges barred from an object (conflicts, recent) by code for the few objects that have any.
    Looked up by binary search; iterated (keys, values, items) in ascending order of codes, as the dict
    of the same rows built in that order; values are ``PlanRow`` tuples made on the fly. A draw of a
    million objects holds a few bytes a row where a dict of tuples took 120."""

    __slots__ = ("codes", "conflicts", "departments", "offices", "recent")

    def __init__(
        self,
        codes: list[str],
        departments: TextColumn,
        offices: TextColumn,
        conflicts: Mapping[str, Badges] | None = None,
        recent: Mapping[str, Badges] | None = None,
    ) -> None:
        """``codes`` ascending without duplicates; ``conflicts`` and ``recent``: code → badges (not empty)
        of rows in ``codes``."""
        if not len(codes) == len(departments) == len(offices):
            raise ValueError("columns of different lengths")
        self.codes = codes
        self.departments = departments
        self.offices = offices
        self.conflicts: Mapping[str, Badges] = conflicts or {}
        self.recent: Mapping[str, Badges] = recent or {}

    @staticmethod
    def of(rows: Iterable[PlanRow]) -> Mapping[str, PlanRow]:
        """The rows by code: a ``PlanRows`` when they come in ascending order of codes (as a draw stores
        them), else (any other order, or a code twice) the dict ``{r.code: r for r in rows}``."""
        codes: list[str] = []
        department_numbers, office_numbers = text_numbering(), text_numbering()
        department_at, office_at = array("I"), array("I")
        conflicts: dict[str, Badges] = {}
        recent: dict[str, Badges] = {}

        def read() -> PlanRows:
            departments = TextColumn(department_numbers, department_at)
            return PlanRows(codes, departments, TextColumn(office_numbers, office_at), conflicts, recent)

        add_code, add_department, add_office = codes.append, department_at.append, office_at.append
        it = iter(rows)
        for row in it:
            code, department_id, office, barred, inspected = row
            if codes and not codes[-1] < code:
                return {r.code: r for r in chain(read().values(), [row], it)}
            add_code(code)
            add_department(department_numbers[department_id])
            add_office(office_numbers[office])
            if barred:
                conflicts[code] = barred
            if inspected:
                recent[code] = inspected
        return read()

    def barring(self, conflicts: Mapping[str, Badges], recent: Mapping[str, Badges]) -> PlanRows:
        """These rows, those of the objects named in ``conflicts`` or ``recent`` with exactly those badges
        barred (the columns shared, not copied; codes not among the rows are ignored)."""
        named = [code for code in conflicts.keys() | recent.keys() if code in self]
        kept = {code: badges for code, badges in self.conflicts.items() if code not in named}
        kept_recent = {code: badges for code, badges in self.recent.items() if code not in named}
        return PlanRows(
            self.codes,
            self.departments,
            self.offices,
            kept | {code: conflicts[code] for code in named if conflicts.get(code)},
            kept_recent | {code: recent[code] for code in named if recent.get(code)},
        )

    def _at(self, code: object) -> int:
        """The position of ``code`` in ``codes``, or -1."""
        if not isinstance(code, str):
            return -1
        at = bisect_left(self.codes, code)
        return at if at < len(self.codes) and self.codes[at] == code else -1

    def __getitem__(self, code: str) -> PlanRow:
        at = self._at(code)
        if at < 0:
            raise KeyError(code)
        return PlanRow(
            code,
            self.departments[at],
            self.offices[at],
            self.conflicts.get(code, ()),
            self.recent.get(code, ()),
        )

    def __contains__(self, code: object) -> bool:
        return self._at(code) >= 0

    def places_of(self, codes: Sequence[str]) -> list[tuple[str, str]]:
        """The (department, office) of each of ``codes``, in order, read from the columns without making a
        ``PlanRow``; raises ``KeyError`` for a code not among the rows."""
        departments, offices = self.departments, self.offices
        department_of, office_of = departments.values.__getitem__, offices.values.__getitem__
        at = [self._at(code) for code in codes]
        if -1 in at:
            raise KeyError(next(code for code, found in zip(codes, at, strict=False) if found < 0))
        return list(
            zip(
                map(department_of, map(departments.indices.__getitem__, at)),
                map(office_of, map(offices.indices.__getitem__, at)),
                strict=True,
            )
        )

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def fields(self) -> Iterator[PlanFields]:
        """Every row's fields, in ascending order of codes: ``values()`` without making ``PlanRow``s (a
        loop that unpacks each row at once, at C speed)."""
        codes, none = self.codes, repeat(())
        conflicts = map(self.conflicts.get, codes, none) if self.conflicts else none
        recent = map(self.recent.get, codes, none) if self.recent else none
        # strict=False: the badge columns may be endless (repeat), the codes end it
        return zip(codes, self.departments, self.offices, conflicts, recent, strict=False)

    def pair_numbers(self, start: int = 0, stop: int | None = None) -> list[int]:
        """For each row from ``start`` to ``stop`` (slice bounds), the number of its (department, office)
        pair: department index × ``len(offices.values)`` + office index, computed in C."""
        return cast(list[int], self.pair_array(start, stop).tolist())

    def pair_array(self, start: int = 0, stop: int | None = None) -> npt.NDArray[np.uint64]:
        """``pair_numbers`` as a numpy array."""
        departments, offices = self.departments.indices, self.offices.indices
        at = slice(start, stop)
        numbers = np.frombuffer(departments, dtype=departments.typecode)[at].astype(np.uint64)
        numbers *= len(self.offices.values)
        numbers += np.frombuffer(offices, dtype=offices.typecode)[at]
        return numbers

    def barring_positions(self) -> list[int]:
        """The positions (ascending) of the rows that bar some badge (conflicts or recent)."""
        return sorted(at for at in map(self._at, self.conflicts.keys() | self.recent.keys()) if at >= 0)

    def place_pairs(self) -> set[tuple[str, str]]:
        """The distinct (department, office) pairs of the rows."""
        departments, offices = self.departments.values, self.offices.values
        width = len(offices)
        return {(departments[n // width], offices[n % width]) for n in set(self.pair_numbers())}

    def places(self) -> Iterator[tuple[str, str, str]]:
        """Every row's code, department and office, in ascending order of codes."""
        return zip(self.codes, self.departments, self.offices, strict=True)

    def values(self) -> ValuesView[PlanRow]:
        return _PlanValues(self)

    def items(self) -> ItemsView[str, PlanRow]:
        return _PlanItems(self)

    def __repr__(self) -> str:
        return f"PlanRows({len(self)} rows)"


class _PlanValues(ValuesView[PlanRow]):
    """``PlanRows.values()``: iterates the columns, not a lookup per code."""

    _mapping: PlanRows

    @property
    def mapping(self) -> PlanRows:
        return self._mapping

    def __iter__(self) -> Iterator[PlanRow]:
        return tuples_of(PlanRow, self._mapping.fields())


class _PlanItems(ItemsView[str, PlanRow]):
    """``PlanRows.items()``: iterates the columns, not a lookup per code."""

    _mapping: PlanRows

    def __iter__(self) -> Iterator[tuple[str, PlanRow]]:
        rows = self._mapping
        return zip(rows.codes, tuples_of(PlanRow, rows.fields()), strict=True)


def plan_fields(rows: Collection[PlanRow]) -> Iterable[PlanFields]:
    """Each row's fields, in order: from the columns of ``PlanRows.values()``, without making its rows."""
    return rows.mapping.fields() if isinstance(rows, _PlanValues) else rows


def plan_places(rows: Mapping[str, PlanRow]) -> Iterator[tuple[str, str, str]]:
    """Each row's code, department and office, in the mapping's order."""
    return rows.places() if isinstance(rows, PlanRows) else (r[:3] for r in rows.values())


class RaisedRow(NamedTuple):
    code: str
    from_class: str
    to_class: str


@dataclass(frozen=True)
class ObjectPlan:
    """The plan rows a computation is given (all eligible objects', or at least the selected ones'), by
    code, and the raises (``None`` when not known: a public bundle lists none)."""

    rows: Mapping[str, PlanRow] = field(default_factory=dict)
    raised: Mapping[str, RaisedRow] | None = field(default_factory=dict)

    @staticmethod
    def of(rows: Iterable[PlanRow], raised: Iterable[RaisedRow] | None = ()) -> ObjectPlan:
        return ObjectPlan(PlanRows.of(rows), None if raised is None else {r.code: r for r in raised})

    @staticmethod
    def from_manifest(manifest: Mapping[str, Any]) -> ObjectPlan:
        """``objects.plan`` and ``objects.raised`` of a ``dualdraw-draw/2`` or ``/3`` manifest."""
        objects = manifest["objects"]
        return ObjectPlan.of(
            (PlanRow(code, dep, office) for code, dep, office in objects["plan"]),
            (RaisedRow(code, old, new) for code, old, new in objects.get("raised", ())),
        )

    def bars(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """Badge → the codes of the rows naming it in ``conflicts``, and likewise ``recent``."""
        conflicts: dict[str, set[str]] = {}
        recent: dict[str, set[str]] = {}
        rows = self.rows
        if isinstance(rows, PlanRows):  # the few rows that bar any badge, not every row
            barring: Iterable[tuple[str, Badges, Badges]] = [
                (code, badges, ()) for code, badges in rows.conflicts.items()
            ] + [(code, (), badges) for code, badges in rows.recent.items()]
        else:
            barring = ((r.code, r.conflicts, r.recent) for r in rows.values())
        for code, barred, inspected in barring:
            for badge in barred:
                conflicts.setdefault(badge, set()).add(code)
            for badge in inspected:
                recent.setdefault(badge, set()).add(code)
        return conflicts, recent


def _salt(tag: bytes, salt_key: bytes, code: str) -> str:
    return hashlib.sha256(tag + salt_key + code.encode("ascii")).hexdigest()


def plan_salt(salt_key: bytes, code: str) -> str:
    """hex SHA256("dualdraw/plan-salt/v1" ‖ 0x00 ‖ salt key ‖ code)."""
    return _salt(PLAN_SALT_TAG, salt_key, code)


def raise_salt(salt_key: bytes, code: str) -> str:
    """hex SHA256("dualdraw/raise-salt/v1" ‖ 0x00 ‖ salt key ‖ code)."""
    return _salt(RAISE_SALT_TAG, salt_key, code)


def plan_leaf(row: PlanRow, salt: str) -> dict[str, Any]:
    return {
        "code": row.code,
        "conflicts": list(row.conflicts),
        "department_id": row.department_id,
        "office": row.office,
        "recent": list(row.recent),
        "salt": salt,
    }


def raised_leaf(row: RaisedRow, salt: str) -> dict[str, str]:
    return {"code": row.code, "from_class": row.from_class, "salt": salt, "to_class": row.to_class}


def plan_row_of(leaf: Mapping[str, Any]) -> PlanRow:
    return PlanRow(
        leaf["code"], leaf["department_id"], leaf["office"], tuple(leaf["conflicts"]), tuple(leaf["recent"])
    )


_LEAF_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_LEAF_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def leaf_bytes(leaf: Mapping[str, Any]) -> bytes:
    """``canonical_json(leaf)`` for a plan or raised leaf (ASCII names; strings and lists of strings), by
    the C encoder: for such values RFC 8785 and sorted compact ``json`` write the same text (as
    ``service_layer.bundles.str_row_json`` explains); a lone surrogate fails the strict UTF-8 encoding."""
    return _LEAF_ENCODER.encode(leaf).encode("utf-8")


def plan_leaf_hashes(rows: Collection[PlanRow], salt_key: bytes) -> list[bytes]:
    """``iter_plan_leaf_hashes`` as a list."""
    packed = packed_plan_leaf_hashes(rows, salt_key)
    return [bytes(packed[at : at + 32]) for at in range(0, len(packed), 32)]


def packed_plan_leaf_hashes(rows: Collection[PlanRow], salt_key: bytes) -> bytearray:
    """``iter_plan_leaf_hashes`` laid end to end, 32 bytes each.

    A draw's hot path at 1M objects: for the rows of ``PlanRows.values()`` with plain ASCII codes, each
    leaf is the code and its salt between two pieces written once per distinct (department, office) pair
    (by the C encoder, as ``leaf_bytes``) or, for the few rows that bar badges, once per row; both SHA-256
    calls of every row run in C (``sha256_batch.framed_leaves``), ``PLAN_PIECE`` rows a call, written into
    one buffer made at once (at 10M rows, 320 MB and no copy). Otherwise row by row. Both give the same
    bytes (tests/unit/test_object_plan.py)."""
    if not (isinstance(rows, _PlanValues) and all_plain(rows.mapping.codes)):
        return bytearray(b"".join(iter_plan_leaf_hashes(rows, salt_key)))
    columns = rows.mapping
    barring = columns.barring_positions()
    packed = bytearray(32 * len(columns.codes))
    for start in range(0, len(columns.codes), PLAN_PIECE):
        stop = start + PLAN_PIECE
        barring_here = barring[bisect_left(barring, start) : bisect_left(barring, stop)]
        packed[32 * start : 32 * stop] = _piece_leaf_hashes(columns, start, stop, barring_here, salt_key)
    return packed


PLAN_PIECE = 1 << 20
"""Plan rows hashed per C call: the piece's frame numbers (8 bytes a row) never exist for every row."""


def _piece_leaf_hashes(
    columns: PlanRows, start: int, stop: int, barring: list[int], salt_key: bytes
) -> bytes:
    """The packed leaf hashes of rows ``start`` to ``stop`` of ``columns``; ``barring``: the positions of
    the rows among them that bar badges."""
    departments, offices = columns.departments.values, columns.offices.values
    width = len(offices)
    pairs, inverse = distinct_numbers(columns.pair_array(start, stop), len(departments) * width)
    frame_of = inverse.astype(np.uint64)
    middles = [_plan_middle(departments[p // width], offices[p % width], (), ()) for p in pairs.tolist()]
    for at in barring:
        code = columns.codes[at]
        place = int(pairs[frame_of[at - start]])
        conflicts, recent = columns.conflicts.get(code, ()), columns.recent.get(code, ())
        frame_of[at - start] = len(middles)
        middles.append(_plan_middle(departments[place // width], offices[place % width], conflicts, recent))
    ends = [b'"}'] * len(middles)
    codes = columns.codes[start:stop]
    return sha256_batch.framed_leaves(
        PLAN_SALT_TAG + salt_key, codes, frame_of, middles, ends, _PLAN_LEAF_HEAD
    )


_PLAN_LEAF_HEAD = b'\x00{"code":"'


def _plan_middle(department_id: str, office: str, conflicts: Badges, recent: Badges) -> bytes:
    """A plan leaf's canonical JSON between its code and its salt."""
    text = _LEAF_TEXT
    return (
        f'","conflicts":{text(list(conflicts))},"department_id":{text(department_id)},'
        f'"office":{text(office)},"recent":{text(list(recent))},"salt":"'
    ).encode()


def iter_plan_leaf_hashes(rows: Collection[PlanRow], salt_key: bytes) -> Iterator[bytes]:
    """``leaf_hash(leaf_bytes(plan_leaf(r, plan_salt(salt_key, r.code))))`` of each row, in order, row by
    row (``packed_plan_leaf_hashes`` is the fast path of a draw's columns).

    When every code is plain ASCII, each leaf is assembled from the code, its salt and fragments written
    once per distinct department and office and per list of badges (by the C encoder, as ``leaf_bytes``),
    with two SHA-256 calls per row and no dict; otherwise the canonical way. Iterates ``rows`` twice
    (codes, then rows)."""
    if not all_plain(_codes(rows)):
        yield from (leaf_hash(leaf_bytes(plan_leaf(r, plan_salt(salt_key, r.code)))) for r in rows)
        return
    sha256, hexlify, salted, text = hashlib.sha256, binascii.hexlify, PLAN_SALT_TAG + salt_key, _LEAF_TEXT
    places: dict[tuple[str, str], bytes] = {}
    badges: dict[tuple[str, ...], bytes] = {}
    for code, department_id, office, conflicts, recent in plan_fields(rows):
        place = places.get((department_id, office))
        if place is None:
            written = f',"department_id":{text(department_id)},"office":{text(office)},"recent":'
            place = places[department_id, office] = written.encode("utf-8")
        barred = badges.get(conflicts)
        if barred is None:
            barred = badges[conflicts] = text(list(conflicts)).encode("utf-8")
        inspected = badges.get(recent)
        if inspected is None:
            inspected = badges[recent] = text(list(recent)).encode("utf-8")
        key = code.encode("ascii")
        salt = hexlify(sha256(salted + key).digest())
        data = b'\x00{"code":"' + key + b'","conflicts":' + barred + place + inspected
        yield sha256(data + b',"salt":"' + salt + b'"}').digest()


def raised_leaf_hashes(rows: Iterable[RaisedRow], salt_key: bytes) -> list[bytes]:
    return [leaf_hash(leaf_bytes(raised_leaf(r, raise_salt(salt_key, r.code)))) for r in rows]


def plan_commitments(plan: ObjectPlan, salt_key: bytes) -> dict[str, Any]:
    """The manifest's ``objects`` members that commit to ``plan`` (``dualdraw-manifest/5``): the sorted
    Merkle roots of the plan and raised leaves and their counts."""
    raised = plan.raised or {}
    return {
        "plan_count": len(plan.rows),
        "plan_root": packed_set_root(packed_plan_leaf_hashes(plan.rows.values(), salt_key)),
        "raised_count": len(raised),
        "raised_root": set_root(raised_leaf_hashes(raised.values(), salt_key)),
    }


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def inclusion_proofs(sorted_leaves: Sequence[bytes], indices: Iterable[int]) -> dict[int, list[bytes]]:
    """RFC 9162 inclusion proofs (siblings bottom-up) of the leaves at ``indices`` in the tree over
    ``sorted_leaves``, all in one pass over the tree (every node hashed once)."""
    marked = sorted(set(indices))
    proofs: dict[int, list[bytes]] = {i: [] for i in marked}
    n = len(sorted_leaves)
    if marked and not (marked[0] >= 0 and marked[-1] < n):
        raise ValueError("leaf index outside the tree")

    def walk(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return sorted_leaves[lo]
        mid = lo + _split(hi - lo)
        left, right = walk(lo, mid), walk(mid, hi)
        a, b, c = bisect_left(marked, lo), bisect_left(marked, mid), bisect_left(marked, hi)
        for i in marked[a:b]:
            proofs[i].append(right)
        for i in marked[b:c]:
            proofs[i].append(left)
        return node_hash(left, right)

    if n:
        walk(0, n)
    return proofs
