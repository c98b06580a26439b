"""The follow-up state machine and the objection period, as plain domain logic."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from dualdraw.domain.errors import FailedPrecondition, InvalidArgument, Violations
from dualdraw.domain.follow_ups import (
    Closing,
    ClosingOutcome,
    Evidence,
    FollowUp,
    FollowUpKind,
    FollowUpState,
    Reinspection,
    add_evidence,
    await_reinspection,
    close,
    closing_problems,
    due_on,
    evidence_problems,
    parse_due_overrides,
    record_reinspection,
    require_follows,
)
from dualdraw.domain.objections import Decision, Objection, decide, require_in_period
from dualdraw.domain.results import Outcome
from dualdraw.domain.working_days import HolidayCalendar
from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.settings import Settings

OPENED = dt.date(2026, 12, 1)  # a Tuesday
TEAM = frozenset({"B1", "B2", "B3"})


def follow_up(kind: FollowUpKind = FollowUpKind.RECTIFICATION) -> FollowUp:
    return FollowUp(
        id="f-000000000001",
        kind=kind,
        draw_id="d",
        position=1,
        result_version=1,
        credit_code="C",
        department_id="dep",
        state=FollowUpState.OPEN,
        opened_on=OPENED,
        due_on=OPENED + dt.timedelta(days=42),
        note="",
        evidence=(),
        opened_by="x",
    )


def reason_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(FailedPrecondition) as caught:
        call()
    return caught.value.reason


def test_a_rectification_order_closes_only_after_a_reinspection_by_the_team() -> None:
    f = follow_up()
    assert reason_of(lambda: close(f, Closing(ClosingOutcome.RECTIFIED, "ok", OPENED))) == (
        "REINSPECTION_REQUIRED"
    )
    assert reason_of(lambda: record_reinspection(f, Reinspection(OPENED, ("B1", "B2"), True), TEAM)) == (
        "FOLLOW_UP_STATE_INVALID"
    )
    waiting = await_reinspection(f)
    assert waiting.state is FollowUpState.AWAITING_REINSPECTION
    assert reason_of(lambda: await_reinspection(waiting)) == "FOLLOW_UP_STATE_INVALID"
    assert reason_of(
        lambda: record_reinspection(waiting, Reinspection(OPENED, ("B1", "X9"), True), TEAM)
    ) == ("REINSPECTION_TEAM")
    assert reason_of(lambda: record_reinspection(waiting, Reinspection(OPENED, ("B1",), True), TEAM)) == (
        "REINSPECTION_TEAM"
    )
    done = record_reinspection(waiting, Reinspection(OPENED, ("B1", "B2"), True), TEAM)
    assert reason_of(lambda: close(done, Closing(ClosingOutcome.NOT_RECTIFIED, "x", OPENED))) == (
        "OUTCOME_CONTRADICTS_REINSPECTION"
    )
    assert reason_of(lambda: close(done, Closing(ClosingOutcome.LISTED, "x", OPENED))) == (
        "OUTCOME_NOT_FOR_KIND"
    )
    closed = close(done, Closing(ClosingOutcome.RECTIFIED, "整改到位", OPENED))
    assert closed.state is FollowUpState.CLOSED
    assert closed.revision == 4
    assert reason_of(lambda: close(closed, Closing(ClosingOutcome.WITHDRAWN, "x", OPENED))) == (
        "FOLLOW_UP_CLOSED"
    )
    assert reason_of(lambda: add_evidence(closed, (), "late note")) == "FOLLOW_UP_CLOSED"


def test_other_kinds_close_from_open_with_their_own_outcomes() -> None:
    case = follow_up(FollowUpKind.CASE_FILING)
    assert reason_of(lambda: close(case, Closing(ClosingOutcome.PENALTY_DECIDED, "罚款", OPENED))) == (
        "DECISION_NUMBER_REQUIRED"
    )
    assert close(case, Closing(ClosingOutcome.PENALTY_DECIDED, "罚款", OPENED, "唐市监罚〔2026〕1号")).closing
    assert reason_of(lambda: await_reinspection(case)) == "REINSPECTION_NOT_APPLICABLE"
    listing = follow_up(FollowUpKind.ABNORMAL_LISTING)
    assert close(listing, Closing(ClosingOutcome.LISTED, "已列入", OPENED)).state is FollowUpState.CLOSED
    withdrawn = close(follow_up(), Closing(ClosingOutcome.WITHDRAWN, "结果已更正", OPENED))
    assert withdrawn.closing is not None
    assert withdrawn.closing.outcome is ClosingOutcome.WITHDRAWN
    with pytest.raises(InvalidArgument):
        close(listing, Closing(ClosingOutcome.LISTED, "x", OPENED - dt.timedelta(days=1)))


def test_a_kind_follows_only_the_results_it_can() -> None:
    require_follows(FollowUpKind.ABNORMAL_LISTING, Outcome.NOT_FOUND_AT_ADDRESS)
    assert reason_of(lambda: require_follows(FollowUpKind.ABNORMAL_LISTING, Outcome.NO_PROBLEM)) == (
        "FOLLOW_UP_KIND_MISMATCH"
    )
    require_follows(FollowUpKind.LEAD_TRANSFER, Outcome.NO_PROBLEM)


def test_due_dates_count_working_days_and_overdue_means_past_due() -> None:
    assert due_on(HolidayCalendar(), dt.date(2026, 12, 4), 1) == dt.date(2026, 12, 7)  # Friday → Monday
    f = follow_up()
    assert not f.overdue(f.due_on)
    assert f.overdue(f.due_on + dt.timedelta(days=1))
    assert parse_due_overrides("rectification=20, case_filing=40") == {
        FollowUpKind.RECTIFICATION: 20,
        FollowUpKind.CASE_FILING: 40,
    }
    for bad in ("rectification", "nothing=3", "rectification=0"):
        with pytest.raises(ValueError, match="follow-up days"):
            parse_due_overrides(bad)


def test_evidence_and_closing_requests_are_validated() -> None:
    v = Violations()
    evidence_problems((Evidence("A" * 64, 1), Evidence("a" * 64, 0), Evidence("a" * 64, 5)), "evidence", v)
    assert {x.reason for x in v.items} == {"SHA256_INVALID", "VALUE_OUT_OF_RANGE", "DUPLICATE_VALUE"}
    v = Violations()
    closing_problems(Closing(ClosingOutcome.LISTED, " ", OPENED + dt.timedelta(days=1), " x"), OPENED, v)
    assert {x.field for x in v.items} == {"text", "decision_number", "closed_on"}
    again = add_evidence(
        add_evidence(follow_up(), (Evidence("a" * 64, 3),), "n"), (Evidence("a" * 64, 3),), ""
    )
    assert again.evidence == (Evidence("a" * 64, 3),)
    assert again.note == "n"


def objection() -> Objection:
    return Objection(
        id="o-1",
        draw_id="d",
        position=1,
        result_version=1,
        credit_code="C",
        department_id="dep",
        received_on=OPENED,
        grounds="检查时不在场",
        evidence=(),
        filed_by="x",
        filed_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        published_on=OPENED,
    )


def test_an_objection_is_received_within_the_period_and_decided_once() -> None:
    calendar = HolidayCalendar()
    require_in_period(calendar, OPENED, dt.date(2026, 12, 22), 15)  # the 15th working day
    assert reason_of(lambda: require_in_period(calendar, OPENED, dt.date(2026, 12, 23), 15)) == (
        "OBJECTION_PERIOD_ENDED"
    )
    o = objection()
    assert reason_of(lambda: decide(o, Decision(True, "成立", OPENED, "x", 1), 2)) == "CORRECTION_REQUIRED"
    assert reason_of(lambda: decide(o, Decision(True, "成立", OPENED, "x", 3), 2)) == "CORRECTION_REQUIRED"
    upheld = decide(o, Decision(True, "成立", OPENED, "x", 2), 2)
    assert upheld.state.value == "upheld"
    assert upheld.revision == 2
    assert reason_of(lambda: decide(upheld, Decision(False, "不成立", OPENED, "x"), 2)) == "OBJECTION_DECIDED"
    assert decide(o, Decision(False, "不成立", OPENED, "x"), 1).state.value == "rejected"


@pytest.mark.parametrize(
    ("name", "value"), [("follow_up_days", "rectification=0"), ("objection_working_days", -1)]
)
def test_a_bad_follow_up_setting_stops_the_server_before_it_starts(
    name: str, value: object, tmp_path: Path
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", address="127.0.0.1:0", auth="off")
    with pytest.raises(ValueError, match=r"follow-up days|OBJECTION"):
        create_server(dataclasses.replace(settings, **{name: value}))
    assert not (tmp_path / "x.db").exists()
