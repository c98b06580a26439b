"""Substitution (补抽, docs/DRAW-ALGORITHM.md §8.1): replacing one inspector of a drawn team.

The request (reason, evidence hash) is logged first; its audit leaf hash and fresh entropy supplied
afterwards give ``sub_seed = SHA256("dualdraw/substitution/v1" ‖ 0x00 ‖ seed ‖ event leaf hash ‖ entropy)``.
The replacement is the pool inspector, free of conflicts with the object, not on the team and never removed
from this position, with the smallest ``(load, SHA256(sub_seed ‖ "sub" ‖ 0x00 ‖ badge), badge)``, where the
load counts the inspector's places on all teams of the draw at that moment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from dualdraw.domain.errors import FailedPrecondition

REASONS = ("AVOIDANCE", "LEAVE", "CERTIFICATE_LAPSED", "ILLNESS", "OTHER")


@dataclass(frozen=True)
class Substitution:
    id: str
    draw_id: str
    position: int
    removed_badge: str
    reason_code: str
    evidence_hash: str
    entropy_source: str
    """Canonical JSON of the entropy declaration (``domain.entropy``), fixed with the request."""
    requested_at: dt.datetime
    actor: str
    event_leaf_hash: str = ""
    replacement_badge: str = ""
    entropy: str = ""
    state: str = "requested"
    executed_at: dt.datetime | None = None
    department_id: str = ""


def sub_seed(seed: bytes, event_leaf_hash: bytes, entropy: bytes) -> bytes:
    return hashlib.sha256(b"dualdraw/substitution/v1\x00" + seed + event_leaf_hash + entropy).digest()


def pick_replacement(
    seed_for_substitution: bytes,
    team: Sequence[str],
    pool_conflicts: Mapping[str, Collection[str]],
    credit_code: str,
    loads: Mapping[str, int],
    removed_before: Collection[str],
) -> str:
    """The replacement badge; ``FailedPrecondition`` (``NO_REPLACEMENT``) when nobody may step in."""
    candidates = [
        badge
        for badge, conflicts in pool_conflicts.items()
        if badge not in team and badge not in removed_before and credit_code not in conflicts
    ]
    if not candidates:
        raise FailedPrecondition(
            f"no pool inspector can replace a member of the team for {credit_code}", reason="NO_REPLACEMENT"
        )

    def key(badge: str) -> tuple[int, bytes, str]:
        digest = hashlib.sha256(seed_for_substitution + b"sub\x00" + badge.encode("utf-8")).digest()
        return loads.get(badge, 0), digest, badge

    return min(candidates, key=key)
