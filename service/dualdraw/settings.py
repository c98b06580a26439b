"""Typed settings, read once at start-up from the environment (and overridden by command-line flags)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///dualdraw.db"
DEFAULT_ADDRESS = "127.0.0.1:50051"


def _default_rules_path() -> Path:
    return Path(os.environ.get("DUALDRAW_RULES_PATH", "rules"))


def _optional_path(variable: str) -> Path | None:
    value = os.environ.get(variable, "")
    return Path(value) if value else None


def _env_int(variable: str, default: int) -> int:
    return int(os.environ.get(variable, "") or default)


@dataclass(frozen=True)
class Settings:
    """``DUALDRAW_DATABASE_URL`` (SQLite file by default, ``postgresql+psycopg://...`` for production),
    ``DUALDRAW_RULES_PATH`` (folder of rule files), ``DUALDRAW_ADDRESS`` (host:port to serve on),
    ``DUALDRAW_RULE_SHARD_SIZE`` and ``DUALDRAW_RULE_TIMEOUT_S`` (rules-engine worker tuning),
    ``DUALDRAW_AUDIT_KEY_FILE`` and ``DUALDRAW_AUDIT_TRUSTED_KEYS`` (audit checkpoint signing),
    ``DUALDRAW_EVIDENCE_DIR``, ``DUALDRAW_EVIDENCE_MAX_BYTES`` and ``DUALDRAW_EVIDENCE_CONTENT_TYPES``
    (the evidence store)."""

    database_url: str = field(
        default_factory=lambda: os.environ.get("DUALDRAW_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    rules_path: Path = field(default_factory=_default_rules_path)
    address: str = field(default_factory=lambda: os.environ.get("DUALDRAW_ADDRESS", DEFAULT_ADDRESS))
    rule_shard_size: int = field(
        default_factory=lambda: int(os.environ.get("DUALDRAW_RULE_SHARD_SIZE", "2000"))
    )
    rule_timeout_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_RULE_TIMEOUT_S", "120"))
    )
    audit_key_file: Path | None = field(
        default_factory=lambda: Path(v) if (v := os.environ.get("DUALDRAW_AUDIT_KEY_FILE")) else None
    )
    """PEM (PKCS#8) Ed25519 private key that signs audit checkpoints; required unless ``DUALDRAW_AUTH=off``
    (development), which creates one there (or beside the SQLite file) at the first start and reuses it."""
    audit_signer: Any = None
    """A ``dualdraw.domain.audit.checkpoints.CheckpointSigner`` given directly (tests); wins over the key
    file."""
    audit_trusted_keys_file: Path | None = field(
        default_factory=lambda: Path(v) if (v := os.environ.get("DUALDRAW_AUDIT_TRUSTED_KEYS")) else None
    )
    """Extra public keys (hex, one a line) whose checkpoints verify, e.g. keys used before a rotation."""
    max_workers: int = 16
    grace_s: float = 10.0
    # Holiday calendar (YAML/JSON) for the 20-working-day publication deadline; weekends only when unset.
    holiday_calendar: Path | None = field(default_factory=lambda: _optional_path("DUALDRAW_HOLIDAY_CALENDAR"))
    rules_watch_s: float = field(default_factory=lambda: float(os.environ.get("DUALDRAW_RULES_WATCH_S", "0")))
    general_ratio_cap: str = field(
        default_factory=lambda: os.environ.get("DUALDRAW_GENERAL_RATIO_CAP", "0.2")
    )
    """Highest ratio a task with a policy may use on a *general* inspection item (key items: 1)."""
    max_abandons_per_task: int = field(default_factory=lambda: _env_int("DUALDRAW_MAX_ABANDONS_PER_TASK", 1))
    """``DUALDRAW_MAX_ABANDONS_PER_TASK``: how many draws of one task may be abandoned (default 1); beyond it
    ``AbandonDraw`` is ``FAILED_PRECONDITION`` ``ABANDON_LIMIT_REACHED``."""
    follow_up_days: str = field(default_factory=lambda: os.environ.get("DUALDRAW_FOLLOW_UP_DAYS", ""))
    """``DUALDRAW_FOLLOW_UP_DAYS``: working days from opening a follow-up to its due date, per kind, e.g.
    ``rectification=20,case_filing=40``; kinds not named keep their defaults (``domain.follow_ups``)."""
    objection_working_days: int = field(
        default_factory=lambda: _env_int("DUALDRAW_OBJECTION_WORKING_DAYS", 15)
    )
    """``DUALDRAW_OBJECTION_WORKING_DAYS``: working days after a result's publication within which an
    objection to it is received (default 15)."""
    plan_required: str = field(
        default_factory=lambda: os.environ.get("DUALDRAW_PLAN_REQUIRED", "on").strip().lower()
    )
    """``DUALDRAW_PLAN_REQUIRED``: ``on`` (default) refuses a task that names no published plan entry
    (``PLAN_ENTRY_REQUIRED``); ``off`` lets tasks be created outside a plan (tests about other things)."""
    default_frequency_cap: int = field(default_factory=lambda: _env_int("DUALDRAW_DEFAULT_FREQUENCY_CAP", 1))
    """``DUALDRAW_DEFAULT_FREQUENCY_CAP`` and the four below: the bureau's caps and raises for a task outside
    a plan (no plan required): inspections per object per department per year (0: none; an item's own cap
    wins), complaints that raise an object and their window, raise on a serious violation, what to do with
    objects another level drew (``exclude`` or ``join``). A planned task takes its entry's instead."""
    default_complaint_threshold: int = field(
        default_factory=lambda: _env_int("DUALDRAW_DEFAULT_COMPLAINT_THRESHOLD", 3)
    )
    default_raise_window_days: int = field(
        default_factory=lambda: _env_int("DUALDRAW_DEFAULT_RAISE_WINDOW_DAYS", 365)
    )
    default_raise_on_serious_violation: str = field(
        default_factory=lambda: (
            os.environ.get("DUALDRAW_DEFAULT_RAISE_ON_SERIOUS_VIOLATION", "on").strip().lower()
        )
    )
    default_other_level: str = field(
        default_factory=lambda: os.environ.get("DUALDRAW_DEFAULT_OTHER_LEVEL", "exclude").strip().lower()
    )
    """Poll the rule files every this many seconds and reload on a change (0: only on ReloadRules)."""

    # -- security and operations --------------------------------------------------------------------------
    # DUALDRAW_AUTH=off trusts the x-dualdraw-actor metadata: development only, refused off loopback.
    auth: str = field(default_factory=lambda: os.environ.get("DUALDRAW_AUTH", "on").strip().lower())
    # Token keys: an HMAC secret file, or an Ed25519 public key (PEM) to verify and optionally the private
    # key (PEM) to mint with ``dualdraw token mint``.
    token_secret_file: Path | None = field(
        default_factory=lambda: _optional_path("DUALDRAW_TOKEN_SECRET_FILE")
    )
    token_public_key: Path | None = field(default_factory=lambda: _optional_path("DUALDRAW_TOKEN_PUBLIC_KEY"))
    token_private_key: Path | None = field(
        default_factory=lambda: _optional_path("DUALDRAW_TOKEN_PRIVATE_KEY")
    )
    # a ``dualdraw.entrypoints.grpc.security.tokens.TokenKeys`` given directly (tests); wins over files
    token_keys: Any = None
    # TLS: server certificate chain and key (PEM); with a client CA, clients must show a certificate (mTLS).
    tls_cert: Path | None = field(default_factory=lambda: _optional_path("DUALDRAW_TLS_CERT"))
    tls_key: Path | None = field(default_factory=lambda: _optional_path("DUALDRAW_TLS_KEY"))
    tls_client_ca: Path | None = field(default_factory=lambda: _optional_path("DUALDRAW_TLS_CLIENT_CA"))
    # Limits on input size: one gRPC message, one directory import (records), one rule file (bytes).
    max_message_bytes: int = field(
        default_factory=lambda: _env_int("DUALDRAW_MAX_MESSAGE_BYTES", 16 * 1024 * 1024)
    )
    # Prometheus metrics on a separate HTTP port ("" = off), e.g. 127.0.0.1:9464.
    metrics_address: str = field(default_factory=lambda: os.environ.get("DUALDRAW_METRICS_ADDRESS", ""))
    http_address: str = field(default_factory=lambda: os.environ.get("DUALDRAW_HTTP_ADDRESS", ""))
    """``DUALDRAW_HTTP_ADDRESS``: HTTP/JSON (Connect protocol) and ``/openapi.json`` on this ``host:port``
    beside gRPC ("" = off); plaintext only on loopback, TLS with the gRPC port's certificate otherwise."""
    http_cors_origins: str = field(default_factory=lambda: os.environ.get("DUALDRAW_HTTP_CORS_ORIGINS", ""))
    """``DUALDRAW_HTTP_CORS_ORIGINS``: browser origins (``https://host:port``, comma-separated; ``*`` any)
    whose pages may call the HTTP API; none by default, and a call from another origin is refused."""
    # "json" (one JSON object a line, with request ids) or "text".
    log_format: str = field(default_factory=lambda: os.environ.get("DUALDRAW_LOG_FORMAT", "json"))
    draw_process: str = field(
        default_factory=lambda: os.environ.get("DUALDRAW_DRAW_PROCESS", "on").strip().lower()
    )
    """``DUALDRAW_DRAW_PROCESS``: ``on`` (default) runs ``Draw`` and ``CommitDraw``, and builds bundles, in
    one child process (``dualdraw.adapters.draw_process``) so that reads stay fast meanwhile; ``off``:
    here."""
    draw_timeout_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_DRAW_TIMEOUT_S", "") or 900)
    )
    """``DUALDRAW_DRAW_TIMEOUT_S``: the longest a draw may run in the draw process (0: no limit). A child
    still busy then (say, waiting on a database lock) is stopped and the call answered from the database:
    ``DEADLINE_EXCEEDED`` (``DRAW_TIMEOUT``) when nothing was written. A 1M-object draw takes ~10 s."""
    draw_process_niceness: int = field(default_factory=lambda: _env_int("DUALDRAW_DRAW_PROCESS_NICENESS", 0))
    """``DUALDRAW_DRAW_PROCESS_NICENESS``: added to the draw process's scheduling niceness (``nice``; its
    rules worker inherits it), for hosts where draws compete with other work for the CPU. Default 0: on
    the benchmark machine 10 made no measurable difference to reads during a 1M draw (docs/PERFORMANCE.md)."""

    denial_window_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_DENIAL_WINDOW_S", "") or 60)
    )
    """``DUALDRAW_DENIAL_WINDOW_S``: refused calls are audited once per caller, method and reason at once,
    then as one entry with their count per this many seconds
    (``dualdraw.entrypoints.grpc.security.denials``)."""
    denial_max_keys: int = field(default_factory=lambda: _env_int("DUALDRAW_DENIAL_MAX_KEYS", 20))
    """``DUALDRAW_DENIAL_MAX_KEYS``: distinct (caller, method, reason) keys per window; further refusals are
    counted under one overflow entry. A window writes at most ``2 * (max_keys + 1)`` audit entries."""
    denial_rate_per_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_DENIAL_RATE", "") or 50)
    )
    """``DUALDRAW_DENIAL_RATE``: refusals per second a caller may sustain (0: no limit); past it (and the
    burst) calls that would be refused are answered ``RESOURCE_EXHAUSTED`` with RetryInfo."""
    denial_burst: int = field(default_factory=lambda: _env_int("DUALDRAW_DENIAL_BURST", 500))
    """``DUALDRAW_DENIAL_BURST``: refusals a caller may have in a row before its rate applies."""

    allow_local_entropy: bool = field(
        default_factory=lambda: (
            os.environ.get("DUALDRAW_ALLOW_LOCAL_ENTROPY", "").strip() in ("1", "on", "yes")
        )
    )
    """``DUALDRAW_ALLOW_LOCAL_ENTROPY=1``: draws may use a local server secret (development only; refused at
    start unless ``DUALDRAW_AUTH=off``). Such a draw is marked and never publishable."""
    beacon: str = field(default_factory=lambda: os.environ.get("DUALDRAW_BEACON", "") or "drand-quicknet")
    """``DUALDRAW_BEACON``: the pinned beacon chain (``dualdraw.domain.draw.beacon.CHAINS``) a one-step draw
    names by default; its public key, genesis and period are pinned there and in docs/DRAW-ALGORITHM.md."""
    beacon_delay_s: int = field(default_factory=lambda: _env_int("DUALDRAW_BEACON_DELAY_S", 60))
    """``DUALDRAW_BEACON_DELAY_S``: a one-step draw's default round is the first produced this many seconds
    after the commit (longer than the commit itself takes)."""

    evidence_dir: Path | None = field(default_factory=lambda: _optional_path("DUALDRAW_EVIDENCE_DIR"))
    """``DUALDRAW_EVIDENCE_DIR``: where evidence files are kept (``sha256/ab/<hash>`` below it). Unset: beside
    the SQLite file (``dualdraw.db.evidence``), or for another database ``$XDG_STATE_HOME/dualdraw/evidence``
    (default ``~/.local/state``). Servers sharing one database must share this folder too."""
    evidence_max_bytes: int = field(
        default_factory=lambda: _env_int("DUALDRAW_EVIDENCE_MAX_BYTES", 64 * 1024 * 1024)
    )
    """``DUALDRAW_EVIDENCE_MAX_BYTES``: the largest evidence file taken (default 64 MiB)."""
    evidence_content_types: str = field(
        default_factory=lambda: (
            os.environ.get("DUALDRAW_EVIDENCE_CONTENT_TYPES", "")
            or "application/pdf,image/jpeg,image/png,image/tiff"
        )
    )
    """``DUALDRAW_EVIDENCE_CONTENT_TYPES``: the content types evidence may have, comma-separated."""
    # -- the credit-information system (Art. 13; docs/CREDIT-PUSH.md) ----------------------------------------
    credit_url: str = field(default_factory=lambda: os.environ.get("DUALDRAW_CREDIT_URL", "").strip())
    """``DUALDRAW_CREDIT_URL``: where results and follow-up outcomes are POSTed (``http(s)://``); unset: no
    delivery, the messages wait in the outbox (``dualdraw credit status`` shows them pending)."""
    credit_timeout_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_CREDIT_TIMEOUT_S", "") or 10)
    )
    """``DUALDRAW_CREDIT_TIMEOUT_S``: the longest one delivery attempt waits for the answer (default 10)."""
    credit_token_file: Path | None = field(
        default_factory=lambda: _optional_path("DUALDRAW_CREDIT_TOKEN_FILE")
    )
    """``DUALDRAW_CREDIT_TOKEN_FILE``: a file holding a bearer token sent with every delivery (optional)."""
    credit_ca_file: Path | None = field(default_factory=lambda: _optional_path("DUALDRAW_CREDIT_CA_FILE"))
    """``DUALDRAW_CREDIT_CA_FILE``: CA certificates (PEM) that verify the endpoint's TLS certificate, instead
    of the system's; verification is never off."""
    credit_interval_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_CREDIT_INTERVAL_S", "") or 1)
    )
    """``DUALDRAW_CREDIT_INTERVAL_S``: how often the credit relay looks for due messages (default 1 s)."""
    # -- domain events for other services (NATS JetStream, ``dualdraw.adapters.event_broker``) -------------
    events_url: str = field(default_factory=lambda: os.environ.get("DUALDRAW_EVENTS_URL", "").strip())
    """``DUALDRAW_EVENTS_URL``: the NATS server the domain events go to, e.g. ``nats://127.0.0.1:4222``;
    unset: no relay runs and the events wait in the outbox (sent once a server with it set starts)."""
    events_stream: str = field(
        default_factory=lambda: os.environ.get("DUALDRAW_EVENTS_STREAM", "").strip() or "DUALDRAW_EVENTS"
    )
    """``DUALDRAW_EVENTS_STREAM``: the JetStream stream, created at start when missing."""
    events_subject_prefix: str = field(
        default_factory=lambda: (
            os.environ.get("DUALDRAW_EVENTS_SUBJECT_PREFIX", "").strip() or "dualdraw.events"
        )
    )
    """``DUALDRAW_EVENTS_SUBJECT_PREFIX``: events go to ``<prefix>.<type name>``
    (``dualdraw.events.draw.executed``)."""
    events_instance: str = field(
        default_factory=lambda: os.environ.get("DUALDRAW_EVENTS_INSTANCE", "").strip()
    )
    """``DUALDRAW_EVENTS_INSTANCE``: names this installation in the CloudEvents ``source``
    (``/dualdraw/<instance>``; ``/dualdraw`` when unset)."""
    events_duplicate_window_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_EVENTS_DUPLICATE_WINDOW_S", "") or 7200)
    )
    """``DUALDRAW_EVENTS_DUPLICATE_WINDOW_S``: how long the stream drops a repeated event id (2 h)."""
    events_interval_s: float = field(
        default_factory=lambda: float(os.environ.get("DUALDRAW_EVENTS_INTERVAL_S", "") or 1)
    )
    """``DUALDRAW_EVENTS_INTERVAL_S``: the relay looks for new events this often (seconds)."""

    @property
    def auth_enabled(self) -> bool:
        return self.auth not in ("off", "0", "false", "no")

    @property
    def plan_required_enabled(self) -> bool:
        return self.plan_required not in ("off", "0", "false", "no")

    @property
    def raise_on_serious_violation_enabled(self) -> bool:
        return self.default_raise_on_serious_violation not in ("off", "0", "false", "no")

    @property
    def draw_process_enabled(self) -> bool:
        return self.draw_process not in ("off", "0", "false", "no")
