"""Experts drawn for a demo draw through the real gRPC server and the command line (§8.2): the demo's
directory and requirement, a development draw executed at once and verified, a beacon draw committed and
waiting, the offline tamper check, and a department importing only its own records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from dualdraw.entrypoints.cli.main import main as verify_main
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, HIGH_TECH_ZONE, LUBEI
from dualdraw.v1 import experts_pb2
from dualdraw_client import DualdrawClient, FailedPreconditionError
from dualdraw_client.cli import main as cli_main

from .conftest import Served
from .test_draw_e2e import demo_task


def _sql(database_url: str, statement: str, **params: object) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def test_experts_are_drawn_for_a_demo_draw_and_verify(
    demo_served: Served,
    client: DualdrawClient,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    experts = list(client.iter_experts(department_id=HIGH_TECH_ZONE))
    assert len(experts) == 6
    assert [r.qualification for r in client.list_expert_requirements("TS-SE-01").expert_requirements] == [
        "special_equipment"
    ]
    draw = client.draw(demo_task(client).id, as_of=DEMO_AS_OF)
    xd = client.create_expert_draw(draw.id, "expert", request_id="experts-1")
    assert xd.state == experts_pb2.EXPERT_DRAW_STATE_EXECUTED
    assert client.create_expert_draw(draw.id, "expert", request_id="experts-1") == xd  # a retry: no second
    assert xd.entropy_note  # a development server: a local secret, marked
    assignments = {a.position: a.credit_code for a in client.iter_assignments(draw.id)}
    assert {s.position: s.credit_code for s in xd.selections} == assignments
    chosen = {m for s in xd.selections for m in s.member_ids}
    assert "GXQ-E03" not in chosen  # the lapsed certificate
    lines = {c["id"]: c for c in json.loads(xd.inputs_json)["candidates"]}
    for s in xd.selections:
        assert s.credit_code not in lines[s.member_ids[0]]["conflicts"]
        assert s.credit_code != lines[s.member_ids[0]]["own"]
    name = xd.name.removeprefix("expertDraws/")
    assert client.verify_expert_draw(name).match
    assert [x.name for x in client.iter_expert_draws(draw.id)] == [xd.name]

    assert cli_main(["experts", "verify", name, "--server", demo_served.target]) == 0
    assert cli_main(["experts", "show", name, "--server", demo_served.target, "--json"]) == 0
    printed = capsys.readouterr().out.split("\n", 1)[1]
    shown = json.loads(printed)
    assert shown["name"] == xd.name
    # offline, from the shown document alone: dualdraw verify recomputes it
    record = tmp_path / "expert-draw.json"
    record.write_text(printed, encoding="utf-8")
    assert verify_main(["verify", str(record)]) == 0
    assert "MATCH" in capsys.readouterr().out
    forged = json.loads(printed)
    result = json.loads(forged["result_json"])
    result["selections"][0]["selected"][0]["id"] = (
        "GXQ-E05" if xd.selections[0].member_ids[0] != "GXQ-E05" else "GXQ-E06"
    )
    forged["result_json"] = json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    forged["result_hash"] = hashlib.sha256(forged["result_json"].encode("utf-8")).hexdigest()
    record.write_text(json.dumps(forged), encoding="utf-8")
    assert verify_main(["verify", str(record)]) == 1
    assert "MISMATCH: selection: position" in capsys.readouterr().out

    # an insider swaps a drawn expert by SQL: the re-derivation names it
    other = next(i for i in lines if i not in xd.selections[0].member_ids and i != "GXQ-E03")
    _sql(
        database_url,
        "UPDATE expert_selections SET member_id = :m WHERE expert_draw_id = :x AND position = :p",
        m=other,
        x=name,
        p=xd.selections[0].position,
    )
    verdict = client.verify_expert_draw(name)
    assert not verdict.match
    assert verdict.problem.startswith("rows:")
    assert cli_main(["--lang", "zh", "experts", "verify", name, "--server", demo_served.target]) == 1
    assert "不一致" in capsys.readouterr().out


def test_a_beacon_expert_draw_waits_for_its_round_and_an_item_without_a_need_is_refused(
    demo_served: Served, client: DualdrawClient
) -> None:
    draw = client.draw(demo_task(client).id, as_of=DEMO_AS_OF)
    committed = client.create_expert_draw(draw.id, "expert", beacon="drand-quicknet")
    assert committed.state == experts_pb2.EXPERT_DRAW_STATE_COMMITTED
    assert json.loads(committed.entropy_source)["kind"] == "beacon"
    assert not committed.selections
    assert client.verify_expert_draw(committed.name.removeprefix("expertDraws/")).match
    with pytest.raises(FailedPreconditionError) as refused:
        client.create_expert_draw(draw.id, "institution")  # TS-SE-01 needs no testing institution
    assert refused.value.reason == "NO_EXPERT_REQUIREMENT"


def test_the_command_line_imports_a_departments_own_records_only(
    demo_served: Served, client: DualdrawClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "experts.jsonl"
    path.write_text(
        json.dumps({"id": "LB-E01", "display_name": "陈专家", "qualifications": [{"code": "metrology"}]})
        + "\n"
        + json.dumps(
            {
                "kind": "institution",
                "id": "LB-L01",
                "display_name": "路北检测站",
                "credit_code": "12130200MB0C536133",
                "qualifications": [{"code": "product_testing", "expires_on": "2030-01-01"}],
            }
        )
        + "\n",
        encoding="utf-8",
    )
    argv = ["experts", "import", str(path), "--department", LUBEI, "--server", demo_served.target, "--json"]
    assert cli_main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"expert_count": 1, "testing_institution_count": 1}
    assert [e.name for e in client.iter_experts(department_id=LUBEI)] == ["experts/LB-E01"]
    # the high-tech zone's expert cannot be taken over by another department's import
    path.write_text(
        json.dumps({"id": "GXQ-E01", "display_name": "x", "qualifications": [{"code": "x"}]}) + "\n"
    )
    assert (
        cli_main(["experts", "import", str(path), "--department", LUBEI, "--server", demo_served.target]) == 2
    )
    assert "DEPARTMENT_CHANGE_NEEDS_TRANSFER" in capsys.readouterr().err
