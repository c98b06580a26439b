"""``ExclusionEngine``: evaluates a rule set over objects and side facts in a separate worker process.

durable_rules is a C extension that can segfault, hang holding the GIL or leak per session, so it never
runs in the server process: a worker (``dualdraw.adapters.rules_engine.worker``) started and supervised by
``dualdraw.adapters.worker_process`` does the evaluation. When the worker dies or exceeds ``timeout_s``, it
is killed, a fresh one is started and the call is retried once; a second failure raises ``Unavailable``.

Objects are evaluated in shards of ``shard_size``: each shard gets its own durable session with the side
facts of its objects (complaints, risk assessments, designations by credit code) and all campaigns, so
memory and time stay linear in the number of objects.

``timeout_s`` bounds one attempt (all shards of one call); the retry gets its own. Worker start-up
(~0.15 s) is bounded separately by ``STARTUP_TIMEOUT_S``.
"""

from __future__ import annotations

import itertools
import json
import logging
import operator
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple, cast

import numpy as np
import numpy.typing as npt

from dualdraw.adapters.rules_engine.worker import Fact, Match, serve, shard_texts
from dualdraw.adapters.worker_process import (
    RETRY_ONCE,
    WorkerFailure,
    WorkerHolder,
    WorkerProcess,
    leaf_worker,
)
from dualdraw.domain.draw.ascending import positions_in, strictly_ascending
from dualdraw.domain.draw.numbering import first_places
from dualdraw.domain.errors import FailedPrecondition, Unavailable
from dualdraw.domain.exclusions import facts
from dualdraw.domain.exclusions.compiler import (
    KIND_KEY,
    ValueClass,
    attributes_read,
    compile_rule_set,
    exact_class,
    side_fact_value_classes,
)
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.exclusions.schema import CREDIT_CODE_JOINED, FactKind
from dualdraw.domain.model import DrawObjects, Exclusion, ObjectAttributes, SideFacts

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
STARTUP_TIMEOUT_S = 60.0
COMPILED_CACHE_SIZE = 16


class ExclusionEngine(WorkerHolder):
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
        super().__init__(_start_worker, RETRY_ONCE)
        self._compiled: OrderedDict[str, str] = OrderedDict()

    def start(self) -> None:
        """Starts the worker process now. Raises ``Unavailable`` when it cannot start."""
        with self._lock:
            try:
                self._workers.worker()
            except WorkerFailure as failure:
                raise Unavailable(f"the rules engine worker could not start: {failure}") from failure

    def evaluate(
        self,
        rule_set: RuleSet,
        context: EvaluationContext,
        objects: Sequence[ObjectAttributes],
        side_facts: SideFacts,
        *,
        progress: Progress | None = None,
    ) -> list[Exclusion]:
        """One ``Exclusion`` per (object, rule) that holds, sorted by (credit code, rule id).

        ``evidence`` is the sorted ids of the side facts that matched (of every match of that rule).
        ``progress(decided, len(objects))`` is called after each shard: the objects decided so far (those
        sent and their twins; from 0 again on a retry).
        Raises ``FailedPrecondition`` when a campaign's organiser has no level in
        ``context.organizer_levels``, ``Unavailable`` when the worker failed twice.
        """
        if not objects or not rule_set.rules:
            return []
        key = f"{rule_set.hash}:{context.digest()}"
        twins = Twins()
        shards = _Replayable(_shards(rule_set, context, objects, side_facts, self.shard_size, twins))
        with self._lock:
            matches = self._matches(
                key, self._compiled_json(key, rule_set, context), shards, len(objects), progress
            )
        return _exclusions(rule_set, twins.with_twins(matches))

    def _matches(
        self,
        key: str,
        ruleset_json: str,
        shards: Iterable[Shard],
        total: int,
        progress: Progress | None,
    ) -> list[Match]:
        """The worker's matches; on a failure the worker is replaced and the call retried once."""
        try:
            return self._workers.call(
                lambda worker: _attempt(worker, self.timeout_s, key, ruleset_json, shards, total, progress)
            )
        except WorkerFailure as failure:
            raise Unavailable(
                f"the rules engine failed twice (its worker was restarted in between): {failure}",
                reason="RULES_ENGINE_UNAVAILABLE",
            ) from failure

    def _crash_worker_for_test(self, how: str = "abort") -> None:
        """Tests only: the worker fails (``abort``, ``exit`` or ``hang``) on the next shard it receives."""
        with self._lock:
            worker = self._workers.worker()
            assert worker is not None, "the rules engine never holds starts back"
            _reply(worker.request(("fault", how), time.monotonic() + STARTUP_TIMEOUT_S))

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


