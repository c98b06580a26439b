"""Item frequency caps and raises from results end to end, on SQLite and PostgreSQL: the frequency cap
configured per item (a task policy's own cap wins, else the item's, else 1), the serious-violation raise
from a recorded inspection result to a later draw, and the client and CLI for raises, joint inspections,
item caps and task policies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from google.type import decimal_pb2

from dualdraw.domain.model import Speciality
from dualdraw.service_layer.context import Caller
from dualdraw.v1 import directory_pb2, draws_pb2, items_pb2, results_pb2, tasks_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient
from dualdraw_client.cli import main as cli_main
from dualdraw_client.dates import date_pb

from .conftest import Served
from .test_task_policy_e2e import AS_OF, HZ, INSPECTORS, KEY, NB, SC, assignments, load_world, task

CAP2 = "I5-CAP2"


@pytest.fixture
def world(served: Served) -> Served:
    load_world(served)
    return served


def cli(capsys: pytest.CaptureFixture[str], served: Served, *argv: str, words: int = 1) -> tuple[int, str]:
    """Runs the client CLI with ``--server`` after the first ``words`` words (the sub-command)."""
    code = cli_main([*argv[:words], "--server", served.target, "--actor", "e2e-tester", *argv[words:]])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def create_cap2_item(capsys: pytest.CaptureFixture[str], served: Served) -> None:
    code, out = cli(
        capsys,
        served,
        "items",
        "create",
        "--code",
        CAP2,
        "--name",
        "food item inspected twice a year",
        "--legal-basis",
        "Food Safety Law",
        "--business-line",
        "food",
        "--speciality",
        "food",
        "--kind",
        "key",
        "--default-ratio",
        "0.1",
        "--department",
        "p-zj",
        "--frequency-cap",
        "2",
        words=2,
    )
    assert code == 0, out
    assert "2 per year" in out


def test_an_item_cap_of_two_allows_a_second_draw_the_default_item_excludes(
    world: Served, client: DualdrawClient, capsys: pytest.CaptureFixture[str]
) -> None:
    create_cap2_item(capsys, world)
    assert client.get_item(CAP2).frequency_cap == 2
    assert client.get_item(KEY).frequency_cap == 0  # not set: the default 1
    nb = {o.credit_code for o in NB}

    def draw(item: str, day: int, **policy: object) -> tuple[int, list[str]]:
        d = client.draw(task(client, "c-nb", item=item, **policy).id, as_of=AS_OF + dt.timedelta(days=day))
        excluded = [e for e in client.iter_exclusions(d.id) if e.rule_id == "frequency-cap"]
        assert all(e.category == draws_pb2.EXCLUSION_CATEGORY_FREQUENCY_CAP for e in excluded)
        if excluded:
            assert {e.credit_code for e in excluded} == nb
        return d.selected_count, [e.reason for e in excluded]

    assert draw(CAP2, 0) == (len(nb), [])  # first inspection of the year
    # The default item: one planned inspection per object per department per year, the second is excluded.
    selected, reasons = draw(KEY, 1)
    assert selected == 0
    assert "already 1 planned inspection(s) by department c-nb in 2026; the cap is 1" in reasons[0]
    # A task policy's own cap wins over the item's.
    selected, reasons = draw(CAP2, 2, frequency_cap=1)
    assert selected == 0
    assert "the cap is 1 per calendar year" in reasons[0]
    # The item's cap of 2 lets the same department draw every object a second time, then no more.
    assert draw(CAP2, 3) == (len(nb), [])
    selected, reasons = draw(CAP2, 4)
    assert selected == 0
    assert "already 2 planned inspection(s) by department c-nb in 2026; the cap is 2" in reasons[0]


def today() -> dt.date:
    return Caller("e2e").today()


def test_a_case_opened_or_referred_result_raises_the_object_in_a_later_draw(
    world: Served, client: DualdrawClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # Certificates valid on the day the results are recorded (results may not be dated in the future).
    uow = world.running.services.unit_of_work()
    with uow:
        uow.directory.upsert_inspectors(
            [
                dataclasses.replace(
                    i, specialities=tuple(Speciality(s.code, dt.date(2099, 12, 31)) for s in i.specialities)
                )
                for i in INSPECTORS
            ]
        )
        uow.commit()
    day = today()
    first = client.draw(task(client, "c-hz").id, as_of=day)
    position = {a.credit_code: a.position for a in assignments(client, first.id)}
    opened, referred, clean = HZ[0], HZ[1], HZ[4]  # classes B, C, B
    assert (opened.risk_class.value, referred.risk_class.value, clean.risk_class.value) == ("B", "C", "B")

    def record(code: str, outcome: int, **kw: object) -> None:
        client.record_result(
            results_pb2.InspectionResult(
                draw_id=first.id,
                position=position[code],
                outcome=outcome,
                inspected_on=date_pb(day.isoformat()),
                findings="无证经营",
                **kw,  # type: ignore[arg-type]
            )
        )

    record(opened.credit_code, results_pb2.OUTCOME_CASE_OPENED)
    record(referred.credit_code, results_pb2.OUTCOME_CASE_OPENED, referred_to_judicial=True)
    record(clean.credit_code, results_pb2.OUTCOME_NO_PROBLEM)

    # A later draw of the year (the frequency cap switched off so the objects are eligible again).
    second = client.draw(
        task(client, "c-hz", raise_on_serious_violation=True, no_frequency_cap=True).id, as_of=day
    )
    raises = list(client.iter_raises(second.id))
    assert [(r.credit_code, r.from_class, r.to_class) for r in raises] == sorted(
        [
            (opened.credit_code, directory_pb2.RISK_CLASS_B, directory_pb2.RISK_CLASS_C),
            (referred.credit_code, directory_pb2.RISK_CLASS_C, directory_pb2.RISK_CLASS_D),
        ]
    )
    for r in raises:
        assert r.draw_id == second.id
        assert "serious-violation record(s)" in r.reason
        assert list(r.evidence) == [f"{first.id}/{position[r.credit_code]}/v1"]
    stratum = {a.credit_code: a.stratum for a in assignments(client, second.id)}
    assert (stratum[opened.credit_code], stratum[referred.credit_code]) == ("C", "D")
    assert stratum[clean.credit_code] == "B"  # no problem found: not raised, drawn in its own class
    assert stratum[HZ[3].credit_code] == "A"
    assert verify_bundle(client.export_draw_bundle(second.id)).ok
    # The same task without the raise: nothing raised.
    plain = client.draw(task(client, "c-hz", no_frequency_cap=True).id, as_of=day)
    assert not list(client.iter_raises(plain.id))

    # The CLI lists the raises with their reasons.
    code, out = cli(capsys, world, "raises", second.id)
    assert code == 0, out
    assert opened.credit_code in out
    assert referred.credit_code in out
    assert "serious-violation record(s)" in out
    assert f"{first.id}/{position[opened.credit_code]}/v1" in out


def test_the_cli_creates_task_policies_and_lists_joint_inspections(
    world: Served, client: DualdrawClient, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = cli(
        capsys,
        world,
        "tasks",
        "create",
        "--item",
        KEY,
        "--department",
        "c-hz",
        "--ratio",
        "0.5",
        "--team-size",
        "2",
        "--class-ratio",
        "D=0.3",
        "--class-ratio",
        "a=1",
        "--frequency-cap",
        "3",
        "--cross-office",
        "--cooperating",
        "p-health=drugs",
        "--workload-cap",
        "4",
        "--no-repeat-cycles",
        "2",
        "--complaint-threshold",
        "2",
        "--raise-on-serious-violation",
        "--json",
        words=2,
    )
    assert code == 0, out
    created = client.get_task(json.loads(out)["id"])
    p = created.policy
    assert {(c.risk_class, c.ratio.value) for c in p.class_ratios} == {
        (directory_pb2.RISK_CLASS_A, "1"),
        (directory_pb2.RISK_CLASS_D, "0.3"),
    }
    assert (p.frequency_cap, p.no_frequency_cap, p.cross_office) == (3, False, True)
    assert list(p.cooperating_department_ids) == ["p-health"]
    assert dict(p.cooperating_lines) == {"p-health": "drugs"}
    assert (p.workload_cap, p.recent_cycles, p.complaint_threshold) == (4, 2, 2)
    assert p.raise_on_serious_violation
    # Without any policy flag the task takes the bureau's caps and raises (no plan required here).
    code, out = cli(
        capsys, world, "tasks", "create", "--item", KEY, "--department", "c-hz", "--ratio", "1",
        "--team-size", "2", "--json", words=2,
    )  # fmt: skip
    assert code == 0, out
    p = client.get_task(json.loads(out)["id"]).policy
    assert (p.frequency_cap, p.complaint_threshold, p.other_level) == (
        1,
        3,
        tasks_pb2.OTHER_LEVEL_HANDLING_EXCLUDE,
    )
    code, out = cli(capsys, world, "tasks", "show", json.loads(out)["id"], words=2)
    assert code == 0, out
    assert "cap 1/year; raise at 3 complaints/365d; raise on serious violation; other level: exclude" in out
    code, out = cli(
        capsys, world, "tasks", "create", "--item", KEY, "--department", "c-hz", "--ratio", "1",
        "--team-size", "2", "--no-frequency-cap", "--central", "--json", words=2,
    )  # fmt: skip
    assert code == 0, out
    p = client.get_task(json.loads(out)["id"]).policy
    assert (p.no_frequency_cap, p.central) == (True, True)

    # Joint inspections: Ningbo joins the province's inspections of its objects (decided before entropy).
    province = client.draw(task(client, "p-zj").id, as_of=AS_OF)
    code, out = cli(
        capsys, world, "tasks", "create", "--item", KEY, "--department", "c-nb", "--ratio", "1",
        "--team-size", "2", "--other-level", "join", "--json", words=2,
    )  # fmt: skip
    assert code == 0, out
    assert client.get_task(json.loads(out)["id"]).policy.other_level == tasks_pb2.OTHER_LEVEL_HANDLING_JOIN
    city = client.draw(json.loads(out)["id"], as_of=AS_OF + dt.timedelta(days=1))
    merged = client.list_joint_inspections(2026).joint_inspections
    assert {j.credit_code for j in merged} == {o.credit_code for o in NB}
    assert {j.credit_code for j in client.list_joint_inspections(2026, "c-nb").joint_inspections} == {
        o.credit_code for o in NB
    }
    assert not client.list_joint_inspections(2026, "d-sc").joint_inspections
    assert not client.list_joint_inspections(2025).joint_inspections
    code, out = cli(capsys, world, "joint-inspections", "--year", "2026")
    assert code == 0, out
    for o in NB:
        assert o.credit_code in out
    assert not any(o.credit_code in out for o in HZ + SC)
    assert "p-zj, c-nb" in out
    assert province.id in out
    assert city.id in out
    code, out = cli(capsys, world, "joint-inspections", "--year", "2025")
    assert code == 0, out
    assert not any(o.credit_code in out for o in NB)


def test_item_frequency_cap_validation(world: Served, client: DualdrawClient) -> None:
    from dualdraw_client import InvalidArgumentError

    with pytest.raises(InvalidArgumentError) as caught:
        client.create_item(
            items_pb2.InspectionItem(
                code="I5-BAD",
                display_name="bad",
                legal_basis="law",
                business_line="food",
                required_speciality="food",
                kind=items_pb2.ITEM_KIND_KEY,
                default_ratio=decimal_pb2.Decimal(value="0.1"),
                department_id="p-zj",
                frequency_cap=-1,
            )
        )
    assert {v.field for v in caught.value.field_violations} == {"item.frequency_cap"}
