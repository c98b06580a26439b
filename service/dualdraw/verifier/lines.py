"""Verifying a line bundle ``dualdraw-bundle-lines/1`` line by line, in memory bounded by the selection
(docs/DRAW-ALGORITHM.md §12.1), not by the eligible set.

- Merkle roots: a public bundle lists the commitments (the leaves) ascending, so its root is folded as the
  rows pass (``Frontier``); a full bundle lists rows by code, so their leaf hashes (32 bytes each) are sorted
  externally (``runtime.external_sort``) and then folded; the exclusions likewise.
- ``eligible_digest``: the codes arrive strictly ascending, so their digest is hashed as they pass.
- Selection: per stratum the lowest ``size(r, n)`` (ticket, code) keys are kept (``LowestKeys``: at most
  about twice that many at once), with ``n`` from the manifest (the counts are checked at the end).
- Excluded objects are checked against the eligible set by a merge of the two sorted sections (a second
  reader over the eligible lines).

What stays in memory: the header (for ``dualdraw-draw/2`` and ``/3`` its manifest lists every eligible
object in ``objects.plan``, and their stratum check keeps the entries), the kept keys and the assignments
with their teams.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import closing
from typing import Any, BinaryIO, Final

from dualdraw.domain.audit.merkle import Frontier, leaf_hash
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import EligibleEntry, object_commitment, object_leaf_data
from dualdraw.domain.draw.coordination import JOINED_RULE_ID, OTHER_LEVEL_RULE_ID, other_level_problem
from dualdraw.domain.draw.object_plan import ObjectPlan, leaf_bytes
from dualdraw.domain.draw.selection import object_ticket, selection_size, ticket_hex
from dualdraw.domain.draw.strata import DEFAULT_STRATUM
from dualdraw.domain.draw.versions import PLAIN_DRAW, stratum_problem
from dualdraw.runtime import collection_pause
from dualdraw.runtime.external_sort import SpillingSort
from dualdraw.verifier.checks import (
    Drawn,
    ObjectCheck,
    Report,
    StoredAssignment,
    assignment_row,
    check_abandon,
    check_draw,
    check_log,
    check_pool,
    check_seed,
    check_selected_logged,
    check_teams,
)
from dualdraw.verifier.fields import Mismatch, hex64, need, obj, text
from dualdraw.verifier.object_plan import PLAN_LINES_FORMAT, FullPlan, check_public_plan, check_raised

LINES_FORMAT: Final = "dualdraw-bundle-lines/1"
LINE_STAGES: Final = ("parse", "manifest", "log", "entropy", "eligible", "exclusions", "selection", "teams")
"""The stages of a line bundle's verification, in order."""
HEADER_FIELDS: Final = ("format", "variant", "draw", "entropy_inputs", "pool", "substitutions", "log")
SECTIONS: Final = ("eligible", "exclusions", "assignments")
PROGRESS_LINES: Final = 65_536
"""Lines between two progress reports."""

Opener = Callable[[], BinaryIO]

OTHER_LEVEL_RULE_IDS = frozenset({OTHER_LEVEL_RULE_ID, JOINED_RULE_ID})
"""The exclusions the other-level check compares with ``objects.other_level``."""