def _start_worker() -> WorkerProcess:
    return leaf_worker(serve, "dualdraw-rules-worker", STARTUP_TIMEOUT_S)


def _reply(message: object) -> list[Match]:
    """The matches of one ``("ok", payload)`` reply; ``("error", message)`` discards the worker."""
    if not (isinstance(message, tuple) and len(message) == 2):
        raise WorkerFailure(f"the worker answered {message!r}")
    status, payload = message
    if status == "error":
        raise WorkerFailure(f"the worker reported: {payload}")
    return payload if isinstance(payload, list) else []


def _received(worker: WorkerProcess, deadline: float) -> list[Match]:
    """The worker's next reply. An attempt past ``deadline`` fails even when a reply has come meanwhile:
    ``timeout_s`` bounds the whole attempt, however quickly each shard was answered."""
    try:
        if time.monotonic() >= deadline:
            raise WorkerFailure("the attempt ran out of time", timed_out=True)
        return _reply(worker.receive(deadline))
    except WorkerFailure as failure:
        if failure.timed_out:
            raise WorkerFailure("the worker exceeded the time limit", timed_out=True) from failure
        raise


def _attempt(
    worker: WorkerProcess,
    timeout_s: float,
    key: str,
    ruleset_json: str,
    shards: Iterable[Shard],
    total: int,
    progress: Progress | None,
) -> list[Match]:
    """One attempt of all shards on ``worker``, within ``timeout_s``. The next shard is built while the
    worker evaluates the one it was sent: both processes work."""
    deadline = time.monotonic() + timeout_s
    worker.send(("ruleset", key, ruleset_json))
    _received(worker, deadline)
    matches: list[Match] = []
    pending = iter(shards)
    shard = next(pending, None)
    while shard is not None:
        worker.send(("shard", key, shard.side, shard.objects))
        following = next(pending, None)
        matches.extend(_received(worker, deadline))
        # The objects after the last representative are its shards' twins: decided with it.
        decided = total if following is None else shard.decided
        if progress is not None:
            progress(decided, total)
        shard = following
    return matches


class Shard(NamedTuple):
    """The facts of one shard as the worker asserts them (``worker.shard_texts``): side facts (campaigns,
    then those of its objects) and object facts; and how many objects are decided once it is (its own,
    every shard's before it and the twins found so far)."""

    side: str
    objects: str
    decided: int


class _Replayable(Iterable[Shard]):
    """Shards built once, as they are first asked for, and replayed from the start by a retry."""

    def __init__(self, shards: Iterator[Shard]) -> None:
        self._source = shards
        self._built: list[Shard] = []

    def __iter__(self) -> Iterator[Shard]:
        for position in itertools.count():
            if position == len(self._built):
                shard = next(self._source, None)
                if shard is None:
                    return
                self._built.append(shard)
            yield self._built[position]


