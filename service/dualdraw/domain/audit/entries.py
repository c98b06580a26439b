"""The audit log as a Merkle log: how an event becomes a leaf, and how a whole log is checked.

Leaf data of an event = canonical JSON (RFC 8785) of ``{"log", "sequence", "occurred_at", "actor", "action",
"resource", "before_json", "after_json", "request_id"}`` with ``occurred_at`` in UTC ISO 8601. Leaf ``i``
(0-based) is the event with sequence ``i + 1``. Every append signs a checkpoint of the new size, so the first
entry whose recomputed tree disagrees with its signed checkpoint is the first bad entry. Pure logic: the
offline verifier and ``VerifyLog`` share it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from dualdraw.domain.audit.checkpoints import Checkpoint
from dualdraw.domain.audit.merkle import Frontier, leaf_hash
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.model import AuditEvent

LEAF_FORMAT = "dualdraw-audit-event/1"


def leaf_data(event: AuditEvent) -> bytes:
    return canonical_json(
        {
            "log": LEAF_FORMAT,
            "sequence": event.sequence,
            "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(),
            "actor": event.actor,
            "action": event.action,
            "resource": event.resource,
            "before_json": event.before_json,
            "after_json": event.after_json,
            "request_id": event.request_id,
        }
    )


def event_leaf_hash(event: AuditEvent) -> bytes:
    return leaf_hash(leaf_data(event))


@dataclass(frozen=True)
class StoredEntry:
    """An event as read back, with the leaf hash stored beside it at append time."""

    event: AuditEvent
    stored_leaf_hash: str


@dataclass
class LogVerdict:
    ok: bool
    tree_size: int
    root_hash: str
    first_bad_sequence: int = 0
    problem: str = ""
    checkpoints_checked: int = 0
    key_ids: list[str] = field(default_factory=list)
    """The keys that signed checkpoints, in the order they first signed (more than one: the key changed)."""


def verify_entries(
    entries: Iterable[StoredEntry],
    checkpoints: Iterable[Checkpoint],
    trusted_keys: Collection[str] | None,
) -> LogVerdict:
    """Recomputes the log from its rows and checks it against every signed checkpoint.

    Detects edited rows (content no longer matches its leaf hash or its checkpoint), deleted rows (a gap
    in the sequence, or checkpoints beyond the end), reordered and inserted rows (the tree no longer matches
    the signed heads; rows after the last checkpoint are unsigned). ``trusted_keys`` are the hex public keys
    accepted; ``None`` accepts any key (development). ``key_ids`` lists the keys that signed, in the order
    they first signed: more than one means the signing key changed.
    """
    by_size: dict[int, Checkpoint] = {}
    keys: dict[str, None] = {}  # key ids in the order they first signed
    for signed in checkpoints:
        by_size[signed.tree_size] = signed
    frontier = Frontier()
    checked = 0
    last_checked = 0

    def bad(sequence: int, problem: str) -> LogVerdict:
        return LogVerdict(False, frontier.size, frontier.root().hex(), sequence, problem, checked, list(keys))

    for entry in entries:
        event = entry.event
        expected = frontier.size + 1
        if event.sequence != expected:
            if event.sequence > expected:
                return bad(
                    expected, f"entry {expected} is missing (deleted?): the next row is {event.sequence}"
                )
            return bad(event.sequence, f"entry {event.sequence} appears out of order after {expected - 1}")
        leaf = event_leaf_hash(event)
        if leaf.hex() != entry.stored_leaf_hash:
            return bad(expected, f"entry {expected} was edited: its content no longer matches its leaf hash")
        frontier.append(leaf)
        cp = by_size.get(frontier.size)
        if cp is None:
            continue
        problem = cp.problem()
        if problem:
            return bad(expected, problem)
        if trusted_keys is not None and cp.public_key not in trusted_keys:
            return bad(expected, f"checkpoint {cp.tree_size} is signed by untrusted key {cp.key_id}")
        keys.setdefault(cp.key_id)
        if cp.root_hash != frontier.root().hex():
            first = last_checked + 1
            where = f"entry {expected}" if first == expected else f"entries {first}..{expected}"
            return bad(
                first,
                f"{where} do not match signed checkpoint {cp.tree_size} (edited, reordered or inserted)",
            )
        checked += 1
        last_checked = frontier.size
    beyond = sorted(s for s in by_size if s > frontier.size)
    if beyond:
        return bad(
            frontier.size + 1,
            f"entries {frontier.size + 1}..{beyond[-1]} were deleted: checkpoint {beyond[-1]} was signed",
        )
    if last_checked != frontier.size:
        return bad(
            last_checked + 1,
            f"entries {last_checked + 1}..{frontier.size} are not covered by any "
            "signed checkpoint (inserted?)",
        )
    return LogVerdict(True, frontier.size, frontier.root().hex(), 0, "", checked, list(keys))
