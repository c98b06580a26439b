"""The one place that turns ``Settings`` into adapters and hands them to the use cases: for the server
(``dualdraw.entrypoints.grpc.server.create_server``) and for the draw process's child
(``draw_process_draws``, which the server's ``DrawProcess`` names as the child's wiring).

It may import adapters, the service layer, the domain and the runtime, never an entrypoint; no adapter
imports it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from dualdraw.adapters.credit_system import CreditSender
from dualdraw.adapters.draw_process import ChildSettings, DrawProcess
from dualdraw.adapters.event_broker import JetStreamEvents
from dualdraw.adapters.evidence_store import DirectoryEvidenceStore
from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.domain.audit.checkpoints import CheckpointSigner
from dualdraw.domain.draw.beacon import chain
from dualdraw.domain.errors import Unavailable
from dualdraw.domain.evidence import EvidenceLimits
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.model import Exclusion, ObjectAttributes, SideFacts
from dualdraw.domain.outbox import Destination
from dualdraw.domain.policy import DrawRules
from dualdraw.runtime.telemetry import time_rule_evaluation
from dualdraw.service_layer.draw_runner import DrawRunner, InProcessDraws
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.outbox_delivery import lease_for
from dualdraw.service_layer.outbox_relay import OutboxRelay
from dualdraw.service_layer.ports import ExclusionMatcher
from dualdraw.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wiring:
    """The server's adapters: its store, its rules engine (started, evaluations timed) and the draw
    process (``None`` with ``DUALDRAW_DRAW_PROCESS=off``: draws run in the server process)."""

    store: Store
    engine: ExclusionEngine
    draw_process: DrawProcess | None
    owns_store: bool
    """Whether ``store`` was made here (and so is disposed by ``close``)."""
    evidence_store: DirectoryEvidenceStore
    evidence_limits: EvidenceLimits

    def close(self) -> None:
        """Stops the draw process and the rules engine; disposes the store when it was made here."""
        if self.draw_process is not None:
            self.draw_process.close()
        self.engine.close()
        if self.owns_store:
            self.store.dispose()


def bureau_rules(settings: Settings) -> DrawRules:
    """The caps and raises of tasks outside a plan, from ``DUALDRAW_DEFAULT_*``; raises ``ValueError``
    naming each bad setting (the server does not start)."""
    rules = DrawRules(
        frequency_cap=settings.default_frequency_cap,
        complaint_threshold=settings.default_complaint_threshold,
        raise_window_days=settings.default_raise_window_days,
        raise_on_serious_violation=settings.raise_on_serious_violation_enabled,
        other_level=settings.default_other_level,
    )
    problems = rules.problems("DUALDRAW_DEFAULT")
    if problems:
        raise ValueError("; ".join(f"{p.field.replace('.', '_').upper()}: {p.description}" for p in problems))
    return rules


def wire(
    settings: Settings,
    signer: CheckpointSigner,
    *,
    store: Store | None = None,
    engine: ExclusionEngine | None = None,
    entropy: EntropyPolicy | None = None,
) -> Wiring:
    """The server's adapters from ``settings``; ``store`` and ``engine`` when given (tests) are used
    instead of new ones. The engine's worker is started now: raises ``Unavailable`` when it cannot start.
    The draw process starts at the first draw (``serve`` starts it at once)."""
    owns_store = store is None
    store = store or Store.from_url(settings.database_url, signer=signer)
    if store.signer is None:
        store.signer = signer
    engine = engine or ExclusionEngine(shard_size=settings.rule_shard_size, timeout_s=settings.rule_timeout_s)
    engine.start()
    time_rule_evaluation(engine)
    draw_process = None
    if settings.draw_process_enabled:
        child = ChildSettings(
            database_url=settings.database_url,
            signer=store.signer,
            rule_shard_size=settings.rule_shard_size,
            rule_timeout_s=settings.rule_timeout_s,
            log_level=logging.getLogger().getEffectiveLevel(),
            log_format=settings.log_format,
            niceness=settings.draw_process_niceness,
            draw_timeout_s=settings.draw_timeout_s,
            entropy=entropy or entropy_policy(settings),
        )
        draw_process = DrawProcess(child, store.unit_of_work, engine, draw_process_draws)
    else:
        log.info("DUALDRAW_DRAW_PROCESS=off: draws run in the server process")
    evidence_store, limits = evidence_storage(settings)
    return Wiring(store, engine, draw_process, owns_store, evidence_store, limits)


def evidence_storage(settings: Settings) -> tuple[DirectoryEvidenceStore, EvidenceLimits]:
    """The evidence store (its unfinished uploads from before a crash swept away) and its limits; raises
    ``ValueError`` naming a bad setting."""
    limits = EvidenceLimits.parse(settings.evidence_max_bytes, settings.evidence_content_types)
    store = DirectoryEvidenceStore(settings.evidence_dir or evidence_root(settings.database_url))
    store.sweep()
    return store, limits


def evidence_root(database_url: str) -> Path:
    """Where evidence is kept by default: beside the SQLite file (``dualdraw.db.evidence``), or for another
    database under ``$XDG_STATE_HOME/dualdraw`` (default ``~/.local/state/dualdraw/evidence``)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".evidence")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "dualdraw" / "evidence"


