"""Builds and runs the gRPC server: ``create_server`` for tests (port 0 works), ``serve`` for production."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from dualdraw.adapters.draw_process import DrawProcess
from dualdraw.adapters.draw_queue import DrawQueue, queue_limit
from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store.ledger import Ledger
from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.bootstrap import bureau_rules, check_events_url, credit_relay, entropy_policy, event_relay, wire
from dualdraw.domain.audit.checkpoints import CheckpointSigner, write_private_key
from dualdraw.domain.draw.algorithm import parse_ratio
from dualdraw.domain.follow_ups import parse_due_overrides
from dualdraw.domain.working_days import load_calendar
from dualdraw.entrypoints.grpc import reflection
from dualdraw.entrypoints.grpc.deliveries_servicer import DeliveryServicer
from dualdraw.entrypoints.grpc.directory_servicer import DirectoryServicer
from dualdraw.entrypoints.grpc.errors import ErrorMappingInterceptor
from dualdraw.entrypoints.grpc.evidence_servicer import EvidenceServicer
from dualdraw.entrypoints.grpc.experts_servicer import ExpertServicer
from dualdraw.entrypoints.grpc.filings_servicer import DirectoryFilingServicer
from dualdraw.entrypoints.grpc.follow_ups_servicer import (
    FollowUpServicer,
    ObjectionServicer,
    PublicFollowUpServicer,
)
from dualdraw.entrypoints.grpc.idempotency import IdempotencyInterceptor
from dualdraw.entrypoints.grpc.observability import ObservabilityInterceptor
from dualdraw.entrypoints.grpc.plans_servicer import PlanServicer
from dualdraw.entrypoints.grpc.public_servicer import PublicServicer
from dualdraw.entrypoints.grpc.records_servicer import ChecklistServicer, InspectionRecordServicer
from dualdraw.entrypoints.grpc.results_servicer import PublicationServicer, ResultServicer
from dualdraw.entrypoints.grpc.rules_servicer import RuleServicer
from dualdraw.entrypoints.grpc.security.denials import DenialLog, DenialThrottle
from dualdraw.entrypoints.grpc.security.interceptor import AccessGuard, Authenticator, SecurityInterceptor
from dualdraw.entrypoints.grpc.security.policy import mutating_methods
from dualdraw.entrypoints.grpc.security.tokens import TokenKeys
from dualdraw.entrypoints.grpc.servicers import (
    AuditServicer,
    DrawServicer,
    InspectionItemServicer,
    Services,
    TaskServicer,
)
from dualdraw.entrypoints.grpc.validation import RequestValidationInterceptor
from dualdraw.entrypoints.grpc.verification_servicers import AuditLogServicer, VerifiableDrawServicer
from dualdraw.entrypoints.http.gateway import Gateway, tls_context
from dualdraw.entrypoints.http.openapi import document_json
from dualdraw.runtime.telemetry import start_metrics_server
from dualdraw.service_layer.outbox_relay import OutboxRelay
from dualdraw.service_layer.rule_book import RuleBook
from dualdraw.settings import Settings
from dualdraw.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    checklists_pb2,
    checklists_pb2_grpc,
    deliveries_pb2,
    deliveries_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    draws_pb2,
    draws_pb2_grpc,
    evidence_pb2,
    evidence_pb2_grpc,
    experts_pb2,
    experts_pb2_grpc,
    filings_pb2,
    filings_pb2_grpc,
    follow_ups_pb2,
    follow_ups_pb2_grpc,
    inspection_records_pb2,
    inspection_records_pb2_grpc,
    items_pb2,
    items_pb2_grpc,
    plans_pb2,
    plans_pb2_grpc,
    public_pb2,
    public_pb2_grpc,
    publication_pb2,
    publication_pb2_grpc,
    results_pb2,
    results_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
    verification_pb2,
    verification_pb2_grpc,
)

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the default of ``Settings.max_message_bytes``

ServicerFactory = Callable[[Services], object]


@dataclass(frozen=True)
class Registration:
    """One gRPC service of ``dualdraw.v1``: its full name, the servicer it needs and how to add it."""

    full_name: str
    make: ServicerFactory
    add: Callable[[Any, grpc.Server], None]


REGISTRATIONS: list[Registration] = [
    Registration(
        directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"].full_name,
        DirectoryServicer,
        directory_pb2_grpc.add_DirectoryServiceServicer_to_server,
    ),
    Registration(
        items_pb2.DESCRIPTOR.services_by_name["InspectionItemService"].full_name,
        InspectionItemServicer,
        items_pb2_grpc.add_InspectionItemServiceServicer_to_server,
    ),
    Registration(
        tasks_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name,
        TaskServicer,
        tasks_pb2_grpc.add_TaskServiceServicer_to_server,
    ),
    Registration(
        plans_pb2.DESCRIPTOR.services_by_name["PlanService"].full_name,
        PlanServicer,
        plans_pb2_grpc.add_PlanServiceServicer_to_server,
    ),
    Registration(  # directory filing with the level above (Art. 7)
        filings_pb2.DESCRIPTOR.services_by_name["DirectoryFilingService"].full_name,
        DirectoryFilingServicer,
        filings_pb2_grpc.add_DirectoryFilingServiceServicer_to_server,
    ),
    Registration(
        draws_pb2.DESCRIPTOR.services_by_name["DrawService"].full_name,
        DrawServicer,
        draws_pb2_grpc.add_DrawServiceServicer_to_server,
    ),
    Registration(
        audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
        AuditServicer,
        audit_pb2_grpc.add_AuditServiceServicer_to_server,
    ),
    Registration(
        experts_pb2.DESCRIPTOR.services_by_name["ExpertService"].full_name,
        ExpertServicer,
        experts_pb2_grpc.add_ExpertServiceServicer_to_server,
    ),
    # -- results and publication --
    Registration(
        results_pb2.DESCRIPTOR.services_by_name["ResultService"].full_name,
        ResultServicer,
        results_pb2_grpc.add_ResultServiceServicer_to_server,
    ),
    Registration(
        publication_pb2.DESCRIPTOR.services_by_name["PublicationService"].full_name,
        PublicationServicer,
        publication_pb2_grpc.add_PublicationServiceServicer_to_server,
    ),
    # -- after the draw: follow-ups to closure and objections (staff), and what the public sees of them --
    Registration(
        follow_ups_pb2.DESCRIPTOR.services_by_name["FollowUpService"].full_name,
        FollowUpServicer,
        follow_ups_pb2_grpc.add_FollowUpServiceServicer_to_server,
    ),
    Registration(
        follow_ups_pb2.DESCRIPTOR.services_by_name["ObjectionService"].full_name,
        ObjectionServicer,
        follow_ups_pb2_grpc.add_ObjectionServiceServicer_to_server,
    ),
    Registration(
        follow_ups_pb2.DESCRIPTOR.services_by_name["PublicFollowUpService"].full_name,
        PublicFollowUpServicer,
        follow_ups_pb2_grpc.add_PublicFollowUpServiceServicer_to_server,
    ),
    # -- after the draw: checklists and inspection records --
    Registration(
        checklists_pb2.DESCRIPTOR.services_by_name["ChecklistService"].full_name,
        ChecklistServicer,
        checklists_pb2_grpc.add_ChecklistServiceServicer_to_server,
    ),
    Registration(
        inspection_records_pb2.DESCRIPTOR.services_by_name["InspectionRecordService"].full_name,
        InspectionRecordServicer,
        inspection_records_pb2_grpc.add_InspectionRecordServiceServicer_to_server,
    ),
    Registration(
        public_pb2.DESCRIPTOR.services_by_name["PublicService"].full_name,
        PublicServicer,
        public_pb2_grpc.add_PublicServiceServicer_to_server,
    ),
    Registration(  # the rule set
        rules_pb2.DESCRIPTOR.services_by_name["RuleService"].full_name,
        RuleServicer,
        rules_pb2_grpc.add_RuleServiceServicer_to_server,
    ),
    Registration(
        verification_pb2.DESCRIPTOR.services_by_name["VerifiableDrawService"].full_name,
        VerifiableDrawServicer,
        verification_pb2_grpc.add_VerifiableDrawServiceServicer_to_server,
    ),
    Registration(
        verification_pb2.DESCRIPTOR.services_by_name["AuditLogService"].full_name,
        lambda services: AuditLogServicer(
            services, services.audit_trusted_keys, development=services.audit_trusted_keys is None
        ),
        verification_pb2_grpc.add_AuditLogServiceServicer_to_server,
    ),
    Registration(  # evidence files of inspections, content-addressed
        evidence_pb2.DESCRIPTOR.services_by_name["EvidenceService"].full_name,
        EvidenceServicer,
        evidence_pb2_grpc.add_EvidenceServiceServicer_to_server,
    ),
    Registration(  # where the messages for the credit system and the event broker stand
        deliveries_pb2.DESCRIPTOR.services_by_name["DeliveryService"].full_name,
        DeliveryServicer,
        deliveries_pb2_grpc.add_DeliveryServiceServicer_to_server,
    ),
]
SERVICE_NAMES = [r.full_name for r in REGISTRATIONS]


@dataclass
class RunningServer:
    """A started server with what it owns; ``stop`` drains calls, then releases the engine and the store."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    services: Services
    store: Store
    metrics: Any = None  # the Prometheus HTTP server, when one was started
    draw_process: DrawProcess | None = None  # runs the draws, unless DUALDRAW_DRAW_PROCESS=off
    denials: DenialLog | None = None  # aggregated refusals, flushed when the server stops
    http: HttpFront | None = None  # the HTTP/JSON gateway, when DUALDRAW_HTTP_ADDRESS is set
    relays: list[OutboxRelay] = field(default_factory=list)  # outbox deliveries, one per destination set up

    def stop(self, grace: float | None = 5.0) -> None:
        """Health turns NOT_SERVING first; new calls are refused; in-flight calls get ``grace`` seconds."""
        for name in ["", *SERVICE_NAMES]:
            self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        if self.http is not None:  # no new HTTP calls; those in flight end within the gRPC server's grace
            self.http.gateway.stop_accepting()
        self.server.stop(grace).wait()
        if self.http is not None:
            self.http.gateway.close()
            shutil.rmtree(self.http.socket_dir, ignore_errors=True)
        if self.denials is not None:  # after the calls: the counts of the last window are written
            self.denials.close()
        for relay in self.relays:  # after the calls: what they wrote is delivered now or at the next start
            relay.close()
        if self.draw_process is not None:  # after the calls: a draw in flight has finished (or was cut off)
            self.draw_process.close()
        self.services.rule_book.close()
        self.services.engine.close()
        self.store.dispose()
        if self.metrics is not None:
            self.metrics.shutdown()


