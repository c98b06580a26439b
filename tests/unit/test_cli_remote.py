"""The remote CLI commands against fake servicers: tables, --json output, error reporting and exit codes."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from dualdraw.v1 import directory_pb2, items_pb2
from dualdraw_client.cli import (
    REMOTE_COMMANDS,
    add_remote_commands,
    display_width,
    exit_code,
    format_table,
    is_remote,
    main,
    run_remote,
)
from dualdraw_client.cli.options import zoned_time
from dualdraw_client.dates import date_text
from tests.unit.test_client_fakes import RULE_SET_HASH, SEED, Fake, rich_status, serve, unused_target


@pytest.fixture
def fake() -> Fake:
    return Fake()


@pytest.fixture
def server(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fake server's address, also exported as DUALDRAW_SERVER (the default of --server)."""
    with serve(fake) as target:
        monkeypatch.setenv("DUALDRAW_SERVER", target)
        monkeypatch.setenv("DUALDRAW_ACTOR", "alice")
        yield target


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def column_starts(line: str, cells: list[str]) -> list[int]:
    """Display columns at which each of ``cells`` starts in ``line`` (searching left to right)."""
    starts, position = [], 0
    for cell in cells:
        index = line.index(cell, position)
        starts.append(display_width(line[:index]))
        position = index + len(cell)
    return starts


# -- tables ----------------------------------------------------------------------------------------------


def test_display_width_counts_wide_characters() -> None:
    assert display_width("abc") == 3
    assert display_width("唐山") == 4
    assert display_width("ｱ") == 1  # halfwidth katakana
    assert display_width("Ａ") == 2  # fullwidth latin
    assert display_width("e\u0301") == 1  # combining accent
    assert display_width("a\u200bb") == 2  # zero-width space


def test_format_table_aligns_cjk_and_right_aligns() -> None:
    lines = format_table(["NAME", "N"], [["唐山钢铁", "7"], ["Boiler Co.", "120"], ["多行\n名称", ""]], "lr")
    assert lines == [
        "NAME          N",
        "唐山钢铁      7",
        "Boiler Co.  120",
        "多行 名称",
    ]


def test_objects_list_table_lines_up_with_cjk(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "objects", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "CREDIT",
        "CODE",
        "NAME",
        "REGION",
        "DEPARTMENT",
        "INDUSTRY",
        "RISK",
        "STATUS",
        "BUSINESS",
        "LINES",
    ]
    assert len(lines) == 6  # header + 5 objects across 3 pages
    header = column_starts(lines[0], ["CREDIT CODE", "NAME", "REGION", "DEPARTMENT"])
    for line in lines[1:]:
        cells = line.split("  ")
        cells = [c.strip() for c in cells if c.strip()]
        assert column_starts(line, cells[:4]) == header
    assert "唐山钢铁有限公司" in lines[1]
    assert lines[1].split()[-3:-1] == ["C", "ACTIVE"]
    assert all(line == line.rstrip() for line in lines)


def test_objects_list_json_lines(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "objects", "list", "--json", "--limit", "3")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3
    assert rows[0]["credit_code"] == "91130200MA00000000"
    assert rows[0]["registering_department_id"] == "130203-GXQ"
    assert rows[0]["risk_class"] == "RISK_CLASS_C"
    assert rows[0]["display_name"] == "唐山钢铁有限公司"
    assert rows[0]["name"] == "objects/91130200MA00000000"
    assert rows[1]["business_lines"] == ["special_equipment"]


def test_objects_get(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "objects", "get", "91130200MA00000002")
    assert code == 0
    assert "credit code     91130200MA00000002" in out
    assert "risk class      C" in out
    code, out, _ = run(capsys, "objects", "get", "91130200MA00000002", "--json")
    assert json.loads(out)["office"] == "第一所"


def test_transfer_sends_kind_key_target_and_reason(
    server: str, fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "transfer", "inspector", "TS-0001", "--to", "130200-SJ", "--reason", "调动")
    assert code == 0
    assert out == "inspector TS-0001: 130202-LN -> 130200-SJ\n"
    (call,) = fake.calls_to("TransferRecord")
    request = call.request
    assert (request.kind, request.key, request.to_department_id, request.reason) == (
        directory_pb2.RECORD_KIND_INSPECTOR, "TS-0001", "130200-SJ", "调动",
    )  # fmt: skip
    assert request.request_id
    with pytest.raises(SystemExit) as usage:  # --reason is required
        main(["transfer", "object", "91130200MA00000002", "--to", "130200-SJ"])
    assert usage.value.code == 2
    assert "--reason" in capsys.readouterr().err


