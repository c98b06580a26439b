"""The published item list (Art. 4-5) and its version history: what changed, when, on which legal basis.

Each publication of an item is a numbered version with the item's full record, the date it takes effect,
a summary of the change and the legal basis of the change. "The list as of a date" is, per item, the latest
version whose ``effective_from`` is on or before that date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from dualdraw.domain.model import InspectionItem

# Fields of an item whose change makes a new version (the creation time is bookkeeping, not content).
VERSIONED_FIELDS = tuple(f.name for f in dataclasses.fields(InspectionItem) if f.name != "created_at")


@dataclass(frozen=True)
class ItemVersion:
    code: str
    version: int
    item: InspectionItem
    effective_from: dt.date
    published_at: dt.datetime
    published_by: str
    change_summary: str
    change_legal_basis: str
    changed_fields: tuple[str, ...] = ()


def changed_fields(before: InspectionItem | None, after: InspectionItem) -> tuple[str, ...]:
    """Names of the versioned fields that differ (every field for a new item)."""
    if before is None:
        return VERSIONED_FIELDS
    return tuple(f for f in VERSIONED_FIELDS if getattr(before, f) != getattr(after, f))


def list_as_of(versions: Iterable[ItemVersion], day: dt.date) -> list[ItemVersion]:
    """Per item code, the version in force on ``day`` (by code); items not yet in force are left out."""
    current: dict[str, ItemVersion] = {}
    for v in versions:
        if v.effective_from > day:
            continue
        held = current.get(v.code)
        if held is None or (v.effective_from, v.version) > (held.effective_from, held.version):
            current[v.code] = v
    return [current[c] for c in sorted(current)]
