"""Experts and testing institutions drawn for an executed draw (docs/DRAW-ALGORITHM.md §8.2), through the use
cases on a real SQLite and PostgreSQL store: who is barred (qualification, expiry, conflicts, employer, the
object itself, recent service), refusal before the entropy, beacon entropy, and tampering caught."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from google.protobuf import json_format

from dualdraw.adapters.store import Store
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.draw.beacon import DRAND_QUICKNET
from dualdraw.domain.draw.expert_draw import Expert, Qualification, Requirement, TestingInstitution
from dualdraw.domain.errors import FailedPrecondition, InvalidArgument
from dualdraw.domain.model import Draw
from dualdraw.entrypoints.grpc.experts_servicer import expert_draw_to_pb
from dualdraw.service_layer import expert_draws, publication
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import HIGH_TECH_ZONE
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import LOCAL_SECRET_MARK, EntropyPolicy
from dualdraw.verifier.expert_draws import verify_expert_draw_document

from .test_annual_plan import CALLER, NO_RULES, NoExclusions, planned_task, published_plan

DEVELOPMENT = EntropyPolicy(allow_local=True)
PRODUCTION = EntropyPolicy()
# quicknet round 30662982 and its signature, as published (tests/e2e/test_beacon_entropy_e2e.py)
ROUND = 30662982
SIGNATURE = "8b3edd0d42a2fa36ac15641a2dea2e4f4895acec2ef72ef39e5b6138f0346fb6b046dde1b4b3d09ff5fe8a6a7acd674a"
BEFORE_ROUND = DRAND_QUICKNET.round_time(ROUND) - dt.timedelta(minutes=5)
FOOD = "food-safety"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store.from_url(database_url)
    load_demo(store.unit_of_work)
    publication.publish_item_list(
        store.unit_of_work(),
        effective_from=dt.date(2026, 1, 1),
        change_summary="first list",
        change_legal_basis="Art. 5",
        caller=Caller(actor="planner", now=dt.datetime(2025, 12, 20, tzinfo=dt.UTC)),
    )
    yield store
    store.dispose()


def _drawn(store: Store) -> Draw:
    plan_id, entry_id = published_plan(store)
    task = planned_task(store, plan_id, entry_id, rehearsal=True, period=1)
    return run_draw(
        store.unit_of_work(), NoExclusions(), NO_RULES, task_id=task.id, as_of=dt.date(2026, 5, 1),
        caller=CALLER, entropy=DEVELOPMENT,
    ).draw  # fmt: skip


def _codes(store: Store, draw: Draw) -> list[str]:
    with store.unit_of_work() as uow:
        record = uow.draws.get_record(draw.id)
        assert record is not None
        return [a.credit_code for a in sorted(record.assignments, key=lambda a: a.position)]


def _item(draw: Draw) -> str:
    return str(json.loads(draw.manifest_json)["task"]["item_code"])


def _experts(codes: list[str]) -> list[Expert]:
    d = HIGH_TECH_ZONE
    return [
        Expert("X-01", "张专家", d, (Qualification(FOOD, dt.date(2027, 1, 1)),)),
        Expert("X-02", "李专家", d, (Qualification(FOOD, None),), conflicts=frozenset({codes[0]})),
        Expert("X-03", "王专家", d, (Qualification(FOOD, dt.date(2026, 4, 30)),)),  # expired before 05-01
        Expert(
            "X-04", "赵专家", d, (Qualification(FOOD, dt.date(2026, 5, 1)),), employer_credit_code=codes[0]
        ),
        Expert("X-05", "钱专家", d, (Qualification("boilers", None),)),
        Expert("X-06", "孙专家", d, (Qualification(FOOD, None),)),
        Expert("X-07", "周专家", d, (Qualification(FOOD, None),)),
        Expert("X-08", "吴专家", d, (Qualification(FOOD, None),)),
        Expert("X-09", "郑专家", d, (Qualification(FOOD, None),)),
    ]


def test_experts_are_drawn_from_the_qualified_unconflicted_and_verify(store: Store) -> None:
    draw = _drawn(store)
    codes = _codes(store, draw)
    assert codes
    expert_draws.import_experts(store.unit_of_work(), HIGH_TECH_ZONE, _experts(codes), [], CALLER)
    expert_draws.set_requirement(store.unit_of_work(), Requirement(_item(draw), "expert", FOOD, 2), CALLER)
    xd = expert_draws.commit_expert_draw(
        store.unit_of_work(), expert_draws.ExpertDrawRequest(draw.id), CALLER, entropy=DEVELOPMENT
    )
    assert xd.state == "executed"
    assert expert_draws.entropy_note_of(xd) == LOCAL_SECRET_MARK
    result = json.loads(xd.result_json)
    chosen = {s["credit_code"]: [c["id"] for c in s["selected"]] for s in result["selections"]}
    assert set(chosen) == set(codes)
    everyone = {i for ids in chosen.values() for i in ids}
    assert not everyone & {"X-03", "X-05"}  # expired the day before; another speciality
    assert "X-02" not in chosen[codes[0]]  # declared conflict
    assert "X-04" not in chosen[codes[0]]  # employed by the object
    assert all(len(ids) == 2 for ids in chosen.values())
    inputs = json.loads(xd.inputs_json)
    assert [c["id"] for c in inputs["candidates"]] == [
        "X-01",
        "X-02",
        "X-03",
        "X-04",
        "X-06",
        "X-07",
        "X-08",
        "X-09",
    ]
    assert expert_draws.verify_expert_draw(store.unit_of_work(), xd.id) == ""

    # Avoidance: a second expert draw for the same objects leaves out whoever served each one.
    again = expert_draws.commit_expert_draw(
        store.unit_of_work(), expert_draws.ExpertDrawRequest(draw.id), CALLER, entropy=DEVELOPMENT
    )
    lines = {c["id"]: c for c in json.loads(again.inputs_json)["candidates"]}
    for code, ids in chosen.items():
        for i in ids:
            assert code in lines[i]["recent"]
    for s in json.loads(again.result_json)["selections"]:
        assert not {c["id"] for c in s["selected"]} & set(chosen[s["credit_code"]])
    assert {x.id for x in expert_draws.expert_draws_of(store.unit_of_work(), draw.id)} == {xd.id, again.id}


def test_too_few_candidates_refuse_before_the_entropy_and_write_nothing(store: Store) -> None:
    draw = _drawn(store)
    codes = _codes(store, draw)
    expert_draws.import_experts(store.unit_of_work(), HIGH_TECH_ZONE, _experts(codes), [], CALLER)
    expert_draws.set_requirement(store.unit_of_work(), Requirement(_item(draw), "expert", FOOD, 6), CALLER)
    with pytest.raises(FailedPrecondition) as refused:
        expert_draws.commit_expert_draw(
            store.unit_of_work(), expert_draws.ExpertDrawRequest(draw.id), CALLER, entropy=DEVELOPMENT
        )
    assert refused.value.reason == "TOO_FEW_EXPERTS"
    assert codes[0] in refused.value.metadata["objects"]
    assert "declared conflict" in refused.value.metadata["constraints"]
    assert expert_draws.expert_draws_of(store.unit_of_work(), draw.id) == []
    with pytest.raises(FailedPrecondition) as none:
        expert_draws.commit_expert_draw(
            store.unit_of_work(), expert_draws.ExpertDrawRequest(draw.id, kind="institution"), CALLER,
            entropy=DEVELOPMENT,
        )  # fmt: skip
    assert none.value.reason == "NO_EXPERT_REQUIREMENT"


def test_an_institution_is_never_the_object_itself_and_a_beacon_round_gives_the_entropy(store: Store) -> None:
    draw = _drawn(store)
    codes = _codes(store, draw)
    own = make_credit_code("9", "1", "130200", "77000001")
    labs = [
        TestingInstitution("L-1", "检测一所", HIGH_TECH_ZONE, codes[0], (Qualification("GB 2762", None),)),
        TestingInstitution("L-2", "检测二所", HIGH_TECH_ZONE, own, (Qualification("GB 2762", None),)),
    ]
    expert_draws.import_experts(store.unit_of_work(), HIGH_TECH_ZONE, [], labs, CALLER)
    expert_draws.set_requirement(
        store.unit_of_work(), Requirement(_item(draw), "institution", "GB 2762", 1), CALLER
    )
    early = Caller(actor="operator", now=BEFORE_ROUND)
    request = expert_draws.ExpertDrawRequest(draw.id, kind="institution", beacon_round=ROUND)
    xd = expert_draws.commit_expert_draw(store.unit_of_work(), request, early, entropy=PRODUCTION)
    assert xd.state == "committed"
    assert expert_draws.verify_expert_draw(store.unit_of_work(), xd.id) == ""
    with pytest.raises(FailedPrecondition) as invented:
        expert_draws.execute_expert_draw(
            store.unit_of_work(), expert_draw_id=xd.id, beacon_value="ab" * 48, caller=CALLER
        )
    assert invented.value.reason == "BEACON_SIGNATURE_INVALID"
    done = expert_draws.execute_expert_draw(
        store.unit_of_work(), expert_draw_id=xd.id, beacon_value=SIGNATURE, caller=CALLER
    )
    assert expert_draws.entropy_note_of(done) == ""
    chosen = {
        s["credit_code"]: [c["id"] for c in s["selected"]] for s in json.loads(done.result_json)["selections"]
    }
    assert chosen[codes[0]] == ["L-2"]  # L-1 is the object itself
    assert expert_draws.verify_expert_draw(store.unit_of_work(), xd.id) == ""
    # offline, from what GetExpertDraw returns: the beacon signature is checked again
    document = json_format.MessageToDict(expert_draw_to_pb(done), preserving_proto_field_name=True)
    assert verify_expert_draw_document(document).ok
    assert verify_expert_draw_document({**document, "beacon_value": "ab" * 48}).problem.startswith("entropy:")
    with pytest.raises(FailedPrecondition) as twice:
        expert_draws.execute_expert_draw(
            store.unit_of_work(), expert_draw_id=xd.id, beacon_value=SIGNATURE, caller=CALLER
        )
    assert twice.value.reason == "EXPERT_DRAW_DONE"
    with pytest.raises(FailedPrecondition) as late:
        expert_draws.commit_expert_draw(store.unit_of_work(), request, CALLER, entropy=PRODUCTION)
    assert late.value.reason == "BEACON_ROUND_NOT_AFTER_COMMIT"


def test_tampering_with_a_stored_expert_draw_is_detected(store: Store) -> None:
    draw = _drawn(store)
    codes = _codes(store, draw)
    expert_draws.import_experts(store.unit_of_work(), HIGH_TECH_ZONE, _experts(codes), [], CALLER)
    expert_draws.set_requirement(store.unit_of_work(), Requirement(_item(draw), "expert", FOOD, 1), CALLER)
    xd = expert_draws.commit_expert_draw(
        store.unit_of_work(), expert_draws.ExpertDrawRequest(draw.id), CALLER, entropy=DEVELOPMENT
    )
    chosen = json.loads(xd.result_json)["selections"][0]["selected"][0]["id"]
    other = "X-07" if chosen != "X-07" else "X-06"
    engine = store.engine  # outside any unit of work
    with engine.begin() as connection:  # an insider edits a selection row by SQL
        connection.execute(
            sa.text("UPDATE expert_selections SET member_id = :m WHERE expert_draw_id = :x AND position = 1"),
            {"m": other, "x": xd.id},
        )
    assert expert_draws.verify_expert_draw(store.unit_of_work(), xd.id).startswith("rows:")
    with engine.begin() as connection:  # ... and the result to match
        result = json.loads(xd.result_json)
        result["selections"][0]["selected"][0]["id"] = other
        connection.execute(
            sa.text("UPDATE expert_draws SET result_json = :r WHERE id = :x"),
            {"r": canonical_json(result).decode("utf-8"), "x": xd.id},
        )
    assert expert_draws.verify_expert_draw(store.unit_of_work(), xd.id).startswith("result:")
    with engine.begin() as connection:  # ... or the inputs, to leave out an expert before the entropy
        inputs = json.loads(xd.inputs_json)
        inputs["draw_seed"] = "00" * 32
        connection.execute(
            sa.text("UPDATE expert_draws SET inputs_json = :i WHERE id = :x"),
            {"i": canonical_json(inputs).decode("utf-8"), "x": xd.id},
        )
    assert expert_draws.verify_expert_draw(store.unit_of_work(), xd.id).startswith("inputs:")


def test_a_department_imports_only_its_own_records(store: Store) -> None:
    codes = [make_credit_code("9", "1", "130200", "77000009")]
    expert_draws.import_experts(store.unit_of_work(), HIGH_TECH_ZONE, _experts(codes)[:1], [], CALLER)
    with store.unit_of_work() as uow:
        other = next(d.id for d in uow.directory.all_departments() if d.id != HIGH_TECH_ZONE)
    foreign = dataclasses.replace(_experts(codes)[0], department_id=other)
    with pytest.raises(FailedPrecondition) as taken:
        expert_draws.import_experts(store.unit_of_work(), other, [foreign], [], CALLER)
    assert taken.value.reason == "DEPARTMENT_CHANGE_NEEDS_TRANSFER"
    with pytest.raises(InvalidArgument) as mixed:
        expert_draws.import_experts(store.unit_of_work(), other, _experts(codes)[1:2], [], CALLER)
    assert mixed.value.violations[0].field == "experts[0].department_id"
    bad = dataclasses.replace(_experts(codes)[1], employer_credit_code="91130200MA0ABCDE1X")
    with pytest.raises(InvalidArgument):
        expert_draws.import_experts(store.unit_of_work(), HIGH_TECH_ZONE, [bad], [], CALLER)
    for odd in ("E\t1", "E\n1", "E\r"):
        with pytest.raises(InvalidArgument) as broken:
            expert_draws.import_experts(
                store.unit_of_work(),
                HIGH_TECH_ZONE,
                [dataclasses.replace(_experts(codes)[0], id=odd)],
                [],
                CALLER,
            )
        assert [(f.field, f.reason) for f in broken.value.violations] == [
            ("experts[0].id", "CONTROL_CHARACTERS")
        ]
