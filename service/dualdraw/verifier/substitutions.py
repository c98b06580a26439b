"""Replaying a draw's substitutions from its bundle (docs/DRAW-ALGORITHM.md §8.1): each executed one
against its logged request and execution, its entropy against its declared source (a beacon round's
verified signature logged with the execution, produced after the request; or a local secret's
commitment), and its replacement recomputed; the teams are changed in place as the server changed them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dualdraw.domain.canonical_json import sha256_hex
from dualdraw.domain.draw.entropy import EntropyProblem, check_rounds_after, combine, validate_declaration
from dualdraw.domain.draw.object_plan import ObjectPlan
from dualdraw.domain.draw.substitution import pick_replacement, sub_seed
from dualdraw.domain.draw.versions import DrawAlgorithm
from dualdraw.domain.errors import DomainError
from dualdraw.verifier.fields import Mismatch, hex_digits, need, obj

SUBSTITUTION_FIELDS = (
    "id",
    "position",
    "removed_badge",
    "replacement_badge",
    "reason_code",
    "evidence_hash",
    "entropy_source",
    "entropy",
    "event_leaf_hash",
    "state",
)
"""The members of one ``substitutions`` row of a bundle, in order."""


@dataclass(frozen=True)
class Replay:
    """What the replay reads of the verified draw: its log events ``(sequence, action, after, leaf hash)``
    with their times, its seed, its teams (changed in place), the selected codes by position, its pool
    lines, manifest and algorithm."""

    actions: Sequence[tuple[int, str, dict[str, Any], bytes]]
    logged_at: dict[int, str]
    seed: bytes
    teams: list[list[str]]
    codes: list[str]
    pool_lines: list[str]
    manifest: dict[str, Any]
    algorithm: DrawAlgorithm
    plan: ObjectPlan


def replay_substitutions(rows: list[Any], draw: Replay, notes: list[str]) -> None:
    """Raises ``Mismatch`` naming the first substitution that does not replay."""
    actions, logged_at, seed, teams, codes = draw.actions, draw.logged_at, draw.seed, draw.teams, draw.codes
    pool_lines, manifest, algorithm = draw.pool_lines, draw.manifest, draw.algorithm
    removed: dict[int, set[str]] = {}
    for n, row in enumerate(rows):
        r = obj(row, SUBSTITUTION_FIELDS, f"substitutions[{n}]")
        request = next(
            (
                (seq, a, leaf)
                for seq, action, a, leaf in actions
                if action == "draw.substitution.request" and a.get("substitution_id") == r["id"]
            ),
            None,
        )
        need(request is not None, f"substitutions[{n}]: {r['id']} has no request event in the log")
        assert request is not None
        seq, a, leaf = request
        for name in ("position", "removed_badge", "reason_code", "evidence_hash", "entropy_source"):
            need(a.get(name) == r[name], f"substitutions[{n}].{name}: differs from the logged request")
        need(r["event_leaf_hash"] == leaf.hex(), f"substitutions[{n}]: entropy is bound to another event")
        if r["state"] != "executed":
            need(
                r["state"] == "requested" and r["replacement_badge"] == r["entropy"] == "",
                f"substitutions[{n}]: bad state",
            )
            continue
        done = next(
            (
                a2
                for _, action, a2, _ in actions
                if action == "draw.substitution.execute" and a2.get("substitution_id") == r["id"]
            ),
            None,
        )
        need(
            done is not None
            and done.get("replacement_badge") == r["replacement_badge"]
            and done.get("entropy") == r["entropy"],
            f"substitutions[{n}]: has no matching execute event in the log",
        )
        entropy_sub = bytes.fromhex(hex_digits(r["entropy"], f"substitutions[{n}].entropy"))
        src = r["entropy_source"]
        if src.get("kind") == "local-secret":
            need(
                sha256_hex(entropy_sub) == src.get("commitment"),
                f"substitutions[{n}]: entropy does not open its commitment",
            )
            notes.append(
                f"substitution {r['id']}: local secret — development only (the operator could know it)"
            )
        else:
            assert done is not None
            _check_substitution_beacon(n, src, done, entropy_sub, logged_at.get(seq, ""))
        position = r["position"]
        need(
            isinstance(position, int) and 1 <= position <= len(teams),
            f"substitutions[{n}].position: no such position",
        )
        team = teams[position - 1]
        need(r["removed_badge"] in team, f"substitutions[{n}]: {r['removed_badge']} was not on the team")
        loads = Counter(x for t in teams for x in t)
        before = removed.setdefault(position, set())
        before.add(r["removed_badge"])
        candidates = algorithm.substitution_pool(
            pool_lines,
            manifest,
            draw.plan,
            codes[position - 1],
            r["removed_badge"],
            team[0] == r["removed_badge"],
        )
        try:
            replacement = pick_replacement(
                sub_seed(seed, leaf, entropy_sub),
                team,
                candidates,
                codes[position - 1],
                loads,
                before,
            )
        except DomainError as exc:
            raise Mismatch(f"substitutions[{n}]: {exc}") from None
        need(
            replacement == r["replacement_badge"],
            f"substitutions[{n}]: the replacement should be {replacement}",
        )
        team[team.index(r["removed_badge"])] = replacement


def _check_substitution_beacon(
    n: int, src: dict[str, Any], done: dict[str, Any], entropy_sub: bytes, requested_at: str
) -> None:
    """A beacon substitution's entropy is its round's verified signature, logged with the execution, of a
    round produced after the request was logged (docs/DRAW-ALGORITHM.md §8.1)."""
    try:
        validate_declaration(src)
        check_rounds_after(src, dt.datetime.fromisoformat(requested_at))
        value = done.get("beacon_value")
        if not isinstance(value, str) or not value:
            raise EntropyProblem("the execute event does not log the beacon value", "BAD_ENTROPY")
        entropy, _ = combine(src, {("beacon", src["beacon"]): value})
    except (EntropyProblem, ValueError) as exc:
        raise Mismatch(f"substitutions[{n}]: entropy: {exc}") from None
    need(entropy == entropy_sub, f"substitutions[{n}]: entropy is not its beacon round's")
