"""Which entropy a draw may use here (docs/DRAW-ALGORITHM.md §3.1).

Outside development a draw's entropy is something no insider knows at commit: a public beacon round
produced after the commit, or commit-reveal by named parties. ``local-secret`` (a server secret) needs
``allow_local`` (``DUALDRAW_ALLOW_LOCAL_ENTROPY=1``, accepted only with ``DUALDRAW_AUTH=off``); a draw
made with it is marked ``LOCAL_SECRET_MARK`` in ``GetDraw`` and by ``dualdraw verify``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from dualdraw.domain.draw.beacon import DRAND_QUICKNET, BeaconProblem, chain
from dualdraw.domain.draw.entropy import BEACON, LOCAL_SECRET
from dualdraw.domain.errors import FailedPrecondition, invalid
from dualdraw.domain.model import Draw

LOCAL_SECRET_MARK = "local secret — development only, not publishable"  # noqa: S105 - a label, not a password


def is_local_secret(draw: Draw) -> bool:
    """Whether ``draw`` takes (or took) its entropy from a local server secret: marked in every view,
    never published."""
    return draw.entropy_source.startswith(LOCAL_SECRET)


def entropy_note(draw: Draw) -> str:
    """What every view shows beside a draw's entropy: ``LOCAL_SECRET_MARK`` for a local secret, else ""."""
    return LOCAL_SECRET_MARK if is_local_secret(draw) else ""


@dataclass(frozen=True)
class EntropyPolicy:
    """``allow_local``: development only. ``beacon``: the pinned chain a one-step draw names by default,
    ``beacon_delay_s``: how far after the commit its default round is produced (the commit's own
    transaction must end before the round's value exists)."""

    allow_local: bool = False
    beacon: str = DRAND_QUICKNET.name
    beacon_delay_s: int = 60

    def require_allowed(self, declaration: dict[str, Any]) -> None:
        """Raises ``FailedPrecondition`` (``LOCAL_ENTROPY_FORBIDDEN``) for ``local-secret`` unless allowed."""
        if declaration.get("kind") == LOCAL_SECRET and not self.allow_local:
            raise FailedPrecondition(
                "local-secret entropy is for development only (DUALDRAW_ALLOW_LOCAL_ENTROPY=1 with "
                "DUALDRAW_AUTH=off): the operator could know the secret. Name a beacon round after the "
                "commit, or commit-reveal parties",
                reason="LOCAL_ENTROPY_FORBIDDEN",
            )

    def one_step(self, now: dt.datetime, beacon_round: int) -> dict[str, Any] | None:
        """The entropy of a one-step ``Draw``: ``None`` for a local secret (executed at once, development
        only), else a beacon declaration — ``beacon_round`` when given, otherwise the first round produced
        ``beacon_delay_s`` after ``now`` — committed now and executed when the round's signature is given."""
        if beacon_round < 0:
            raise invalid(
                "beacon_round", "must be a positive round number, or 0 for the default", "VALUE_OUT_OF_RANGE"
            )
        if beacon_round == 0 and self.allow_local:
            return None
        try:
            pinned = chain(self.beacon)
        except BeaconProblem as exc:
            raise invalid("beacon", str(exc), reason="ENTROPY_SOURCE_INVALID") from None
        round_ = beacon_round or pinned.first_round_after(now + dt.timedelta(seconds=self.beacon_delay_s))
        return {"kind": BEACON, "beacon": pinned.name, "round": round_}

    def substitution(self, now: dt.datetime, beacon: str, beacon_round: int) -> dict[str, Any] | None:
        """The entropy of a substitution requested at ``now``: ``None`` for a local secret (development
        only, and only when no beacon is named), else a beacon declaration — ``beacon`` (default: the
        pinned one) at ``beacon_round`` (default: the first round ``beacon_delay_s`` after ``now``)."""
        if beacon_round < 0:
            raise invalid(
                "beacon_round", "must be a positive round number, or 0 for the default", "VALUE_OUT_OF_RANGE"
            )
        if not beacon and beacon_round == 0 and self.allow_local:
            return None
        try:
            pinned = chain(beacon or self.beacon)
        except BeaconProblem as exc:
            raise invalid("beacon", str(exc), "ENTROPY_SOURCE_INVALID") from None
        round_ = beacon_round or pinned.first_round_after(now + dt.timedelta(seconds=self.beacon_delay_s))
        return {"kind": BEACON, "beacon": pinned.name, "round": round_}
