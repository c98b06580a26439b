"""Merkle roots that freeze a draw's input sets in its manifest (docs/DRAW-ALGORITHM.md §6.1).

- eligible objects: leaf data = canonical JSON ``{"code", "risk_class", "salt", "stratum"}`` with
  ``salt = hex SHA256("dualdraw/salt/v1" ‖ 0x00 ‖ salt key ‖ code)``; the salt hides confidential fields
  (risk class) in a public bundle while the object, given its salt, can find its own leaf;
- inspector pool: leaf data = the pool line (canonical JSON of badge and conflicts);
- exclusions: leaf data = canonical JSON ``[code, rule_id]``.

Each root is the RFC 6962 root of the leaf hashes **sorted ascending**, so it depends on the set only.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import compress, count, islice
from typing import Any, NamedTuple, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt

from dualdraw.domain import framed_text, sha256_batch
from dualdraw.domain.audit.merkle import leaf_hash, packed_root
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.numbering import by_first_occurrence
from dualdraw.domain.hash_sort import sort_hashes


class EligibleEntry(NamedTuple):
    """An eligible object as committed: credit code, stratum and risk class. A named tuple: a 1M draw
    makes a million of them, and a tuple is built in half the time and a third of the memory."""

    code: str
    stratum: str
    risk_class: str

    def line(self) -> str:
        return f"{self.code}\t{self.stratum}\t{self.risk_class}"

    @classmethod
    def from_line(cls, line: str) -> EligibleEntry:
        code, stratum, risk_class = line.split("\t")
        return cls(code, stratum, risk_class)


_Row = TypeVar("_Row", bound=tuple[Any, ...])
_Item = TypeVar("_Item")


def tuples_of(kind: type[_Row], columns: Iterable[tuple[Any, ...]]) -> Iterator[_Row]:
    """``map(kind._make, columns)`` at C speed (``_make`` is a Python function; ``tuple.__new__`` is what
    it calls), for a named tuple ``kind`` and tuples of its fields: rows made from columns, a million at a
    time."""
    return cast(Iterator[_Row], map(partial(tuple.__new__, kind), columns))  # tuple.__new__ is untyped


def _typecode(distinct: int) -> str:
    """The smallest unsigned ``array`` type that numbers ``distinct`` values."""
    return "B" if distinct <= 1 << 8 else "H" if distinct <= 1 << 16 else "I"


def text_numbering() -> defaultdict[str, int]:
    """Texts numbered 0, 1, 2… in the order they are first looked up (``numbering[text]``, no Python call
    per text): the numbers of a ``TextColumn`` built value by value."""
    return defaultdict(count().__next__)


class TextColumn(Sequence[str]):
    """Texts with few distinct values, each held as a small number (one ``array`` item, 1 to 4 bytes) into
    the tuple of the distinct ones: a column of a million entries' strata costs a megabyte, not eight."""

    __slots__ = ("indices", "values")

    def __init__(self, values: Iterable[str], indices: Iterable[int]) -> None:
        """``values``: the distinct texts; ``indices``: each text's position in ``values``."""
        self.values = tuple(values)
        self.indices = array(_typecode(len(self.values)), indices)

    @classmethod
    def of(cls, texts: Iterable[str]) -> TextColumn:
        """The column of ``texts``, in order."""
        texts = texts if isinstance(texts, list) else list(texts)
        numbering = dict(zip(dict.fromkeys(texts), count()))
        return cls(numbering, map(numbering.__getitem__, texts))

    @classmethod
    def by_identity(cls, items: Sequence[_Item], text_of: Callable[[_Item], str]) -> TextColumn:
        """``text_of(item)`` of each of ``items``, in order, with ``text_of`` called once per distinct item
        (by identity: items shared by many entries, such as a draw's object profiles, stay alive in
        ``items`` throughout). Texts are numbered in order of first occurrence; nothing per entry runs
        Python code."""
        distinct = dict(zip(map(id, items), items, strict=True))  # first occurrence kept in order
        numbers = text_numbering()
        number_of = {key: numbers[text_of(item)] for key, item in distinct.items()}
        return cls(numbers, map(number_of.__getitem__, map(id, items)))

    @classmethod
    def by_number(
        cls, items: Sequence[_Item], numbers: npt.NDArray[np.intp], text_of: Callable[[_Item], str]
    ) -> TextColumn:
        """``text_of(items[n])`` for each ``n`` of ``numbers``, in order, as ``by_identity`` numbers them
        (texts in order of first occurrence), with ``text_of`` called once per item that occurs: for items
        numbered already (``DrawObjects.numbered``), the column is one array lookup."""
        numbering = text_numbering()
        text_number = np.zeros(len(items), dtype=np.intp)
        for number in by_first_occurrence(numbers, len(items))[0].tolist():
            text_number[number] = numbering[text_of(items[number])]
        column = cls(numbering, ())
        column.indices.frombytes(text_number[numbers].astype(column.indices.typecode).tobytes())
        return column

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> TextColumn: ...

    def __getitem__(self, index: int | slice) -> str | TextColumn:
        if isinstance(index, slice):
            return TextColumn(self.values, self.indices[index])
        return self.values[self.indices[index]]

    def __iter__(self) -> Iterator[str]:
        return map(self.values.__getitem__, self.indices)

    def counts(self) -> dict[str, int]:
        """How many times each text occurs (texts that occur), in order of first occurrence."""
        numbers = np.frombuffer(self.indices, dtype=self.indices.typecode).astype(np.intp)
        found = np.bincount(numbers, minlength=len(self.values)).tolist()
        return {self.values[i]: found[i] for i in by_first_occurrence(numbers, len(self.values))[0].tolist()}

    def where(self, text: str, items: Sequence[str]) -> list[str]:
        """The ``items`` (one per entry of the column, same order) at the entries holding ``text``."""
        if text not in self.values:
            return []
        number = self.values.index(text)
        if self.indices.typecode == "B":  # a byte per entry: its flag is one ``bytes.translate`` away
            flags = bytes(number) + b"\x01" + bytes(255 - number)
            return list(compress(items, self.indices.tobytes().translate(flags)))
        return list(compress(items, map(number.__eq__, self.indices)))


