"""Directory filing (Art. 7): a department files its directories with the department above it.

A **snapshot** is the department's own records of each directory kind (objects it registers, its inspectors,
the experts and testing institutions it keeps in the expert directories) at filing time:
- each record is one canonical line, the RFC 8785 JSON of the record, and its **record hash** is the RFC 6962
  leaf hash of that line (``leaf_hash``, as the draw's inspector-pool commitment);
- per kind: the count and the Merkle root of the record hashes sorted (``set_root``): it depends on the set
  of records only, never on the order they were read in;
- the snapshot's **digest** is the SHA-256 of the canonical JSON ``{"department_id", "format", "kinds":
  {kind: {"count", "root"}}}`` over the kinds that have records; a new kind is one more member of ``kinds``
  (``FORMS``), and a department without records of it keeps its digest.

A filing is ``submitted``, then ``acknowledged`` or ``returned`` (with a reason from ``ReturnReason`` and a
note) by the parent department; a later filing supersedes a returned one. The per-record hashes are kept so
that the differences between two snapshots (records added, removed, changed) can be named later.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from dualdraw.domain.audit.merkle import leaf_hash
from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.draw.commitments import set_root
from dualdraw.domain.draw.expert_draw import Expert, Qualification, TestingInstitution
from dualdraw.domain.model import InspectionObject, Inspector

FORMAT = "dualdraw-directory-filing/1"
"""The snapshot format: the record forms below and the digest's JSON. A change of either is a new format."""


class DirectoryKind(StrEnum):
    """The directories a department files, in the order they are listed."""

    OBJECTS = "objects"
    INSPECTORS = "inspectors"
    EXPERTS = "experts"
    TESTING_INSTITUTIONS = "testing_institutions"


class FilingState(StrEnum):
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    RETURNED = "returned"


class ReturnReason(StrEnum):
    """Why the parent returns a filing: the considerations of Art. 7, or the records themselves."""

    LEVEL_JURISDICTION = "level_jurisdiction"
    """Records belong to another level (级别管辖)."""
    TERRITORIAL_JURISDICTION = "territorial_jurisdiction"
    """Records lie outside the department's territory (属地管辖)."""
    PROFESSIONAL_REQUIREMENTS = "professional_requirements"
    """Inspectors do not match the line's specialities (专业要求)."""
    INSPECTOR_NUMBERS = "inspector_numbers"
    """Too few inspectors for the department's objects (执法检查人员数量)."""
    INCOMPLETE = "incomplete"
    """Records are missing."""
    INACCURATE = "inaccurate"
    """Records are wrong or outdated."""
    OTHER = "other"
    """Anything else; the note says what."""


class ChildStatus(StrEnum):
    """A child department's filing as its parent sees it."""

    NEVER_FILED = "never_filed"
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    RETURNED = "returned"
    STALE = "stale"
    """The latest filing was acknowledged, but the directory has changed since."""


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


# --- records ------------------------------------------------------------------------------------------------


def object_record(o: InspectionObject) -> dict[str, Any]:
    """What a filing holds of an object (its directory entry, every field)."""
    return {
        "business_lines": list(o.business_lines),
        "credit_code": o.credit_code,
        "industry": o.industry,
        "name": o.name,
        "office": o.office,
        "region_code": o.region_code,
        "registering_department_id": o.registering_department_id,
        "risk_class": o.risk_class.value,
        "status": o.status.value,
    }


def inspector_record(i: Inspector) -> dict[str, Any]:
    """What a filing holds of an inspector (its directory entry, every field; sets sorted)."""
    return {
        "available": i.available,
        "badge_number": i.badge_number,
        "conflicts": sorted(i.conflicts),
        "department_id": i.department_id,
        "name": i.name,
        "office": i.office,
        "specialities": [
            {
                "certificate_expires_on": (
                    None if s.certificate_expires_on is None else s.certificate_expires_on.isoformat()
                ),
                "code": s.code,
            }
            for s in i.specialities
        ],
    }


