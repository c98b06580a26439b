"""kill -9 of the server: a draw, a streamed import and a publication interrupted at several
points leave no partial state; after a restart the audit log verifies and the same work is redone.

The server runs as a ``dualdraw serve`` subprocess. Interruptions inside a use case come from the test-only
crash points (``DUALDRAW_TEST_CRASH_AT``, ``dualdraw.runtime.crashpoints``): the server kills itself with
SIGKILL
there, with its transaction open or just committed. One more import is killed from outside after a seeded
random delay, wherever it happens to be. Every test first checks that the server really died by SIGKILL.
"""

from __future__ import annotations

import random
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest
import sqlalchemy as sa
from bench.generate import directory

from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.entrypoints.grpc import directory_convert
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF, demo_directory
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.v1 import directory_pb2, results_pb2, tasks_pb2
from dualdraw_client import DualdrawClient, chunk_records
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import DualdrawError
from tests.e2e.conftest import publishable_draw
from tests.e2e.server_processes import server_process, wait_serving

IMPORT_OBJECTS = 3000


@contextmanager
def serving(url: str, crash_at: str = "") -> Iterator[tuple[subprocess.Popen[bytes], DualdrawClient]]:
    """A ``dualdraw serve`` subprocess on ``url`` (crashing at ``crash_at``) and a client of it."""
    with server_process(url, {}, crash_at=crash_at) as (process, target):
        wait_serving(target)
        with DualdrawClient(target, actor="crash-tester", timeout=60) as client:
            yield process, client


def killed(process: subprocess.Popen[bytes], call: Any) -> None:
    """Runs ``call``, which must fail because the server died of SIGKILL meanwhile."""
    with pytest.raises(DualdrawError):
        call()
    assert process.wait(timeout=30) == -signal.SIGKILL


