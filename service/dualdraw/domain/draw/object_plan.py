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
from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple

from dualdraw.domain.audit.merkle import leaf_hash, node_hash, root
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import all_plain

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


def stored_lines(rows: Collection[PlanRow]) -> Iterator[str]:
    """``PlanRow.stored`` of every row, one at a time. When every code is plain ASCII, a line is assembled
    from the code and fragments written canonically once per distinct department and office and per list
    of badges; otherwise each row the canonical way. A lone surrogate raises ``ValueError``."""
    if not all_plain(r.code for r in rows):
        yield from (r.stored() for r in rows)
        return
    places: dict[tuple[str, str], str] = {}
    badges: dict[tuple[str, ...], str] = {}
    for code, department_id, office, conflicts, recent in rows:
        place = places.get((department_id, office))
        if place is None:
            place = places[department_id, office] = _canonical_text([department_id, office])[1:-1]
        barred = badges.get(conflicts)
        if barred is None:
            barred = badges[conflicts] = _canonical_text(list(conflicts))
        inspected = badges.get(recent)
        if inspected is None:
            inspected = badges[recent] = _canonical_text(list(recent))
        yield f'["{code}",{place},{barred},{inspected}]'


def _canonical_text(value: object) -> str:
    return canonical_json(value).decode("utf-8")


STORED_BATCH = 65_536


def rows_from_stored(lines: Iterable[str]) -> Iterator[PlanRow]:
    """``PlanRow.from_stored`` of each line, in order, decoding a batch of lines in one ``json`` call."""
    it = iter(lines)
    while batch := list(islice(it, STORED_BATCH)):
        for code, department_id, office, conflicts, recent in json.loads("[" + ",".join(batch) + "]"):
            yield PlanRow(code, department_id, office, tuple(conflicts), tuple(recent))


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
        return ObjectPlan({r.code: r for r in rows}, None if raised is None else {r.code: r for r in raised})

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
        for row in self.rows.values():
            for badge in row.conflicts:
                conflicts.setdefault(badge, set()).add(row.code)
            for badge in row.recent:
                recent.setdefault(badge, set()).add(row.code)
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


def plan_leaf_hashes(rows: Iterable[PlanRow], salt_key: bytes) -> list[bytes]:
    """``leaf_hash(leaf_bytes(plan_leaf(r, plan_salt(salt_key, r.code))))`` of each row, in order.

    A draw's hot path at 1M objects: when every code is plain ASCII, each leaf is assembled from the code,
    its salt and fragments written once per distinct department and office and per list of badges (by
    the C encoder, as ``leaf_bytes``), with two SHA-256 calls per row and no dict; otherwise the canonical
    way. Both give the same bytes (tests/unit/test_object_plan.py)."""
    rows = list(rows)
    if not all_plain(r.code for r in rows):
        return [leaf_hash(leaf_bytes(plan_leaf(r, plan_salt(salt_key, r.code)))) for r in rows]
    sha256, hexlify, salted, text = hashlib.sha256, binascii.hexlify, PLAN_SALT_TAG + salt_key, _LEAF_TEXT
    places: dict[tuple[str, str], bytes] = {}
    badges: dict[tuple[str, ...], bytes] = {}
    leaves = []
    for code, department_id, office, conflicts, recent in rows:
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
        leaves.append(sha256(data + b',"salt":"' + salt + b'"}').digest())
    return leaves


def raised_leaf_hashes(rows: Iterable[RaisedRow], salt_key: bytes) -> list[bytes]:
    return [leaf_hash(leaf_bytes(raised_leaf(r, raise_salt(salt_key, r.code)))) for r in rows]


def plan_commitments(plan: ObjectPlan, salt_key: bytes) -> dict[str, Any]:
    """The manifest's ``objects`` members that commit to ``plan`` (``dualdraw-manifest/5``): the sorted
    Merkle roots of the plan and raised leaves and their counts."""
    raised = plan.raised or {}
    return {
        "plan_count": len(plan.rows),
        "plan_root": root(sorted(plan_leaf_hashes(plan.rows.values(), salt_key))).hex(),
        "raised_count": len(raised),
        "raised_root": root(sorted(raised_leaf_hashes(raised.values(), salt_key))).hex(),
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