def credit_relay(settings: Settings, store: Store) -> OutboxRelay | None:
    """The relay delivering the credit-system messages to ``DUALDRAW_CREDIT_URL`` (not started); ``None``
    when no URL is set (the messages wait). Raises ``ValueError`` for a bad URL, timeout or token file."""
    if not settings.credit_url:
        return None
    sender = CreditSender.from_files(
        settings.credit_url,
        timeout_s=settings.credit_timeout_s,
        token_file=settings.credit_token_file,
        ca_file=settings.credit_ca_file,
    )
    return OutboxRelay(
        store.unit_of_work,
        Destination.CREDIT,
        sender,
        interval_s=settings.credit_interval_s,
        lease=lease_for(settings.credit_timeout_s),
    )


def check_events_url(settings: Settings) -> None:
    """Raises ``ValueError`` unless ``DUALDRAW_EVENTS_URL`` is unset or a NATS URL (the server does not
    start)."""
    if not settings.events_url:
        return
    url = urlsplit(settings.events_url)
    if url.scheme not in ("nats", "tls") or not url.hostname:
        raise ValueError(
            "DUALDRAW_EVENTS_URL must be a NATS server URL such as nats://127.0.0.1:4222,"
            f" not {settings.events_url!r}"
        )


def event_relay(settings: Settings, store: Store) -> OutboxRelay | None:
    """The relay of domain events to the NATS JetStream broker at ``DUALDRAW_EVENTS_URL``, started (it
    connects in the background; events wait in the outbox while the broker is away); ``None`` when unset."""
    if not settings.events_url:
        log.info("DUALDRAW_EVENTS_URL is not set: domain events wait in the outbox")
        return None
    check_events_url(settings)
    broker = JetStreamEvents(
        settings.events_url,
        stream=settings.events_stream,
        subject_prefix=settings.events_subject_prefix,
        instance=settings.events_instance,
        duplicate_window=dt.timedelta(seconds=settings.events_duplicate_window_s),
    ).start()
    relay = OutboxRelay(
        store.unit_of_work,
        Destination.EVENTS,
        broker.send,
        interval_s=settings.events_interval_s,
        on_close=broker.close,
        ready=broker.connected,  # while the broker is away, events wait without counting failed attempts
        lease=lease_for(broker.send_timeout_s),
    )
    broker.when_ready(relay.wake)
    log.info("domain events to %s, stream %s", settings.events_url, settings.events_stream)
    return relay.start()


def entropy_policy(settings: Settings) -> EntropyPolicy:
    """The entropy draws may use; ``DUALDRAW_ALLOW_LOCAL_ENTROPY`` is refused unless auth is off."""
    if settings.allow_local_entropy and settings.auth_enabled:
        raise ValueError(
            "DUALDRAW_ALLOW_LOCAL_ENTROPY=1 is for development only: it needs DUALDRAW_AUTH=off (a local "
            "secret is entropy the operator could know)"
        )
    if settings.allow_local_entropy:
        log.warning("DUALDRAW_ALLOW_LOCAL_ENTROPY=1: draws may use a local secret (development only)")
    chain(settings.beacon)  # raises for a beacon that is not pinned
    return EntropyPolicy(settings.allow_local_entropy, settings.beacon, settings.beacon_delay_s)


@contextmanager
def draw_process_draws(
    settings: ChildSettings, rule_seconds: Callable[[float], None]
) -> Iterator[DrawRunner]:
    """The draw process's runner, built in the child: a store of its own on the server's database and
    signer, a rules engine of its own (same tuning) and a commitment worker (the object plan's root is
    hashed there while the draw goes on), both started now rather than in the first draw (a worker takes
    a few hundred ms). Each rule evaluation's seconds go to ``rule_seconds``."""
    store = Store.from_url(settings.database_url, signer=settings.signer)
    engine = ExclusionEngine(shard_size=settings.rule_shard_size, timeout_s=settings.rule_timeout_s)
    try:
        try:
            engine.start()
        except Unavailable as exc:
            log.warning("%s; the first draw tries again", exc)
        yield InProcessDraws(
            store.unit_of_work,
            _Timed(engine, rule_seconds),
            settings.entropy,
            snapshot_unit_of_work=store.snapshot_unit_of_work if store.writers_exclude_each_other else None,
        )
    finally:
        engine.close()
        store.dispose()


class _Timed:
    """An ``ExclusionMatcher`` that reports the seconds of each evaluation of ``matcher``."""

    def __init__(self, matcher: ExclusionMatcher, seconds: Callable[[float], None]) -> None:
        self._matcher = matcher
        self._seconds = seconds

    def evaluate(
        self,
        rule_set: RuleSet,
        context: EvaluationContext,
        objects: Sequence[ObjectAttributes],
        side_facts: SideFacts,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Exclusion]:
        started = time.perf_counter()
        try:
            return self._matcher.evaluate(rule_set, context, objects, side_facts, progress=progress)
        finally:
            self._seconds(time.perf_counter() - started)
