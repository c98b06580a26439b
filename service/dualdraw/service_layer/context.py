"""Who asks, under which request id, and when: passed into every use case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8), "CST")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Caller:
    """The caller of one request: ``actor`` is the principal ``dualdraw.entrypoints.grpc.security`` admitted
    (or, with
    authentication off, the ``x-dualdraw-actor`` metadata)."""

    actor: str
    request_id: str = ""
    now: dt.datetime = field(default_factory=_utc_now)

    def today(self) -> dt.date:
        """The calendar date in China Standard Time, the date rules and certificates are judged at."""
        return self.now.astimezone(CHINA_STANDARD_TIME).date()
