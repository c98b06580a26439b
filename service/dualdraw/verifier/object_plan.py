"""The object plan of a ``dualdraw-draw/4`` bundle (docs/DRAW-ALGORITHM.md §12.2, §14.8): its rows checked
against the manifest's salted roots. A full bundle lists every plan leaf and raised leaf; a public one only
the selected objects' plan leaves, each with its inclusion proof, and no raised leaf.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Final

from dualdraw.domain.audit.merkle import leaf_hash, verify_inclusion
from dualdraw.domain.draw.commitments import set_root
from dualdraw.domain.draw.object_plan import (
    PLAN_LEAF_FIELDS,
    RAISED_LEAF_FIELDS,
    ObjectPlan,
    PlanRow,
    RaisedRow,
    leaf_bytes,
)
from dualdraw.verifier.fields import Mismatch, hex64, integer, list_of, need, obj, text

PLAN_BUNDLE_FORMAT: Final = "dualdraw-bundle/2"
PLAN_LINES_FORMAT: Final = "dualdraw-bundle-lines/2"
PUBLIC_PLAN_FIELDS: Final = ("index", "leaf", "proof")


def _badges(value: Any, where: str) -> tuple[str, ...]:
    if value == []:
        return ()
    badges = [text(b, where) for b in list_of(value, where)]
    need(all(a < b for a, b in itertools.pairwise(badges)), f"{where}: not ascending and distinct")
    return tuple(badges)


_PLAN_KEYS = frozenset(PLAN_LEAF_FIELDS)
_PLAIN_LINE = re.compile(
    rb'\{"code":"([^"\\\x00-\x1f]*)","conflicts":\[\],"department_id":"([^"\\\x00-\x1f]*)",'
    rb'"office":"([^"\\\x00-\x1f]*)","recent":\[\],"salt":"[0-9a-f]{64}"\}'
)
"""A plan leaf line without barred badges whose texts need no escape: canonical JSON as it stands (RFC
8785 writes every other character, U+007F and non-ASCII included, as itself)."""
_SALT = re.compile(r"[0-9a-f]{64}")


def _plain_leaf(r: Any) -> bool:
    """Whether ``r`` is a well-formed plan leaf without barred badges (most rows), checked in one go; any
    other row goes through the field-by-field checks, which name what is wrong."""
    return (
        type(r) is dict
        and r.keys() == _PLAN_KEYS
        and r["conflicts"] == []
        and r["recent"] == []
        and type(r["code"]) is str
        and type(r["department_id"]) is str
        and type(r["office"]) is str
        and type(r["salt"]) is str
        and _SALT.fullmatch(r["salt"]) is not None
    )


def plan_leaf_row(value: Any, where: str, data: bytes | None = None) -> tuple[PlanRow, bytes]:
    """One plan leaf (exact members and types; badge lists ascending) and its leaf hash; ``data``, when
    given, is the leaf's canonical text already proven (a line of the line form)."""
    if _plain_leaf(value):
        row = PlanRow(value["code"], value["department_id"], value["office"])
        return row, leaf_hash(leaf_bytes(value) if data is None else data)
    r = obj(value, PLAN_LEAF_FIELDS, where)
    row = PlanRow(
        text(r["code"], f"{where}.code"),
        text(r["department_id"], f"{where}.department_id"),
        text(r["office"], f"{where}.office"),
        _badges(r["conflicts"], f"{where}.conflicts"),
        _badges(r["recent"], f"{where}.recent"),
    )
    hex64(r["salt"], f"{where}.salt")
    return row, leaf_hash(leaf_bytes(r) if data is None else data)


def raised_leaf_row(value: Any, where: str) -> tuple[RaisedRow, bytes]:
    r = obj(value, RAISED_LEAF_FIELDS, where)
    row = RaisedRow(
        text(r["code"], f"{where}.code"),
        text(r["from_class"], f"{where}.from_class"),
        text(r["to_class"], f"{where}.to_class"),
    )
    hex64(r["salt"], f"{where}.salt")
    return row, leaf_hash(leaf_bytes(r))