def count(url: str, sql: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()


def no_partial_draws(url: str) -> None:
    """Every draw has all its assignments, its task points at it, and every task's draw exists."""
    assert (
        count(
            url,
            "SELECT count(*) FROM draws d WHERE d.selected_count <> "
            "(SELECT count(*) FROM assignments a WHERE a.draw_id = d.id)",
        )
        == 0
    )
    assert (
        count(
            url,
            "SELECT count(*) FROM draws d WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.draw_id = d.id)",
        )
        == 0
    )
    assert (
        count(
            url,
            "SELECT count(*) FROM tasks t WHERE t.draw_id IS NOT NULL AND t.draw_id <> '' "
            "AND NOT EXISTS (SELECT 1 FROM draws d WHERE d.id = t.draw_id)",
        )
        == 0
    )


def log_verifies(client: DualdrawClient) -> None:
    verdict = client.verify_log()
    assert verdict.ok, verdict.problem


def demo_url(url: str) -> str:
    store = Store.from_url(url)
    try:
        load_demo(store.unit_of_work)
    finally:
        store.dispose()
    return url


def demo_task(client: DualdrawClient) -> tasks_pb2.Task:
    s = demo_directory().suggested_task
    return client.create_task(
        tasks_pb2.Task(
            item_code=s.item_code,
            department_id=s.department_id,
            ratio=decimal_pb(s.ratio),
            team_size=s.team_size,
        )
    )


# --- draws --------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("point", ["draw.after_commitment", "draw.before_commit", "draw.after_commit"])
def test_a_draw_killed_at_any_point_leaves_no_partial_draw_and_is_redone(
    database_url: str, point: str
) -> None:
    url = demo_url(database_url)
    with serving(url, crash_at=point) as (process, client):
        task = demo_task(client)
        killed(process, lambda: client.draw(task.id, DEMO_AS_OF, request_id="crash-draw"))
    committed = point == "draw.after_commit"
    assert count(url, "SELECT count(*) FROM draws") == (1 if committed else 0)
    no_partial_draws(url)
    with serving(url) as (_, client):
        log_verifies(client)
        assert bool(client.get_task(task.id).draw_id) is committed
        drawn = client.draw(task.id, DEMO_AS_OF, request_id="crash-draw")  # the retry of the lost call
        assert drawn.task_id == task.id
        assert drawn.selected_count == len(list(client.iter_assignments(drawn.id))) > 0
        log_verifies(client)
    assert count(url, "SELECT count(*) FROM draws") == 1
    no_partial_draws(url)


# --- imports ------------------------------------------------------------------------------------------------


def import_records() -> list[Any]:
    d = directory(IMPORT_OBJECTS, 100)
    records: list[Any] = [directory_convert.department_to_pb(x) for x in d.departments]
    records += [directory_convert.object_to_pb(x) for x in d.objects]
    records += [directory_convert.inspector_to_pb(x) for x in d.inspectors]
    records += [directory_convert.complaint_to_pb(x) for x in d.complaints]
    records += [directory_convert.risk_assessment_to_pb(x) for x in d.risk_assessments]
    records += [directory_convert.designation_to_pb(x) for x in d.statutory_designations]
    return records


IMPORTED = (
    "departments",
    "objects",
    "inspectors",
    "complaints",
    "risk_assessments",
    "statutory_designations",
)


def stored_counts(url: str) -> dict[str, int]:
    return {table: count(url, f"SELECT count(*) FROM {table}") for table in IMPORTED}


def expected_counts(records: list[Any]) -> dict[str, int]:
    kinds = {
        directory_pb2.Department: "departments",
        directory_pb2.InspectionObject: "objects",
        directory_pb2.Inspector: "inspectors",
        directory_pb2.Complaint: "complaints",
        directory_pb2.RiskAssessment: "risk_assessments",
        directory_pb2.StatutoryDesignation: "statutory_designations",
    }
    out = dict.fromkeys(IMPORTED, 0)
    for record in records:
        out[kinds[type(record)]] += 1
    return out


def check_import_redone(
    url: str, records: list[Any], complete: dict[str, int], request_id: str = "crash-import"
) -> None:
    """Restarts, verifies the log and imports again (``request_id``: the lost call's own id, unless that
    import committed: its id then answers ``REQUEST_OUTCOME_PENDING`` after a wait, see the report)."""
    with serving(url) as (_, client):
        log_verifies(client)
        response = client.import_directory(chunk_records(records, max_records=500), request_id=request_id)
        assert response.objects == IMPORT_OBJECTS
        log_verifies(client)
    assert stored_counts(url) == complete


@pytest.mark.slow
@pytest.mark.parametrize("point", ["import.after_objects", "import.before_commit", "import.after_commit"])
def test_a_streamed_import_killed_at_any_point_is_all_or_nothing_and_is_redone(
    database_url: str, point: str
) -> None:
    records = import_records()
    complete = expected_counts(records)
    with serving(database_url, crash_at=point) as (process, client):
        killed(
            process,
            lambda: client.import_directory(
                chunk_records(records, max_records=500), request_id="crash-import"
            ),
        )
    empty = dict.fromkeys(IMPORTED, 0)
    committed = point == "import.after_commit"
    assert stored_counts(database_url) == (complete if committed else empty)
    check_import_redone(
        database_url, records, complete, "crash-import-again" if committed else "crash-import"
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [6])
def test_an_import_killed_from_outside_after_a_seeded_random_delay_is_all_or_nothing(
    database_url: str, seed: int
) -> None:
    records = import_records()
    complete = expected_counts(records)
    empty = dict.fromkeys(IMPORTED, 0)
    delay = random.Random(seed).uniform(0.05, 0.6)  # an import of this size takes about 0.5-1 s
    with serving(database_url) as (process, client):
        timer = subprocess.Popen(["sh", "-c", f"sleep {delay:.3f}; kill -9 {process.pid}"])
        with suppress(DualdrawError):  # killed, or finished just before the kill
            client.import_directory(chunk_records(records, max_records=500), request_id="crash-import")
        timer.wait(timeout=30)
        assert process.wait(timeout=30) == -signal.SIGKILL
    stored = stored_counts(database_url)
    assert stored in (empty, complete)
    check_import_redone(database_url, records, complete, "crash-import" if stored == empty else "again")


# --- publication --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("point", ["publish.before_commit", "publish.after_commit"])
def test_a_publication_killed_at_any_point_is_all_or_nothing_and_is_redone(
    database_url: str, point: str
) -> None:
    url = demo_url(database_url)
    with serving(url, crash_at=point) as (process, client):
        drawn = publishable_draw(client, demo_task(client).id, DEMO_AS_OF)
        today = Caller("crash-tester").today().isoformat()
        for a in client.iter_assignments(drawn.id):
            client.record_result(
                results_pb2.InspectionResult(
                    draw_id=drawn.id,
                    position=a.position,
                    outcome=results_pb2.OUTCOME_NO_PROBLEM,
                    inspected_on=date_pb(today),
                )
            )
        killed(process, lambda: client.publish_results(drawn.id, request_id="crash-publish"))
    committed = point == "publish.after_commit"
    assert count(url, "SELECT count(*) FROM publications") == int(committed)
    assert count(url, "SELECT count(*) FROM published_results") == (drawn.selected_count if committed else 0)
    with serving(url) as (_, client):
        log_verifies(client)
        publication = client.publish_results(drawn.id, request_id="crash-publish")
        assert publication.revision == 1
        log_verifies(client)
    assert count(url, "SELECT count(*) FROM publications") == 1
    assert count(url, "SELECT count(*) FROM published_results") == drawn.selected_count