def test_draw_summary_and_teams(server: str, fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "draw", "t-1", "--as-of", "2025-03-01")
    assert (code, err) == (0, "")
    assert date_text(fake.calls_to("Draw")[0].request.as_of) == "2025-03-01"
    summary, table = out.split("\n\n")
    pairs = dict(_pair(line) for line in summary.splitlines())
    assert pairs["seed"] == SEED
    assert pairs["rule set"] == f"2025.1 {RULE_SET_HASH}"
    assert (pairs["in scope"], pairs["excluded"], pairs["eligible"], pairs["selected"]) == (
        "120",
        "8",
        "112",
        "3",
    )
    assert pairs["created"] == "2025-03-01 08:00:00+0800 by alice"
    rows = table.splitlines()
    assert rows[0].split() == ["#", "CREDIT", "CODE", "OBJECT", "STRATUM", "TEAM"]
    assert "*张三 (B001), Li Si (B002)" in rows[1]
    assert rows[1].startswith("1  91130200MA00000000  唐山钢铁有限公司")
    assert rows[-1] == "(* team leader)"


def _pair(line: str) -> tuple[str, str]:
    key, value = line.split("  ", 1)
    return key.strip(), value.strip()


def test_draw_json(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "draw", "t-1", "--json", "--request-id", "r-1")
    assert code == 0
    document = json.loads(out)
    assert document["draw"]["seed"] == SEED
    assert document["draw"]["in_scope_count"] == "120"  # int64 as a string (proto3 JSON mapping)
    assert len(document["assignments"]) == 3
    assert document["assignments"][0]["team"][0] == {"badge_number": "B001", "name": "张三", "leader": True}


