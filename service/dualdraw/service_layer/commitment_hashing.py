"""A draw's commitments hashed beside the draw, in threads of its own process.

The in-scope leaves (one per in-scope object, docs/DRAW-ALGORITHM.md §6.1) are hashed by a thread from
the moment the draw has its codes, while the rules are evaluated; ``roots`` takes the eligible subset's
root, lets those leaves go, and hashes the object plan (§14.8) in another thread while the draw writes its
manifest. The SHA-256 loops run in C with the GIL released (``domain.sha256_batch``), so these threads use
the second core beside the draw's Python work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dualdraw.domain.draw.commitments import EligibleEntries, LeafSet, TextColumn
from dualdraw.domain.draw.object_plan import ObjectPlan, plan_commitments
from dualdraw.runtime.background import in_background

Roots = tuple[str | None, dict[str, Any]]
"""The eligible set's root (hex; ``None`` when not asked for) and the object plan's commitments
(``object_plan.plan_commitments``)."""


class DrawHashing:
    """The Merkle commitments of one draw that take seconds at a million objects: the eligible leaves of
    every in-scope object (hashed while the rules are evaluated: whichever objects turn out eligible, a
    leaf depends on the object alone), then the eligible set's root and the object plan's commitments."""

    def __init__(self, codes: Sequence[str], risk_classes: Sequence[str], salt_key: bytes) -> None:
        """Begins hashing the in-scope leaves: the ``codes`` (ascending; none when they are not) and each
        one's risk class (its stratum unless a raise moves it), under ``salt_key``. Neither sequence may
        change while the draw hashes."""
        self._salt_key = salt_key
        classes = risk_classes if isinstance(risk_classes, TextColumn) else TextColumn.of(risk_classes)
        listed = codes if isinstance(codes, list) else list(codes)
        self._leaves = LeafSet(EligibleEntries(listed, classes, classes), salt_key)  # stratum = risk class
        self._hashed = in_background(self._leaves.finish, "dualdraw-leaf-hashing")

    def roots(self, keep: Sequence[bool] | None, plan: ObjectPlan) -> Callable[[], Roots]:
        """The root of the in-scope leaves whose ``keep`` flag (same order) is true (``None``: not wanted)
        and the commitments of ``plan``, both taken in a thread while the draw writes its manifest; the
        call returned gives both, waiting for them (and raises what computing them raises). ``keep`` and
        ``plan`` must not change until then; call once per draw. The in-scope leaves are let go before the
        plan is hashed: at ten million objects the plan's leaves should not wait beside them."""
        held = [self._leaves]  # the thread takes them: nothing else holds them once it lets them go
        self._leaves = LeafSet((), self._salt_key)
        hashed, salt_key = self._hashed, self._salt_key

        def both() -> Roots:
            hashed()
            leaves = held.pop()
            eligible = leaves.subset_root(keep) if keep is not None else None
            del leaves
            return eligible, plan_commitments(plan, salt_key)

        return in_background(both, "dualdraw-plan-hashing")