class EligibleEntries(Sequence[EligibleEntry]):
    """Eligible entries held column by column, in ascending order of codes: the codes (a list of the
    draw's, shared, not copied), and each entry's stratum and risk class as a ``TextColumn``. Indexing,
    slicing and iteration give ``EligibleEntry`` tuples made on the fly: a draw of a million objects holds
    two bytes an entry where the tuples took 72."""

    __slots__ = ("codes", "risk_classes", "strata")

    def __init__(self, codes: list[str], strata: TextColumn, risk_classes: TextColumn) -> None:
        if not len(codes) == len(strata) == len(risk_classes):
            raise ValueError("columns of different lengths")
        self.codes = codes
        self.strata = strata
        self.risk_classes = risk_classes

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int) -> EligibleEntry: ...

    @overload
    def __getitem__(self, index: slice) -> EligibleEntries: ...

    def __getitem__(self, index: int | slice) -> EligibleEntry | EligibleEntries:
        if isinstance(index, slice):
            return EligibleEntries(self.codes[index], self.strata[index], self.risk_classes[index])
        return EligibleEntry(self.codes[index], self.strata[index], self.risk_classes[index])

    def __iter__(self) -> Iterator[EligibleEntry]:
        return tuples_of(EligibleEntry, zip(self.codes, self.strata, self.risk_classes, strict=True))

    def __repr__(self) -> str:
        return f"EligibleEntries({len(self)} entries)"


def entry_lines(entries: Iterable[EligibleEntry]) -> Iterator[str]:
    """``EligibleEntry.line`` of each entry, in order; from ``EligibleEntries``, each line is one code and a
    suffix written once per (stratum, risk class)."""
    if not isinstance(entries, EligibleEntries):
        return (f"{e.code}\t{e.stratum}\t{e.risk_class}" for e in entries)  # e.line(), without 1M calls
    strata, classes = entries.strata, entries.risk_classes
    suffixes = {
        (s, c): f"\t{stratum}\t{risk_class}"
        for s, stratum in enumerate(strata.values)
        for c, risk_class in enumerate(classes.values)
    }
    pairs = zip(strata.indices, classes.indices, strict=True)
    return map(str.__add__, entries.codes, map(suffixes.__getitem__, pairs))


