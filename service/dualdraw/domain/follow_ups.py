"""Follow-up to closure (后续处置, Art. 13): what a result sets in motion, each action followed until it
closes with a recorded outcome.

A follow-up is opened from a result: a rectification order (责令整改) closed only after a re-inspection by
members of the team that inspected (复查), a case filing (立案) closed with the decision number, a judicial
transfer (移送司法机关), a listing in the abnormal-operations list (列入经营异常名录) for an enterprise not
found at its registered address, or a lead passed to another department (线索移交), which that department
owns. Each is due a number of working days after it was opened; the state machine is::

    open ──(rectification: the enterprise reports it rectified)──> awaiting_reinspection ──> closed
    open ──(every other kind)──────────────────────────────────────────────────────────────> closed

A rectification order closes only from ``awaiting_reinspection`` with a re-inspection recorded; any kind may
be withdrawn (closed with outcome ``withdrawn`` and a reason), e.g. after an upheld objection corrected the
result. Every refused transition is ``FailedPrecondition`` with a reason naming why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from dualdraw.domain.errors import FailedPrecondition, FieldViolation, Violations, invalid
from dualdraw.domain.results import PENALTY_DECISION_NUMBER, SHA256_HEX, Outcome
from dualdraw.domain.working_days import HolidayCalendar

MAX_TEXT = 2000
MAX_EVIDENCE = 100
MAX_EVIDENCE_BYTES = 1 << 40  # 1 TiB: a size beyond this is a typing error, not a file
MIN_REINSPECTORS = 2  # Art. 10: an inspection team has at least two members; so has a re-inspection


class FollowUpKind(StrEnum):
    RECTIFICATION = "rectification"  # 责令整改, with re-inspection by the same team
    CASE_FILING = "case_filing"  # 立案, closed with the penalty decision
    JUDICIAL_TRANSFER = "judicial_transfer"  # 移送司法机关
    ABNORMAL_LISTING = "abnormal_listing"  # 列入经营异常名录 (not found at the registered address)
    LEAD_TRANSFER = "lead_transfer"  # 线索移交: owned by the receiving department


KIND_LABELS_ZH: dict[FollowUpKind, str] = {
    FollowUpKind.RECTIFICATION: "责令整改",
    FollowUpKind.CASE_FILING: "立案查处",
    FollowUpKind.JUDICIAL_TRANSFER: "移送司法机关",
    FollowUpKind.ABNORMAL_LISTING: "列入经营异常名录",
    FollowUpKind.LEAD_TRANSFER: "线索移交",
}


class FollowUpState(StrEnum):
    OPEN = "open"
    AWAITING_REINSPECTION = "awaiting_reinspection"
    CLOSED = "closed"


STATE_LABELS_ZH: dict[FollowUpState, str] = {
    FollowUpState.OPEN: "办理中",
    FollowUpState.AWAITING_REINSPECTION: "待复查",
    FollowUpState.CLOSED: "已办结",
}


class ClosingOutcome(StrEnum):
    RECTIFIED = "rectified"  # 整改到位 (the re-inspection passed)
    NOT_RECTIFIED = "not_rectified"  # 逾期未整改 (the re-inspection failed; a case filing follows)
    PENALTY_DECIDED = "penalty_decided"  # 作出行政处罚决定
    NO_PENALTY = "no_penalty"  # 不予行政处罚 (also a numbered decision)
    TRANSFER_ACCEPTED = "transfer_accepted"  # 司法机关已受理
    TRANSFER_RETURNED = "transfer_returned"  # 司法机关不予受理，退回
    LISTED = "listed"  # 已列入经营异常名录
    LEAD_HANDLED = "lead_handled"  # 接收部门已处理
    WITHDRAWN = "withdrawn"  # 撤销 (e.g. the result was corrected)


OUTCOME_LABELS_ZH: dict[ClosingOutcome, str] = {
    ClosingOutcome.RECTIFIED: "整改到位",
    ClosingOutcome.NOT_RECTIFIED: "逾期未整改",
    ClosingOutcome.PENALTY_DECIDED: "已作出行政处罚决定",
    ClosingOutcome.NO_PENALTY: "不予行政处罚",
    ClosingOutcome.TRANSFER_ACCEPTED: "司法机关已受理",
    ClosingOutcome.TRANSFER_RETURNED: "司法机关退回",
    ClosingOutcome.LISTED: "已列入经营异常名录",
    ClosingOutcome.LEAD_HANDLED: "接收部门已处理",
    ClosingOutcome.WITHDRAWN: "已撤销",
}

OUTCOMES: dict[FollowUpKind, frozenset[ClosingOutcome]] = {
    FollowUpKind.RECTIFICATION: frozenset({ClosingOutcome.RECTIFIED, ClosingOutcome.NOT_RECTIFIED}),
    FollowUpKind.CASE_FILING: frozenset({ClosingOutcome.PENALTY_DECIDED, ClosingOutcome.NO_PENALTY}),
    FollowUpKind.JUDICIAL_TRANSFER: frozenset(
        {ClosingOutcome.TRANSFER_ACCEPTED, ClosingOutcome.TRANSFER_RETURNED}
    ),
    FollowUpKind.ABNORMAL_LISTING: frozenset({ClosingOutcome.LISTED}),
    FollowUpKind.LEAD_TRANSFER: frozenset({ClosingOutcome.LEAD_HANDLED}),
}
"""The outcomes each kind may close with (``withdrawn`` besides, for every kind)."""

DEFAULT_DUE_WORKING_DAYS: dict[FollowUpKind, int] = {
    FollowUpKind.RECTIFICATION: 30,
    FollowUpKind.CASE_FILING: 60,  # about the 90 days a penalty case under the ordinary procedure takes
    FollowUpKind.JUDICIAL_TRANSFER: 10,
    FollowUpKind.ABNORMAL_LISTING: 10,  # the listing decision within 10 working days of the finding
    FollowUpKind.LEAD_TRANSFER: 15,  # the receiving department verifies a lead within 15 working days
}
"""Working days from opening to the due date, per kind (``DUALDRAW_FOLLOW_UP_DAYS`` overrides them)."""

# The result outcomes a kind can follow (a rectification follows a problem found, a listing an enterprise
# not found at its address, ...). A result corrected later does not touch the follow-ups it opened.
FOLLOWS: dict[FollowUpKind, frozenset[Outcome]] = {
    FollowUpKind.RECTIFICATION: frozenset({Outcome.PROBLEM_CORRECTED, Outcome.CASE_OPENED}),
    FollowUpKind.CASE_FILING: frozenset({Outcome.CASE_OPENED}),
    FollowUpKind.JUDICIAL_TRANSFER: frozenset({Outcome.CASE_OPENED}),
    FollowUpKind.ABNORMAL_LISTING: frozenset({Outcome.NOT_FOUND_AT_ADDRESS}),
    FollowUpKind.LEAD_TRANSFER: frozenset(Outcome),
}


@dataclass(frozen=True)
class Evidence:
    """A file kept in the evidence store, named by its content: SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Reinspection:
    """A re-inspection (复查) of a rectification order: when, by whom (badge numbers), and its finding."""

    inspected_on: dt.date
    badge_numbers: tuple[str, ...]
    rectified: bool
    note: str = ""


