"""Nothing unverified is published: a draw whose stored rows no longer re-derive its commitments (an
exclusion row deleted, a team member changed by SQL) is refused with the first difference named, and
``audit verify`` names the first such draw; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest
import sqlalchemy as sa

from dualdraw.domain.working_days import CalendarEnds, HolidayCalendar, publication_deadline
from dualdraw.service_layer import draw_lifecycle, publication
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.v1 import draws_pb2, results_pb2, tasks_pb2
from dualdraw_client import DualdrawClient, FailedPreconditionError, NotFoundError
from dualdraw_client.dates import date_pb, date_text
from dualdraw_client.decimals import decimal_pb

from .conftest import Served, publishable_draw
from .test_beacon_entropy_e2e import BEFORE_ROUND, ROUND, SIGNATURE

pytestmark = pytest.mark.draws_in_process


def draw_and_record(client: DualdrawClient) -> tuple[draws_pb2.Draw, list[draws_pb2.Assignment]]:
    s = demo_directory().suggested_task
    task = client.create_task(
        tasks_pb2.Task(
            item_code=s.item_code,
            department_id=s.department_id,
            ratio=decimal_pb(s.ratio),
            team_size=s.team_size,
        )
    )
    draw = publishable_draw(client, task.id, as_of=DEMO_AS_OF)
    assignments = list(client.iter_assignments(draw.id))
    today = Caller("x").today().isoformat()
    for a in assignments:
        client.record_result(
            results_pb2.InspectionResult(
                draw_id=draw.id,
                position=a.position,
                outcome=results_pb2.OUTCOME_NO_PROBLEM,
                inspected_on=date_pb(today),
            )
        )
    return draw, assignments


def sql(served: Served, statement: str, **params: object) -> None:
    with served.running.store.engine.begin() as connection:
        assert connection.execute(sa.text(statement), params).rowcount == 1


def refusal(client: DualdrawClient, draw_id: str) -> FailedPreconditionError:
    with pytest.raises(FailedPreconditionError) as caught:
        client.publish_results(draw_id)
    assert caught.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.reason == "DRAW_DOES_NOT_VERIFY"
    assert caught.value.metadata["draw_id"] == draw_id
    return caught.value


def test_an_untouched_draw_publishes_and_verifies(demo_served: Served, client: DualdrawClient) -> None:
    draw, _ = draw_and_record(client)
    assert client.publish_results(draw.id).verification == "match"
    verdict = client.verify_log()
    assert verdict.ok, verdict.problem
    assert verdict.draws_checked >= 1
    assert verdict.first_bad_draw_id == ""


def test_a_deleted_exclusion_row_refuses_publication(demo_served: Served, client: DualdrawClient) -> None:
    draw, _ = draw_and_record(client)
    with demo_served.running.store.engine.begin() as connection:
        code, rule_id = connection.execute(
            sa.text("SELECT credit_code, rule_id FROM exclusions WHERE draw_id = :d ORDER BY credit_code"),
            {"d": draw.id},
        ).first()  # type: ignore[misc]  # the demo draw excludes objects
    sql(
        demo_served,
        "DELETE FROM exclusions WHERE draw_id = :d AND credit_code = :c AND rule_id = :r",
        d=draw.id,
        c=code,
        r=rule_id,
    )
    error = refusal(client, draw.id)
    assert error.metadata["differs"] == "exclusions"
    assert error.metadata["at"] == f"rule {rule_id}"
    assert f"rule {rule_id} has" in str(error)
    with pytest.raises(NotFoundError):  # nothing was published
        client.published_draw(draw.id)
    verdict = client.verify_log()
    assert not verdict.ok
    assert verdict.first_bad_draw_id == draw.id
    assert verdict.draw_problem.startswith("exclusions:")


def test_a_changed_team_member_refuses_publication(demo_served: Served, client: DualdrawClient) -> None:
    draw, assignments = draw_and_record(client)
    first = assignments[0]
    outsider = next(
        i.badge_number
        for i in client.iter_inspectors()
        if i.badge_number not in {m.badge_number for a in assignments for m in a.team}
    )
    sql(
        demo_served,
        "UPDATE assignment_members SET badge_number = :b WHERE draw_id = :d AND position = :p "
        "AND badge_number = :old",
        b=outsider,
        d=draw.id,
        p=first.position,
        old=first.team[-1].badge_number,
    )
    error = refusal(client, draw.id)
    assert error.metadata["differs"] == "teams"
    assert error.metadata["at"] == f"position {first.position}"
    assert outsider in str(error)
    verdict = client.verify_log()
    assert verdict.first_bad_draw_id == draw.id
    assert verdict.draw_problem.startswith("teams:")


def test_a_draw_with_substitutions_still_verifies_and_publishes(
    demo_served: Served, client: DualdrawClient
) -> None:
    draw, assignments = draw_and_record(client)
    services = demo_served.running.services
    moves = ((1, 0), (1, 1), (2, 0))  # the leader too, and twice at one position
    for n, (position, member) in enumerate(moves):
        team = next(a for a in client.iter_assignments(draw.id) if a.position == position).team
        # requested before the published quicknet round (the caller's clock set back), executed with it
        sub = draw_lifecycle.request_substitution(
            services.unit_of_work(),
            draw_lifecycle.SubstitutionRequest(
                draw.id, position, team[member].badge_number, "LEAVE", "ab" * 32, "drand-quicknet", ROUND
            ),
            Caller(actor="e2e-tester", now=BEFORE_ROUND + dt.timedelta(seconds=n)),
            entropy=services.entropy_policy,
        )
        client.execute_substitution(sub.id, SIGNATURE)
    verdict = client.verify_log()
    assert verdict.ok, verdict.draw_problem
    assert client.publish_results(draw.id).verification == "match"
    # a replacement swapped by SQL for another inspector is named as the substitution at fault
    sub = client.list_substitutions(draw.id).substitutions[0]
    other = next(
        m.badge_number for a in assignments for m in a.team if m.badge_number != sub.replacement_badge
    )  # another inspector, whatever the draw picked
    sql(demo_served, "UPDATE substitutions SET replacement_badge = :b WHERE id = :i", b=other, i=sub.id)
    verdict = client.verify_log()
    assert verdict.first_bad_draw_id == draw.id
    assert verdict.draw_problem.startswith(f"substitutions: {sub.id}")


def test_the_deadline_runs_from_the_draw_and_unrecorded_inspections_are_overdue(
    demo_served: Served, client: DualdrawClient
) -> None:
    s = demo_directory().suggested_task
    task = client.create_task(
        tasks_pb2.Task(
            item_code=s.item_code,
            department_id=s.department_id,
            ratio=decimal_pb(s.ratio),
            team_size=s.team_size,
        )
    )
    draw = publishable_draw(client, task.id, as_of=DEMO_AS_OF)
    today = Caller("x").today()
    calendar = HolidayCalendar()  # the test server's calendar: weekends only
    drawn_on = today - dt.timedelta(days=42)  # the draw was six weeks ago
    sql(
        demo_served,
        "UPDATE draws SET executed_at = :t WHERE id = :d",
        t=dt.datetime.combine(drawn_on, dt.time(3, 0), tzinfo=dt.UTC),
        d=draw.id,
    )
    deadline = publication_deadline(calendar, drawn_on)
    assert deadline < today
    [row] = client.pending_publications(as_of=today)  # nothing recorded: overdue all the same
    assert (row.draw_id, date_text(row.deadline), row.overdue) == (draw.id, deadline.isoformat(), True)
    assert row.overdue_working_days == calendar.working_days_between(deadline, today)
    assert row.unrecorded_results == draw.selected_count
    assert not row.HasField("inspection_end_date")
    # results inspected today do not move the deadline: it ran from the draw
    for a in client.iter_assignments(draw.id):
        client.record_result(
            results_pb2.InspectionResult(
                draw_id=draw.id,
                position=a.position,
                outcome=results_pb2.OUTCOME_NO_PROBLEM,
                inspected_on=date_pb(today.isoformat()),
            )
        )
    [row] = client.pending_publications(as_of=today)
    assert (date_text(row.deadline), row.overdue, date_text(row.inspection_end_date)) == (
        deadline.isoformat(),
        True,
        today.isoformat(),
    )
    assert (row.unrecorded_results, row.unpublished_results) == (0, draw.selected_count)
    # a calendar that ends before the deadline is refused, not silently extended with weekdays
    uow = demo_served.running.services.unit_of_work
    ending = HolidayCalendar(last_year=drawn_on.year - 1)
    with pytest.raises(CalendarEnds):
        publication.pending_publications(uow(), ending, today)
    assert date_text(client.publish_results(draw.id).deadline) == deadline.isoformat()
    assert client.pending_publications(as_of=today) == []