def entry_text(entries: Sequence[EligibleEntry], piece: int) -> Iterator[bytes] | None:
    """The lines of ``entry_lines(entries)`` as UTF-8 text, ``piece`` lines at a time (joined by a line
    feed, none after a piece's last), each piece written in one C call (``framed_text``) with the GIL
    released. ``None`` (write ``entry_lines`` instead) unless ``entries`` are ``EligibleEntries`` whose codes
    are non-empty ASCII without a line feed and whose texts encode as UTF-8."""
    if not isinstance(entries, EligibleEntries):
        return None
    codes, strata, classes = entries.codes, entries.strata, entries.risk_classes
    if not (
        all(codes) and (all_plain(codes) or (all(map(str.isascii, codes)) and "\n" not in "".join(codes)))
    ):
        return None
    try:
        ends = [f"\t{s}\t{c}".encode() for s in strata.values for c in classes.values]
    except UnicodeEncodeError:  # a lone surrogate: entry_lines says where
        return None
    frames = np.frombuffer(strata.indices, dtype=strata.indices.typecode).astype(np.uint32)
    frames *= len(classes.values)
    frames += np.frombuffer(classes.indices, dtype=classes.indices.typecode)
    return (
        framed_text.framed_lines(b"", codes[start : start + piece], frames[start : start + piece], ends)
        for start in range(0, len(codes), piece)
    )


_SALT_TAG = b"dualdraw/salt/v1\x00"


def salt_for(salt_key: bytes, code: str) -> str:
    return hashlib.sha256(_SALT_TAG + salt_key + code.encode("ascii")).hexdigest()


_PLAIN = re.compile(r"[ !#-\[\]-~]*")
"""Printable ASCII but for the quote and the backslash: canonical JSON writes such strings unchanged."""


def object_leaf_data(entry: EligibleEntry, salt_hex: str) -> bytes:
    """``canonical_json({"code", "risk_class", "salt", "stratum"})``; written directly when every value is
    plain ASCII (the usual case, and the draw's hot path at 1M objects), else by ``canonical_json``."""
    values = (entry.code, entry.risk_class, salt_hex, entry.stratum)
    if all(_PLAIN.fullmatch(v) for v in values):
        code, risk_class, salt, stratum = values
        text = f'{{"code":"{code}","risk_class":"{risk_class}","salt":"{salt}","stratum":"{stratum}"}}'
        return text.encode("ascii")
    return canonical_json(
        {"code": entry.code, "risk_class": entry.risk_class, "salt": salt_hex, "stratum": entry.stratum}
    )


def object_commitment(entry: EligibleEntry, salt_hex: str) -> str:
    """The hex leaf hash under which an eligible object appears in a public bundle."""
    return leaf_hash(object_leaf_data(entry, salt_hex)).hex()


def all_plain(texts: Iterable[str]) -> bool:
    """Whether canonical JSON writes every one of ``texts`` unchanged (``_PLAIN``), checked in C, each text
    read once (``framed_text.plain``): joined to match the pattern, a draw's million codes were copied."""
    return framed_text.plain(texts)


def object_leaf_hashes(entries: Sequence[EligibleEntry], salt_key: bytes) -> list[bytes]:
    """``leaf_hash(object_leaf_data(e, salt_for(salt_key, e.code)))`` for each entry, in order."""
    packed = packed_object_leaf_hashes(entries, salt_key)
    return [packed[at : at + 32] for at in range(0, len(packed), 32)]


_LEAF_HEAD = b'\x00{"code":"'
"""The leaf hash's prefix and the start of every leaf's canonical JSON (``code`` sorts first)."""


def packed_object_leaf_hashes(entries: Sequence[EligibleEntry], salt_key: bytes) -> bytes:
    """``object_leaf_hashes`` laid end to end, 32 bytes each.

    The draw's hot path at 1M objects: when every code, risk class and stratum is plain ASCII, every leaf
    is the code and its salt between two pieces written once per (risk class, stratum), and both SHA-256
    calls of every entry run in C (``sha256_batch.framed_leaves``); otherwise each leaf is built the
    canonical way. Both give the same bytes (tests/unit/test_commitments_fast.py).
    """
    columns = entries if isinstance(entries, EligibleEntries) else _columns(entries)
    strata, classes = columns.strata.values, columns.risk_classes.values
    if not (all_plain(columns.codes) and all_plain(strata) and all_plain(classes)):
        return b"".join(leaf_hash(object_leaf_data(e, salt_for(salt_key, e.code))) for e in entries)
    frames = [_frame(c, s) for c in classes for s in strata]  # numbered class × len(strata) + stratum
    middles, ends = [middle for middle, _ in frames], [end for _, end in frames]
    frame_of = _numbers(columns.risk_classes) * len(strata) + _numbers(columns.strata)
    return sha256_batch.framed_leaves(
        _SALT_TAG + salt_key, columns.codes, frame_of, middles, ends, _LEAF_HEAD
    )