@dataclass(frozen=True)
class Closing:
    """How a follow-up closed: the outcome, what was decided in words, and the decision's number."""

    outcome: ClosingOutcome
    text: str
    closed_on: dt.date
    decision_number: str = ""


@dataclass(frozen=True)
class FollowUp:
    """One follow-up action of a result; ``revision`` counts its stored changes (1 when opened)."""

    id: str
    kind: FollowUpKind
    draw_id: str
    position: int
    result_version: int
    credit_code: str
    department_id: str
    """The owner: the department that drew, or for a lead the department it was passed to."""
    state: FollowUpState
    opened_on: dt.date
    due_on: dt.date
    note: str
    evidence: tuple[Evidence, ...]
    opened_by: str
    revision: int = 1
    reinspection: Reinspection | None = None
    closing: Closing | None = None
    overdue_recorded: bool = False
    """Set once the overdue sweep recorded ``follow_up.overdue`` for it (never twice)."""

    @property
    def result_name(self) -> str:
        return f"draws/{self.draw_id}/assignments/{self.position}/result"

    def overdue(self, today: dt.date) -> bool:
        """Not closed and past its due date."""
        return self.state is not FollowUpState.CLOSED and today > self.due_on


def due_days(kind: FollowUpKind, overrides: Mapping[FollowUpKind, int] | None = None) -> int:
    return (overrides or {}).get(kind, DEFAULT_DUE_WORKING_DAYS[kind])


