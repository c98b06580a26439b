"""Checklists and inspection records over gRPC (Art. 4, 11, 12): the demo's planned draw, its first
assignment inspected and recorded (from a JSON file through the CLI), revised with a reason; a non-member's
signature and a missing finding refused; the canonical hash the record carries is the one the audit log
committed and the one recomputed from the stored content; a changed row is found by the hash check."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from google.protobuf import json_format

from dualdraw.domain.inspection_records import record_hash
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer import inspection_records
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.demo_loader import load_demo, load_demo_plan
from dualdraw.service_layer.ports import PageRequest
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, inspection_records_pb2, tasks_pb2
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main
from dualdraw_client.errors import AlreadyExistsError, InvalidArgumentError
from tests.e2e.conftest import RULES
from tests.evidence_helpers import upload_bytes

_ir = inspection_records_pb2


@dataclass
class Drawn:
    running: RunningServer
    target: str
    client: DualdrawClient
    assignment: draws_pb2.Assignment
    photo: tuple[str, int]
    """An uploaded JPEG to attach."""

    @property
    def assignment_name(self) -> str:
        return f"draws/{self.assignment.draw_id}/assignments/{self.assignment.position}"


@pytest.fixture
def drawn(database_url: str, tmp_path: Path) -> Iterator[Drawn]:
    """The demo with its published plan (item list, checklists), entry e1 drawn and executed."""
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        draw_process="off",
        allow_local_entropy=True,  # development mode: the one-step draw uses a local secret
        evidence_dir=tmp_path / "evidence",
    )
    running = create_server(settings)
    try:
        load_demo(running.services.unit_of_work)
        plan = load_demo_plan(running.services.unit_of_work)
        target = f"127.0.0.1:{running.port}"
        with DualdrawClient(target, actor="inspector", timeout=60) as client:
            task = client.create_task(
                tasks_pb2.Task(
                    department_id=HIGH_TECH_ZONE, team_size=2, plan_id=plan.plan_id, plan_entry_id="e1"
                )
            )
            draw = client.draw(task.id)
            first = next(client.iter_assignments(draw.id))
            photo = upload_bytes(client, tmp_path, b"the pressure vessel's plate", "plate.jpg")
            yield Drawn(running, target, client, first, photo)
    finally:
        running.stop(grace=1)


def _record(d: Drawn, *, members: list[str] | None = None, skip: str = "") -> _ir.InspectionRecord:
    checklist = d.client.get_checklist("TS-SE-01")
    now = dt.datetime.now(dt.UTC)
    leader = next(m.badge_number for m in d.assignment.team if m.leader)
    record = _ir.InspectionRecord(
        assignment=d.assignment_name,
        place="高新区建设路1号",
        members_present=members if members is not None else [m.badge_number for m in d.assignment.team],
        acknowledgement=_ir.ACKNOWLEDGEMENT_ACKNOWLEDGED,
        attachments=[_ir.EvidenceFile(sha256=d.photo[0], size=d.photo[1], content_type="image/jpeg")],
    )
    record.start_time.FromDatetime(now - dt.timedelta(microseconds=1))
    record.end_time.FromDatetime(now)
    for point in checklist.check_points:
        if point.id == skip:
            continue
        finding = record.findings.add(check_point_id=point.id, finding=_ir.CHECK_FINDING_COMPLIANT)
        if point.id == "SE-2":
            finding.finding = _ir.CHECK_FINDING_NON_COMPLIANT
            finding.note = "压力容器定期检验已超期"
    assert leader in record.members_present or members is not None
    return record


def _logged_hashes(d: Drawn, name: str) -> list[tuple[str, int, str]]:
    return [
        (e.action, json.loads(e.after_json)["version"], json.loads(e.after_json)["content_hash"])
        for e in d.client.iter_audit_events(resource=name)
    ]


def test_an_inspection_is_recorded_revised_and_committed_to_the_audit_log(
    drawn: Drawn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = drawn
    checklist = d.client.get_checklist("TS-SE-01")
    assert [p.id for p in checklist.check_points] == ["SE-1", "SE-2", "SE-3", "SE-4"]
    path = tmp_path / "record.json"
    path.write_text(json_format.MessageToJson(_record(d)), encoding="utf-8")
    assert cli_main(["records", "create", "--file", str(path), "--json", "--server", d.target]) == 0
    created = json.loads(capsys.readouterr().out)
    name = created["name"]
    assert (created["version"], created["checklist_revision"], created["item_version"]) == (1, 1, 1)
    assert created["credit_code"] == d.assignment.credit_code

    with pytest.raises(AlreadyExistsError) as again:
        d.client.create_inspection_record(_record(d))
    assert again.value.reason == "RECORD_EXISTS"

    revised_body = _record(d)
    revised_body.refusal_reason = ""
    revised_body.place = "高新区建设路1号二号车间"
    revised = d.client.revise_inspection_record(name, revised_body, "补记检查地点为二号车间")
    assert (revised.version, revised.revision_reason) == (2, "补记检查地点为二号车间")
    versions = d.client.inspection_record_versions(name)
    assert [(v.version, v.place) for v in versions] == [
        (1, "高新区建设路1号"),
        (2, "高新区建设路1号二号车间"),
    ]
    assert d.client.get_inspection_record(name, 1).content_hash == created["content_hash"]

    with d.running.services.unit_of_work() as uow:
        stored = uow.inspection_records.history(name.removeprefix("inspectionRecords/"))
    recomputed = [record_hash(r) for r in stored]
    assert recomputed == [v.content_hash for v in versions]
    assert _logged_hashes(d, name) == [
        ("inspection_record.create", 1, recomputed[0]),
        ("inspection_record.revise", 2, recomputed[1]),
    ]
    assert inspection_records.check_record_hashes(d.running.services.unit_of_work()) == []
    assert d.client.verify_log().ok

    listed = list(d.client.iter_inspection_records(draw_id=d.assignment.draw_id))
    assert [(r.name, r.version) for r in listed] == [(name, 2)]
    assert cli_main(["--lang", "zh", "records", "get", name, "--server", d.target]) == 0
    assert "到场检查人员" in capsys.readouterr().out

    with d.running.store.engine.begin() as connection:  # someone edits the stored place of version 1
        connection.execute(
            sa.text(
                "UPDATE inspection_records SET document_json = "
                "replace(document_json, '建设路1号\"', '建设路9号\"') WHERE version = 1"
            )
        )
    (mismatch,) = inspection_records.check_record_hashes(d.running.services.unit_of_work())
    assert (mismatch.record_id, mismatch.version) == (name.removeprefix("inspectionRecords/"), 1)
    verdict = d.client.verify_log()  # the log itself is intact; the record no longer matches it
    assert not verdict.ok
    assert verdict.problem.startswith(f"inspection record {mismatch.record_id} version 1: ")


def test_a_non_member_signature_and_a_missing_finding_are_refused(drawn: Drawn) -> None:
    d = drawn
    team = [m.badge_number for m in d.assignment.team]
    with pytest.raises(InvalidArgumentError) as outsider:
        d.client.create_inspection_record(_record(d, members=[*team, "NOT-ON-TEAM"]))
    assert [(v.field, v.reason) for v in outsider.value.field_violations] == [
        (f"inspection_record.members_present[{len(team)}]", "NOT_A_TEAM_MEMBER")
    ]
    with pytest.raises(InvalidArgumentError) as missing:
        d.client.create_inspection_record(_record(d, skip="SE-3"))
    assert missing.value.reason == "FINDING_MISSING"
    assert "SE-3" in missing.value.field_violations[0].description
    assert list(d.client.iter_inspection_records(draw_id=d.assignment.draw_id)) == []


def test_a_checklist_revision_from_a_json_file_applies_to_the_next_record(
    drawn: Drawn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = drawn
    current = d.client.get_checklist("TS-SE-01")
    revised = json.loads(json_format.MessageToJson(current, preserving_proto_field_name=True))
    revised["check_points"] = revised["check_points"][:2]
    revised["change_reason"] = "合并检查项"
    for output_only in ("name", "revision", "create_time", "creator", "effective_date"):
        revised.pop(output_only, None)
    path = tmp_path / "checklist.json"
    path.write_text(json.dumps(revised, ensure_ascii=False), encoding="utf-8")
    argv = ["checklists", "set", "TS-SE-01", "--file", str(path), "--json", "--server", d.target]
    assert cli_main(argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["revision"], shown["item_version"], len(shown["check_points"])) == (2, 1, 2)
    assert [c.revision for c in d.client.checklist_revisions("TS-SE-01")] == [1, 2]

    record = _record(d)
    del record.findings[2:]  # the two check points of revision 2
    stored = d.client.create_inspection_record(record)
    assert (stored.checklist, stored.checklist_revision) == ("items/TS-SE-01/checklist", 2)

    path.write_text("{not json", encoding="utf-8")
    assert cli_main(argv) == 2
    assert "checklist.json" in capsys.readouterr().err


def test_a_record_cites_only_uploaded_evidence_with_its_size_and_type(drawn: Drawn, tmp_path: Path) -> None:
    d = drawn
    report = upload_bytes(d.client, tmp_path, b"%PDF-1.7 a laboratory report", "report.pdf")
    scan = upload_bytes(d.client, tmp_path, b"%PDF-1.7 a scanned licence", "licence.pdf")
    record = _record(d)
    del record.attachments[:]
    record.attachments.extend(
        [
            _ir.EvidenceFile(sha256=d.photo[0], size=d.photo[1], content_type="image/jpeg"),  # good
            _ir.EvidenceFile(sha256=report[0], size=report[1], content_type="image/jpeg"),
            _ir.EvidenceFile(sha256=d.photo[0][::-1], size=d.photo[1], content_type="image/jpeg"),
            _ir.EvidenceFile(sha256=scan[0], size=scan[1] + 1, content_type="application/pdf"),
            _ir.EvidenceFile(sha256="ab" * 32, size=2048, content_type="image/jpeg"),
        ]
    )
    with pytest.raises(InvalidArgumentError) as refused:
        d.client.create_inspection_record(record)
    assert sorted((v.field, v.reason) for v in refused.value.field_violations) == [
        ("inspection_record.attachments[1].content_type", "EVIDENCE_TYPE_MISMATCH"),
        ("inspection_record.attachments[2].sha256", "EVIDENCE_NOT_UPLOADED"),
        ("inspection_record.attachments[3].size", "EVIDENCE_SIZE_MISMATCH"),
        ("inspection_record.attachments[4].sha256", "EVIDENCE_NOT_UPLOADED"),
    ]
    with d.running.services.reader() as uow:
        assert uow.inspection_records.list_current(PageRequest(10), None, None).items == []
    created = d.client.create_inspection_record(_record(d))
    assert [(a.sha256, a.size) for a in created.attachments] == [d.photo]
