"""Where the heavy draw use cases run: ``DrawRunner`` is the port, ``InProcessDraws`` runs them here.

A draw over a million objects keeps a process busy for seconds with Python work that holds the GIL
(loading objects, Merkle commitments, sorting, persisting), and so does writing its bundle.
``dualdraw.adapters.draw_process.DrawProcess`` runs the same use cases in a child process, so that the
server's
threads keep answering reads meanwhile; both implement ``DrawRunner`` and the servicers do not know which
one they talk to.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from dualdraw.domain import model
from dualdraw.domain.errors import Unavailable
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.service_layer import bundles, draw_lifecycle, draws
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.draw_progress import StageLog
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.ports import ExclusionMatcher, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


class DrawRunner(Protocol):
    """Runs the one-step draw (``draws.run_draw``), the commit of a verifiable draw
    (``draw_lifecycle.commit_draw``) and the building of a draw's bundle (``bundles.build_bundle``, seconds
    of Python at a million objects); same arguments, errors and effects as those functions."""

    def build_bundle(
        self, draw_id: str, *, variant: str, chunk_bytes: int, form: str = bundles.BUNDLE_FORMAT
    ) -> bundles.BundleContent: ...

    def run_draw(
        self, rule_set: RuleSet, *, task_id: str, as_of: dt.date | None, caller: Caller
    ) -> model.Draw: ...

    def commit_draw(
        self,
        rule_set: RuleSet,
        *,
        task_id: str,
        as_of: dt.date | None,
        caller: Caller,
        declaration: dict[str, Any],
    ) -> model.Draw: ...


class InProcessDraws:
    """Runs the draw use cases in this process, with this process's unit of work and rules engine, under
    the service's ``entropy`` policy (by default: no local secret).

    With ``snapshot_unit_of_work`` (SQLite: ``Store.snapshot_unit_of_work``), a draw or commit first runs
    in a transaction that reads a snapshot and takes the write lock at its first write, after the load,
    the rules and the commitments: other writers wait for the store, selection and teams only, not for
    the whole draw (a 1M draw took the lock for longer than their 30 s busy timeout). When its first
    write finds that another write committed since the snapshot (``Unavailable``
    ``DATABASE_UNAVAILABLE``, nothing written), the use case runs again in an ``unit_of_work`` that takes
    the write lock before it reads, as every draw did before."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        engine: ExclusionMatcher,
        entropy: EntropyPolicy | None = None,
        snapshot_unit_of_work: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._engine = engine
        self._entropy = entropy or EntropyPolicy()
        self._snapshot_unit_of_work = snapshot_unit_of_work

    def _attempts(self, use_case: Callable[[UnitOfWork], T]) -> T:
        """``use_case`` on a snapshot unit of work if there is one, then once on ``unit_of_work`` if the
        snapshot was stale when it wrote."""
        if self._snapshot_unit_of_work is None:
            return use_case(self._unit_of_work())
        try:
            return use_case(self._snapshot_unit_of_work())
        except Unavailable as exc:
            if exc.reason != "DATABASE_UNAVAILABLE":
                raise
            log.info(
                "a draw's snapshot was stale when it wrote (%s): drawing again under the write lock", exc
            )
        return use_case(self._unit_of_work())

    def build_bundle(
        self, draw_id: str, *, variant: str, chunk_bytes: int, form: str = bundles.BUNDLE_FORMAT
    ) -> bundles.BundleContent:
        return bundles.build_bundle(
            self._unit_of_work(), draw_id, variant=variant, chunk_bytes=chunk_bytes, form=form
        )

    def run_draw(
        self, rule_set: RuleSet, *, task_id: str, as_of: dt.date | None, caller: Caller
    ) -> model.Draw:
        outcome = self._attempts(
            lambda uow: draws.run_draw(
                uow,
                self._engine,
                rule_set,
                task_id=task_id,
                as_of=as_of,
                caller=caller,
                entropy=self._entropy,
                progress=StageLog(f"draw of task {task_id}"),
            )
        )
        return outcome.draw

    def commit_draw(
        self,
        rule_set: RuleSet,
        *,
        task_id: str,
        as_of: dt.date | None,
        caller: Caller,
        declaration: dict[str, Any],
    ) -> model.Draw:
        return self._attempts(
            lambda uow: draw_lifecycle.commit_draw(
                uow,
                self._engine,
                rule_set,
                task_id=task_id,
                as_of=as_of,
                caller=caller,
                declaration=declaration,
                entropy=self._entropy,
                progress=StageLog(f"commit of a draw of task {task_id}"),
            )
        )


def draw_at_once(
    runner: DrawRunner,
    entropy: EntropyPolicy,
    rule_set: RuleSet,
    *,
    task_id: str,
    as_of: dt.date | None,
    caller: Caller,
    beacon_round: int,
) -> model.Draw:
    """The one-step ``Draw``: outside development a beacon draw committed now (``beacon_round``, or the
    first round ``entropy.beacon_delay_s`` after now) and executed later with the round's signature;
    in development without a round, commit and execute with a local secret. The runner applies
    ``entropy`` again, so a local secret is refused there whatever its caller passes."""
    declaration = entropy.one_step(caller.now, beacon_round)
    if declaration is None:
        return runner.run_draw(rule_set, task_id=task_id, as_of=as_of, caller=caller)
    return runner.commit_draw(rule_set, task_id=task_id, as_of=as_of, caller=caller, declaration=declaration)


def _conforms(runner: InProcessDraws) -> DrawRunner:
    return runner  # mypy checks here that InProcessDraws implements the DrawRunner port