def due_on(calendar: HolidayCalendar, opened_on: dt.date, working_days: int) -> dt.date:
    """The due date: ``working_days`` working days after ``opened_on`` (which is not counted)."""
    return calendar.add_working_days(opened_on, working_days)


def parse_due_overrides(text: str) -> dict[FollowUpKind, int]:
    """``kind=days`` pairs separated by commas (``rectification=20,case_filing=40``); ``ValueError`` else."""
    out: dict[FollowUpKind, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, days = part.partition("=")
        try:
            kind = FollowUpKind(name.strip())
            count = int(days)
        except ValueError:
            raise ValueError(f"follow-up days: {part!r} is not kind=working_days") from None
        if not eq or not 1 <= count <= 365:
            raise ValueError(f"follow-up days: {part!r} needs 1..365 working days")
        out[kind] = count
    return out


# --- validation ---------------------------------------------------------------------------------------------


def text_problems(text: str, path: str, v: Violations, *, required: bool = False) -> None:
    if required and not text.strip():
        v.add(path, "is required", reason="FIELD_REQUIRED")
    elif len(text) > MAX_TEXT:
        v.add(path, f"at most {MAX_TEXT} characters", reason="VALUE_TOO_LONG")


def evidence_problems(evidence: tuple[Evidence, ...], path: str, v: Violations) -> None:
    if len(evidence) > MAX_EVIDENCE:
        v.add(path, f"at most {MAX_EVIDENCE} files", reason="VALUE_OUT_OF_RANGE")
    for i, e in enumerate(evidence):
        if not SHA256_HEX.match(e.sha256):
            v.add(
                f"{path}[{i}].sha256", "must be 64 lower-case hex digits (SHA-256)", reason="SHA256_INVALID"
            )
        if not 0 < e.size <= MAX_EVIDENCE_BYTES:
            v.add(f"{path}[{i}].size", "must be a positive number of bytes", reason="VALUE_OUT_OF_RANGE")
    if len({e.sha256 for e in evidence}) != len(evidence):
        v.add(path, "lists a file twice", reason="DUPLICATE_VALUE")


def closing_problems(closing: Closing, today: dt.date, v: Violations) -> None:
    """The request's own problems: the text required, the decision number's form, no future date."""
    text_problems(closing.text, "text", v, required=True)
    number = closing.decision_number
    if number and not PENALTY_DECISION_NUMBER.match(number):
        v.add(
            "decision_number", "1-64 characters without leading or trailing spaces", reason="FORMAT_INVALID"
        )
    if closing.closed_on > today:
        v.add("closed_on", f"{closing.closed_on} is in the future", reason="DATE_IN_FUTURE")


def require_follows(kind: FollowUpKind, outcome: Outcome) -> None:
    """``FailedPrecondition`` ``FOLLOW_UP_KIND_MISMATCH`` when a result with ``outcome`` cannot lead to
    ``kind`` (a listing for an enterprise that was found, a case for a result without a problem)."""
    if outcome not in FOLLOWS[kind]:
        raise FailedPrecondition(
            f"a {kind.value} follows a result with outcome "
            + " or ".join(sorted(o.value for o in FOLLOWS[kind]))
            + f", not {outcome.value}",
            reason="FOLLOW_UP_KIND_MISMATCH",
            metadata={"kind": kind.value, "outcome": outcome.value},
            violations=[
                FieldViolation("follow_up.kind", "does not follow this result", "FOLLOW_UP_KIND_MISMATCH")
            ],
        )


# --- transitions --------------------------------------------------------------------------------------------


def _transition_refused(f: FollowUp, what: str, reason: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"follow-up {f.id} ({f.kind.value}, {f.state.value}): {what}",
        reason=reason,
        metadata={"follow_up": f.id, "state": f.state.value, "kind": f.kind.value},
    )


def _not_closed(f: FollowUp) -> None:
    if f.state is FollowUpState.CLOSED:
        raise _transition_refused(f, "is closed; a closed follow-up does not change", "FOLLOW_UP_CLOSED")


def add_evidence(f: FollowUp, evidence: tuple[Evidence, ...], note: str) -> FollowUp:
    """Adds files (already stored ones are kept once) and replaces the note when one is given."""
    _not_closed(f)
    known = {e.sha256 for e in f.evidence}
    fresh = tuple(e for e in evidence if e.sha256 not in known)
    return dataclasses.replace(f, evidence=f.evidence + fresh, note=note or f.note, revision=f.revision + 1)


def await_reinspection(f: FollowUp) -> FollowUp:
    """open → awaiting_reinspection: the enterprise reports the rectification done (rectification only)."""
    _not_closed(f)
    if f.kind is not FollowUpKind.RECTIFICATION:
        raise _transition_refused(
            f, "only a rectification order is re-inspected", "REINSPECTION_NOT_APPLICABLE"
        )
    if f.state is not FollowUpState.OPEN:
        raise _transition_refused(f, "is awaiting its re-inspection already", "FOLLOW_UP_STATE_INVALID")
    return dataclasses.replace(f, state=FollowUpState.AWAITING_REINSPECTION, revision=f.revision + 1)


def record_reinspection(f: FollowUp, reinspection: Reinspection, team: frozenset[str]) -> FollowUp:
    """Records the re-inspection of a rectification order awaiting it. Its inspectors must be at least two
    members of the team that inspected (``team``: their badge numbers); a second re-inspection replaces
    the first (a failed one may be repeated before the order closes)."""
    _not_closed(f)
    if f.kind is not FollowUpKind.RECTIFICATION:
        raise _transition_refused(
            f, "only a rectification order is re-inspected", "REINSPECTION_NOT_APPLICABLE"
        )
    if f.state is not FollowUpState.AWAITING_REINSPECTION:
        raise _transition_refused(
            f, "record that the enterprise reported the rectification first", "FOLLOW_UP_STATE_INVALID"
        )
    badges = reinspection.badge_numbers
    strangers = sorted(set(badges) - team)
    if strangers or len(set(badges)) < min(MIN_REINSPECTORS, len(team)):
        raise FailedPrecondition(
            f"follow-up {f.id}: a re-inspection is made by at least {MIN_REINSPECTORS} members of the team "
            "that inspected" + (f"; not on the team: {', '.join(strangers)}" if strangers else ""),
            reason="REINSPECTION_TEAM",
            metadata={"follow_up": f.id, "not_on_team": ",".join(strangers)},
            violations=[
                FieldViolation(
                    "reinspection.badge_numbers",
                    "must be members of the inspecting team",
                    "REINSPECTION_TEAM",
                )
            ],
        )
    if reinspection.inspected_on < f.opened_on:
        raise invalid("reinspection.inspected_on", f"is before the order ({f.opened_on})", "DATE_ORDER")
    return dataclasses.replace(f, reinspection=reinspection, revision=f.revision + 1)


def close(f: FollowUp, closing: Closing) -> FollowUp:
    """Closes with a recorded outcome. ``withdrawn`` needs only its text; otherwise the outcome must be one
    of the kind's, a rectification order needs its re-inspection (``rectified`` when it passed,
    ``not_rectified`` when not), and a case filing needs the decision number."""
    _not_closed(f)
    outcome = closing.outcome
    if closing.closed_on < f.opened_on:
        raise invalid("closed_on", f"is before the follow-up was opened ({f.opened_on})", "DATE_ORDER")
    if outcome is not ClosingOutcome.WITHDRAWN:
        if outcome not in OUTCOMES[f.kind]:
            allowed = ", ".join(sorted(o.value for o in OUTCOMES[f.kind] | {ClosingOutcome.WITHDRAWN}))
            raise _transition_refused(
                f, f"closes with {allowed}, not {outcome.value}", "OUTCOME_NOT_FOR_KIND"
            )
        if f.kind is FollowUpKind.RECTIFICATION:
            if f.reinspection is None:
                raise _transition_refused(
                    f, "a rectification order closes only after its re-inspection", "REINSPECTION_REQUIRED"
                )
            if (outcome is ClosingOutcome.RECTIFIED) != f.reinspection.rectified:
                raise _transition_refused(
                    f,
                    "the outcome contradicts the re-inspection "
                    f"({'rectified' if f.reinspection.rectified else 'not rectified'})",
                    "OUTCOME_CONTRADICTS_REINSPECTION",
                )
        if f.kind is FollowUpKind.CASE_FILING and not closing.decision_number:
            raise _transition_refused(
                f, "a case closes with the number of its decision", "DECISION_NUMBER_REQUIRED"
            )
    return dataclasses.replace(f, state=FollowUpState.CLOSED, closing=closing, revision=f.revision + 1)
