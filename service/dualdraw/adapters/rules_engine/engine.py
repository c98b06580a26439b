"""``ExclusionEngine``: evaluates a rule set over objects and side facts in a separate worker process.

durable_rules is a C extension that can segfault, hang holding the GIL or leak per session, so it never
runs in the server process: a worker started with the ``spawn`` method (the parent is a gRPC server, never
forked) does the evaluation (``dualdraw.adapters.rules_engine.worker``). When the worker dies or exceeds
``timeout_s``, it is
killed, a fresh one is started and the call is retried once; a second failure raises ``Unavailable``.

Objects are evaluated in shards of ``shard_size``: each shard gets its own durable session with the side
facts of its objects (complaints, risk assessments, designations by credit code) and all campaigns, so
memory and time stay linear in the number of objects.

``timeout_s`` bounds one attempt (all shards of one call); the retry gets its own. Worker start-up
(~0.15 s) is bounded separately by ``STARTUP_TIMEOUT_S``. As always with ``spawn``, the program's main
module must be importable without side effects (``if __name__ == "__main__":``), since the worker
imports it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import operator
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Self

from dualdraw.adapters.rules_engine.worker import Fact, Match, serve
from dualdraw.domain.errors import FailedPrecondition, Unavailable
from dualdraw.domain.exclusions import facts
from dualdraw.domain.exclusions.compiler import attributes_read, compile_rule_set
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.exclusions.schema import FactKind
from dualdraw.domain.model import Exclusion, InspectionObject, SideFacts

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
STARTUP_TIMEOUT_S = 60.0
COMPILED_CACHE_SIZE = 16


class _WorkerFailure(Exception):
    """The worker died, timed out or reported an error; it must be discarded."""


class ExclusionEngine:
    """Evaluates exclusion rules (Art. 16) in a worker process; thread-safe, one evaluation at a time.

    ``start()`` pre-warms the worker (otherwise the first ``evaluate`` starts it); ``close()`` stops it.
    Usable as a context manager.
    """

    def __init__(self, shard_size: int = 2000, timeout_s: float = 120.0) -> None:
        if shard_size < 1:
            raise ValueError("shard_size must be at least 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.shard_size = shard_size
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._compiled: OrderedDict[str, str] = OrderedDict()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Starts the worker process now. Raises ``Unavailable`` when it cannot start."""
        with self._lock:
            try:
                self._running_worker()
            except _WorkerFailure as failure:
                raise Unavailable(f"the rules engine worker could not start: {failure}") from failure

    def close(self) -> None:
        """Stops the worker; a later ``evaluate`` starts a new one."""
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id, ``None`` when no worker runs."""
        worker = self._worker
        return worker.process.pid if worker is not None else None

    def evaluate(
        self,
        rule_set: RuleSet,
        context: EvaluationContext,
        objects: Sequence[InspectionObject],
        side_facts: SideFacts,
        *,
        progress: Progress | None = None,
        meanwhile: Iterator[object] | None = None,
    ) -> list[Exclusion]:
        """One ``Exclusion`` per (object, rule) that holds, sorted by (credit code, rule id).

        ``evidence`` is the sorted ids of the side facts that matched (of every match of that rule).
        ``progress(done_objects, total_objects)`` is called after each shard (from 0 again on a retry).
        ``meanwhile`` is work of the caller's own: one step of it is taken after each shard is sent, while
        the worker evaluates that shard (the process would otherwise wait); steps left over are the
        caller's to finish. It never changes what is evaluated.
        Raises ``FailedPrecondition`` when a campaign's organiser has no level in
        ``context.organizer_levels``, ``Unavailable`` when the worker failed twice.
        """
        if not objects or not rule_set.rules:
            return []
        key = f"{rule_set.hash}:{context.digest()}"
        shards, twins = _shards(rule_set, context, objects, side_facts, self.shard_size)
        evaluated = sum(len(shard_objects) for _, shard_objects in shards)
        with self._lock:
            matches = self._matches(
                key, self._compiled_json(key, rule_set, context), shards, evaluated, progress, meanwhile
            )
        return _exclusions(rule_set, _with_twins(matches, twins))

    def _matches(
        self,
        key: str,
        ruleset_json: str,
        shards: list[tuple[list[Fact], list[Fact]]],
        total: int,
        progress: Progress | None,
        meanwhile: Iterator[object] | None,
    ) -> list[Match]:
        """The worker's matches; on a failure the worker is replaced and the call retried once."""
        for attempt in (1, 2):
            try:
                return self._attempt(key, ruleset_json, shards, total, progress, meanwhile)
            except _WorkerFailure as failure:
                self._discard_worker()
                log.warning("rules engine attempt %d failed: %s", attempt, failure)
                if attempt == 2:
                    raise Unavailable(
                        f"the rules engine failed twice (its worker was restarted in between): {failure}",
                        reason="RULES_ENGINE_UNAVAILABLE",
                    ) from failure
        raise AssertionError("unreachable")

    def _crash_worker_for_test(self, how: str = "abort") -> None:
        """Tests only: the worker fails (``abort``, ``exit`` or ``hang``) on the next shard it receives."""
        with self._lock:
            self._running_worker().request(("fault", how), time.monotonic() + STARTUP_TIMEOUT_S)

    def _compiled_json(self, key: str, rule_set: RuleSet, context: EvaluationContext) -> str:
        cached = self._compiled.get(key)
        if cached is None:
            cached = json.dumps(compile_rule_set(rule_set, context), ensure_ascii=False)
            self._compiled[key] = cached
            while len(self._compiled) > COMPILED_CACHE_SIZE:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key)
        return cached

    def _attempt(
        self,
        key: str,
        ruleset_json: str,
        shards: list[tuple[list[Fact], list[Fact]]],
        total: int,
        progress: Progress | None,
        meanwhile: Iterator[object] | None,
    ) -> list[Match]:
        worker = self._running_worker()
        deadline = time.monotonic() + self.timeout_s
        worker.request(("ruleset", key, ruleset_json), deadline)
        matches: list[Match] = []
        done = 0
        for side, objs in shards:
            worker.send(("shard", key, side, objs))
            if meanwhile is not None:
                next(meanwhile, None)
            matches.extend(worker.receive(deadline))
            done += len(objs)
            if progress is not None:
                progress(done, total)
        return matches

    def _running_worker(self) -> _Worker:
        if self._worker is not None and not self._worker.process.is_alive():
            self._discard_worker()
        if self._worker is None:
            self._worker = _Worker()
        return self._worker

    def _discard_worker(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None


class _Worker:
    """One worker process and its connection; every failure surfaces as ``_WorkerFailure``."""

    def __init__(self) -> None:
        started = time.monotonic()
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=serve, args=(child,), name="dualdraw-rules-worker", daemon=True
        )
        self.process.start()
        child.close()  # so that the worker's death reads as end of file here
        try:
            self._receive(started + STARTUP_TIMEOUT_S)
        except _WorkerFailure:
            self.kill()
            raise
        log.info("rules engine worker %s started in %.2f s", self.process.pid, time.monotonic() - started)

    def request(self, message: tuple[object, ...], deadline: float) -> list[Match]:
        self.send(message)
        return self._receive(deadline)

    def send(self, message: tuple[object, ...]) -> None:
        """Sends a request; its reply is read with ``receive``."""
        try:
            self._conn.send(message)
        except (OSError, ValueError) as exc:
            raise _WorkerFailure(f"cannot reach the worker ({self._exit_status()}): {exc}") from exc

    def receive(self, deadline: float) -> list[Match]:
        return self._receive(deadline)

    def _receive(self, deadline: float) -> list[Match]:
        conn: Connection = self._conn
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0 or not conn.poll(remaining):
                raise _WorkerFailure("the worker exceeded the time limit")
            status, payload = conn.recv()
        except (EOFError, OSError) as exc:
            raise _WorkerFailure(f"the worker died ({self._exit_status()})") from exc
        if status == "error":
            raise _WorkerFailure(f"the worker reported: {payload}")
        return payload if isinstance(payload, list) else []

    def _exit_status(self) -> str:
        self.process.join(timeout=1.0)
        code = self.process.exitcode
        if code is None:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # already gone: nothing to stop
            self._conn.send(("stop",))
        self.process.join(timeout=5.0)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5.0)
        self._conn.close()