def _shards(
    rule_set: RuleSet,
    context: EvaluationContext,
    objects: Sequence[ObjectAttributes],
    side_facts: SideFacts,
    shard_size: int,
    twins: Twins,
) -> Iterator[Shard]:
    """The shards of ``objects``, each built when asked for, filling in ``twins`` (the twins of each
    representative object) as it goes: once the last shard is out, every object is in a shard or a twin.
    The side facts are prepared (and the campaigns' organisers checked) at once.

    Only side facts of kinds some rule reads are included. Objects whose facts are equal but for the
    credit code, and whose own side facts pair off with values no rule tells apart (``_OwnFacts``), are
    *twins*: the compiled rules cannot tell them apart (no rule condition reads the credit code itself),
    so durable_rules decides for one representative and its decision holds for each twin, with the twin's
    own facts as evidence. Every decision is still durable_rules'; it is just not repeated.
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
    object_attrs = attrs[FactKind.OBJECT]

    def shard(chunk: list[ObjectAttributes], decided: int) -> Shard:
        side = [dict(c) for c in campaigns]  # in every shard: copies, as each session claims its ids
        for credit_code in dict.fromkeys(o.credit_code for o in chunk):  # once per code, in order
            side.extend(by_code.get(credit_code, ()))
        return Shard(*shard_texts(side, [facts.object_fact(o, object_attrs) for o in chunk]), decided)

    if reads_code:
        return (
            shard(list(objects[start : start + shard_size]), min(start + shard_size, len(objects)))
            for start in range(0, len(objects), shard_size)
        )
    # Equal source attributes give equal facts (region_* derive from region_code), so twins are found
    # without building their facts.
    sources = sorted({facts.OBJECT_SOURCE.get(a, a) for a in object_attrs} - {"credit_code"})
    signature_of = operator.attrgetter(*sources) if sources else (lambda _obj: ())
    own_facts = _OwnFacts(by_code, side_fact_value_classes(rule_set, context), attrs, campaigns)

    def with_twins_apart() -> Iterator[Shard]:
        # Objects loaded as columns share a profile per distinct set of attributes: the signature is taken
        # once per profile (by identity: each is alive in ``objects`` throughout), not once per object.
        numbering: defaultdict[object, int] = defaultdict(itertools.count().__next__)
        if isinstance(objects, DrawObjects):
            codes = objects.codes
            profiles, numbers = objects.numbered()
            profile_signature = [numbering[signature_of(profile)] for profile in profiles]
            signature = np.array(profile_signature, dtype=np.intp)[numbers]
        else:
            codes = [o.credit_code for o in objects]
            signature = np.fromiter(
                map(numbering.__getitem__, map(signature_of, objects)), dtype=np.intp, count=len(codes)
            )
        apart, refs = own_facts.sign(codes, signature)
        kept = twins.find(codes, signature, apart, refs)
        for start in range(0, len(kept), shard_size):
            piece = kept[start : start + shard_size]
            decided = piece[-1] + 1 if start + shard_size < len(kept) else len(objects)
            yield shard([objects[at] for at in piece], decided)

    return with_twins_apart()


class _OwnFacts:
    """The side facts each object has of its own (by credit code), as twins are told apart.

    Two objects are twins when their object facts are equal but for the credit code and their own side
    facts pair off one to one, each pair of one kind with values of one class (``side_fact_value_classes``)
    in every attribute a rule tests: each test of the compiled rules answers alike for both, so
    durable_rules' decision for one is its decision for the other, with the paired facts' refs as
    evidence. An object whose own refs repeat, or repeat a campaign's, cannot pair its evidence off: it
    stands apart."""

    def __init__(
        self,
        by_code: Mapping[str, list[Fact]],
        classes: Mapping[str, Mapping[str, ValueClass]],
        attrs: Mapping[FactKind, tuple[str, ...]],
        campaigns: Iterable[Fact],
    ) -> None:
        self._by_code = by_code
        self._tested = {
            kind.value: tuple(
                (name, classes.get(kind.value, {}).get(name, exact_class))
                for name in names
                if name != "credit_code"
            )
            for kind, names in attrs.items()
            if kind in CREDIT_CODE_JOINED
        }
        self._campaign_refs = frozenset(str(c["ref"]) for c in campaigns)
        self._numbering: defaultdict[object, int] = defaultdict(itertools.count().__next__)
        self._known: dict[tuple[object, ...], int] = {}

    def _fact_number(self, fact: Fact) -> int:
        """One number per kind and classes of the tested values (classed once per distinct values)."""
        kind = str(fact[KIND_KEY])
        tested = self._tested[kind]
        values = (kind, *[fact[name] for name, _ in tested])
        number = self._known.get(values)
        if number is None:
            classes = (
                kind,
                *[value_class(value) for (_, value_class), value in zip(tested, values[1:], strict=True)],
            )
            number = self._known[values] = self._numbering[classes]
        return number

    def sign(
        self, codes: Sequence[str], signature: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.bool_], dict[int, tuple[str, ...]]]:
        """Extends, in place, the object ``signature`` numbers of the objects with side facts of their own by
        those facts' classes. Returns which objects stand apart, and (by position) each extended object's
        refs in the order its facts pair off: by class, then ref."""
        n = len(codes)
        apart = np.zeros(n, dtype=np.bool_)
        refs_at: dict[int, tuple[str, ...]] = {}
        if strictly_ascending(codes):  # a draw's codes: each object with facts found by binary search
            own: Iterable[int] = sorted(at for at in positions_in(codes, self._by_code) if at is not None)
        else:
            own = np.flatnonzero(np.fromiter(map(self._by_code.__contains__, codes), np.bool_, n)).tolist()
        first_free = int(signature.max(initial=-1)) + 1
        extended: defaultdict[object, int] = defaultdict(itertools.count(first_free).__next__)
        campaign_refs = self._campaign_refs
        by_code, fact_number = self._by_code, self._fact_number
        places = list(own)
        signed: list[int] = []  # the new signature of each object of ``places`` not apart, in order
        for at, base in zip(places, signature[places].tolist(), strict=True):  # one read, not one per object
            facts_of = by_code[codes[at]]
            if len(facts_of) == 1:  # most objects with any have one: no pairing order, no repeated ref
                numbers: tuple[int, ...] = (fact_number(facts_of[0]),)
                refs: tuple[str, ...] = (str(facts_of[0]["ref"]),)
                alone = refs[0] in campaign_refs
            else:
                paired = sorted((fact_number(f), str(f["ref"])) for f in facts_of)
                numbers = tuple(number for number, _ in paired)
                refs = tuple(ref for _, ref in paired)
                alone = len(set(refs)) != len(refs) or not campaign_refs.isdisjoint(refs)
            if alone:
                apart[at] = True
                continue
            signed.append(extended[(base, numbers)])
            refs_at[at] = refs
        signature[list(refs_at)] = signed  # positions in the order they were signed
        return apart, refs_at


class Twins:
    """The twins of each representative object (``_shards``), kept as positions among the draw's codes
    until asked for: a 1M draw has ~900k twins and only the matched representatives' are ever read."""

    def __init__(self) -> None:
        self._codes: Sequence[str] = ()
        self._of: dict[str, npt.NDArray[np.intp]] = {}
        self._position: dict[str, int] = {}
        self._refs: dict[int, tuple[str, ...]] = {}

    def find(
        self,
        codes: Sequence[str],
        numbers: Sequence[int] | npt.NDArray[np.intp],
        apart: Sequence[bool] | npt.NDArray[np.bool_],
        refs: Mapping[int, tuple[str, ...]] | None = None,
    ) -> list[int]:
        """Sorts the objects of ``codes`` (each one's signature ``numbers``, and whether it stands ``apart``)
        into representatives and twins: the first object of each signature that is not apart represents
        every later one, which becomes its twin; every object apart is its own. ``refs``: by position, the
        refs of the side facts of each object that has some, in the order they pair off between twins.
        Returns the positions of the objects to evaluate (apart or representatives), ascending; the rest
        are the twins, at once, in a few array passes."""
        n = len(codes)
        signature = np.asarray(numbers, dtype=np.intp)
        alone = np.asarray(apart, dtype=np.bool_)
        free = np.flatnonzero(~alone)
        first = first_places(signature[free], int(signature.max(initial=-1)) + 1)
        representatives = free[first[first < len(free)]]
        is_representative = np.zeros(n, dtype=np.bool_)
        is_representative[representatives] = True
        twin_at = free[~is_representative[free]]  # ascending
        representative_of = np.zeros(int(signature.max(initial=0)) + 1, dtype=np.intp)
        representative_of[signature[representatives]] = representatives
        owners = representative_of[signature[twin_at]]
        order = np.argsort(owners, kind="stable")  # each representative's twins together, ascending
        owners, twin_at = owners[order], twin_at[order]
        self._codes = codes
        self._of, self._position, self._refs = {}, {}, {}
        if len(owners):
            bounds = np.flatnonzero(np.diff(owners)) + 1
            heads = owners[np.concatenate(([0], bounds))].tolist()
            groups = np.split(twin_at, bounds)
            self._of = {codes[head]: group for head, group in zip(heads, groups, strict=True)}
            if refs:  # kept for the representatives with twins and their twins only
                grouped = np.zeros(n, dtype=np.bool_)
                grouped[twin_at] = True
                grouped[owners] = True
                self._position = {codes[head]: head for head in heads}
                self._refs = {at: own for at, own in refs.items() if grouped[at]}
        return cast(list[int], np.sort(np.concatenate((np.flatnonzero(alone), representatives))).tolist())

    def __bool__(self) -> bool:
        return bool(self._of)

    def of(self, code: str) -> list[str]:
        """The twins of representative ``code`` (none for any other code), in the order of the codes."""
        found = self._of.get(code)
        return [] if found is None else [self._codes[at] for at in found.tolist()]

    def with_twins(self, matches: list[Match]) -> list[Match]:
        """``matches`` plus, for each match of a representative, the same match for each of its twins, each
        ref of the representative's own side facts replaced by the ref of the twin's fact it pairs off with
        (a campaign's stays)."""
        if not self._of:
            return matches
        expanded = list(matches)
        codes, twin_refs = self._codes, self._refs
        for rule_id, credit_code, refs in matches:
            found = self._of.get(credit_code)
            if found is None:
                continue
            own = self._refs.get(self._position.get(credit_code, -1)) if refs else None
            if own is None:
                expanded.extend((rule_id, codes[at], refs) for at in found.tolist())
                continue
            if len(own) == 1 and refs == own:  # the usual match: its one ref is the object's one fact
                expanded.extend(
                    zip(
                        itertools.repeat(rule_id),
                        map(codes.__getitem__, at_twins := found.tolist()),
                        map(twin_refs.__getitem__, at_twins),
                    )
                )
                continue
            for at in found.tolist():
                paired = dict(zip(own, twin_refs[at], strict=True))
                expanded.append((rule_id, codes[at], tuple(paired.get(ref, ref) for ref in refs)))
        return expanded


def _exclusions(rule_set: RuleSet, matches: Iterable[Match]) -> list[Exclusion]:
    """One exclusion per (credit code, rule id), evidence merged over all its matches, sorted."""
    first: dict[tuple[str, str], tuple[str, ...]] = {}
    merged: dict[tuple[str, str], set[str]] = {}  # only the keys matched more than once
    for rule_id, credit_code, refs in matches:
        key = (credit_code, rule_id)
        known = first.setdefault(key, refs)
        if known is not refs:
            merged.setdefault(key, set(known)).update(refs)
    meta = {r.id: (r.category, r.reason, r.legal_basis.citation) for r in rule_set.rules}
    exclusions: list[Exclusion] = []
    for key in sorted(first):
        credit_code, rule_id = key
        refs = first[key]
        if key in merged:
            evidence = tuple(sorted(merged[key]))
        elif len(refs) > 1:
            evidence = tuple(sorted(set(refs)))
        else:
            evidence = refs  # one match of one ref at most: already the sorted distinct refs
        exclusions.append(Exclusion(credit_code, rule_id, *meta[rule_id], evidence=evidence))
    return exclusions
