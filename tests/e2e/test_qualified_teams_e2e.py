"""Qualified teams end to end (``dualdraw-draw/3``), over the real server on SQLite and PostgreSQL: an expired
certificate or another line's staff never serve; an unqualified assistant only where the item allows it, at
most one per team; a joint draw's cooperating members hold their own department's line; what cannot be
staffed is refused before any entropy and writes nothing; every such draw verifies offline and on the
server."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from typing import Any

import pytest
import sqlalchemy as sa

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.credit_code import check_character
from dualdraw.domain.draw.integrity import check_stored_draw
from dualdraw.domain.model import (
    Department,
    DepartmentLevel,
    InspectionItem,
    InspectionObject,
    Inspector,
    ItemKind,
    ObjectStatus,
    RiskClass,
    Speciality,
    Task,
    TaskScope,
)
from dualdraw.domain.policy import TaskPolicy
from dualdraw.service_layer.draw_integrity import stored_draw
from dualdraw.v1 import tasks_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient, FailedPreconditionError, InvalidArgumentError
from dualdraw_client.decimals import decimal_pb

from .conftest import Served

AS_OF = dt.date(2026, 6, 1)
VALID_UNTIL = dt.date(2026, 12, 31)
EXPIRED_ON = dt.date(2026, 5, 31)  # the day before the draw
STRICT, WITH_ASSISTANT = "SE-STRICT", "SE-ASSIST"
SE, FIRE = "special_equipment", "fire_safety"

DEPARTMENTS = [
    Department("c-sj", "City market regulation bureau", None, DepartmentLevel.CITY, "130200"),
    Department("c-fire", "City fire and rescue bureau", None, DepartmentLevel.CITY, "130200"),
]


def code(n: int) -> str:
    first17 = f"91130200{n:09d}"
    return first17 + check_character(first17)


OBJECTS = [
    InspectionObject(
        code(n), f"Boiler works {n}", "130200", "c-sj", "C34", (SE,), RiskClass.B, ObjectStatus.ACTIVE, "sj-1"
    )
    for n in range(1, 7)
]


def inspector(badge: str, department: str, *specialities: Speciality) -> Inspector:
    return Inspector(badge, f"Inspector {badge}", department, "office", specialities)


VALID = {"SJ-V1", "SJ-V2", "SJ-V3"}
EXPIRED = {"SJ-X1", "SJ-X2"}
OTHER_LINE = {"SJ-F1", "SJ-F2"}
FIRE_VALID = {"F-1", "F-2"}
INSPECTORS = (
    [inspector(b, "c-sj", Speciality(SE, VALID_UNTIL)) for b in sorted(VALID)]
    + [inspector(b, "c-sj", Speciality(SE, EXPIRED_ON)) for b in sorted(EXPIRED)]
    + [inspector(b, "c-sj", Speciality("food", VALID_UNTIL)) for b in sorted(OTHER_LINE)]
    + [inspector(b, "c-fire", Speciality(FIRE)) for b in sorted(FIRE_VALID)]
    + [inspector("F-X", "c-fire", Speciality(FIRE, EXPIRED_ON))]
    + [inspector("F-SE", "c-fire", Speciality(SE, VALID_UNTIL))]  # the item's line, not the fire line
)


@pytest.fixture
def world(served: Served) -> Served:
    uow = served.running.services.unit_of_work()
    with uow:
        uow.directory.upsert_departments(DEPARTMENTS)
        uow.directory.upsert_objects(OBJECTS)
        uow.directory.upsert_inspectors(INSPECTORS)
        for item_code, assistant in ((STRICT, False), (WITH_ASSISTANT, True)):
            uow.items.add(
                InspectionItem(
                    item_code,
                    "Boiler safety",
                    "Special Equipment Safety Law",
                    SE,
                    "boiler operators",
                    SE,
                    ItemKind.KEY,
                    Fraction(1),
                    "c-sj",
                    unqualified_assistant=assistant,
                )
            )
        uow.commit()
    return served


def task(client: DualdrawClient, *, item: str = STRICT, team_size: int = 2, **policy: Any) -> tasks_pb2.Task:
    return client.create_task(
        tasks_pb2.Task(
            item_code=item,
            department_id="c-sj",
            ratio=decimal_pb("1"),
            team_size=team_size,
            title="boiler inspections",
            policy=tasks_pb2.TaskPolicy(no_frequency_cap=True, **policy),
        )
    )


def teams(client: DualdrawClient, draw_id: str) -> list[list[str]]:
    return [[m.badge_number for m in a.team] for a in client.iter_assignments(draw_id)]


def verified(served: Served, client: DualdrawClient, draw_id: str) -> dict[str, Any]:
    """The draw's bundle after checking it offline and on the server; returns the bundle."""
    raw = client.export_draw_bundle(draw_id)
    report = verify_bundle(raw)
    assert report.ok, report.problem
    with served.running.services.unit_of_work() as uow:
        difference = check_stored_draw(stored_draw(uow, draw_id))
    assert difference is None, difference
    bundle: dict[str, Any] = json.loads(raw)
    return bundle


