"""Directory filing with the level above (Art. 7) over real gRPC with authentication on, on the demo directory
(Tangshan city above its district branches): a branch's own operator files, only the city's operator decides,
a returned filing is superseded, the city sees each branch's status (stale once the directory changes) and
the differences, through the client library and the ``dualdraw filings`` commands."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from dualdraw.domain.draw.expert_draw import Qualification
from dualdraw.entrypoints.grpc.security.tokens import Principal, Role, mint_token
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer import directory, expert_draws
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import CITY, HIGH_TECH_ZONE, LUBEI, LUNAN, PROVINCE
from dualdraw.service_layer.demo_experts import demo_experts
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.ports import PageRequest
from dualdraw.v1 import filings_pb2 as pb
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main
from dualdraw_client.errors import FailedPreconditionError, InvalidArgumentError, PermissionDeniedError
from tests.security.conftest import KEYS, secured_settings


@pytest.fixture
def running(database_url: str) -> Iterator[RunningServer]:
    server = create_server(secured_settings(database_url, draw_process="off"))
    try:
        load_demo(server.services.unit_of_work)
        yield server
    finally:
        server.stop(grace=1)


def operator(running: RunningServer, department: str, role: Role = Role.DRAW_OPERATOR) -> DualdrawClient:
    token = mint_token(KEYS, Principal(f"op-{department}", role, department))
    return DualdrawClient(f"127.0.0.1:{running.port}", token=token, timeout=60)


def test_a_branch_files_and_the_city_decides(
    running: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        operator(running, LUNAN) as lunan,
        operator(running, LUBEI) as lubei,
        operator(running, CITY) as city,
        operator(running, PROVINCE) as province,
        operator(running, CITY, Role.AUDITOR) as city_auditor,
    ):
        for someone_else in (lubei, city, province):  # only the department's own operator files
            with pytest.raises(PermissionDeniedError):
                someone_else.submit_directory_filing(LUNAN)
        first = lunan.submit_directory_filing(LUNAN, note="2026 年度名录", request_id="filing-lunan-1")
        retry = lunan.submit_directory_filing(LUNAN, note="2026 年度名录", request_id="filing-lunan-1")
        assert retry == first  # the same request again: its first answer, no second filing
        assert first.name == f"directoryFilings/{LUNAN}.1"
        assert first.parent_department == f"departments/{CITY}"
        assert first.state == pb.DIRECTORY_FILING_STATE_SUBMITTED
        counts = {d.kind: d.count for d in first.directories}
        assert counts[pb.DIRECTORY_KIND_OBJECTS] > 0
        assert counts[pb.DIRECTORY_KIND_INSPECTORS] > 0
        with pytest.raises(FailedPreconditionError) as pending:
            lunan.submit_directory_filing(LUNAN)
        assert pending.value.reason == "DIRECTORY_FILING_PENDING"

        for not_the_parent in (lunan, lubei, province):  # only the city's operator decides
            with pytest.raises(PermissionDeniedError):
                not_the_parent.acknowledge_directory_filing(first.name)
        with pytest.raises(PermissionDeniedError):
            city_auditor.acknowledge_directory_filing(first.name)  # a reader, not an operator
        assert city_auditor.get_directory_filing(first.name) == first  # but it reads the filing

        statuses = {s.department: s for s in city.iter_child_filing_statuses()}
        assert {d: s.state for d, s in statuses.items()} == {
            f"departments/{LUNAN}": pb.CHILD_FILING_STATE_SUBMITTED,
            f"departments/{LUBEI}": pb.CHILD_FILING_STATE_NEVER_FILED,
            f"departments/{HIGH_TECH_ZONE}": pb.CHILD_FILING_STATE_NEVER_FILED,
        }
        added = list(city.iter_directory_filing_differences(filing=first.name, page_size=7))
        assert len(added) == sum(counts.values())
        assert {d.change for d in added} == {pb.RECORD_CHANGE_ADDED}

        with pytest.raises(InvalidArgumentError):
            city.return_directory_filing(first.name, pb.FILING_RETURN_REASON_OTHER)
        returned = city.return_directory_filing(
            first.name, pb.FILING_RETURN_REASON_TERRITORIAL_JURISDICTION, note="两户在路北区"
        )
        assert returned.state == pb.DIRECTORY_FILING_STATE_RETURNED
        assert returned.decider == f"op-{CITY}"
        second = lunan.submit_directory_filing(LUNAN)
        assert second.name == f"directoryFilings/{LUNAN}.2"
        assert lunan.get_directory_filing(first.name).superseded_by == second.name
        acknowledged = city.acknowledge_directory_filing(second.name)
        assert acknowledged.state == pb.DIRECTORY_FILING_STATE_ACKNOWLEDGED
        with pytest.raises(FailedPreconditionError) as decided:
            city.acknowledge_directory_filing(second.name)
        assert decided.value.reason == "DIRECTORY_FILING_NOT_SUBMITTED"
        listed = [f.name for f in city.iter_directory_filings(parent=CITY)]
        assert listed == [first.name, second.name]
        with pytest.raises(PermissionDeniedError):
            lubei.list_directory_filings(department=LUNAN)  # a sibling's filings are not its business

        # the branch's directory changes: an object moves up to the city
        with running.services.reader() as uow:
            moved = uow.directory.list_objects(PageRequest(size=1), [LUNAN]).items[0].credit_code
        directory.transfer_record(
            running.services.unit_of_work(), "object", moved, CITY, "上收", Caller("setup")
        )
        statuses = {s.department: s for s in city.iter_child_filing_statuses(CITY)}
        lunan_status = statuses[f"departments/{LUNAN}"]
        assert lunan_status.state == pb.CHILD_FILING_STATE_STALE
        assert lunan_status.last_acknowledged_filing == second.name
        live = list(city.iter_directory_filing_differences(department=LUNAN))
        assert [(d.kind, d.key, d.change) for d in live] == [
            (pb.DIRECTORY_KIND_OBJECTS, moved, pb.RECORD_CHANGE_REMOVED)
        ]

    city_token = mint_token(KEYS, Principal(f"op-{CITY}", Role.DRAW_OPERATOR, CITY))
    server = ["--server", f"127.0.0.1:{running.port}", "--token", city_token]
    capsys.readouterr()
    assert cli_main(["filings", "status", *server, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["department"]: r["state"] for r in rows}[f"departments/{LUNAN}"] == "CHILD_FILING_STATE_STALE"
    assert cli_main(["filings", "diff", "--department", LUNAN, *server]) == 0
    assert moved in capsys.readouterr().out
    assert cli_main(["--lang", "zh", "filings", "list", "--parent", CITY, *server]) == 0
    table = capsys.readouterr().out
    assert "已确认" in table
    assert "已退回" in table


def test_a_branch_files_its_experts_and_the_city_sees_them_change(
    running: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    experts, institutions, _ = demo_experts()
    with operator(running, HIGH_TECH_ZONE) as zone, operator(running, CITY) as city:
        filing = zone.submit_directory_filing(HIGH_TECH_ZONE)
        counts = {d.kind: d.count for d in filing.directories}
        assert counts[pb.DIRECTORY_KIND_EXPERTS] == len(experts)
        assert counts[pb.DIRECTORY_KIND_TESTING_INSTITUTIONS] == len(institutions)
        city.acknowledge_directory_filing(filing.name)
        renewed = dataclasses.replace(
            experts[2], qualifications=(Qualification(experts[2].qualifications[0].code, None),)
        )
        expert_draws.import_experts(
            running.services.unit_of_work(), HIGH_TECH_ZONE, [renewed], [], Caller("setup")
        )
        statuses = {s.department: s.state for s in city.iter_child_filing_statuses(CITY)}
        assert statuses[f"departments/{HIGH_TECH_ZONE}"] == pb.CHILD_FILING_STATE_STALE
        live = list(city.iter_directory_filing_differences(department=HIGH_TECH_ZONE))
        assert [(d.kind, d.key, d.change) for d in live] == [
            (pb.DIRECTORY_KIND_EXPERTS, renewed.id, pb.RECORD_CHANGE_CHANGED)
        ]

    city_token = mint_token(KEYS, Principal(f"op-{CITY}", Role.DRAW_OPERATOR, CITY))
    server = ["--server", f"127.0.0.1:{running.port}", "--token", city_token]
    capsys.readouterr()
    assert cli_main(["filings", "diff", "--department", HIGH_TECH_ZONE, *server, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [{"kind": "DIRECTORY_KIND_EXPERTS", "key": renewed.id, "change": "RECORD_CHANGE_CHANGED"}]
    assert cli_main(["--lang", "zh", "filings", "diff", "--department", HIGH_TECH_ZONE, *server]) == 0
    table = capsys.readouterr().out
    assert "专家" in table
    assert "变更" in table
    assert cli_main(["--lang", "zh", "filings", "list", "--parent", CITY, *server]) == 0
    listed = capsys.readouterr().out
    assert "专家" in listed
    assert "检验检测机构" in listed
    assert cli_main(["filings", "list", "--department", HIGH_TECH_ZONE, *server]) == 0
    header, row = capsys.readouterr().out.splitlines()[:2]
    assert header.split()[3:7] == ["OBJECTS", "INSPECTORS", "EXPERTS", "INSTITUTIONS"]
    assert row.split()[5:7] == [str(len(experts)), str(len(institutions))]
    zone_token = mint_token(KEYS, Principal(f"op-{HIGH_TECH_ZONE}", Role.DRAW_OPERATOR, HIGH_TECH_ZONE))
    zone_server = ["--server", f"127.0.0.1:{running.port}", "--token", zone_token]
    assert cli_main(["--lang", "zh", "filings", "submit", HIGH_TECH_ZONE, *zone_server]) == 0
    shown = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert (shown["专家"], shown["检验检测机构"]) == (str(len(experts)), str(len(institutions)))