def verify_lines(
    opener: Opener,
    *,
    trusted_keys: Collection[str] | None = None,
    own_object: ObjectCheck | None = None,
    stage: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Verifies the line bundle that ``opener()`` reads (called twice: one reader follows the eligible
    section again for the exclusions); ``progress(bytes read)`` is told as lines pass."""
    notes: list[str] = []
    try:
        with collection_pause.paused():
            _verify(opener, trusted_keys, own_object, notes, stage or (lambda _name: None), progress)
    except Mismatch as exc:
        return Report(False, str(exc), notes)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        return Report(False, f"bundle: malformed content ({type(exc).__name__}: {exc})", notes)
    return Report(True, "", notes)


class _Reader:
    """The bundle's lines, each checked to end with a newline; tells ``progress`` the bytes read."""

    def __init__(self, stream: BinaryIO, progress: Callable[[int], None] | None) -> None:
        self._lines = iter(stream)
        self._progress = progress
        self.number = 0
        self.bytes = 0

    def next(self, expecting: str, check: Callable[[bytes], object] | None = None) -> bytes:
        """The next line without its newline; ``check`` sees it first (even when the newline is missing)."""
        line = next(self._lines, b"")
        if check is not None:
            check(line.removesuffix(b"\n"))
        need(line.endswith(b"\n"), f"bundle: ends at line {self.number + 1}, expected {expecting}")
        self.number += 1
        self.bytes += len(line)
        if self._progress is not None and self.number % PROGRESS_LINES == 0:
            self._progress(self.bytes)
        return line[:-1]

    def rows(self, section: str, following: str) -> Iterator[bytes]:
        """The rows of ``section`` (after its marker line), up to the marker ``following``."""
        end = canonical_json(following)
        while (line := self.next(f"a {section} row or {following}")) != end:
            need(
                not line.startswith(b'"'),
                f"bundle: line {self.number}: expected a {section} row or {following}",
            )
            yield line


def _marker(reader: _Reader, name: str) -> None:
    need(reader.next(f'"{name}"') == canonical_json(name), f'bundle: line {reader.number}: expected "{name}"')


def _verify(
    opener: Opener,
    trusted_keys: Collection[str] | None,
    own: ObjectCheck | None,
    notes: list[str],
    stage: Callable[[str], None],
    progress: Callable[[int], None] | None,
) -> None:
    stage("parse")
    with closing(opener()) as stream:
        reader = _Reader(stream, progress)
        line = reader.next("the header", check=_json)
        header = json.loads(line)
        need(canonical_json(header) == line, "bundle: header not in canonical form")
        h = obj(header, HEADER_FIELDS, "bundle")
        need(h["format"] in (LINES_FORMAT, PLAN_LINES_FORMAT), f"bundle.format: expected {LINES_FORMAT}")
        variant = h["variant"]
        need(variant in ("full", "public"), "bundle.variant: expected full or public")
        stage("manifest")
        drawn = check_draw(h["draw"], notes)
        plan_form = not drawn.algorithm.plan_in_manifest
        expected_format = PLAN_LINES_FORMAT if plan_form else LINES_FORMAT
        need(
            h["format"] == expected_format,
            f"bundle.format: a {drawn.algorithm.version} draw's bundle is {expected_format}",
        )
        stage("log")
        check_log(h["log"], drawn, trusted_keys, notes)
        pool_lines = check_pool(h["pool"], drawn)
        stage("entropy")
        seed = check_seed(h["entropy_inputs"], drawn, notes)
        stage("eligible")
        if plan_form:
            _marker(reader, "raised")
            raised_rows = [
                _leaf_row(line, f"raised[{n}]") for n, line in enumerate(reader.rows("raised", "eligible"))
            ]
            if variant == "full":
                drawn.plan = ObjectPlan({}, check_raised(raised_rows, drawn.objects))
            else:
                need(raised_rows == [], "raised: a public bundle lists none")
        else:
            _marker(reader, "eligible")
        eligible_start = reader.number
        eligible: _FullEligible | _PublicEligible = (
            _FullEligible(drawn, seed, own) if variant == "full" else _PublicEligible(drawn, seed, own)
        )
        for n, row in enumerate(reader.rows("eligible", "plan" if plan_form else "exclusions")):
            eligible.add(n, row)
        eligible.finish(notes)
        public_plan: list[Any] = []
        if plan_form:
            rows = reader.rows("plan", "exclusions")
            if isinstance(eligible, _FullEligible):
                leaves = _LeafSort()
                plan = FullPlan(leaves.add, eligible.selected_codes())
                for n, line in enumerate(rows):
                    plan.add_line(n, line)
                plan.finish(drawn.objects, leaves.root())
                drawn.plan = ObjectPlan(plan.rows, drawn.plan.raised)
            else:
                public_plan = [_row(line, f"plan[{n}]") for n, line in enumerate(rows)]
        stage("exclusions")
        if variant == "full":
            with closing(opener()) as again:
                _check_exclusions(reader, _eligible_codes(again, eligible_start), drawn)
        else:
            need(
                next(reader.rows("exclusions", "assignments"), None) is None,
                "exclusions: a public bundle lists none",
            )
            problem = other_level_problem(drawn.manifest, None)
            need(problem is None, problem or "")
        stage("selection")
        stored = [
            assignment_row(_row(line, f"assignments[{n}]"), n)
            for n, line in enumerate(reader.rows("assignments", "end"))
        ]
        need(next(iter(stream), b"") == b"", f"bundle: more after the end marker at line {reader.number}")
        if progress is not None:
            progress(reader.bytes)
    if seed is None:
        need(stored == [] and h["substitutions"] == [], "draw: a draw without seed has no assignments")
        need(public_plan == [], "plan: a draw without seed has no plan rows")
        check_abandon(drawn)
        notes.append(f"draw {drawn.draw_id} is {drawn.state}; nothing drawn")
        return
    check_selected_logged(drawn, stored)
    eligible.check_selection(stored)
    if plan_form and variant == "public":
        drawn.plan = check_public_plan(public_plan, drawn.objects, [code for code, *_ in stored])
    stage("teams")
    check_teams(drawn, seed, stored, pool_lines, h["substitutions"], notes)
    check_abandon(drawn)
    if own is not None:
        eligible.check_own(stored, notes)


def _leaf_row(line: bytes, where: str) -> Any:
    """A plan or raised leaf line parsed and proven canonical (its bytes are the leaf data)."""
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Mismatch(f"{where}: not valid UTF-8 JSON ({exc})") from None
    need(isinstance(value, dict) and leaf_bytes(value) == line, f"{where}: not in canonical form")
    return value


def _json(line: bytes) -> None:
    try:
        json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Mismatch(f"bundle: not valid UTF-8 JSON ({exc})") from None


def _row(line: bytes, where: str) -> Any:
    """A row line parsed and proven canonical."""
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Mismatch(f"{where}: not valid UTF-8 JSON ({exc})") from None
    need(canonical_json(value) == line, f"{where}: not in canonical form")
    return value


_STRING_ROW = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
"""For rows of ASCII names and string values this writes exactly canonical JSON (see the server's
``bundles.str_row_json``), in C; anything else is compared through ``canonical_json``."""


def _string_row(line: bytes, fields: tuple[str, ...], where: str) -> dict[str, str]:
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Mismatch(f"{where}: not valid UTF-8 JSON ({exc})") from None
    r = obj(value, fields, where)
    for name in fields:
        text(r[name], f"{where}.{name}")
    if _STRING_ROW.encode(r).encode("utf-8") != line:
        need(canonical_json(r) == line, f"{where}: not in canonical form")
    return r


class LowestKeys:
    """The ``count`` smallest of the byte strings offered (distinct), holding at most about twice that
    many: when the buffer fills it is cut to the smallest ``count``, and the largest kept becomes the
    bound above which nothing can enter."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._keys: list[bytes] = []
        self._bound: bytes | None = None

    def offer(self, key: bytes) -> None:
        if self.count <= 0 or (self._bound is not None and key >= self._bound):
            return
        self._keys.append(key)
        if len(self._keys) >= 2 * self.count + 1024:
            self._keys.sort()
            del self._keys[self.count :]
            self._bound = self._keys[-1]

    def lowest(self) -> list[bytes]:
        self._keys.sort()
        return self._keys[: self.count]


def _sizes(drawn: Drawn) -> dict[str, LowestKeys]:
    """A ``LowestKeys`` per stratum of the manifest, sized by its ratio and count."""
    return {
        name: LowestKeys(selection_size(drawn.stratum_ratio[name], s["count"]))
        for name, s in drawn.objects["strata"].items()
    }


class _FullEligible:
    """The full eligible rows, ascending by code: root, digest, counts, strata and the selection."""

    def __init__(self, drawn: Drawn, seed: bytes | None, own: ObjectCheck | None) -> None:
        self.drawn, self.seed, self.own = drawn, seed, own
        self.leaf_runs = _LeafSort()
        self.digest = hashlib.sha256()
        self.previous = ""
        self.counts: Counter[str] = Counter()
        self.lowest = _sizes(drawn)
        self.entries: list[EligibleEntry] = []  # only for versions that check strata against classes
        # dualdraw-draw/4 checks each row against the raised rows (read first); older versions keep the
        # entries for their manifest's plan and raises
        self.keep_entries = drawn.algorithm.stratified and drawn.algorithm.plan_in_manifest
        self.row_strata = drawn.algorithm.stratified and not drawn.algorithm.plan_in_manifest
        self.own_row: dict[str, str] | None = None

    def add(self, n: int, line: bytes) -> None:
        where = f"eligible[{n}]"
        try:
            r = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Mismatch(f"{where}: not valid UTF-8 JSON ({exc})") from None
        obj(r, ("code", "risk_class", "salt", "stratum"), where)
        entry = EligibleEntry(
            text(r["code"], f"{where}.code"),
            text(r["stratum"], f"{where}.stratum"),
            text(r["risk_class"], f"{where}.risk_class"),
        )
        salt = hex64(r["salt"], f"{where}.salt")
        need(object_leaf_data(entry, salt) == line, f"{where}: not in canonical form")
        code = entry.code
        need(code > self.previous, f"{where}.code: not in ascending order of codes (or a duplicate)")
        need("\n" not in code and code != "", f"{where}.code: empty or holds a newline")
        self.digest.update(code.encode("utf-8") if n == 0 else b"\n" + code.encode("utf-8"))
        self.previous = code
        self.leaf_runs.add(leaf_hash(line))
        self.counts[entry.stratum] += 1
        if self.keep_entries:
            self.entries.append(entry)
        elif self.row_strata:
            problem = stratum_problem(n, entry, self.drawn.plan.raised or {})
            need(problem is None, problem or "")
        if self.seed is not None:
            lowest = self.lowest.get(entry.stratum)
            need(lowest is not None, f"{where}.stratum: {entry.stratum} is not a stratum of the manifest")
            assert lowest is not None
            ticket = object_ticket(self.seed, entry.stratum, code)
            lowest.offer(ticket.to_bytes(32, "big") + code.encode("ascii"))
        if self.own is not None and code == self.own.code:
            self.own_row = r

    def finish(self, notes: list[str]) -> None:
        objects = self.drawn.objects
        if self.keep_entries:
            problem = self.drawn.algorithm.eligible_problem(
                self.entries, self.drawn.manifest, self.drawn.plan
            )
            need(problem is None, problem or "")
            self.entries = []
        need(
            self.leaf_runs.root() == objects["eligible_root"],
            "eligible: the set does not match the manifest's eligible_root",
        )
        need(
            self.digest.hexdigest() == objects["eligible_digest"],
            "eligible: the codes do not match the manifest's eligible_digest",
        )
        _check_counts(self.counts, objects, self.drawn.manifest["algorithm_version"])

    def selected_codes(self) -> set[str]:
        """The codes the selection takes (known once the section ended; none without a seed)."""
        return {key[32:].decode("ascii") for keys in self.lowest.values() for key in keys.lowest()}

    def check_selection(self, stored: list[StoredAssignment]) -> None:
        assert self.seed is not None
        selected = [
            (key[32:].decode("ascii"), name, key[:32].hex())
            for name in sorted(self.lowest, key=lambda s: s.encode("utf-8"))
            for key in self.lowest[name].lowest()
        ]
        for n, ((code, stratum, ticket), (s_code, s_stratum, s_ticket, _)) in enumerate(
            zip(selected, stored, strict=False)
        ):
            need(
                (code, stratum, ticket) == (s_code, s_stratum, s_ticket),
                f"assignments[{n}]: position {n + 1} should be {code} (ticket {ticket[:12]}…), "
                f"the bundle says {s_code}",
            )
        need(
            len(selected) == len(stored),
            f"assignments: {len(stored)} listed, the draw selects {len(selected)}",
        )

    def check_own(self, stored: list[StoredAssignment], notes: list[str]) -> None:
        own, found = self.own, self.own_row
        assert own is not None
        need(
            found is not None and found["salt"] == own.salt and found["risk_class"] == own.risk_class,
            f"object {own.code}: not in the eligible set with this salt and risk class",
        )
        _own_note(own.code, stored, notes)


class _PublicEligible:
    """The public eligible rows, ascending by commitment: root, counts and the lowest listed tickets."""

    def __init__(self, drawn: Drawn, seed: bytes | None, own: ObjectCheck | None) -> None:
        self.drawn, self.seed, self.own = drawn, seed, own
        self.frontier = Frontier()
        self.previous = b""
        self.counts: Counter[str] = Counter()
        self.lowest = _sizes(drawn)
        self.own_commitments: set[str] = set()
        if own is not None:
            self.own_commitments = {
                object_commitment(EligibleEntry(own.code, stratum, own.risk_class), own.salt)
                for stratum in ("all", "A", "B", "C", "D")
            }
        self.own_row: dict[str, str] | None = None

    def add(self, n: int, line: bytes) -> None:
        where = f"eligible[{n}]"
        r = _string_row(line, ("commitment", "stratum", "ticket"), where)
        commitment = bytes.fromhex(hex64(r["commitment"], f"{where}.commitment"))
        need(commitment > self.previous, "eligible: commitments are not in ascending order")
        self.previous = commitment
        self.frontier.append(commitment)
        stratum = r["stratum"]
        self.counts[stratum] += 1
        if self.seed is not None:
            lowest = self.lowest.get(stratum)
            need(lowest is not None, f"{where}.stratum: {stratum} is not a stratum of the manifest")
            assert lowest is not None
            lowest.offer(bytes.fromhex(hex64(r["ticket"], f"{where}.ticket")))
        else:
            need(r["ticket"] == "", f"{where}.ticket: a draw without seed has no tickets")
        if r["commitment"] in self.own_commitments:
            self.own_row = r

    def finish(self, notes: list[str]) -> None:
        objects = self.drawn.objects
        need(
            self.frontier.root().hex() == objects["eligible_root"],
            "eligible: the commitments do not match the manifest's eligible_root",
        )
        _check_counts(self.counts, objects, self.drawn.manifest["algorithm_version"])
        notes.append(
            "public bundle: unselected objects are salted commitments; each object can check its own ticket"
        )

    def check_selection(self, stored: list[StoredAssignment]) -> None:
        assert self.seed is not None
        n_stored = 0
        for stratum in sorted(self.lowest, key=lambda s: s.encode("utf-8")):
            tickets = [key.hex() for key in self.lowest[stratum].lowest()]
            size = len(tickets)
            mine = stored[n_stored : n_stored + size]
            need(len(mine) == size, f"assignments: stratum {stratum} should have {size} selected objects")
            for k, (code, st, ticket, _) in enumerate(mine):
                need(
                    st == stratum and ticket == tickets[k],
                    f"assignments[{n_stored + k}]: ticket is not the {k + 1}. lowest of {stratum}",
                )
                need(
                    ticket_hex(object_ticket(self.seed, stratum, code)) == ticket,
                    f"assignments[{n_stored + k}]: ticket of {code} does not recompute",
                )
            n_stored += size
        need(n_stored == len(stored), "assignments: more listed than the draw selects")

    def check_own(self, stored: list[StoredAssignment], notes: list[str]) -> None:
        own, found = self.own, self.own_row
        assert own is not None
        assert self.seed is not None
        need(found is not None, f"object {own.code}: its commitment is not in the eligible set")
        assert found is not None
        need(
            found["ticket"] == ticket_hex(object_ticket(self.seed, found["stratum"], own.code)),
            f"object {own.code}: the listed ticket is not its ticket",
        )
        _own_note(own.code, stored, notes)


def _own_note(code: str, stored: list[StoredAssignment], notes: list[str]) -> None:
    selected = any(c == code for c, *_ in stored)
    notes.append(f"object {code}: ticket checked; {'selected' if selected else 'not selected'}")


def _check_counts(counts: Counter[str], objects: dict[str, Any], algorithm_version: str) -> None:
    expected = {name: s["count"] for name, s in objects["strata"].items()}
    if algorithm_version == PLAIN_DRAW and expected == {DEFAULT_STRATUM: 0}:
        expected = {}  # a plain draw keeps its one stratum, with count 0, when nothing is eligible
    need(dict(counts) == expected, "eligible: per-stratum counts differ from the manifest")
    need(sum(counts.values()) == objects["eligible"], "eligible: count differs from the manifest")


class _LeafSort:
    """Leaf hashes in any order in, the Merkle root of their set out (sorted externally, then folded)."""

    def __init__(self) -> None:
        self._sort = SpillingSort()

    def add(self, leaf: bytes) -> None:
        self._sort.add(leaf)

    def root(self) -> str:
        frontier = Frontier()
        for leaf in self._sort.sorted():
            frontier.append(leaf)
        return frontier.root().hex()


def _eligible_codes(stream: BinaryIO, start: int) -> Iterator[str]:
    """The codes of the eligible section from a second reader. The first pass proved every row canonical,
    so each starts with ``{"code":"`` and its code runs to the next quote; a row with an escape before that
    quote is parsed instead."""
    lines = iter(stream)
    for _ in range(start):
        next(lines)
    prefix = b'{"code":"'
    for line in lines:
        if line.startswith(b'"'):
            return
        end = line.index(b'"', len(prefix))
        if b"\\" in line[:end]:
            yield json.loads(line)["code"]
        else:
            yield line[len(prefix) : end].decode("utf-8")


def _check_exclusions(reader: _Reader, eligible_codes: Iterator[str], drawn: Drawn) -> None:
    """The exclusions: canonical, ascending by (code, rule id), their root and counts per rule, and none of
    them an eligible object (a merge with the eligible codes)."""
    objects = drawn.objects
    leaves = _LeafSort()
    per_rule: Counter[str] = Counter()
    other_level: list[tuple[str, str]] = []  # the rows other_level_problem compares (few)
    previous: tuple[str, str] | None = None
    eligible = next(eligible_codes, None)
    for n, line in enumerate(reader.rows("exclusions", "assignments")):
        where = f"exclusions[{n}]"
        pair = _row(line, where)
        need(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair),
            f"{where}: expected [code, rule_id]",
        )
        code, rule_id = pair
        key = (code, rule_id)
        need(previous is None or key > previous, f"{where}: not in ascending order of (code, rule_id)")
        previous = key
        leaves.add(leaf_hash(line))
        per_rule[rule_id] += 1
        if rule_id in OTHER_LEVEL_RULE_IDS:
            other_level.append(key)
        while eligible is not None and eligible < code:
            eligible = next(eligible_codes, None)
        need(eligible != code, "exclusions: an excluded object is in the eligible set")
    need(
        leaves.root() == objects["exclusions_root"], "exclusions: do not match the manifest's exclusions_root"
    )
    need(dict(per_rule) == objects["exclusions_by_rule"], "exclusions: counts per rule differ")
    problem = other_level_problem(drawn.manifest, other_level)
    need(problem is None, problem or "")