def test_draw_requires_iso_date(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["draw", "t-1", "--as-of", "2025/03/01"])
    assert caught.value.code == 2
    assert "expected a date YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "header", "first"),
    [
        (["items", "list"], "CODE", "SE-001"),
        (["tasks", "list", "--department", "130203-GXQ"], "ID", "t-1"),
        (["draws", "list", "--task", "t-1"], "ID", "d-1"),
        (["assignments", "d-1"], "#", "1"),
        (["exclusions", "d-1"], "CREDIT", "91130200MA00000009"),
        (["inspectors", "list"], "BADGE", "B001"),
        (["departments", "list"], "ID", "13"),
        (["audit", "--resource", "tasks/t-2"], "SEQ", "2"),
    ],
)
def test_list_commands(
    server: str, capsys: pytest.CaptureFixture[str], argv: list[str], header: str, first: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[0] == header
    assert lines[1].split()[0] == first


def test_exclusions_columns(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "exclusions", "d-1")
    header, row = out.splitlines()
    assert header.split() == ["CREDIT", "CODE", "NAME", "RULE", "CATEGORY", "REASON"]
    assert row.split() == [
        "91130200MA00000009",
        "唐山某某锅炉厂",
        "R16-2-complaint",
        "complaint_handling",
        "投诉举报正在处理中",
    ]


def test_inspectors_specialities(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "inspectors", "list", "--department", "130203-GXQ")
    assert "SE (to 2026-12-31)" in out.splitlines()[1]
    assert out.splitlines()[3].split()[4] == "no"


def test_tasks_show_and_create(server: str, fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tasks", "show", "t-2")
    assert code == 0
    assert "industries  C13, C14" in out
    code, out, _ = run(
        capsys,
        "tasks", "create", "--item", "SE-001", "--department", "130203-GXQ", "--ratio", "0.05",
        "--team-size", "2", "--industry", "C13", "C14", "--industry", "C15", "--title", "专项", "--json",
    )  # fmt: skip
    assert code == 0
    created = json.loads(out)
    assert created["id"] == "t-new"
    request = fake.calls_to("CreateTask")[0].request
    assert list(request.task.scope.industries) == ["C13", "C14", "C15"]
    assert request.task.team_size == 2
    assert request.request_id


def test_items_create(server: str, fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "items", "create", "--code", "SE-009", "--name", "电梯安全", "--legal-basis", "特种设备安全法",
        "--business-line", "special_equipment", "--speciality", "SE", "--kind", "key",
        "--default-ratio", "0.1", "--department", "130203-GXQ", "--request-id", "r-9",
    )  # fmt: skip
    assert code == 0
    assert "kind            KEY" in out
    request = fake.calls_to("CreateInspectionItem")[0].request
    assert request.item.kind == items_pb2.ITEM_KIND_KEY
    assert request.item.default_ratio.value == "0.1"
    assert not request.item.HasField("testing_fee")  # not given: unset, the server's default
    assert request.request_id == "r-9"


def test_draws_show_and_items_show(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "draws", "show", "d-1")
    assert code == 0
    assert f"seed                   {SEED}" in out
    code, out, _ = run(capsys, "items", "show", "SE-002", "--json")
    assert json.loads(out)["kind"] == "ITEM_KIND_GENERAL"
    assert json.loads(out)["default_ratio"] == "0.05"  # a google.type.Decimal printed as its text


# -- options -------------------------------------------------------------------------------------------


def test_a_reveal_deadline_is_a_time_with_its_zone() -> None:
    assert zoned_time("2026-12-05T18:00:00+08:00") == zoned_time("2026-12-05T10:00:00Z")
    for bad in ("2026-12-05T18:00:00", "tomorrow"):
        with pytest.raises(argparse.ArgumentTypeError):
            zoned_time(bad)


def test_server_and_actor_options_override_env(
    fake: Fake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DUALDRAW_SERVER", unused_target())
    monkeypatch.setenv("DUALDRAW_ACTOR", "env-actor")
    with serve(fake) as target:
        assert run(capsys, "departments", "list", "--server", target, "--actor", "bob")[0] == 0
        monkeypatch.setenv("DUALDRAW_SERVER", target)
        assert run(capsys, "departments", "list")[0] == 0
    assert [c.metadata["x-dualdraw-actor"] for c in fake.calls_to("ListDepartments")][::2] == [
        "bob",
        "env-actor",
    ]


def test_parser_integrates_with_local_commands(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="dualdraw")
    subparsers = parser.add_subparsers(dest="command", required=True)
    serve_parser = subparsers.add_parser("serve")
    serve_parser.add_argument("--address")
    add_remote_commands(subparsers)
    assert not is_remote(parser.parse_args(["serve", "--address", "x"]))
    args = parser.parse_args(["tasks", "list", "--json"])
    assert is_remote(args)
    assert args.command in REMOTE_COMMANDS
    assert run_remote(args) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


# -- errors and exit codes -----------------------------------------------------------------------------


def test_exit_codes() -> None:
    assert exit_code(grpc.StatusCode.INVALID_ARGUMENT) == 2
    assert exit_code(grpc.StatusCode.NOT_FOUND) == 2
    assert exit_code(grpc.StatusCode.FAILED_PRECONDITION) == 2
    assert exit_code(grpc.StatusCode.ALREADY_EXISTS) == 2
    assert exit_code(grpc.StatusCode.UNAVAILABLE) == 3
    assert exit_code(grpc.StatusCode.DEADLINE_EXCEEDED) == 3
    assert exit_code(grpc.StatusCode.INTERNAL) == 1
    assert exit_code(grpc.StatusCode.PERMISSION_DENIED) == 1


def test_invalid_argument_is_reported_with_violations(
    server: str, fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail["CreateTask"] = rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid task",
        "INVALID_TASK",
        [("task.ratio", "must be in (0, 1]")],
    )
    code, out, err = run(
        capsys, "tasks", "create", "--item", "SE-001", "--department", "D", "--ratio", "2", "--team-size", "2"
    )
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "error: INVALID_ARGUMENT: invalid task [INVALID_TASK]",
        "  task.ratio: must be in (0, 1]",
    ]


@pytest.mark.parametrize(
    ("status", "expected_code", "expected_err"),
    [
        (rich_status(grpc.StatusCode.FAILED_PRECONDITION, "only 1 inspector", "TOO_FEW_INSPECTORS"), 2,
         "error: FAILED_PRECONDITION: only 1 inspector [TOO_FEW_INSPECTORS]"),
        (rich_status(grpc.StatusCode.ALREADY_EXISTS, "task t-1 was drawn", "DRAW_EXISTS"), 2,
         "error: ALREADY_EXISTS: task t-1 was drawn [DRAW_EXISTS]"),
        (rich_status(grpc.StatusCode.NOT_FOUND, "no task t-1", "NOT_FOUND"), 2,
         "error: NOT_FOUND: no task t-1"),
        (rich_status(grpc.StatusCode.UNAVAILABLE, "rules engine down", "RULES_ENGINE_UNAVAILABLE"), 3,
         "error: UNAVAILABLE: rules engine down [RULES_ENGINE_UNAVAILABLE]"),
        (rich_status(grpc.StatusCode.INTERNAL, "bug"), 1, "error: INTERNAL: bug"),
    ],
)  # fmt: skip
def test_draw_errors_exit_codes(
    server: str,
    fake: Fake,
    capsys: pytest.CaptureFixture[str],
    status: grpc.Status,
    expected_code: int,
    expected_err: str,
) -> None:
    fake.fail["Draw"] = status
    code, out, err = run(capsys, "draw", "t-1")
    assert (code, out) == (expected_code, "")
    assert err.splitlines()[0] == expected_err
    assert len(err.splitlines()) == (2 if expected_code == 3 else 1)  # transient: plus the --request-id note


def test_unreachable_server_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tasks", "list", "--server", unused_target(), "--timeout", "5")
    assert code == 3
    assert err.startswith("error: UNAVAILABLE: ")


def test_deadline_exits_3(server: str, fake: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    fake.delay["GetTask"] = 1.0
    code, _, err = run(capsys, "tasks", "show", "t-1", "--timeout", "0.1")
    assert code == 3
    assert err.startswith("error: DEADLINE_EXCEEDED: ")


def test_non_ascii_actor_is_a_usage_error(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tasks", "list", "--actor", "张三")
    assert code == 2
    assert "printable ASCII" in err


# -- import ----------------------------------------------------------------------------------------------


def test_import_csv_and_jsonl(
    server: str, fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "objects.csv").write_text(
        "credit_code,name,risk_class,business_lines\n"
        "91130200MA00000001,唐山钢铁,C,special_equipment;product_quality\n"
        "91130200MA00000002,曹妃甸容器,B,special_equipment\n"
        "91130200MA00000003,丰南电梯,A,\n",
        encoding="utf-8",
    )
    (tmp_path / "misc.jsonl").write_text(
        '{"kind": "department", "id": "13", "name": "河北"}\n{"kind": "inspector", "badge_number": "B1"}\n',
        encoding="utf-8",
    )
    code, out, err = run(
        capsys, "import", str(tmp_path / "objects.csv"), str(tmp_path / "misc.jsonl"), "--chunk-records", "2"
    )
    assert (code, err) == (0, "")
    assert len(fake.import_chunks) == 3
    assert fake.import_chunks[0].request_id
    assert fake.import_chunks[0].objects[0].business_lines == ["special_equipment", "product_quality"]
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "IMPORTED"]
    assert ["objects", "3"] in [line.split() for line in lines]
    assert ["departments", "1"] in [line.split() for line in lines]
    assert lines[2] == "objects" + " " * 24 + "3"  # counts right-aligned under IMPORTED
    assert lines[-1].startswith("5 records read from 2 file(s); imported at 2025-03-01 08:00:00+0800")


def test_import_json_output(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "deps.csv").write_text("id,name,level\n13,河北,1\n", encoding="utf-8")
    code, out, _ = run(capsys, "import", str(tmp_path / "deps.csv"), "--kind", "departments", "--json")
    assert code == 0
    assert json.loads(out)["departments"] == "1"


def test_import_bad_line_reports_file_line_and_commits_nothing(
    server: str, fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["credit_code,name,risk_class"] + [f"91130200MA0000000{i},对象{i},C" for i in range(5)]
    lines.append("91130200MA00000009,坏记录,Z")
    path = tmp_path / "objects.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "import", str(path), "--chunk-records", "2")
    assert (code, out) == (2, "")
    assert err == f"error: {path}:7: risk_class: unknown RiskClass 'Z'; expected one of A, B, C, D\n"
    # The client cancels its stream; the cancel may reach the server before its handler starts, and then
    # no handler runs at all. Either way nothing is committed and no chunk claims to be the last.
    fake.import_aborted.wait(5)
    assert not fake.import_committed
    assert not any(chunk.last_chunk for chunk in fake.import_chunks)


def test_import_missing_file(server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "import", str(tmp_path / "objects.csv"))
    assert code == 2
    assert err.startswith("error: [Errno 2] No such file or directory")


def test_import_server_violations_point_at_file_lines(
    server: str, fake: Fake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.fail["ImportDirectory.commit"] = rich_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        "1 invalid record",
        "INVALID_CREDIT_CODE",
        [("objects[1].credit_code", "check character mismatch"), ("request_id", "too long")],
    )
    path = tmp_path / "objects.csv"
    path.write_text("credit_code\n91130200MA00000001\n\n91130200MA0000000X\n", encoding="utf-8")
    code, _, err = run(capsys, "import", str(path))
    assert code == 2
    assert err.splitlines() == [
        "error: INVALID_ARGUMENT: 1 invalid record [INVALID_CREDIT_CODE]",
        f"  {path}:4: credit_code (objects[1].credit_code): check character mismatch",
        "  request_id: too long",
    ]


def test_transient_failure_of_a_mutation_suggests_the_request_id(
    server: str, fake: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.delay["Draw"] = 1.0
    code, _, err = run(capsys, "draw", "t-1", "--timeout", "0.1")
    assert code == 3
    request_id = fake.calls_to("Draw")[0].request.request_id
    assert err.splitlines()[1] == (
        "note: the request may or may not have been applied; to retry safely, repeat the command"
        f" with --request-id {request_id}"
    )
