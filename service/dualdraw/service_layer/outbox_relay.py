"""A background relay per destination: delivers due outbox messages, sleeping between rounds.

It wakes every ``interval_s`` (sooner when ``wake`` is called, e.g. after a commit that wrote messages) and
runs ``deliver_due`` until a round finds nothing due. Errors of a round are logged, never fatal: the
messages stay in the outbox and the next round tries again. With ``ready`` it skips rounds while the
receiver is known to be away (a broker connection that is down), so that waiting messages are not counted
as failed attempts and backed off for up to an hour; the sender may ``wake`` it when the receiver is back.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from dualdraw.domain.outbox import Destination
from dualdraw.service_layer.outbox_delivery import LEASE, Sender, deliver_due
from dualdraw.service_layer.ports import UnitOfWork

log = logging.getLogger(__name__)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OutboxRelay:
    """Delivers ``destination``'s messages with ``send`` in a daemon thread until ``close``."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        destination: Destination,
        send: Sender,
        *,
        interval_s: float = 1.0,
        now: Callable[[], dt.datetime] = _utc_now,
        on_close: Callable[[], None] | None = None,
        ready: Callable[[], bool] | None = None,
        lease: dt.timedelta = LEASE,
    ) -> None:
        self.destination = destination
        self._lease = lease
        self._unit_of_work = unit_of_work
        self._send = send
        self._interval_s = interval_s
        self._now = now
        self._on_close = on_close
        self._ready = ready
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"outbox-{destination.value}", daemon=True)

    def start(self) -> OutboxRelay:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Starts the next round now."""
        self._wake.set()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stops after the message being sent (undelivered ones stay for the next start)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if self._on_close is not None:
            self._on_close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                while not self._stopping.is_set() and (self._ready is None or self._ready()):
                    uow = self._unit_of_work()
                    done = deliver_due(
                        uow, self.destination, self._send, self._now, limit=50, lease=self._lease
                    )
                    if done.idle:
                        break
            except Exception:  # the database or the sender failed as a whole: try again next round
                log.exception("outbox relay %s: a round failed", self.destination.value)
            self._wake.wait(self._interval_s)
            self._wake.clear()