def _columns(entries: Sequence[EligibleEntry]) -> EligibleEntries:
    return EligibleEntries(
        [e.code for e in entries],
        TextColumn.of([e.stratum for e in entries]),
        TextColumn.of([e.risk_class for e in entries]),
    )


def _numbers(column: TextColumn) -> npt.NDArray[np.uint64]:
    """A column's indices as 64-bit numbers (to be combined without overflow)."""
    return np.frombuffer(column.indices, dtype=column.indices.typecode).astype(np.uint64)


def salted_leaf_hashes(entries: Sequence[EligibleEntry], salts: Sequence[str]) -> list[bytes]:
    """``leaf_hash(object_leaf_data(entry, salt))`` for each entry and its given salt (hex), in order: what
    the offline verifier recomputes from a bundle's eligible rows. Fast path as ``object_leaf_hashes``."""
    codes = _codes(entries)
    frames = _frames(entries, codes)
    if frames is None or not all_plain(salts):
        return [leaf_hash(object_leaf_data(e, salt)) for e, salt in zip(entries, salts, strict=True)]
    sha256 = hashlib.sha256
    leaves = []
    framed = map(frames.__getitem__, _class_strata(entries))
    for code, (middle, end), salt in zip(codes, framed, salts, strict=True):
        data = b'\x00{"code":"' + code.encode("ascii") + middle + salt.encode("ascii") + end
        leaves.append(sha256(data).digest())
    return leaves


def _codes(entries: Sequence[EligibleEntry]) -> Sequence[str]:
    return entries.codes if isinstance(entries, EligibleEntries) else [e.code for e in entries]


def _class_strata(entries: Sequence[EligibleEntry]) -> Iterator[tuple[str, str]]:
    """(risk class, stratum) of each entry, in order; from the columns of ``EligibleEntries``."""
    if isinstance(entries, EligibleEntries):
        return zip(entries.risk_classes, entries.strata, strict=True)
    return ((e.risk_class, e.stratum) for e in entries)


def _frames(
    entries: Sequence[EligibleEntry], codes: Sequence[str]
) -> dict[tuple[str, str], tuple[bytes, bytes]] | None:
    """The fixed leaf-data pieces around each entry's code and salt, per (risk class, stratum), when every
    code, risk class and stratum is plain ASCII (so canonical JSON writes them unchanged); else ``None``."""
    pairs = set(_class_strata(entries))
    if not (all_plain(codes) and all_plain(text for pair in pairs for text in pair)):
        return None
    return {pair: _frame(*pair) for pair in pairs}


def _frame(risk_class: str, stratum: str) -> tuple[bytes, bytes]:
    """An eligible leaf's canonical JSON between its code and its salt, and after its salt (plain values)."""
    middle = f'","risk_class":"{risk_class}","salt":"'
    return middle.encode("ascii"), f'","stratum":"{stratum}"}}'.encode("ascii")


