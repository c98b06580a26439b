"""Enterprise objections (异议) to a published result: filed by staff on the enterprise's behalf within the
objection period, decided once — upheld (linking the corrected result version) or rejected (with a reason).

The period: neither the seed rules nor the national documents the project follows fix one for random
inspection results, so dualdraw takes 15 working days from the day the objected result version was first
published (configurable: ``DUALDRAW_OBJECTION_WORKING_DAYS``), counted with the holiday calendar like the
publication deadline. The day the objection was *received* counts, not the day staff file it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from dualdraw.domain.errors import FailedPrecondition, FieldViolation
from dualdraw.domain.follow_ups import Evidence
from dualdraw.domain.working_days import HolidayCalendar

DEFAULT_OBJECTION_WORKING_DAYS = 15


class ObjectionState(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


STATE_LABELS_ZH: dict[ObjectionState, str] = {
    ObjectionState.PENDING: "处理中",
    ObjectionState.UPHELD: "异议成立，已更正",
    ObjectionState.REJECTED: "异议不成立",
}


@dataclass(frozen=True)
class Decision:
    """How an objection was decided: upheld with the corrected result version, or rejected with a reason."""

    upheld: bool
    reason: str
    decided_on: dt.date
    decided_by: str
    corrected_version: int = 0


@dataclass(frozen=True)
class Objection:
    """One objection to version ``result_version`` of the result of assignment ``position`` of a draw;
    ``revision`` is 1 when filed and 2 once decided (both versions are in the audit log)."""

    id: str
    draw_id: str
    position: int
    result_version: int
    credit_code: str
    department_id: str
    received_on: dt.date
    grounds: str
    evidence: tuple[Evidence, ...]
    filed_by: str
    filed_at: dt.datetime
    published_on: dt.date
    """The day the objected version was first published: the period runs from it."""
    revision: int = 1
    decision: Decision | None = None

    @property
    def state(self) -> ObjectionState:
        if self.decision is None:
            return ObjectionState.PENDING
        return ObjectionState.UPHELD if self.decision.upheld else ObjectionState.REJECTED

    @property
    def result_name(self) -> str:
        return f"draws/{self.draw_id}/assignments/{self.position}/result"


def period_ends(calendar: HolidayCalendar, published_on: dt.date, working_days: int) -> dt.date:
    """The last day an objection to a result first published on ``published_on`` is received in time."""
    return calendar.add_working_days(published_on, working_days)


def require_in_period(
    calendar: HolidayCalendar, published_on: dt.date, received_on: dt.date, working_days: int
) -> None:
    """``FailedPrecondition`` ``OBJECTION_PERIOD_ENDED`` when ``received_on`` is after the period."""
    last = period_ends(calendar, published_on, working_days)
    if received_on > last:
        raise FailedPrecondition(
            f"the objection period ({working_days} working days from the publication on {published_on}) "
            f"ended on {last}; received on {received_on}",
            reason="OBJECTION_PERIOD_ENDED",
            metadata={"published_on": published_on.isoformat(), "period_ends": last.isoformat()},
            violations=[FieldViolation("objection.received_on", f"after {last}", "OBJECTION_PERIOD_ENDED")],
        )


def decide(o: Objection, decision: Decision, latest_version: int) -> Objection:
    """Decides a pending objection. Upheld: ``decision.corrected_version`` must be a result version after the
    objected one (``latest_version`` is the newest stored); rejected: a reason, no version."""
    if o.decision is not None:
        raise FailedPrecondition(
            f"objection {o.id} was decided already ({o.state.value})",
            reason="OBJECTION_DECIDED",
            metadata={"objection": o.id, "state": o.state.value},
        )
    if decision.upheld and not o.result_version < decision.corrected_version <= latest_version:
        raise FailedPrecondition(
            f"objection {o.id}: an upheld objection links the corrected result version (after "
            f"v{o.result_version}, at most v{latest_version}): correct the result first",
            reason="CORRECTION_REQUIRED",
            metadata={"objection": o.id, "latest_version": str(latest_version)},
            violations=[
                FieldViolation(
                    "corrected_version", "is not a correction of the result", "CORRECTION_REQUIRED"
                )
            ],
        )
    return dataclasses.replace(o, decision=decision, revision=o.revision + 1)