def _shards(
    rule_set: RuleSet,
    context: EvaluationContext,
    objects: Sequence[InspectionObject],
    side_facts: SideFacts,
    shard_size: int,
) -> tuple[list[tuple[list[Fact], list[Fact]]], dict[str, list[str]]]:
    """(side facts, object facts) per shard, and the twins of each representative object.

    Only side facts of kinds some rule reads are included. Objects with no side fact of their own whose
    facts are equal but for the credit code are *twins*: the compiled rules cannot tell them apart (no
    rule condition reads the credit code itself), so durable_rules decides for one representative and its
    decision holds for each twin. Every decision is still durable_rules'; it is just not repeated.
    """
    kinds = rule_set.fact_kinds
    attrs = attributes_read(rule_set)
    by_code: defaultdict[str, list[Fact]] = defaultdict(list)
    if FactKind.COMPLAINT in kinds:
        for complaint in side_facts.complaints:
            by_code[complaint.credit_code].append(facts.complaint_fact(complaint, attrs[FactKind.COMPLAINT]))
    if FactKind.RISK_ASSESSMENT in kinds:
        for assessment in side_facts.risk_assessments:
            by_code[assessment.credit_code].append(
                facts.risk_assessment_fact(assessment, attrs[FactKind.RISK_ASSESSMENT])
            )
    if FactKind.STATUTORY_DESIGNATION in kinds:
        for designation in side_facts.statutory_designations:
            by_code[designation.credit_code].append(
                facts.statutory_designation_fact(designation, attrs[FactKind.STATUTORY_DESIGNATION])
            )
    campaigns: list[Fact] = []
    if FactKind.CAMPAIGN in kinds:
        levels = context.organizer_levels
        unknown = sorted({c.organizer_department_id for c in side_facts.campaigns} - levels.keys())
        if unknown:
            raise FailedPrecondition(
                f"campaign organisers without a department level: {', '.join(unknown)}",
                reason="CAMPAIGN_ORGANIZER_UNKNOWN",
            )
        campaigns = [
            facts.campaign_fact(c, levels[c.organizer_department_id], attrs[FactKind.CAMPAIGN])
            for c in side_facts.campaigns
        ]
    reads_code = any(c.attr == "credit_code" for r in rule_set.rules for c in r.object_conditions)
    representatives: dict[tuple[object, ...], str] = {}
    twins: dict[str, list[str]] = defaultdict(list)
    evaluated: list[InspectionObject] = []
    object_facts: dict[str, Fact] = {}
    # Equal source attributes give equal facts (region_* derive from region_code), so twins are found
    # without building their facts.
    sources = sorted({facts.OBJECT_SOURCE.get(a, a) for a in attrs[FactKind.OBJECT]} - {"credit_code"})
    signature_of = operator.attrgetter(*sources) if sources else (lambda _obj: ())
    if reads_code:
        evaluated = list(objects)
    else:
        # The loop runs once per in-scope object (1M in a large draw): names bound once, no re-reads.
        representative_of, keep = representatives.setdefault, evaluated.append
        for obj in objects:
            code = obj.credit_code
            if code not in by_code:
                representative = representative_of(signature_of(obj), code)
                if representative != code:
                    twins[representative].append(code)
                    continue
            keep(obj)
    object_attrs = attrs[FactKind.OBJECT]
    for obj in evaluated:
        object_facts[obj.credit_code] = facts.object_fact(obj, object_attrs)
    shards: list[tuple[list[Fact], list[Fact]]] = []
    for start in range(0, len(evaluated), shard_size):
        chunk = evaluated[start : start + shard_size]
        side = list(campaigns)
        for credit_code in dict.fromkeys(o.credit_code for o in chunk):  # once per code, in order
            side.extend(by_code.get(credit_code, ()))
        shards.append((side, [object_facts[o.credit_code] for o in chunk]))
    return shards, dict(twins)


def _with_twins(matches: list[Match], twins: dict[str, list[str]]) -> list[Match]:
    """``matches`` plus, for each match of a representative, the same match for each of its twins."""
    if not twins:
        return matches
    expanded = list(matches)
    for rule_id, credit_code, refs in matches:
        expanded.extend((rule_id, twin, refs) for twin in twins.get(credit_code, ()))
    return expanded


def _exclusions(rule_set: RuleSet, matches: Iterable[Match]) -> list[Exclusion]:
    """One exclusion per (credit code, rule id), evidence merged over all its matches, sorted."""
    evidence: dict[tuple[str, str], set[str]] = {}
    for rule_id, credit_code, refs in matches:
        key = (credit_code, rule_id)
        known = evidence.get(key)
        if known is None:
            evidence[key] = set(refs)
        else:
            known.update(refs)
    meta = {r.id: (r.category, r.reason, r.legal_basis.citation) for r in rule_set.rules}
    return [
        Exclusion(credit_code, rule_id, *meta[rule_id], evidence=tuple(sorted(refs)))
        for (credit_code, rule_id), refs in sorted(evidence.items())
    ]
