"""After the draw, over real gRPC on both databases: a result followed to closure (rectification order,
re-inspection by the same team, closed), illegal transitions refused with their reasons, the overdue list
per department with its one-time sweep, and enterprises' objections within and after the period, decided
and public."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dualdraw.domain.errors import Aborted
from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.service_layer import follow_ups, publication
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.service_layer.ports import PageRequest
from dualdraw.v1 import draws_pb2, results_pb2, tasks_pb2
from dualdraw.v1 import follow_ups_pb2 as pb
from dualdraw_client import DualdrawClient, FailedPreconditionError, InvalidArgumentError
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from tests.evidence_helpers import upload_bytes

from .conftest import Served, publishable_draw

SHA = "cd" * 32  # a hash nobody uploaded


@dataclass
class Drawn:
    served: Served
    client: DualdrawClient
    task: tasks_pb2.Task
    draw: draws_pb2.Draw
    assignments: list[draws_pb2.Assignment]
    today: str
    photo: tuple[str, int]
    """An uploaded file to cite."""


@pytest.fixture
def drawn(demo_served: Served, client: DualdrawClient, tmp_path: Path) -> Drawn:
    s = demo_directory().suggested_task
    task = client.create_task(
        tasks_pb2.Task(
            item_code=s.item_code,
            department_id=s.department_id,
            ratio=decimal_pb(s.ratio),
            team_size=s.team_size,
            title=s.title,
        )
    )
    draw = publishable_draw(client, task.id, as_of=DEMO_AS_OF)
    assignments = list(client.iter_assignments(draw.id))
    assert len(assignments) >= 2
    photo = upload_bytes(client, tmp_path, b"a photo of the shop", "shop.jpg")
    return Drawn(demo_served, client, task, draw, assignments, Caller("x").today().isoformat(), photo)


def record(d: Drawn, position: int, outcome: int = results_pb2.OUTCOME_PROBLEM_CORRECTED) -> None:
    d.client.record_result(
        results_pb2.InspectionResult(
            draw_id=d.draw.id,
            position=position,
            outcome=outcome,
            inspected_on=date_pb(d.today),
            findings="标识不全",
        )
    )


def events(d: Drawn, resource: str) -> list[str]:
    with d.served.running.services.reader() as uow:
        return [e.action for e in uow.audit.events_of(resource)]


def test_a_rectification_order_closes_after_the_same_team_reinspects(drawn: Drawn) -> None:
    d, client = drawn, drawn.client
    first = d.assignments[0]
    record(d, first.position)
    opened = client.open_follow_up(
        d.draw.id,
        first.position,
        pb.FOLLOW_UP_KIND_RECTIFICATION,
        evidence_files=[d.photo],
        note="责令七日内改正",
    )
    assert opened.state == pb.FOLLOW_UP_STATE_OPEN
    assert opened.department == d.task.department_id
    assert opened.due_date.year > 0  # 30 working days ahead by default
    due = dt.date(opened.due_date.year, opened.due_date.month, opened.due_date.day)
    assert (due - dt.date.fromisoformat(d.today)).days >= 30

    with pytest.raises(FailedPreconditionError) as refused:
        client.close_follow_up(opened.name, pb.FOLLOW_UP_OUTCOME_RECTIFIED, "整改到位")
    assert refused.value.reason == "REINSPECTION_REQUIRED"
    with pytest.raises(FailedPreconditionError) as refused:
        client.record_reinspection(opened.name, d.today, [m.badge_number for m in first.team], rectified=True)
    assert refused.value.reason == "FOLLOW_UP_STATE_INVALID"
    with pytest.raises(FailedPreconditionError) as refused:  # a lead is not a result without a problem's
        client.open_follow_up(d.draw.id, first.position, pb.FOLLOW_UP_KIND_ABNORMAL_LISTING)
    assert refused.value.reason == "FOLLOW_UP_KIND_MISMATCH"

    waiting = client.report_rectification(opened.name)
    assert waiting.state == pb.FOLLOW_UP_STATE_AWAITING_REINSPECTION
    stranger = d.assignments[1].team[0].badge_number
    if stranger not in {m.badge_number for m in first.team}:
        with pytest.raises(FailedPreconditionError) as refused:
            client.record_reinspection(
                opened.name, d.today, [first.team[0].badge_number, stranger], rectified=True
            )
        assert refused.value.reason == "REINSPECTION_TEAM"
    team = [m.badge_number for m in first.team[:2]]
    checked = client.record_reinspection(opened.name, d.today, team, rectified=True, note="已整改")
    assert list(checked.reinspection.badge_numbers) == team
    closed = client.close_follow_up(opened.name, pb.FOLLOW_UP_OUTCOME_RECTIFIED, "复查整改到位")
    assert closed.state == pb.FOLLOW_UP_STATE_CLOSED
    assert closed.closing.outcome == pb.FOLLOW_UP_OUTCOME_RECTIFIED
    with pytest.raises(FailedPreconditionError) as refused:
        client.add_follow_up_evidence(opened.name, [d.photo])
    assert refused.value.reason == "FOLLOW_UP_CLOSED"

    assert events(d, opened.name) == [
        "follow_up.open",
        "follow_up.update",
        "follow_up.update",
        "follow_up.close",
    ]
    assert [f.name for f in client.iter_follow_ups(draw=d.draw.id)] == [opened.name]
    assert list(client.iter_follow_ups(draw=d.draw.id, open_only=True)) == []


def test_a_case_closes_with_its_decision_number_and_a_lead_belongs_to_its_receiver(drawn: Drawn) -> None:
    d, client = drawn, drawn.client
    first = d.assignments[0]
    record(d, first.position, results_pb2.OUTCOME_CASE_OPENED)
    case = client.open_follow_up(d.draw.id, first.position, pb.FOLLOW_UP_KIND_CASE_FILING)
    with pytest.raises(FailedPreconditionError) as refused:
        client.close_follow_up(case.name, pb.FOLLOW_UP_OUTCOME_PENALTY_DECIDED, "罚款")
    assert refused.value.reason == "DECISION_NUMBER_REQUIRED"
    with pytest.raises(FailedPreconditionError) as refused:
        client.close_follow_up(case.name, pb.FOLLOW_UP_OUTCOME_LISTED, "x")
    assert refused.value.reason == "OUTCOME_NOT_FOR_KIND"
    closed = client.close_follow_up(
        case.name, pb.FOLLOW_UP_OUTCOME_PENALTY_DECIDED, "罚款五千元", decision_number="唐市监罚〔2026〕12号"
    )
    assert closed.closing.decision_number == "唐市监罚〔2026〕12号"
    with pytest.raises(InvalidArgumentError):
        client.open_follow_up(d.draw.id, first.position, pb.FOLLOW_UP_KIND_LEAD_TRANSFER)  # no receiver
    other = next(x.id for x in client.iter_departments() if x.id != d.task.department_id)
    lead = client.open_follow_up(d.draw.id, first.position, pb.FOLLOW_UP_KIND_LEAD_TRANSFER, department=other)
    assert lead.department == other


def test_the_overdue_list_per_department_records_each_follow_up_once(drawn: Drawn) -> None:
    d, client = drawn, drawn.client
    for a in d.assignments[:2]:
        record(d, a.position)
    late = client.open_follow_up(
        d.draw.id, d.assignments[0].position, pb.FOLLOW_UP_KIND_RECTIFICATION, due_in_working_days=1
    )
    client.open_follow_up(d.draw.id, d.assignments[1].position, pb.FOLLOW_UP_KIND_RECTIFICATION)
    assert client.overdue_follow_ups() == []
    day = dt.date.fromisoformat(d.today) + dt.timedelta(days=10)  # past the 1 working day, not the 30
    for _ in range(2):
        departments = client.overdue_follow_ups(as_of=day)
        assert [x.department for x in departments] == [d.task.department_id]
        assert [f.name for f in departments[0].follow_ups] == [late.name]
    assert events(d, late.name).count("follow_up.overdue") == 1
    assert client.get_follow_up(late.name).overdue_recorded


def test_objections_within_and_after_the_period_are_decided_and_public(drawn: Drawn) -> None:
    d, client = drawn, drawn.client
    first, second = d.assignments[0], d.assignments[1]
    record(d, first.position)
    record(d, second.position)
    month_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    services = d.served.running.services
    publication.publish_draw(
        services.unit_of_work(), services.calendar, d.draw.id, Caller("publisher", now=month_ago)
    )
    published_on = (month_ago + dt.timedelta(hours=8)).date()
    with pytest.raises(FailedPreconditionError) as refused:
        client.file_objection(d.draw.id, second.position, d.today, "不服")
    assert refused.value.reason == "OBJECTION_PERIOD_ENDED"
    received = published_on + dt.timedelta(days=3)
    filed = client.file_objection(
        d.draw.id, first.position, received, "检查时企业负责人不在场", evidence_files=[d.photo]
    )
    assert filed.state == pb.OBJECTION_STATE_PENDING
    assert filed.result_version == 1
    assert (filed.publish_date.year, filed.publish_date.month, filed.publish_date.day) == (
        published_on.year,
        published_on.month,
        published_on.day,
    )
    with pytest.raises(FailedPreconditionError) as refused:
        client.decide_objection(filed.name, upheld=True, reason="成立", corrected_version=2)
    assert refused.value.reason == "CORRECTION_REQUIRED"
    client.correct_result(
        results_pb2.InspectionResult(
            draw_id=d.draw.id,
            position=first.position,
            outcome=results_pb2.OUTCOME_NO_PROBLEM,
            inspected_on=date_pb(d.today),
        ),
        "异议成立，更正为未发现问题",
    )
    decided = client.decide_objection(filed.name, upheld=True, reason="经复核异议成立", corrected_version=2)
    assert decided.state == pb.OBJECTION_STATE_UPHELD
    with pytest.raises(FailedPreconditionError) as refused:
        client.decide_objection(filed.name, upheld=False, reason="x")
    assert refused.value.reason == "OBJECTION_DECIDED"
    assert events(d, filed.name) == ["objection.file", "objection.decide"]

    public = client.public_objections(d.draw.id)
    assert [(o.state, o.corrected_version, o.grounds) for o in public] == [
        (pb.OBJECTION_STATE_UPHELD, 2, "检查时企业负责人不在场")
    ]
    assert "evidence" not in json.dumps([o.ListFields() and str(o) for o in public])
    assert [o.name for o in client.iter_objections(draw=d.draw.id)] == [filed.name]


def test_the_public_sees_kind_state_due_date_and_outcome_only(drawn: Drawn) -> None:
    d, client = drawn, drawn.client
    first = d.assignments[0]
    record(d, first.position)
    opened = client.open_follow_up(
        d.draw.id, first.position, pb.FOLLOW_UP_KIND_RECTIFICATION, note="内部备注", evidence_files=[d.photo]
    )
    assert client.public_follow_ups(d.draw.id) == []  # nothing of an unpublished result
    client.publish_results(d.draw.id)
    (shown,) = client.public_follow_ups(d.draw.id)
    assert shown.kind == pb.FOLLOW_UP_KIND_RECTIFICATION
    assert shown.state_label == "办理中"
    assert shown.kind_label == "责令整改"
    assert shown.due_date == opened.due_date
    assert "内部备注" not in str(shown)
    assert SHA not in str(shown)
    with d.served.running.services.reader() as uow:
        assert uow.follow_ups.list(PageRequest(size=10)).items[0].note == "内部备注"


def test_cited_evidence_must_be_uploaded_with_its_size_and_nothing_is_written_otherwise(drawn: Drawn) -> None:
    d, client = drawn, drawn.client
    first = d.assignments[0]
    record(d, first.position)
    sha, size = d.photo
    bad = [d.photo, (SHA, 7), (sha.replace(sha[0], "0" if sha[0] != "0" else "1"), size)]

    def refused(call: object) -> list[tuple[str, str]]:
        assert isinstance(call, InvalidArgumentError)
        return sorted((v.field, v.reason) for v in call.field_violations)

    with pytest.raises(InvalidArgumentError) as opening:
        client.open_follow_up(
            d.draw.id, first.position, pb.FOLLOW_UP_KIND_RECTIFICATION, evidence_files=[*bad, (sha[::-1], 1)]
        )
    assert refused(opening.value) == [
        ("follow_up.evidence[1].sha256", "EVIDENCE_NOT_UPLOADED"),
        ("follow_up.evidence[2].sha256", "EVIDENCE_NOT_UPLOADED"),
        ("follow_up.evidence[3].sha256", "EVIDENCE_NOT_UPLOADED"),
    ]
    with pytest.raises(InvalidArgumentError) as sized:
        client.open_follow_up(
            d.draw.id, first.position, pb.FOLLOW_UP_KIND_RECTIFICATION, evidence_files=[(sha, size + 1)]
        )
    assert refused(sized.value) == [("follow_up.evidence[0].size_bytes", "EVIDENCE_SIZE_MISMATCH")]
    assert list(client.iter_follow_ups(draw=d.draw.id)) == []

    opened = client.open_follow_up(d.draw.id, first.position, pb.FOLLOW_UP_KIND_RECTIFICATION)
    with pytest.raises(InvalidArgumentError) as adding:
        client.add_follow_up_evidence(opened.name, [d.photo, (SHA, 7)], note="补充")
    assert refused(adding.value) == [("evidence[1].sha256", "EVIDENCE_NOT_UPLOADED")]
    assert client.get_follow_up(opened.name).evidence == []
    assert client.get_follow_up(opened.name).note == ""
    added = client.add_follow_up_evidence(opened.name, [d.photo])
    assert [(e.sha256, e.size_bytes) for e in added.evidence] == [d.photo]

    with pytest.raises(InvalidArgumentError) as filing:
        client.file_objection(d.draw.id, first.position, d.today, "不服", evidence_files=[(SHA, 7)])
    assert refused(filing.value) == [("objection.evidence[0].sha256", "EVIDENCE_NOT_UPLOADED")]
    assert list(client.iter_objections(draw=d.draw.id)) == []
    assert events(d, opened.name) == ["follow_up.open", "follow_up.update"]


def test_a_stale_write_is_refused_and_the_sweep_skips_it(drawn: Drawn) -> None:
    d, client = drawn, drawn.client
    record(d, d.assignments[0].position)
    opened = client.open_follow_up(
        d.draw.id, d.assignments[0].position, pb.FOLLOW_UP_KIND_RECTIFICATION, due_in_working_days=1
    )
    services = d.served.running.services
    with services.unit_of_work() as uow:
        stored = uow.follow_ups.get(opened.name.removeprefix("followUps/"))
        assert stored is not None
        with pytest.raises(Aborted) as refused:
            uow.follow_ups.replace(dataclasses.replace(stored, note="stale"), stored.revision - 1)
        assert refused.value.reason == "CONCURRENT_CHANGE"
    later = dt.date.fromisoformat(d.today) + dt.timedelta(days=10)
    assert follow_ups.sweep_overdue(services.unit_of_work(), later, Caller("cron")) == 1
    assert follow_ups.sweep_overdue(services.unit_of_work(), later, Caller("cron")) == 0


def test_the_command_line_opens_lists_and_closes_follow_ups_in_chinese_and_json(
    drawn: Drawn, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    d = drawn
    position = d.assignments[0].position
    record(d, position, results_pb2.OUTCOME_NOT_FOUND_AT_ADDRESS)
    evidence = tmp_path / "visit.jpg"
    evidence.write_bytes(b"closed door")
    server = ["--server", d.served.target, "--actor", "clerk-1"]

    def run(*argv: str, zh: bool = False) -> str:
        code = dualdraw_cli.main([*(["--lang", "zh"] if zh else []), *argv[:2], *server, *argv[2:]])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    opened = json.loads(
        run(
            "follow-ups",
            "open",
            d.draw.id,
            str(position),
            "--kind",
            "abnormal_listing",
            "--evidence",
            str(evidence),
            "--json",
        )
    )
    assert opened["kind"] == "FOLLOW_UP_KIND_ABNORMAL_LISTING"
    assert opened["evidence"] == [{"sha256": hashlib.sha256(b"closed door").hexdigest(), "size_bytes": "11"}]
    listed = run("follow-ups", "list", "--draw", d.draw.id, zh=True)
    assert opened["name"] in listed
    assert "后续处置" in listed
    closed = run("follow-ups", "close", opened["name"], "--outcome", "listed", "--text", "已列入经营异常名录")
    assert "listed" in closed
    assert "已列入经营异常名录" in closed
    assert "没有逾期的后续处置" in run("follow-ups", "overdue", zh=True)
