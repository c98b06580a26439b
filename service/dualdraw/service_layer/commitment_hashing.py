"""A draw's commitments hashed in the draw's own process (the ``Committer`` port's plain implementation).

The in-scope leaves are a ``LeafSet`` advanced one step per shard while the rules worker evaluates
(``pending``); ``roots`` takes the eligible subset's root, lets the leaves go and hashes the object plan,
there and then. ``dualdraw.adapters.commitment_worker`` does the same in a worker process, and falls back to
this when the worker fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final, TypeVar

from dualdraw.domain.draw.commitments import EligibleEntries, LeafSet, TextColumn
from dualdraw.domain.draw.object_plan import ObjectPlan, plan_commitments
from dualdraw.service_layer.ports import Committer, DrawHashing, Roots

T = TypeVar("T")


class HashedInPlace:
    """``DrawHashing`` in this process."""

    def __init__(self, codes: Sequence[str], risk_classes: Sequence[str], salt_key: bytes) -> None:
        self._salt_key = salt_key
        classes = risk_classes if isinstance(risk_classes, TextColumn) else TextColumn.of(risk_classes)
        listed = codes if isinstance(codes, list) else list(codes)
        self._leaves = LeafSet(EligibleEntries(listed, classes, classes), salt_key)  # stratum = risk class
        self.pending: Iterator[object] = self._leaves.pending

    def roots(self, keep: Sequence[bool] | None, plan: ObjectPlan) -> Callable[[], Roots]:
        """Computes both now, in this order, letting the in-scope leaves go before the plan is hashed: at
        ten million objects neither set of packed leaves should wait for the other."""
        eligible = self._leaves.subset_root(keep) if keep is not None else None
        self._leaves.finish()  # the steps nobody took: nothing holds the codes after this
        self._leaves = LeafSet((), self._salt_key)
        both = (eligible, plan_commitments(plan, self._salt_key))
        return lambda: both


class _InPlace:
    def draw_hashing(self, codes: Sequence[str], risk_classes: Sequence[str], salt_key: bytes) -> DrawHashing:
        return HashedInPlace(codes, risk_classes, salt_key)


IN_PLACE: Final[Committer] = _InPlace()
"""Every draw's commitments hashed in the draw's own process."""


def once(compute: Callable[[], T]) -> Callable[[], T]:
    """``compute``, run at the first call only: later calls give its result (or raise its error) again."""
    outcome: list[T] = []
    error: list[BaseException] = []

    def call() -> T:
        if not outcome and not error:
            try:
                outcome.append(compute())
            except BaseException as exc:  # kept, and raised at every call
                error.append(exc)
        if error:
            raise error[0]
        return outcome[0]

    return call
