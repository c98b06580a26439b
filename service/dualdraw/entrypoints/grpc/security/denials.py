"""Refused calls, audited in bounded space and throttled per caller.

A refusal (unauthenticated, wrong role, outside the jurisdiction) belongs to a *key*: the caller — the token
subject when it is known, else ``peer:<address>`` without the port (each connection has its own port) — the
method and why it was refused. ``DenialLog`` writes the first refusal of a key in a window to the audit log
at once (``access.denied`` with ``count`` 1), so a real denial shows up immediately; later ones of the same
key only count in memory, and when the window closes (every ``window_s``, by a flusher thread, and at server
stop) one summary entry per key carries how many more there were. Past ``max_keys`` keys in a window further
keys are counted under one overflow key (actor ``*``). So a window writes at most ``2 * (max_keys + 1)``
entries, whatever the flood; the ``count`` fields of all ``access.denied`` entries add up to the refusals.

``DenialThrottle`` is a token bucket per caller (``burst`` refusals, refilled at ``rate_per_s``): a call that
would be refused while its caller's bucket is empty is answered ``RESOURCE_EXHAUSTED`` with the wait until the
next token (RetryInfo), is counted like any refusal, and neither touches the database nor logs a warning of
its own. Admitted calls never take from the bucket, so a flood cannot lock out a good caller at the same
address.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dualdraw.runtime.telemetry import current_request_id
from dualdraw.service_layer.audit_events import record_event
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.ports import UnitOfWork

log = logging.getLogger(__name__)
OVERFLOW = "*"
MAX_THROTTLED_CALLERS = 10_000  # buckets kept; past it (only while all are draining) callers share one bucket
_PEER: contextvars.ContextVar[str] = contextvars.ContextVar("dualdraw_peer", default="")


def peer_host(peer: str) -> str:
    """The address part of a gRPC peer (``ipv4:127.0.0.1:5432`` -> ``ipv4:127.0.0.1``; ipv6 keeps its
    brackets; ``unix:`` peers have no port)."""
    if peer.startswith(("ipv4:", "ipv6:")):
        return peer.rsplit(":", 1)[0]
    return peer


HTTP_PEER_METADATA_KEY = "x-dualdraw-http-peer"


def caller_address(peer: str, metadata: dict[str, str]) -> str:
    """Where a call comes from: its gRPC peer, or for a call the HTTP gateway forwards over its private
    Unix socket (mode 0700, this user only), the HTTP caller's address it names (``http:<address>``), so
    that HTTP callers are counted apart and not as one local peer."""
    forwarded = metadata.get(HTTP_PEER_METADATA_KEY, "")
    if peer.startswith("unix:") and forwarded:
        return f"http:{forwarded[:64]}"
    return peer


def bind_peer(peer: str) -> None:
    """Refusals from here on in this context are attributed to ``peer``'s address (the call's
    ``context.peer()``); the interceptor binds it as it starts admitting each call."""
    _PEER.set(peer_host(peer))


def current_peer() -> str:
    return _PEER.get()


@dataclass(frozen=True)
class Denial:
    """One refused call. ``actor`` is the token subject (``anonymous`` without a valid token)."""

    actor: str
    method: str
    why: str
    role: str = ""
    department_id: str = ""
    target: str = ""
    peer: str = ""
    authenticated: bool = True

    @property
    def caller(self) -> str:
        """Whom the refusal is counted against: the subject when known, else the peer address."""
        return self.actor if self.authenticated else f"peer:{self.peer or 'unknown'}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.caller, self.method, self.why)


@dataclass
class _Tally:
    first: Denial
    pending: int = 0  # refusals of the key counted since its last entry


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DenialLog:
    """Aggregates refusals into at most ``2 * (max_keys + 1)`` audit entries per ``window_s`` (see above)."""

    def __init__(
        self,
        writer: Callable[[], UnitOfWork],
        *,
        window_s: float = 60.0,
        max_keys: int = 20,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if window_s <= 0 or max_keys < 1:
            raise ValueError("the denial window must be positive and allow at least one key")
        self._writer = writer
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one flush at a time: summaries keep their order
        self._tallies: dict[tuple[str, str, str], _Tally] = {}
        self._window_start = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, denial: Denial, *, write_now: bool = True) -> bool:
        """Counts ``denial``; writes it at once when it is the first of its key in this window and
        ``write_now``. Returns whether it was written (never raises: a refusal stands without its entry)."""
        self._ensure_flusher()
        with self._lock:
            key = denial.key
            if key not in self._tallies and len(self._tallies) >= self._max_keys:
                key = (OVERFLOW, OVERFLOW, OVERFLOW)
                denial = replace(denial, actor=OVERFLOW, method=OVERFLOW, why=OVERFLOW, target="")
            tally = self._tallies.get(key)
            first = tally is None and write_now
            if tally is None:
                self._tallies[key] = tally = _Tally(denial, pending=0 if write_now else 1)
            else:
                tally.pending += 1
        if not first:
            return False
        try:
            self._write([(denial, 1, None)])
        except Exception:  # the refusal stands when the log cannot be written now; counted for the summary
            log.exception("could not audit the refusal of %s to %s", denial.method, denial.caller)
            with self._lock:
                current = self._tallies.get(key)
                if current is not None:
                    current.pending += 1
            return False
        log.warning("denied %s to %s (%s): %s", denial.method, denial.caller, denial.role, denial.why)
        return True

    def flush(self) -> int:
        """Closes the window: one summary entry per key with refusals not yet written; returns how many."""
        with self._flush_lock:
            with self._lock:
                tallies, self._tallies = self._tallies, {}
                window = (self._window_start, self._clock())
                self._window_start = window[1]
            summaries = [(t.first, t.pending, window) for t in tallies.values() if t.pending]
            if not summaries:
                return 0
            try:
                self._write(summaries)
            except Exception:
                log.exception("could not write %d refusal summaries; their counts are lost", len(summaries))
                return 0
            for denial, count, _ in summaries:
                log.warning(
                    "denied %s to %s %d more times (%s)", denial.method, denial.caller, count, denial.why
                )
            return len(summaries)

    def close(self) -> None:
        """Stops the flusher and writes what is still counted (the server calls it when it stops)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self.flush()

    def _ensure_flusher(self) -> None:
        if self._thread is not None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="denial-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._window_s):
            self.flush()

    def _write(self, entries: Sequence[tuple[Denial, int, tuple[dt.datetime, dt.datetime] | None]]) -> None:
        with self._writer() as uow:
            for denial, count, window in entries:
                after: dict[str, object] = {
                    "role": denial.role,
                    "department_id": denial.department_id,
                    "why": denial.why,
                    "target": denial.target[:200],
                    "peer": denial.peer,
                    "count": count,
                }
                if denial.actor == OVERFLOW:
                    after["overflow"] = f"refusals of keys past the first {self._max_keys} of the window"
                if window is not None:
                    after["window_start"], after["window_end"] = window
                record_event(
                    uow,
                    Caller(actor=denial.actor, request_id="" if window is not None else current_request_id()),
                    action="access.denied",
                    resource=f"rpc:{denial.method}",
                    after=after,
                )
            uow.commit()


class DenialThrottle:
    """Token buckets per caller over refusals; ``rate_per_s <= 0`` turns throttling off."""

    def __init__(self, rate_per_s: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate_per_s
        self._burst = max(1, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, when)

    def take(self, caller: str) -> float | None:
        """Takes one refusal from ``caller``'s bucket: ``None`` when it had one, else the seconds until it
        has one again (the call is then answered RESOURCE_EXHAUSTED)."""
        if self._rate <= 0:
            return None
        now = self._clock()
        with self._lock:
            if caller not in self._buckets and len(self._buckets) >= MAX_THROTTLED_CALLERS:
                self._prune(now)
                if len(self._buckets) >= MAX_THROTTLED_CALLERS:
                    caller = OVERFLOW
            tokens, when = self._buckets.get(caller, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - when) * self._rate)
            if tokens >= 1:
                self._buckets[caller] = (tokens - 1, now)
                return None
            self._buckets[caller] = (tokens, now)
            return (1 - tokens) / self._rate

    def _prune(self, now: float) -> None:
        """Forgets buckets that have refilled (they hold nothing a new bucket would not)."""
        full = [c for c, (t, w) in self._buckets.items() if t + (now - w) * self._rate >= self._burst]
        for caller in full:
            del self._buckets[caller]