@dataclass
class HttpFront:
    """The HTTP/JSON gateway and the private folder of the Unix socket it reaches the gRPC server by."""

    gateway: Gateway
    port: int
    socket_dir: Path


def is_loopback(address: str) -> bool:
    """Whether ``host:port`` names a loopback host: an IP address in 127.0.0.0/8, ``::1`` (``[::1]:port``),
    or the name ``localhost``. No other name counts, whatever it looks like (``127.evil.example``)."""
    host = address.partition("]")[0].lstrip("[") if address.startswith("[") else address.rsplit(":", 1)[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_keys(settings: Settings) -> TokenKeys | None:
    """The keys that verify bearer tokens; ``None`` when auth is off (allowed on loopback only)."""
    if not settings.auth_enabled:
        if not is_loopback(settings.address):
            raise ValueError(f"DUALDRAW_AUTH=off is allowed on loopback only, not on {settings.address}")
        return None
    if isinstance(settings.token_keys, TokenKeys):
        return settings.token_keys
    if not (settings.token_secret_file or settings.token_public_key or settings.token_private_key):
        raise ValueError(
            "authentication is on but no token key is configured: set DUALDRAW_TOKEN_SECRET_FILE or"
            " DUALDRAW_TOKEN_PUBLIC_KEY (or DUALDRAW_AUTH=off for development on loopback)"
        )
    return TokenKeys.from_files(
        public_key=settings.token_public_key,
        private_key=settings.token_private_key,
        secret=settings.token_secret_file,
    )


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from the configured PEM files (mTLS with a client CA); ``None`` for plaintext."""
    if settings.tls_cert is None and settings.tls_key is None:
        if settings.tls_client_ca is not None:
            raise ValueError("DUALDRAW_TLS_CLIENT_CA needs DUALDRAW_TLS_CERT and DUALDRAW_TLS_KEY")
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValueError("TLS needs both DUALDRAW_TLS_CERT and DUALDRAW_TLS_KEY")
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def create_server(
    settings: Settings, *, store: Store | None = None, engine: ExclusionEngine | None = None
) -> RunningServer:
    """Creates and starts a server on ``settings.address`` (``host:0`` picks a free port)."""
    keys = token_keys(settings)
    policy = entropy_policy(settings)
    check_events_url(settings)
    credentials = server_credentials(settings)
    if credentials is None and not is_loopback(settings.address):
        raise ValueError(
            f"plaintext gRPC is allowed on loopback only, not on {settings.address}:"
            " set DUALDRAW_TLS_CERT and DUALDRAW_TLS_KEY"
        )
    if not 0 <= settings.objection_working_days <= 365:
        raise ValueError("DUALDRAW_OBJECTION_WORKING_DAYS must be 0..365 working days")
    follow_up_days = parse_due_overrides(settings.follow_up_days)
    signer, trusted = audit_signing(settings)
    wiring = wire(settings, signer, store=store, engine=engine, entropy=policy)
    store, engine, draw_process = wiring.store, wiring.engine, wiring.draw_process
    try:
        credit = credit_relay(settings, store)
    except (OSError, ValueError):
        wiring.close()
        raise
    _sign_unsigned_head(store)
    rule_book = RuleBook([settings.rules_path])
    services = Services(
        unit_of_work=store.unit_of_work,
        engine=engine,
        rule_book=rule_book,
        read_unit_of_work=store.read_unit_of_work,
        point_read=store.point_read,
        object_lookup=store.object_lookup,
        calendar=load_calendar(settings.holiday_calendar),
        audit_trusted_keys=trusted,
        general_ratio_cap=parse_ratio(settings.general_ratio_cap),
        draw_runner=DrawQueue(draw_process, queue_limit(settings.max_workers)) if draw_process else None,
        max_message_bytes=settings.max_message_bytes,
        max_abandons_per_task=settings.max_abandons_per_task,
        entropy_policy=policy,
        plan_required=settings.plan_required_enabled,
        bureau_rules=bureau_rules(settings),
        evidence_store=wiring.evidence_store,
        evidence_limits=wiring.evidence_limits,
        follow_up_days=follow_up_days,
        objection_working_days=settings.objection_working_days,
    )
    if settings.rules_watch_s > 0:
        rule_book.watch(engine, settings.rules_watch_s)

    denials = DenialLog(
        store.unit_of_work, window_s=settings.denial_window_s, max_keys=settings.denial_max_keys
    )
    guard = AccessGuard(
        store.read_unit_of_work,
        store.unit_of_work,
        denials=denials,
        throttle=DenialThrottle(settings.denial_rate_per_s, settings.denial_burst),
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="rpc"),
        # Outermost first: log and measure everything, map errors of all inner layers, admit the caller,
        # then replay repeated writes.
        interceptors=[
            ObservabilityInterceptor(),
            ErrorMappingInterceptor(),
            RequestValidationInterceptor(),
            SecurityInterceptor(Authenticator(keys), guard),
            IdempotencyInterceptor(Ledger(store.engine, store.reader), mutating_methods()),
        ],
        options=[
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # A second server on a held port must fail, not share it and answer every other call.
            ("grpc.so_reuseport", 0),
        ],
    )
    for registration in REGISTRATIONS:
        registration.add(registration.make(services), server)

    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable([*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name], server)
    socket_dir = Path(tempfile.mkdtemp(prefix="dualdraw-http-")) if settings.http_address else None
    try:
        port = _bind(server, settings.address, credentials)
        if socket_dir is not None:  # mode 0700: only this user reaches the gateway's way in
            server.add_insecure_port(f"unix:{socket_dir / 'grpc.sock'}")
    except OSError:
        rule_book.close()
        wiring.close()
        raise
    if credentials is not None:
        log.info(
            "TLS on %s%s",
            settings.address,
            " with client certificates (mTLS)" if settings.tls_client_ca else "",
        )
    if keys is None:
        log.warning(
            "AUTHENTICATION OFF (DUALDRAW_AUTH=off): callers are trusted by their x-dualdraw-actor metadata;"
            " development on loopback only"
        )
    server.start()
    for name in ["", *SERVICE_NAMES]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "dualdraw serving on %s (port %d), rules %s (%s)",
        settings.address,
        port,
        rule_book.current().version,
        settings.rules_path,
    )
    metrics = start_metrics_server(settings.metrics_address) if settings.metrics_address else None
    running = RunningServer(
        server, port, health_servicer, services, store, metrics, draw_process, denials=denials
    )
    if credit is not None:
        running.relays.append(credit.start())
        endpoint = urlsplit(settings.credit_url)
        log.info("credit records delivered to %s://%s%s", endpoint.scheme, endpoint.hostname, endpoint.path)
    events = event_relay(settings, store)
    if events is not None:
        running.relays.append(events)
    if socket_dir is not None:
        try:
            running.http = _start_http(settings, socket_dir)
        except (OSError, ValueError):
            running.stop(0)
            shutil.rmtree(socket_dir, ignore_errors=True)
            raise
    return running


def _start_http(settings: Settings, socket_dir: Path) -> HttpFront:
    """The HTTP/JSON gateway on ``settings.http_address``, forwarding to this server's Unix socket; TLS
    (and mTLS) with the gRPC port's files, plaintext on loopback only."""
    tls = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        tls = tls_context(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
    elif not is_loopback(settings.http_address):
        raise ValueError(
            f"plaintext HTTP is allowed on loopback only, not on {settings.http_address}:"
            " set DUALDRAW_TLS_CERT and DUALDRAW_TLS_KEY"
        )
    origins = frozenset(o.strip().rstrip("/") for o in settings.http_cors_origins.split(",") if o.strip())
    gateway = Gateway(
        f"unix:{socket_dir / 'grpc.sock'}",
        SERVICE_NAMES,
        openapi=document_json(SERVICE_NAMES),
        cors_origins=origins,
        max_message_bytes=settings.max_message_bytes,
    )
    try:
        port = gateway.serve(settings.http_address, tls)
    except OSError:
        gateway.close()
        raise
    log.info(
        "HTTP/JSON (Connect protocol) on %s (port %d)%s; OpenAPI at /openapi.json; CORS origins: %s",
        settings.http_address,
        port,
        " with TLS" if tls else "",
        ", ".join(sorted(origins)) or "none",
    )
    return HttpFront(gateway, port, socket_dir)


def _bind(server: grpc.Server, address: str, credentials: grpc.ServerCredentials | None) -> int:
    """Binds ``address`` (plaintext without credentials); ``OSError`` when it is taken or unusable."""
    try:
        if credentials is None:
            log.warning("PLAINTEXT gRPC on %s (loopback, development only): no TLS configured", address)
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as exc:  # grpc reports a failed bind so, with the reason only in its own log
        raise OSError(f"cannot serve on {address}: the address is in use or not available ({exc})") from exc
    if port == 0:
        raise OSError(f"cannot serve on {address}: the address is in use or not available")
    return port


def audit_signing(settings: Settings) -> tuple[CheckpointSigner, frozenset[str] | None]:
    """The checkpoint signer and the keys ``VerifyLog`` trusts (``None``: any, in development).

    ``settings.audit_signer`` wins (tests). Otherwise ``DUALDRAW_AUDIT_KEY_FILE`` must name an Ed25519
    key, except in development (``DUALDRAW_AUTH=off``, loopback only): there a key file is created once,
    mode 0600, at ``DUALDRAW_AUDIT_KEY_FILE`` or beside the SQLite file, and reused at every start.
    """
    if isinstance(settings.audit_signer, CheckpointSigner):
        return settings.audit_signer, None if settings.audit_signer.development else frozenset(
            {settings.audit_signer.public_key}
        )
    path = settings.audit_key_file
    if settings.auth_enabled:
        if path is None or not path.is_file():
            named = "is not set" if path is None else f"names {path}, which does not exist"
            raise ValueError(
                f"audit checkpoints need a persistent signing key, but DUALDRAW_AUDIT_KEY_FILE {named}:"
                " create one with `dualdraw keygen PATH` and set DUALDRAW_AUDIT_KEY_FILE=PATH"
                " (only development, DUALDRAW_AUTH=off, creates its own)"
            )
        signer = CheckpointSigner.from_file(path)
        trusted = {signer.public_key}
        if settings.audit_trusted_keys_file is not None:
            lines = settings.audit_trusted_keys_file.read_text(encoding="utf-8").split()
            trusted.update(line.strip().lower() for line in lines if line.strip())
        log.info("audit checkpoints signed with key %s", signer.key_id)
        return signer, frozenset(trusted)
    path = path or development_key_path(settings.database_url)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_key(path)
        log.warning("development audit signing key created at %s (mode 0600), reused at every start", path)
    signer = CheckpointSigner.from_file(path, development=True)
    log.warning(
        "audit checkpoints signed with the DEVELOPMENT key %s from %s (DUALDRAW_AUTH=off); outside"
        " development DUALDRAW_AUDIT_KEY_FILE is required",
        signer.key_id,
        path,
    )
    return signer, None


def development_key_path(database_url: str) -> Path:
    """Where development keeps its audit key: beside the SQLite file (``dualdraw.db.audit-key.pem``), or
    for another database under ``$XDG_STATE_HOME/dualdraw`` (default ``~/.local/state/dualdraw``)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".audit-key.pem")
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return state / "dualdraw" / "audit-key.pem"


def _sign_unsigned_head(store: Store) -> None:
    """Signs the log head when no checkpoint covers it (events from before the log was signed)."""
    try:
        with store.unit_of_work() as uow:
            if uow.audit.sign_head() is not None:
                uow.commit()
    except Exception as exc:  # an unmigrated database must not stop `serve`; appends will fail loudly
        log.warning("could not sign the audit log head at start-up: %s", exc)


SIGNAL_LOOK_S = 0.5


def wait_for(done: threading.Event) -> None:
    """Returns once ``done`` is set, by a signal handler too. Python runs handlers in the main thread only,
    and a signal the kernel delivers to another thread (gRPC's, the draw process's starter) does not wake
    a main thread blocked in ``Event.wait()``: a SIGTERM was once left unhandled for a minute. So the
    main thread looks every ``SIGNAL_LOOK_S``."""
    while not done.wait(SIGNAL_LOOK_S):
        pass


def serve(settings: Settings) -> None:
    """Serves until SIGINT/SIGTERM; health turns NOT_SERVING first, then in-flight calls get ``grace_s``."""
    running = create_server(settings)
    if running.draw_process is not None:  # tests start it at the first draw; a server starts it now
        threading.Thread(target=running.draw_process.start, name="draw-process-start", daemon=True).start()
    done = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"dualdraw listening on {settings.address}", flush=True)
    if running.http is not None:
        print(f"dualdraw HTTP/JSON on {settings.http_address} (OpenAPI: /openapi.json)", flush=True)
    wait_for(done)
    running.stop(settings.grace_s)