class LeafSet:
    """The leaf hashes of ``entries`` (``object_leaf_hashes``), computed ahead in steps and ordered, so that
    the root of any subset needs neither hashing nor sorting in Python.

    A draw computes the leaves of all in-scope objects in a thread while the rules worker evaluates them
    (``finish``, or ``pending`` a step at a time) and, once the exclusions are known, takes the root of the
    eligible ones (``subset_root``). Once all are hashed the leaves are sorted where they lie, 32 bytes each,
    with each one's entry position beside it (4 bytes): 36 bytes per in-scope object where a list of
    ``bytes`` and its sorted copy took 96.
    ``entries`` is consumed as it is hashed, so it can be a generator: nothing holds every entry at once.
    """

    STEP = 50_000  # entries hashed per step (one C call)

    def __init__(self, entries: Iterable[EligibleEntry], salt_key: bytes) -> None:
        """The leaves of ``entries``: an ``EligibleEntries`` is hashed a slice of ``STEP`` entries at a
        time, any other iterable a batch of ``STEP`` at a time."""
        self._pieces: Iterator[Sequence[EligibleEntry]] = _pieces(entries, self.STEP)
        self._salt_key = salt_key
        self._packed = bytearray()
        self._positions = np.empty(0, dtype=np.uint32)  # of each sorted leaf, once all are hashed
        self.pending: Iterator[None] = self._steps()

    def _steps(self) -> Iterator[None]:
        for piece in self._pieces:
            self._packed += packed_object_leaf_hashes(piece, self._salt_key)
            del piece
            yield
        self._pieces = iter(())  # every leaf is hashed: the entries (one per in-scope object) can go
        self._positions = np.arange(len(self._packed) // 32, dtype=np.uint32)
        sort_hashes(self._packed, self._positions)

    def _leaves(self) -> npt.NDArray[np.bytes_]:
        return np.frombuffer(self._packed, dtype="S32")

    def finish(self) -> None:
        """Takes the steps nobody advanced: every entry is hashed and let go when this returns."""
        for _ in self.pending:
            pass

    def subset_root(self, keep: Sequence[bool]) -> str:
        """``set_root`` of the leaves of the entries whose ``keep`` flag (same order) is true."""
        self.finish()
        leaves = self._leaves()
        if len(keep) != len(leaves):
            raise ValueError(f"{len(keep)} flags for {len(leaves)} leaves")
        flags = np.fromiter(keep, dtype=np.bool_, count=len(leaves))
        return packed_root(leaves[flags[self._positions]].data).hex()


def _pieces(entries: Iterable[EligibleEntry], size: int) -> Iterator[Sequence[EligibleEntry]]:
    """``entries`` in consecutive pieces of at most ``size``: slices of an ``EligibleEntries`` (its columns
    stay columns), else lists."""
    if isinstance(entries, EligibleEntries):
        yield from (entries[start : start + size] for start in range(0, len(entries), size))
        return
    it = iter(entries)
    while batch := list(islice(it, size)):
        yield batch


def set_root(leaf_hashes: Iterable[bytes]) -> str:
    """The hex root of the 32-byte ``leaf_hashes`` sorted ascending. They are packed as they come and
    sorted in place (``hash_sort``): 32 bytes per leaf where a sorted list of ``bytes`` took 88 (a 10M draw's
    plan has 9M leaves). Raises ``ValueError`` for a leaf hash of another length."""
    packed, it = bytearray(), iter(leaf_hashes)
    while batch := list(islice(it, 65_536)):
        if set(map(len, batch)) != {32}:
            raise ValueError("every leaf hash must be 32 bytes")
        packed += b"".join(batch)
    return packed_set_root(packed)


def packed_set_root(packed: bytearray) -> str:
    """``set_root`` of the 32-byte leaf hashes laid end to end in ``packed``, which is sorted in place."""
    sort_hashes(packed)
    return packed_root(packed).hex()


def eligible_root(entries: Sequence[EligibleEntry], salt_key: bytes) -> str:
    return set_root(object_leaf_hashes(entries, salt_key))


def pool_root(pool_lines: Iterable[str]) -> str:
    return set_root(leaf_hash(line.encode("utf-8")) for line in pool_lines)


def _pair_texts(pairs: Sequence[tuple[str, str]]) -> list[str] | None:
    """``canonical_json([code, rule_id])`` of each pair when every text is plain ASCII, else ``None``."""
    if not all_plain(text for pair in pairs for text in pair):
        return None
    return [f'["{code}","{rule_id}"]' for code, rule_id in pairs]


def exclusions_root(pairs: Iterable[tuple[str, str]]) -> str:
    """``set_root`` of the leaves ``canonical_json([code, rule_id])``; hashed in C when every text is plain
    ASCII (``sha256_batch``), else one by one."""
    pairs = list(pairs)
    return _exclusions_root(pairs, _pair_texts(pairs))


def exclusions_digest(pairs: Sequence[tuple[str, str]]) -> str:
    """Hex SHA-256 of ``canonical_json([[code, rule_id], ...])`` (the manifest's ``exclusions_digest``)."""
    return _exclusions_digest(pairs, _pair_texts(pairs))


def exclusion_commitments(pairs: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(``exclusions_digest``, ``exclusions_root``) of ``pairs``, each pair's JSON written once for both."""
    written = _pair_texts(pairs)
    return _exclusions_digest(pairs, written), _exclusions_root(pairs, written)


def _exclusions_root(pairs: Sequence[tuple[str, str]], written: list[str] | None) -> str:
    if written is None:
        return set_root(leaf_hash(canonical_json([code, rule_id])) for code, rule_id in pairs)
    return packed_set_root(bytearray(sha256_batch.prefixed_digests(b"\x00", written)))


def _exclusions_digest(pairs: Sequence[tuple[str, str]], written: list[str] | None) -> str:
    if written is None:
        return hashlib.sha256(canonical_json([[code, rule_id] for code, rule_id in pairs])).hexdigest()
    return hashlib.sha256(("[" + ",".join(written) + "]").encode("ascii")).hexdigest()