def _qualifications(items: Iterable[Qualification]) -> list[dict[str, Any]]:
    """Certificates or accreditation scopes as a set: sorted by code, then expiry (none first), as the
    expert directory stores them, so the record does not depend on the order they were given in."""
    found = [
        {"code": q.code, "expires_on": None if q.expires_on is None else q.expires_on.isoformat()}
        for q in items
    ]
    found.sort(key=lambda q: (q["code"], q["expires_on"] or ""))
    return found


def expert_record(e: Expert) -> dict[str, Any]:
    """What a filing holds of an expert (its directory entry, every field; sets sorted)."""
    return {
        "conflicts": sorted(e.conflicts),
        "department_id": e.department_id,
        "display_name": e.display_name,
        "employer_credit_code": e.employer_credit_code,
        "id": e.id,
        "qualifications": _qualifications(e.qualifications),
    }


def institution_record(i: TestingInstitution) -> dict[str, Any]:
    """What a filing holds of a testing institution (its directory entry, every field; sets sorted)."""
    return {
        "conflicts": sorted(i.conflicts),
        "credit_code": i.credit_code,
        "department_id": i.department_id,
        "display_name": i.display_name,
        "id": i.id,
        "qualifications": _qualifications(i.qualifications),
    }


_FAST = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def record_line(record: Mapping[str, Any]) -> bytes:
    """``canonical_json(record)``, written by the C JSON encoder: for records of strings, booleans, ``None``
    and lists of them under ASCII member names it writes the same bytes as RFC 8785 (see
    ``canonical_json.loads_proving_canonical``); a lone surrogate, which canonical JSON refuses, falls back to
    ``canonical_json`` to be refused. A 100k-object snapshot is written in well under a second."""
    try:
        return _FAST.encode(record).encode("utf-8")
    except UnicodeEncodeError:
        return canonical_json(record)


def record_hash(line: bytes) -> str:
    return leaf_hash(line).hex()


class RecordHash(NamedTuple):
    """One record of a snapshot: its kind, key and record hash (hex)."""

    kind: str
    key: str
    hash: str

    def line(self) -> str:
        return f"{self.kind}\t{self.key}\t{self.hash}"

    @classmethod
    def from_line(cls, line: str) -> RecordHash:
        kind, rest = line.split("\t", 1)  # neither a kind nor a hash holds a tab; a key may
        key, digest = rest.rsplit("\t", 1)
        return cls(kind, key, digest)


@dataclass(frozen=True)
class KindSummary:
    kind: str
    count: int
    root: str


@dataclass(frozen=True)
class Snapshot:
    """A department's directories at one moment: summaries per kind, the digest and every record hash."""

    department_id: str
    kinds: tuple[KindSummary, ...]
    digest: str
    records: tuple[RecordHash, ...]
    """Sorted by (kind, key)."""

    def hashes(self) -> dict[str, dict[str, str]]:
        """``{kind: {key: record hash}}``."""
        return hashes_by_kind(self.records)


