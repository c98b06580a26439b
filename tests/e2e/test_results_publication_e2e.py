"""Inspection results and their publication end to end: results recorded and corrected (client and CLI),
published in one step, served only once published by the public API, the item list's versions, exports and
the credit feed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import json_format

from dualdraw.domain.working_days import HolidayCalendar, publication_deadline
from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.service_layer import publication
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.v1 import draws_pb2, items_pb2, public_pb2, publication_pb2, results_pb2, tasks_pb2
from dualdraw_client import (
    AlreadyExistsError,
    DualdrawClient,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from dualdraw_client.dates import date_pb, date_text
from dualdraw_client.decimals import decimal_pb

from .conftest import Served, publishable_draw

SHA = "ab" * 32


@dataclass
class Drawn:
    served: Served
    client: DualdrawClient
    task: tasks_pb2.Task
    draw: draws_pb2.Draw
    assignments: list[draws_pb2.Assignment]
    today: str


@pytest.fixture
def drawn(demo_served: Served, client: DualdrawClient) -> Drawn:
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
    assert len(assignments) >= 3
    today = Caller("x").today().isoformat()
    return Drawn(demo_served, client, task, draw, assignments, today)


def result(
    d: Drawn, position: int, outcome: int = results_pb2.OUTCOME_NO_PROBLEM, **kw: object
) -> results_pb2.InspectionResult:
    return results_pb2.InspectionResult(
        draw_id=d.draw.id,
        position=position,
        outcome=outcome,
        inspected_on=date_pb(d.today),
        **kw,  # type: ignore[arg-type]
    )


def record_all(d: Drawn) -> None:
    for a in d.assignments:
        d.client.record_result(result(d, a.position, findings="现场检查未发现问题"))


def public_json(message: object) -> str:
    return json.dumps(json_format.MessageToDict(message), ensure_ascii=False)  # type: ignore[arg-type]


def run_cli(capsys: pytest.CaptureFixture[str], d: Drawn, *argv: str) -> tuple[int, str, str]:
    code = dualdraw_cli.main([*argv[:2], "--server", d.served.target, "--actor", "inspector-7", *argv[2:]])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_results_are_recorded_corrected_and_published_through_the_cli(
    drawn: Drawn, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    d = drawn
    attachment = tmp_path / "photo.jpg"
    attachment.write_bytes(b"site photo")
    first = d.assignments[0]
    code, out, err = run_cli(
        capsys,
        d,
        "results",
        "record",
        d.draw.id,
        str(first.position),
        "--outcome",
        "problem_corrected",
        "--inspected-on",
        d.today,
        "--findings",
        "标识不全，已当场责令改正",
        "--attachment",
        str(attachment),
    )
    assert code == 0, err
    assert "problem_corrected" in out
    assert "inspector-7" in out
    import hashlib

    assert hashlib.sha256(b"site photo").hexdigest() in out

    code, _, err = run_cli(
        capsys,
        d,
        "results",
        "record",
        d.draw.id,
        str(first.position),
        "--outcome",
        "no_problem",
        "--inspected-on",
        d.today,
    )
    assert code == 2
    assert "RESULT_EXISTS" in err

    code, out, err = run_cli(
        capsys,
        d,
        "results",
        "correct",
        d.draw.id,
        str(first.position),
        "--outcome",
        "case_opened",
        "--inspected-on",
        d.today,
        "--findings",
        "无证经营",
        "--penalty-decision",
        "唐高市监罚〔2026〕12号",
        "--reason",
        "立案后补录处罚决定",
    )
    assert code == 0, err
    code, out, _ = run_cli(capsys, d, "results", "history", d.draw.id, str(first.position), "--json")
    versions = [json.loads(line) for line in out.splitlines()]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["outcome"] == "OUTCOME_PROBLEM_CORRECTED"  # version 1 is kept as it was
    assert versions[1]["correction_reason"] == "立案后补录处罚决定"

    code, out, err = run_cli(capsys, d, "results", "publish", d.draw.id)  # the one result so far (Art. 14)
    assert code == 0, err
    assert [r.position for r in d.client.iter_published_results(draw_id=d.draw.id)] == [first.position]
    for a in d.assignments[1:]:
        code, _, err = run_cli(
            capsys,
            d,
            "results",
            "record",
            d.draw.id,
            str(a.position),
            "--outcome",
            "no_problem",
            "--inspected-on",
            d.today,
        )
        assert code == 0, err
    code, out, err = run_cli(capsys, d, "results", "publish", d.draw.id)
    assert code == 0, err
    assert "verification" in out
    assert "match" in out
    published = list(d.client.iter_published_results(draw_id=d.draw.id))
    assert len(published) == len(d.assignments)
    assert published[0].penalty_decision_number == "唐高市监罚〔2026〕12号"
    audit = [e.action for e in d.client.iter_audit_events()]
    assert {"result.record", "result.correct", "results.publish"} <= set(audit)


def test_result_validation_names_each_bad_field(drawn: Drawn) -> None:
    d = drawn
    bad = results_pb2.InspectionResult(
        draw_id=d.draw.id,
        position=1,
        outcome=results_pb2.OUTCOME_NO_PROBLEM,
        inspected_on=date_pb("2099-01-01"),
        attachment_sha256=["not-a-hash"],
        penalty_decision_number="X-1",
        referred_to_judicial=True,
    )
    with pytest.raises(InvalidArgumentError) as caught:
        d.client.record_result(bad)
    fields = {v.field for v in caught.value.field_violations}
    assert {
        "result.inspected_on",
        "result.attachment_sha256[0]",
        "result.penalty_decision_number",
        "result.referred_to_judicial",
    } <= fields
    with pytest.raises(InvalidArgumentError) as caught:
        d.client.record_result(result(d, 1, results_pb2.OUTCOME_CASE_OPENED))
    assert {v.field for v in caught.value.field_violations} == {"result.findings"}
    with pytest.raises(NotFoundError):
        d.client.record_result(result(d, 999))
    with pytest.raises(InvalidArgumentError) as caught:
        d.client.correct_result(result(d, 1), reason=" ")
    assert {v.field for v in caught.value.field_violations} == {"reason"}
    # a retried request (same request id) is not applied twice
    first = d.client.record_result(result(d, 1), request_id="req-1")
    again = d.client.record_result(result(d, 1), request_id="req-1")
    assert first.record_id == again.record_id == f"{d.draw.id}/1/v1"
    with pytest.raises(AlreadyExistsError):
        d.client.record_result(result(d, 1))


def test_nothing_unpublished_is_reachable_through_the_public_api(drawn: Drawn) -> None:
    d = drawn
    record_all(d)
    code = d.assignments[0].credit_code
    with pytest.raises(NotFoundError):
        d.client.published_draw(d.draw.id)
    with pytest.raises(NotFoundError):
        d.client.published_task(d.task.id)
    assert list(d.client.iter_published_results()) == []
    assert list(d.client.iter_published_results(credit_code=code)) == []
    assert list(d.client.iter_published_draws()) == []

    first = d.client.publish_results(d.draw.id)
    assert (first.revision, first.result_count, first.verification) == (1, len(d.assignments), "match")
    assert d.client.publish_results(d.draw.id).revision == 1  # nothing new: the same publication

    public_draw = d.client.published_draw(d.draw.id)
    assert public_draw.verification == "match"
    assert public_draw.seed == d.draw.seed
    assert d.client.published_task(d.task.id).draw_id == d.draw.id
    mine = list(d.client.iter_published_results(credit_code=code.lower()))
    assert [r.credit_code for r in mine] == [code]

    # a correction stays internal until it is published again
    d.client.correct_result(
        result(d, d.assignments[0].position, results_pb2.OUTCOME_PROBLEM_CORRECTED, findings="台账缺失"),
        reason="复核后更正",
    )
    shown = list(d.client.iter_published_results(credit_code=code))
    assert [(r.version, r.outcome) for r in shown] == [(1, results_pb2.OUTCOME_NO_PROBLEM)]
    second = d.client.publish_results(d.draw.id)
    assert second.revision == 2
    assert second.sequence > first.sequence
    shown = list(d.client.iter_published_results(credit_code=code))
    assert [(r.version, r.supersedes) for r in shown] == [(2, f"{d.draw.id}/{d.assignments[0].position}/v1")]


def test_published_data_carries_no_confidential_fields(drawn: Drawn) -> None:
    d = drawn
    record_all(d)
    d.client.publish_results(d.draw.id)
    directory = demo_directory()
    inspectors = {i.badge_number: i for i in directory.inspectors}
    forbidden_fields = {"risk_class", "stratum", "ticket", "office", "specialities", "conflicts", "available"}
    for descriptor in (
        public_pb2.PublicResult.DESCRIPTOR,
        public_pb2.PublicInspector.DESCRIPTOR,
        public_pb2.PublicDraw.DESCRIPTOR,
    ):
        assert not forbidden_fields & {f.name for f in descriptor.fields}
    results = list(d.client.iter_published_results(draw_id=d.draw.id))
    text = public_json(public_pb2.ListPublishedResultsResponse(results=results))
    text += public_json(d.client.published_draw(d.draw.id))
    for r in results:
        for m in r.team:
            assert m.name == inspectors[m.badge_number].name
            assert set(json_format.MessageToDict(m)) <= {"badgeNumber", "name", "leader"}
    assert "riskClass" not in text
    assert "manifest_json" not in text
    assert "manifestJson" not in text
    assert "stratum" not in text
    # the manifest lists inspectors left out of the pool with reasons: only its hash is public
    assert d.draw.manifest_hash in text


def test_overdue_list_counts_working_days_across_a_holiday(drawn: Drawn) -> None:
    d = drawn
    record_all(d)
    uow = d.served.running.services.unit_of_work
    ended = dt.date.fromisoformat(d.today)
    plain = HolidayCalendar()
    holidays = frozenset(ended + dt.timedelta(days=n) for n in range(1, 8))  # a Golden Week right after
    golden_week = HolidayCalendar(holidays=holidays)
    plain_deadline = publication_deadline(plain, ended)
    holiday_deadline = publication_deadline(golden_week, ended)
    assert holiday_deadline > plain_deadline
    day_after = plain.add_working_days(plain_deadline, 1)

    overdue = publication.pending_publications(uow(), plain, day_after, overdue_only=True)
    assert [(p.draw_id, p.deadline, p.overdue_working_days) for p in overdue] == [
        (d.draw.id, plain_deadline, 1)
    ]
    assert publication.pending_publications(uow(), golden_week, day_after, overdue_only=True) == []
    due = publication.pending_publications(uow(), golden_week, day_after)
    assert [(p.deadline, p.unpublished_results) for p in due] == [(holiday_deadline, len(d.assignments))]

    rows = d.client.pending_publications(as_of=day_after)  # the server's calendar: weekends only
    assert [(p.draw_id, p.overdue) for p in rows] == [(d.draw.id, True)]
    d.client.publish_results(d.draw.id)
    assert d.client.pending_publications(as_of=day_after) == []


def test_the_item_list_is_published_with_versions_retrievable_as_of_a_date(drawn: Drawn) -> None:
    d = drawn
    today = Caller(actor="x").today()
    y = today.year + 1  # a list published now takes effect no earlier than today
    with pytest.raises(InvalidArgumentError) as caught:
        d.client.publish_item_list(today - dt.timedelta(days=1), "回溯公布", "工作规则第五条")
    assert [v.field for v in caught.value.field_violations] == ["effective_from"]
    assert "publication date" in caught.value.field_violations[0].description
    assert d.client.published_items(f"{y + 1}-01-01") == []  # nothing was published
    made = d.client.publish_item_list(f"{y}-01-01", "首次公布随机抽查事项清单", "工作规则第四条、第五条")
    codes = {v.code for v in made}
    assert d.task.item_code in codes
    assert all(v.version == 1 for v in made)
    assert d.client.publish_item_list(f"{y}-02-01", "无变化", "同上") == []

    item = d.client.get_item(d.task.item_code)
    revised = items_pb2.InspectionItem()
    revised.CopyFrom(item)
    revised.legal_basis = item.legal_basis + "；《特种设备安全监督检查办法》（2022）"
    revised.default_ratio.value = "0.25"
    v2 = d.client.revise_item(revised, f"{y}-07-01", "增加检查依据并提高比例", "市场监管总局令第57号")
    assert (v2.version, sorted(v2.changed_fields)) == (2, ["default_ratio", "legal_basis"])
    assert d.client.get_item(d.task.item_code).default_ratio.value == "0.25"

    as_june = {v.code: v for v in d.client.published_items(f"{y}-06-30")}
    as_july = {v.code: v for v in d.client.published_items(f"{y}-07-01")}
    assert as_june[d.task.item_code].version == 1
    assert as_july[d.task.item_code].version == 2
    assert d.client.published_items(f"{y - 1}-12-31") == []
    assert d.client.published_item(d.task.item_code, as_of=f"{y}-03-01").item.legal_basis == item.legal_basis
    history = d.client.item_versions(d.task.item_code)
    assert [(v.version, v.change_legal_basis) for v in history] == [
        (1, "工作规则第四条、第五条"),
        (2, "市场监管总局令第57号"),
    ]
    with pytest.raises(InvalidArgumentError) as caught:
        d.client.revise_item(revised, f"{y}-03-01", "回溯", "无")
    assert {v.field for v in caught.value.field_violations} >= {"effective_from", "item"}


def test_exports_stream_csv_and_json_lines(
    drawn: Drawn, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    d = drawn
    record_all(d)
    text = b"".join(
        d.client.export(
            publication_pb2.EXPORT_KIND_ASSIGNMENTS, publication_pb2.EXPORT_FORMAT_CSV, draw_id=d.draw.id
        )
    ).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["credit_code"] for r in rows] == [a.credit_code for a in d.assignments]
    lines = (
        b"".join(d.client.export(publication_pb2.EXPORT_KIND_RESULTS, publication_pb2.EXPORT_FORMAT_JSONL))
        .decode()
        .splitlines()
    )
    assert {json.loads(x)["record_id"] for x in lines} == {
        f"{d.draw.id}/{a.position}/v1" for a in d.assignments
    }
    out_file = tmp_path / "exclusions.jsonl"
    code, _, err = run_cli(
        capsys, d, "export", "exclusions", "--format", "jsonl", "--draw", d.draw.id, "-o", str(out_file)
    )
    assert code == 0, err
    exclusions = [json.loads(x) for x in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(exclusions) == len(list(d.client.iter_exclusions(d.draw.id))) > 0
    items = b"".join(
        d.client.export(publication_pb2.EXPORT_KIND_ITEMS, publication_pb2.EXPORT_FORMAT_CSV)
    ).decode()
    assert d.task.item_code in items
    with pytest.raises(InvalidArgumentError):
        list(d.client.export(publication_pb2.EXPORT_KIND_ASSIGNMENTS, publication_pb2.EXPORT_FORMAT_CSV))


def credit_feed(client: DualdrawClient, since: int) -> tuple[bytes, int]:
    data, checkpoint = b"", since
    for chunk in client.export_credit_records(since):
        data += chunk.data
        checkpoint = chunk.checkpoint
    return data, checkpoint


def test_credit_export_is_incremental_and_idempotent(drawn: Drawn) -> None:
    d = drawn
    record_all(d)
    assert credit_feed(d.client, 0) == (b"", 0)  # unpublished results never reach the credit record
    with pytest.raises(FailedPreconditionError) as nothing:
        d.client.publish_results(_incomplete(d))
    assert nothing.value.reason == "NOTHING_TO_PUBLISH"
    d.client.publish_results(d.draw.id)
    first, checkpoint = credit_feed(d.client, 0)
    records = [json.loads(x) for x in first.decode().splitlines()]
    assert len(records) == len(d.assignments)
    assert checkpoint > 0
    assert {r["credit_code"] for r in records} == {a.credit_code for a in d.assignments}
    assert all(r["schema"] == "dualdraw.credit-record/1" for r in records)
    assert credit_feed(d.client, 0) == (first, checkpoint)  # re-delivery: identical bytes and ids
    assert credit_feed(d.client, checkpoint) == (b"", checkpoint)

    position = d.assignments[1].position
    d.client.correct_result(
        result(d, position, results_pb2.OUTCOME_NOT_FOUND_AT_ADDRESS), reason="登记住所核查无此企业"
    )
    d.client.publish_results(d.draw.id)
    delta, later = credit_feed(d.client, checkpoint)
    (record,) = [json.loads(x) for x in delta.decode().splitlines()]
    assert record["record_id"] == f"{d.draw.id}/{position}/v2"
    assert record["supersedes"] == f"{d.draw.id}/{position}/v1"
    assert later > checkpoint


def _incomplete(d: Drawn) -> str:
    """A second draw with no results: nothing to publish yet."""
    s = demo_directory().suggested_task
    task = d.client.create_task(
        tasks_pb2.Task(
            item_code=s.item_code,
            department_id=s.department_id,
            ratio=decimal_pb(s.ratio),
            team_size=s.team_size,
        )
    )
    return publishable_draw(d.client, task.id, as_of=DEMO_AS_OF).id


def test_results_are_published_as_they_come_each_against_the_deadline_from_the_draw(
    drawn: Drawn, tmp_path: Path
) -> None:
    d = drawn
    first, second = d.assignments[0], d.assignments[1]
    with pytest.raises(FailedPreconditionError) as nothing:
        d.client.publish_results(d.draw.id)
    assert nothing.value.reason == "NOTHING_TO_PUBLISH"

    recorded = d.client.record_result(result(d, first.position))
    assert recorded.name == f"draws/{d.draw.id}/assignments/{first.position}/result"
    assert d.client.get_result(d.draw.id, first.position) == recorded  # GetResult takes that name
    one = d.client.publish_results(d.draw.id)  # the first result, without waiting for the others
    assert (one.revision, one.result_count) == (1, 1)
    calendar = HolidayCalendar()  # the test server's calendar: weekends only
    deadline = publication_deadline(calendar, Caller("x").today()).isoformat()
    assert date_text(one.deadline) == deadline
    [shown] = d.client.iter_published_results(draw_id=d.draw.id)
    assert (shown.position, date_text(shown.deadline), shown.on_time) == (first.position, deadline, True)
    assert shown.publish_time == one.publish_time
    assert date_text(d.client.published_draw(d.draw.id).deadline) == deadline
    # the others are still due: recorded or not, each one stays on the list until it is public
    [due] = d.client.pending_publications()
    assert due.draw_id == d.draw.id
    assert (due.unrecorded_results, due.unpublished_results) == (len(d.assignments) - 1, 0)
    first_feed, checkpoint = credit_feed(d.client, 0)
    assert [json.loads(x)["credit_code"] for x in first_feed.decode().splitlines()] == [first.credit_code]

    d.client.record_result(result(d, second.position))
    two = d.client.publish_results(d.draw.id)
    assert (two.revision, two.result_count) == (2, 2)
    by_position = {r.position: r for r in d.client.iter_published_results(draw_id=d.draw.id)}
    assert by_position[first.position].publish_time == one.publish_time  # published when it came
    assert by_position[second.position].publish_time == two.publish_time
    assert all(date_text(r.deadline) == deadline and r.on_time for r in by_position.values())
    later_feed, _ = credit_feed(d.client, checkpoint)  # only the newly published result
    assert [json.loads(x)["credit_code"] for x in later_feed.decode().splitlines()] == [second.credit_code]

    site = tmp_path / "site"
    assert dualdraw_cli.main(["publish", "site", str(site), "--server", d.served.target]) == 0
    page = (site / "draws" / f"{d.draw.id}.html").read_text(encoding="utf-8")
    assert '<th scope="col">公示日期</th>' in page
    assert page.count(f'<td data-label="公示日期">{Caller("x").today().isoformat()}</td>') == 2
