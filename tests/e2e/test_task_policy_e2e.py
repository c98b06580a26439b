"""Task policies end to end, one scenario per rule, over the real server on SQLite and PostgreSQL:
jurisdiction (central draws handed to branches, never outside the subtree), differentiated ratios per class
and item kind, raises, frequency caps, inspector rules (certificates, speciality, conflicts, cross-office,
recent cycles, workload cap, leader), joint draws, the bureau's caps and raises for a task that sets none,
and infeasible tasks that write nothing. Draws of other levels: tests/e2e/test_level_coordination_e2e.py."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterator
from fractions import Fraction
from math import ceil
from typing import Any

import grpc
import pytest

from dualdraw.domain.credit_code import check_character
from dualdraw.domain.draw.integrity import check_stored_draw
from dualdraw.domain.draw.versions import algorithm_for_new_draw
from dualdraw.domain.model import (
    Complaint,
    ComplaintStatus,
    Department,
    DepartmentLevel,
    InspectionItem,
    InspectionObject,
    Inspector,
    ItemKind,
    ObjectStatus,
    RiskClass,
    Speciality,
)
from dualdraw.service_layer.draw_integrity import stored_draw
from dualdraw.service_layer.ports import UnitOfWork
from dualdraw.v1 import directory_pb2, draws_pb2, draws_pb2_grpc, tasks_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient, FailedPreconditionError, InvalidArgumentError
from dualdraw_client.decimals import decimal_pb

from .conftest import Served

AS_OF = dt.date(2026, 6, 1)
CERT_END = dt.date(2026, 12, 31)
KEY, GENERAL = "I5-KEY", "I5-GEN"
CLASSES = [RiskClass.A, RiskClass.B, RiskClass.C, RiskClass.D]

DEPARTMENTS = [
    Department("p-zj", "Province bureau", None, DepartmentLevel.PROVINCE, "330000"),
    Department("c-hz", "Hangzhou bureau", "p-zj", DepartmentLevel.CITY, "330100"),
    Department("c-nb", "Ningbo bureau", "p-zj", DepartmentLevel.CITY, "330200"),
    Department("d-sc", "Shangcheng branch", "c-hz", DepartmentLevel.DISTRICT, "330102"),
    Department("p-health", "Province health commission", None, DepartmentLevel.PROVINCE, "330000"),
]


def code(region: str, n: int) -> str:
    first17 = f"91{region}{n:09d}"
    return first17 + check_character(first17)


def obj(region: str, n: int, department: str, office: str) -> InspectionObject:
    return InspectionObject(
        credit_code=code(region, n),
        name=f"Shop {region}-{n}",
        region_code=region,
        registering_department_id=department,
        industry="F52",
        business_lines=("food",),
        risk_class=CLASSES[n % 4],
        status=ObjectStatus.ACTIVE,
        office=office,
    )


HZ = [obj("330100", n, "c-hz", "hz-east" if n % 2 else "hz-west") for n in range(1, 7)]
NB = [obj("330200", n, "c-nb", "nb-1") for n in range(1, 7)]
SC = [obj("330102", n, "d-sc", "sc-1") for n in range(1, 3)]
OBJECTS = HZ + NB + SC
REGISTERED = {o.credit_code: o.registering_department_id for o in OBJECTS}
OFFICE = {o.credit_code: o.office for o in OBJECTS}


def inspector(badge: str, department: str, office: str, *, food: bool = True, **kw: object) -> Inspector:
    specialities = (Speciality("food", CERT_END),) if food else (Speciality("drugs", CERT_END),)
    return Inspector(badge, f"Inspector {badge}", department, office, specialities, **kw)  # type: ignore[arg-type]


INSPECTORS = (
    [inspector(f"HZ-E{n}", "c-hz", "hz-east") for n in range(1, 4)]
    + [inspector(f"HZ-W{n}", "c-hz", "hz-west") for n in range(1, 3)]
    + [inspector("HZ-W3", "c-hz", "hz-west", food=False)]
    + [inspector(f"NB-{n}", "c-nb", "nb-2") for n in range(1, 5)]
    + [inspector(f"SC-{n}", "d-sc", "sc-2") for n in range(1, 4)]
    + [inspector(f"P-{n}", "p-zj", "p-office") for n in range(1, 4)]
    + [inspector(f"H-{n}", "p-health", "health", food=False) for n in range(1, 4)]
)
DEPARTMENT_OF = {i.badge_number: i.department_id for i in INSPECTORS}
OFFICE_OF = {i.badge_number: i.office for i in INSPECTORS}
QUALIFIED = {i.badge_number for i in INSPECTORS if i.qualified_for("food", AS_OF)}


def load_world(served: Served, *, conflicts: dict[str, frozenset[str]] | None = None) -> None:
    load_world_into(served.running.services.unit_of_work, conflicts=conflicts)


def load_world_into(
    unit_of_work: Callable[[], UnitOfWork], *, conflicts: dict[str, frozenset[str]] | None = None
) -> None:
    """Loads the departments, objects, inspectors, complaints and items of these scenarios."""
    inspectors = [
        Inspector(
            i.badge_number, i.name, i.department_id, i.office, i.specialities, True, conflicts[i.badge_number]
        )
        if conflicts and i.badge_number in conflicts
        else i
        for i in INSPECTORS
    ]
    uow = unit_of_work()
    with uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects(OBJECTS)
        uow.directory.upsert_inspectors(inspectors)
        raised, old = HZ[1], HZ[3]  # classes C and A
        uow.directory.upsert_complaints(
            [
                Complaint(
                    "cp-1", raised.credit_code, ComplaintStatus.CLOSED, AS_OF - dt.timedelta(days=30), AS_OF
                ),
                Complaint(
                    "cp-2", raised.credit_code, ComplaintStatus.CLOSED, AS_OF - dt.timedelta(days=60), AS_OF
                ),
                Complaint(
                    "cp-3", old.credit_code, ComplaintStatus.CLOSED, AS_OF - dt.timedelta(days=20), AS_OF
                ),
                Complaint(
                    "cp-4", old.credit_code, ComplaintStatus.CLOSED, AS_OF - dt.timedelta(days=400), AS_OF
                ),
            ]
        )
        for item_code, kind in ((KEY, ItemKind.KEY), (GENERAL, ItemKind.GENERAL)):
            if uow.items.get(item_code) is not None:
                continue
            uow.items.add(
                InspectionItem(
                    item_code,
                    f"{kind} food item",
                    "Food Safety Law",
                    "food",
                    "food",
                    "food",
                    kind,
                    Fraction(1, 10),
                    "p-zj",
                )
            )
        uow.commit()


@pytest.fixture
def world(served: Served) -> Served:
    load_world(served)
    return served


@pytest.fixture
def stub(served: Served) -> Iterator[draws_pb2_grpc.DrawServiceStub]:
    with grpc.insecure_channel(served.target) as channel:
        yield draws_pb2_grpc.DrawServiceStub(channel)


def task(
    client: DualdrawClient,
    department: str,
    *,
    ratio: str = "1",
    item: str = KEY,
    team_size: int = 2,
    **policy: object,
) -> tasks_pb2.Task:
    return client.create_task(
        tasks_pb2.Task(
            item_code=item,
            department_id=department,
            ratio=decimal_pb(ratio),
            team_size=team_size,
            title="task with a policy",
            policy=tasks_pb2.TaskPolicy(**policy),  # type: ignore[arg-type]
        )
    )


def assignments(client: DualdrawClient, draw_id: str) -> list[draws_pb2.Assignment]:
    return list(client.iter_assignments(draw_id))


def manifest_of(client: DualdrawClient, draw_id: str) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(
        json.loads(client.export_draw_bundle(draw_id))["draw"]["manifest_json"]
    )
    return manifest


def test_central_provincial_draw_hands_every_object_to_its_own_branch(
    world: Served, client: DualdrawClient
) -> None:
    t = task(client, "p-zj", central=True)
    draw = client.draw(t.id, as_of=AS_OF)
    assert draw.algorithm_version == "dualdraw-draw/4"  # qualified teams, plan committed by root
    got = assignments(client, draw.id)
    assert {a.credit_code for a in got} == set(REGISTERED)  # both cities and the district branch
    for a in got:
        assert a.department_id == REGISTERED[a.credit_code]
        assert {m.department_id for m in a.team} == {REGISTERED[a.credit_code]}
        assert {DEPARTMENT_OF[m.badge_number] for m in a.team} == {REGISTERED[a.credit_code]}
    assert {a.department_id for a in got} == {"c-hz", "c-nb", "d-sc"}
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert report.ok, report.problem
    with world.running.services.unit_of_work() as uow:  # the re-derivation publication relies on agrees too
        difference = check_stored_draw(stored_draw(uow, draw.id))
    assert difference is None, difference


def test_a_branch_never_draws_outside_its_subtree(world: Served, client: DualdrawClient) -> None:
    draw = client.draw(task(client, "c-hz", central=True).id, as_of=AS_OF)
    got = assignments(client, draw.id)
    assert {a.credit_code for a in got} == {o.credit_code for o in HZ + SC}
    assert {a.department_id for a in got} == {"c-hz", "d-sc"}
    assert not {m.badge_number for a in got for m in a.team} & {"NB-1", "NB-2", "NB-3", "NB-4", "P-1"}


def test_per_stratum_counts_equal_ceil_ratio_times_eligible(world: Served, client: DualdrawClient) -> None:
    ratios = {"A": "0.3", "B": "0.5", "C": "1"}
    t = task(
        client,
        "p-zj",
        ratio="0.2",
        central=True,
        class_ratios=[
            tasks_pb2.ClassRatio(
                risk_class=directory_pb2.RiskClass.Value(f"RISK_CLASS_{k}"), ratio=decimal_pb(v)
            )
            for k, v in ratios.items()
        ],
    )
    draw = client.draw(t.id, as_of=AS_OF)
    counts = Counter(a.stratum for a in assignments(client, draw.id))
    eligible = Counter(o.risk_class.value for o in OBJECTS)
    for cls in "ABCD":
        ratio = Fraction(ratios.get(cls, "0.2"))
        assert counts[cls] == ceil(ratio * eligible[cls]), cls
    assert draw.selected_count == sum(counts.values())
    assert verify_bundle(client.export_draw_bundle(draw.id)).ok


def test_general_items_are_capped_key_items_may_go_to_100_percent(
    world: Served, client: DualdrawClient
) -> None:
    with pytest.raises(InvalidArgumentError) as capped:
        task(
            client,
            "c-hz",
            item=GENERAL,
            ratio="0.1",
            class_ratios=[
                tasks_pb2.ClassRatio(risk_class=directory_pb2.RISK_CLASS_D, ratio=decimal_pb("0.5"))
            ],
        )
    assert "task.policy.class_ratios[D]" in {v.field for v in capped.value.field_violations}
    assert task(client, "c-hz", item=GENERAL, ratio="0.2").id
    all_d = [tasks_pb2.ClassRatio(risk_class=directory_pb2.RISK_CLASS_D, ratio=decimal_pb("1"))]
    assert task(client, "c-hz", item=KEY, ratio="1", class_ratios=all_d).id


def test_complaints_raise_an_object_to_a_higher_stratum_with_the_reason_listed(
    world: Served, client: DualdrawClient, stub: draws_pb2_grpc.DrawServiceStub
) -> None:
    draw = client.draw(task(client, "c-hz", complaint_threshold=2, raise_window_days=365).id, as_of=AS_OF)
    raises = stub.ListRaises(draws_pb2.ListRaisesRequest(draw_id=draw.id)).raises
    assert [(r.credit_code, r.from_class, r.to_class) for r in raises] == [
        (HZ[1].credit_code, directory_pb2.RISK_CLASS_C, directory_pb2.RISK_CLASS_D)
    ]
    assert "2 complaint(s)" in raises[0].reason
    assert list(raises[0].evidence) == ["cp-1", "cp-2"]
    stratum = {a.credit_code: a.stratum for a in assignments(client, draw.id)}
    assert stratum[HZ[1].credit_code] == "D"
    assert stratum[HZ[3].credit_code] == "A"  # one complaint in the window, one too old: not raised
    # Without the threshold nothing is raised.
    plain = client.draw(task(client, "c-hz", no_frequency_cap=True).id, as_of=AS_OF)
    assert not stub.ListRaises(draws_pb2.ListRaisesRequest(draw_id=plain.id)).raises
    with world.running.services.unit_of_work() as uow:  # the eligible root with and without a raise
        for d in (draw, plain):
            assert check_stored_draw(stored_draw(uow, d.id)) is None


def test_frequency_cap_excludes_with_its_own_reason_and_counts_campaigns_separately(
    world: Served, client: DualdrawClient
) -> None:
    first = client.draw(task(client, "c-hz").id, as_of=AS_OF)
    hz_codes = {o.credit_code for o in HZ + SC}
    assert first.selected_count == len(hz_codes)
    second = client.draw(task(client, "c-hz").id, as_of=AS_OF + dt.timedelta(days=10))
    assert second.eligible_count == 0
    assert second.selected_count == 0
    excluded = list(client.iter_exclusions(second.id))
    assert {e.credit_code for e in excluded} == hz_codes
    assert {(e.rule_id, e.category) for e in excluded} == {
        ("frequency-cap", draws_pb2.EXCLUSION_CATEGORY_FREQUENCY_CAP)
    }
    assert "the cap is 1 per calendar year" in excluded[0].reason
    # A campaign ordered from above is counted separately; another department counts its own; cap 2 allows it.
    assert client.draw(task(client, "c-hz", campaign=True).id, as_of=AS_OF).selected_count == len(hz_codes)
    assert client.draw(task(client, "c-hz", frequency_cap=2).id, as_of=AS_OF).selected_count == len(hz_codes)


def test_every_team_is_led_by_a_certified_inspector_and_expired_certificates_fail_precisely(
    world: Served, client: DualdrawClient
) -> None:
    draw = client.draw(task(client, "c-hz", team_size=3).id, as_of=AS_OF)
    for a in assignments(client, draw.id):
        assert len(a.team) == 3
        assert a.team[0].leader
        assert not any(m.leader for m in a.team[1:])
        assert {m.badge_number for m in a.team} <= QUALIFIED  # every member, not only the leader
    late = task(client, "c-hz", no_frequency_cap=True)
    with pytest.raises(FailedPreconditionError) as failed:
        client.draw(late.id, as_of=dt.date(2027, 2, 1))  # every 'food' certificate expired on 2026-12-31
    # Known before any entropy: no object of the city (or its district) could get a single member.
    assert failed.value.reason == "TOO_FEW_QUALIFIED_INSPECTORS"
    assert failed.value.metadata["missing_inspectors"] == str(2 * (len(HZ) + len(SC)))
    assert "certificate expired" in failed.value.metadata["constraints"]
    assert client.get_task(late.id).draw_id == ""
    assert not list(client.iter_draws(task_id=late.id))


def test_cross_office_mode_never_sends_an_inspector_to_their_own_office(
    world: Served, client: DualdrawClient
) -> None:
    draw = client.draw(task(client, "c-hz", cross_office=True).id, as_of=AS_OF)
    got = assignments(client, draw.id)
    assert got
    for a in got:
        assert OFFICE[a.credit_code] not in {OFFICE_OF[m.badge_number] for m in a.team}


def test_declared_conflicts_are_never_assigned_and_everyone_conflicted_is_infeasible(
    served: Served, client: DualdrawClient
) -> None:
    target = NB[0].credit_code
    load_world(served, conflicts={"NB-1": frozenset({target}), "NB-2": frozenset({target})})
    draw = client.draw(task(client, "c-nb", central=True).id, as_of=AS_OF)
    team = next(a.team for a in assignments(client, draw.id) if a.credit_code == target)
    assert {m.badge_number for m in team} == {"NB-3", "NB-4"}
    load_world(served, conflicts={f"NB-{n}": frozenset({target}) for n in range(1, 4)})
    impossible = task(client, "c-nb", no_frequency_cap=True)
    with pytest.raises(FailedPreconditionError) as failed:
        client.draw(impossible.id, as_of=AS_OF)
    assert failed.value.metadata["objects"] == target
    assert failed.value.metadata["missing_inspectors"] == "1"
    assert "declared conflict" in str(failed.value)
    assert client.get_task(impossible.id).draw_id == ""


def test_no_inspector_returns_to_an_object_within_the_last_k_cycles(
    world: Served, client: DualdrawClient
) -> None:
    first = client.draw(task(client, "c-hz").id, as_of=AS_OF)
    before = {a.credit_code: {m.badge_number for m in a.team} for a in assignments(client, first.id)}
    second = client.draw(
        task(client, "c-hz", central=True, recent_cycles=1, no_frequency_cap=True).id, as_of=AS_OF
    )
    for a in assignments(client, second.id):
        assert not before[a.credit_code] & {m.badge_number for m in a.team}, a.credit_code
    assert verify_bundle(client.export_draw_bundle(second.id)).ok


def test_workload_cap_is_never_exceeded_and_a_too_tight_cap_names_the_missing_inspectors(
    world: Served, client: DualdrawClient
) -> None:
    draw = client.draw(task(client, "c-nb", workload_cap=3).id, as_of=AS_OF)
    loads = Counter(m.badge_number for a in assignments(client, draw.id) for m in a.team)
    assert max(loads.values()) <= 3
    tight = task(client, "c-nb", workload_cap=2, no_frequency_cap=True)
    with pytest.raises(FailedPreconditionError) as failed:
        client.draw(tight.id, as_of=AS_OF)
    # 6 objects x 2 members = 12 places, 4 inspectors x 2 = 8: 4 missing, on the last 2 objects.
    assert failed.value.metadata["missing_inspectors"] == "4"
    assert failed.value.metadata["constraints"] == "workload cap"
    assert len(failed.value.metadata["objects"].split(",")) == 2


def test_joint_draw_mixes_teams_each_department_from_its_own_sub_seed(
    world: Served, client: DualdrawClient
) -> None:
    t = task(
        client,
        "c-hz",
        cooperating_department_ids=["p-health"],
        cooperating_lines={"p-health": "drugs"},
        cooperating_team_size=1,
    )
    draw = client.draw(t.id, as_of=AS_OF)
    got = assignments(client, draw.id)
    assert got
    for a in got:
        departments = [m.department_id for m in a.team]
        assert departments == ["c-hz", "c-hz", "p-health"]
        assert a.team[0].leader
    assert verify_bundle(client.export_draw_bundle(draw.id)).ok
    with pytest.raises(InvalidArgumentError):
        task(client, "c-hz", cooperating_department_ids=["c-hz"])


def test_a_task_without_policy_draws_with_the_bureau_caps_and_raises(
    world: Served, client: DualdrawClient
) -> None:
    plain = client.create_task(
        tasks_pb2.Task(item_code=KEY, department_id="p-zj", ratio=decimal_pb("1"), team_size=2)
    )
    assert plain.policy.frequency_cap == 1
    assert plain.policy.complaint_threshold == 3
    assert plain.policy.raise_on_serious_violation
    assert plain.policy.other_level == tasks_pb2.OTHER_LEVEL_HANDLING_EXCLUDE
    draw = client.draw(plain.id, as_of=AS_OF)
    assert draw.algorithm_version == algorithm_for_new_draw().version
    policy = manifest_of(client, draw.id)["task"]["policy"]
    assert (policy["frequency_cap"], policy["complaint_threshold"], policy["other_level"]) == (
        1,
        3,
        "exclude",
    )
    assert {m.badge_number[:2] for a in assignments(client, draw.id) for m in a.team} == {"P-"}
    again = client.draw(
        client.create_task(
            tasks_pb2.Task(item_code=KEY, department_id="p-zj", ratio=decimal_pb("1"), team_size=2)
        ).id,
        as_of=AS_OF + dt.timedelta(days=1),
    )
    assert again.selected_count == 0  # the cap of 1 applies to a task that asked for nothing


def test_the_general_item_cap_is_configurable(served: Served, database_url: str) -> None:
    from dualdraw.entrypoints.grpc.server import create_server
    from dualdraw.settings import Settings

    from .conftest import RULES

    load_world(served)
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        general_ratio_cap="0.5",
        auth="off",
        allow_local_entropy=True,  # development: one-step draws use a local secret
    )
    running = create_server(settings)
    try:
        with DualdrawClient(f"127.0.0.1:{running.port}", actor="e2e-tester", timeout=60) as other:
            half = [tasks_pb2.ClassRatio(risk_class=directory_pb2.RISK_CLASS_D, ratio=decimal_pb("0.5"))]
            assert task(other, "c-hz", item=GENERAL, ratio="0.1", class_ratios=half).id
            with pytest.raises(InvalidArgumentError):
                task(other, "c-hz", item=GENERAL, ratio="0.6")
    finally:
        running.stop(grace=1)


def test_substitutions_in_a_joint_draw_stay_in_the_members_department_and_keep_the_rules(
    world: Served, client: DualdrawClient
) -> None:
    t = task(
        client,
        "c-hz",
        cross_office=True,
        cooperating_department_ids=["p-health"],
        cooperating_lines={"p-health": "drugs"},
    )
    draw = client.draw(t.id, as_of=AS_OF)
    first = assignments(client, draw.id)[0]
    leader, _, cooperating = (m.badge_number for m in first.team)
    evidence = "ab" * 32
    for removed in (leader, cooperating):
        sub = client.request_substitution(draw.id, first.position, removed, "LEAVE", evidence)
        done = client.execute_substitution(sub.id)
        assert DEPARTMENT_OF[done.replacement_badge] == DEPARTMENT_OF[removed]
        assert OFFICE_OF[done.replacement_badge] != OFFICE[first.credit_code]
        if removed == leader:
            assert done.replacement_badge in QUALIFIED
    team = assignments(client, draw.id)[0].team
    assert team[0].leader
    assert team[0].badge_number in QUALIFIED
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert report.ok, report.problem