def hashes_by_kind(records: Iterable[RecordHash]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {kind.value: {} for kind in DirectoryKind}
    for r in records:
        found.setdefault(r.kind, {})[r.key] = r.hash
    return found


@dataclass(frozen=True)
class DirectoryForm:
    """How one directory kind is filed: the key of a record and the record as it is hashed."""

    key: Callable[[Any], str]
    record: Callable[[Any], Mapping[str, Any]]


FORMS: Mapping[DirectoryKind, DirectoryForm] = {
    DirectoryKind.OBJECTS: DirectoryForm(lambda o: o.credit_code, object_record),
    DirectoryKind.INSPECTORS: DirectoryForm(lambda i: i.badge_number, inspector_record),
    DirectoryKind.EXPERTS: DirectoryForm(lambda e: e.id, expert_record),
    DirectoryKind.TESTING_INSTITUTIONS: DirectoryForm(lambda i: i.id, institution_record),
}
"""Every kind a snapshot holds. A new directory joins with a ``DirectoryKind``, a record function and a line
here; a department without records of a kind files the same digest as before the kind existed (experts and
testing institutions joined that way: filings of departments without them kept their digests)."""


def snapshot_of(department_id: str, directories: Mapping[DirectoryKind, Iterable[Any]]) -> Snapshot:
    """The snapshot of a department's directories, records of each kind in any order (the result does not
    depend on it); a kind not given has no records.

    Raises ``ValueError`` when a key repeats within a kind."""
    records: list[RecordHash] = []
    for kind, items in directories.items():
        form = FORMS[kind]
        records.extend(
            RecordHash(kind.value, form.key(i), record_hash(record_line(form.record(i)))) for i in items
        )
    records.sort()
    for before, after in itertools.pairwise(records):
        if before.kind == after.kind and before.key == after.key:
            raise ValueError(f"{before.kind} {before.key!r} appears twice in the snapshot")
    summaries = []
    for kind in DirectoryKind:
        hashes = [bytes.fromhex(r.hash) for r in records if r.kind == kind.value]
        summaries.append(KindSummary(kind.value, len(hashes), set_root(hashes)))
    return Snapshot(
        department_id, tuple(summaries), snapshot_digest(department_id, summaries), tuple(records)
    )


def snapshot_digest(department_id: str, kinds: Iterable[KindSummary]) -> str:
    """Hex SHA-256 of the canonical JSON of the snapshot's summary (see the module docstring); kinds without
    records are left out, so that a new kind changes no digest of a department that has none of it."""
    summary = {
        "department_id": department_id,
        "format": FORMAT,
        "kinds": {k.kind: {"count": k.count, "root": k.root} for k in kinds if k.count},
    }
    return sha256_hex(canonical_json(summary))


# --- filings ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryFiling:
    """One filing of a department's directories with its parent (``id`` = ``department_id.sequence``)."""

    id: str
    department_id: str
    parent_department_id: str
    sequence: int
    state: FilingState
    digest: str
    kinds: tuple[KindSummary, ...]
    submitted_at: dt.datetime
    submitted_by: str
    note: str = ""
    decided_at: dt.datetime | None = None
    decided_by: str = ""
    return_reason: ReturnReason | None = None
    return_note: str = ""
    superseded_by: str = ""
    """The later filing that replaced this returned one (empty while none has)."""


def filing_id(department_id: str, sequence: int) -> str:
    return f"{department_id}.{sequence}"


def child_status(latest: DirectoryFiling | None, current_digest: str) -> ChildStatus:
    """The parent's view of a child: the state of its latest filing, ``STALE`` when that filing was
    acknowledged and the directory's digest is no longer the filed one."""
    if latest is None:
        return ChildStatus.NEVER_FILED
    if latest.state is FilingState.ACKNOWLEDGED:
        return ChildStatus.ACKNOWLEDGED if latest.digest == current_digest else ChildStatus.STALE
    return ChildStatus(latest.state.value)


@dataclass(frozen=True)
class RecordDifference:
    kind: str
    key: str
    change: Change


_KIND_RANK = {kind.value: rank for rank, kind in enumerate(DirectoryKind)}


def difference_order(kind: str, key: str) -> tuple[int, str, str]:
    """The order differences are listed in: by kind (``DirectoryKind`` order, then any other kind by name)
    and key."""
    return _KIND_RANK.get(kind, len(_KIND_RANK)), kind, key


def differences(
    before: Mapping[str, Mapping[str, str]], after: Mapping[str, Mapping[str, str]]
) -> list[RecordDifference]:
    """Records added, removed and changed from ``before`` to ``after`` (``{kind: {key: hash}}``), in
    ``difference_order``."""
    found: list[RecordDifference] = []
    for kind in set(before) | set(after):
        old, new = before.get(kind, {}), after.get(kind, {})
        found.extend(
            RecordDifference(kind, key, Change.ADDED if key not in old else Change.CHANGED)
            for key, digest in new.items()
            if old.get(key) != digest
        )
        found.extend(RecordDifference(kind, key, Change.REMOVED) for key in old.keys() - new.keys())
    found.sort(key=lambda d: difference_order(d.kind, d.key))
    return found