def check_raised(rows: Iterable[Any], objects: dict[str, Any]) -> dict[str, RaisedRow]:
    """The full bundle's raised leaves: ascending by code, against ``raised_root`` and ``raised_count``."""
    raised: dict[str, RaisedRow] = {}
    leaves = []
    previous = ""
    for n, value in enumerate(rows):
        row, leaf = raised_leaf_row(value, f"raised[{n}]")
        need(row.code > previous, f"raised[{n}].code: not in ascending order of codes (or a duplicate)")
        previous = row.code
        raised[row.code] = row
        leaves.append(leaf)
    need(len(raised) == objects["raised_count"], "raised: count differs from the manifest's raised_count")
    need(set_root(leaves) == objects["raised_root"], "raised: do not match the manifest's raised_root")
    return raised


class FullPlan:
    """The full bundle's plan leaves as they pass, ascending by code: their leaf hashes (to ``add_leaf``,
    which the caller folds into the root), their count, and their codes, which must hash to the manifest's
    ``eligible_digest`` (ascending and distinct, so they are exactly the eligible codes). Keeps the rows of
    ``keep`` only (the selected codes; ``None``: all)."""

    def __init__(self, add_leaf: Callable[[bytes], object], keep: Collection[str] | None) -> None:
        self.add_leaf = add_leaf
        self.keep = keep
        self.rows: dict[str, PlanRow] = {}
        self.count = 0
        self.previous = ""
        self.digest = hashlib.sha256()

    def add(self, n: int, value: Any, data: bytes | None = None) -> None:
        self._add(n, *plan_leaf_row(value, f"plan[{n}]", data))

    def add_line(self, n: int, line: bytes) -> None:
        """A line of the line form: a canonical plan leaf without barred badges and without characters
        that JSON escapes (most rows) is read by one pattern; any other line is parsed and checked."""
        plain = _PLAIN_LINE.fullmatch(line)
        if plain is not None:
            try:
                code, department_id, office = (g.decode("utf-8") for g in plain.groups())
            except UnicodeDecodeError:
                pass
            else:
                self._add(n, PlanRow(code, department_id, office), leaf_hash(line))
                return
        try:
            value = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Mismatch(f"plan[{n}]: not valid UTF-8 JSON ({exc})") from None
        need(isinstance(value, dict) and leaf_bytes(value) == line, f"plan[{n}]: not in canonical form")
        self.add(n, value, line)

    def _add(self, n: int, row: PlanRow, leaf: bytes) -> None:
        need(row.code > self.previous, f"plan[{n}].code: not in ascending order of codes (or a duplicate)")
        need("\n" not in row.code, f"plan[{n}].code: holds a newline")
        self.digest.update(row.code.encode("utf-8") if self.count == 0 else b"\n" + row.code.encode("utf-8"))
        self.previous = row.code
        self.count += 1
        self.add_leaf(leaf)
        if self.keep is None or row.code in self.keep:
            self.rows[row.code] = row

    def finish(self, objects: dict[str, Any], root: str) -> None:
        need(self.count == objects["plan_count"], "plan: count differs from the manifest's plan_count")
        need(root == objects["plan_root"], "plan: does not match the manifest's plan_root")
        need(
            self.digest.hexdigest() == objects["eligible_digest"],
            "plan: the plan does not cover exactly the eligible objects",
        )


def check_public_plan(rows: Sequence[Any], objects: dict[str, Any], selected: Sequence[str]) -> ObjectPlan:
    """The public bundle's plan rows: exactly the selected objects' leaves, ascending by code, each proven
    by its inclusion proof against ``plan_root`` in a tree of ``plan_count`` leaves."""
    size = integer(objects["plan_count"], "manifest.objects.plan_count")
    expected_root = bytes.fromhex(hex64(objects["plan_root"], "manifest.objects.plan_root"))
    found: list[PlanRow] = []
    for n, value in enumerate(rows):
        where = f"plan[{n}]"
        r = obj(value, PUBLIC_PLAN_FIELDS, where)
        row, leaf = plan_leaf_row(r["leaf"], f"{where}.leaf")
        index = integer(r["index"], f"{where}.index")
        proof = [bytes.fromhex(hex64(p, f"{where}.proof")) for p in list_of(r["proof"], f"{where}.proof")]
        need(
            verify_inclusion(index, size, leaf, proof, expected_root),
            f"{where}: the leaf of {row.code} is not proven in the manifest's plan_root",
        )
        found.append(row)
    codes = [r.code for r in found]
    need(
        all(a.encode("utf-8") < b.encode("utf-8") for a, b in itertools.pairwise(codes)),
        "plan: rows not in ascending order of codes (or a duplicate)",
    )
    need(set(codes) == set(selected), "plan: a public bundle lists exactly the selected objects' plan rows")
    return ObjectPlan.of(found, None)