def test_expired_certificates_and_other_lines_never_serve(world: Served, client: DualdrawClient) -> None:
    draw = client.draw(task(client).id, as_of=AS_OF)
    assert draw.algorithm_version == "dualdraw-draw/4"  # qualified teams, plan committed by root
    drawn = teams(client, draw.id)
    assert len(drawn) == len(OBJECTS)
    for team in drawn:
        assert len(team) == 2
        assert set(team) <= VALID
    bundle = verified(world, client, draw.id)
    manifest = json.loads(bundle["draw"]["manifest_json"])
    assert manifest["manifest_version"] == "dualdraw-manifest/5"
    assert manifest["task"]["unqualified_assistant"] is False
    certificates = {
        json.loads(line)["badge_number"]: json.loads(line)["certificate"] for line in bundle["pool"]
    }
    assert certificates["SJ-X1"] == {"expires_on": "2026-05-31", "speciality": SE}
    assert certificates["SJ-V1"] == {"expires_on": "2026-12-31", "speciality": SE}
    assert certificates["SJ-F1"] is None  # holds no certificate for the item's line
    # An expired inspector written onto a team afterwards is caught offline.
    bundle["assignments"][0]["team"][1] = "SJ-X1"
    tampered = verify_bundle(canonical_json(bundle) + b"\n")
    assert not tampered.ok
    assert tampered.problem.startswith("assignments[0].team"), tampered.problem
    # ... and on the server, when the row is edited by SQL.
    with world.running.store.engine.begin() as connection:
        changed = connection.execute(
            sa.text(
                "UPDATE assignment_members SET badge_number = 'SJ-X1' "
                "WHERE draw_id = :d AND position = 1 AND member_order = 1"
            ),
            {"d": draw.id},
        )
        assert changed.rowcount == 1
    with world.running.services.unit_of_work() as uow:
        difference = check_stored_draw(stored_draw(uow, draw.id))
    assert difference is not None
    assert (difference.what, difference.at) == ("teams", "position 1"), str(difference)


def test_an_assistant_only_where_the_item_allows_it_and_at_most_one(
    world: Served, client: DualdrawClient
) -> None:
    strict = task(client, team_size=4)
    with pytest.raises(FailedPreconditionError) as refused:
        client.draw(strict.id, as_of=AS_OF)  # three qualified inspectors cannot make a team of four
    assert refused.value.reason == "TOO_FEW_QUALIFIED_INSPECTORS"
    assert refused.value.metadata["departments"] == "c-sj"
    assert client.get_task(strict.id).draw_id == ""
    assert not list(client.iter_draws(task_id=strict.id))  # refused before the commit: nothing written

    draw = client.draw(task(client, item=WITH_ASSISTANT, team_size=4).id, as_of=AS_OF)
    for team in teams(client, draw.id):
        assert len(team) == 4
        assert team[0] in VALID
        assert len(set(team) - VALID) == 1  # exactly one assistant: three qualified are all there are
    manifest = json.loads(verified(world, client, draw.id)["draw"]["manifest_json"])
    assert manifest["task"]["unqualified_assistant"] is True
    too_big = task(client, item=WITH_ASSISTANT, team_size=5)
    with pytest.raises(FailedPreconditionError) as refused:
        client.draw(too_big.id, as_of=AS_OF)  # never a second assistant
    assert refused.value.reason == "TOO_FEW_QUALIFIED_INSPECTORS"


def test_cooperating_members_hold_their_own_departments_line(world: Served, client: DualdrawClient) -> None:
    joint = task(client, cooperating_department_ids=["c-fire"], cooperating_lines={"c-fire": FIRE})
    draw = client.draw(joint.id, as_of=AS_OF)
    for team in teams(client, draw.id):
        assert len(team) == 3
        assert set(team[:2]) <= VALID
        assert team[2] in FIRE_VALID  # never the expired F-X, never F-SE of the item's line
    manifest = json.loads(verified(world, client, draw.id)["draw"]["manifest_json"])
    assert manifest["task"]["policy"]["cooperating_lines"] == {"c-fire": FIRE}
    with pytest.raises(InvalidArgumentError) as invalid:
        task(client, cooperating_department_ids=["c-fire"])
    assert "task.policy.cooperating_lines[c-fire]" in str(invalid.value)


def test_a_joint_task_without_a_declared_line_is_refused_before_the_entropy(
    world: Served, client: DualdrawClient
) -> None:
    """A task stored before lines were declared (its policy has cooperating departments only)."""
    policy = TaskPolicy(cooperating_department_ids=("c-fire",), frequency_cap=0, enabled=True)
    uow = world.running.services.unit_of_work()
    with uow:
        uow.tasks.add(
            Task(
                "task-without-line",
                STRICT,
                "c-sj",
                Fraction(1),
                2,
                TaskScope(),
                created_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
                policy_json=policy.dumps(),
            )
        )
        uow.commit()
    with pytest.raises(FailedPreconditionError) as refused:
        client.draw("task-without-line", as_of=AS_OF)
    assert refused.value.reason == "COOPERATING_LINE_NOT_DECLARED"
    assert refused.value.metadata["departments"] == "c-fire"
    assert not list(client.iter_draws(task_id="task-without-line"))
