"""The proofs of the district load bench (``bench/district_load.py``): every draw's bundle verified
offline, the database against what the clients were answered (none lost, none duplicated), ``dualdraw audit
verify``, and the verdict of a report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import sqlalchemy as sa

from dualdraw_client import DualdrawClient

CALL_TIMEOUT_S = 1800.0
"""Generous: a draw waits for the draws queued before it on its server and for the audit log's head."""


@dataclass(frozen=True)
class Answered:
    """What a district's client was answered: its task, its draw and how many objects the draw selected."""

    task_id: str
    draw_id: str
    selected: int


def _verify(raw: bytes) -> str:
    """The offline verifier's verdict on one bundle: "" when it matches, else the problem."""
    from dualdraw.verifier.bundle import verify_bundle

    report = verify_bundle(raw)
    return "" if report.ok else str(report.problem or "mismatch")


def verify_bundles(targets: list[str], draw_ids: list[str], workers: int) -> dict[str, Any]:
    """Exports every draw's bundle (one exporting thread per server) and verifies them all offline in a
    pool of ``workers`` processes; each phase timed on its own."""

    def export(n: int) -> list[tuple[str, bytes]]:
        with DualdrawClient(targets[n], actor="bench-auditor", timeout=CALL_TIMEOUT_S) as client:
            return [(d, client.export_draw_bundle(d)) for d in draw_ids[n :: len(targets)]]

    started = time.perf_counter()
    with ThreadPoolExecutor(len(targets)) as pool:
        bundles = [pair for part in pool.map(export, range(len(targets))) for pair in part]
    export_s = time.perf_counter() - started
    started = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as verifiers:
        verdicts = list(verifiers.map(_verify, [raw for _, raw in bundles]))
    verify_s = time.perf_counter() - started
    failed = {d: problem for (d, _), problem in zip(bundles, verdicts, strict=True) if problem}
    return {
        "bundles": len(bundles),
        "bundles_mb": round(sum(len(raw) for _, raw in bundles) / 2**20, 1),
        "export_s": round(export_s, 2),
        "verify_s": round(verify_s, 2),
        "verify_processes": workers,
        "not_verified": failed,
    }


def database_checks(url: str, plan_ids: set[str], answered: list[Answered]) -> dict[str, Any]:
    """None lost, none duplicated: what the database holds for the tasks of ``plan_ids`` against what the
    clients were ``answered`` (an empty ``draw_id``: the client got no draw)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            tasks = [
                row
                for row in c.exec_driver_sql("SELECT id, plan_id, plan_slot, draw_id FROM tasks").all()
                if row[1] in plan_ids
            ]
            draws = c.exec_driver_sql("SELECT id, task_id, state, selected_count FROM draws").all()
            assigned: dict[str, int] = dict(
                c.exec_driver_sql("SELECT draw_id, count(*) FROM assignments GROUP BY draw_id").all()
            )
    finally:
        engine.dispose()
    draws_of: dict[str, list[Any]] = {}
    for row in draws:
        draws_of.setdefault(row.task_id, []).append(row)
    task_draw = {row.id: row.draw_id for row in tasks}
    acknowledged = {o.draw_id for o in answered if o.draw_id}
    lost = [
        o.task_id or "(no task)"
        for o in answered
        if not o.draw_id
        or [(r.id, r.state, r.selected_count) for r in draws_of.get(o.task_id, [])]
        != [(o.draw_id, "executed", o.selected)]
        or task_draw.get(o.task_id) != o.draw_id
        or assigned.get(o.draw_id, 0) != o.selected
    ]
    slots = Counter(row.plan_slot for row in tasks)
    per_plan = Counter(row.plan_id for row in tasks)
    return {
        "tasks": len(tasks),
        "draws": len(draws),
        "assignments": sum(assigned.values()),
        "lost": lost,
        "duplicated": {
            "tasks_per_plan_slot_above_one": sorted(s for s, n in slots.items() if n > 1),
            "plans_with_other_than_one_task": sorted(p for p in plan_ids if per_plan[p] != 1),
            "draws_per_task_above_one": sorted(t for t, rows in draws_of.items() if len(rows) > 1),
            "draws_not_acknowledged": sorted(row.id for row in draws if row.id not in acknowledged),
        },
    }


def audit_verify(target: str) -> dict[str, Any]:
    """``dualdraw audit verify`` as an operator runs it (the client's command line, in a fresh process)."""
    command = [sys.executable, "-m", "dualdraw_client.cli", "audit", "verify", "--server", target, "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=CALL_TIMEOUT_S)
    seconds = time.perf_counter() - started
    shown: dict[str, Any] = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else {}
    return {
        "ok": done.returncode == 0 and bool(shown.get("ok")),
        "tree_size": int(shown.get("tree_size", 0)),
        "signing_keys": len(shown.get("key_ids", [])),
        "seconds": round(seconds, 2),
        "output": (done.stdout + done.stderr)[-500:] if done.returncode != 0 else "",
    }


def failures(report: dict[str, Any]) -> list[str]:
    """What a report proves wrong; empty when every check held."""
    n = report["districts"]
    db, retries = report["database"], report["retries"]
    found = []
    if report["client_errors"]:
        found.append(f"{len(report['client_errors'])} districts answered with an error")
    if db["lost"]:
        found.append(f"lost: {len(db['lost'])} tasks without their one executed draw")
    if any(db["duplicated"].values()):
        found.append(f"duplicated: {db['duplicated']}")
    if (db["tasks"], db["draws"]) != (n, n):
        found.append(f"{db['tasks']} tasks and {db['draws']} draws in the database for {n} districts")
    if retries["create_task_same_task"] != n or retries["draw_same_draw"] != n:
        found.append(f"a retry with the same request id answered differently: {retries}")
    if retries["second_task_refused"] != {"PLAN_ENTRY_ALREADY_DRAWN": n}:
        found.append(f"second tasks for a drawn entry: {retries['second_task_refused']}")
    if retries["second_draw_refused"] != {"DRAW_EXISTS": n}:
        found.append(f"second draws of a drawn task: {retries['second_draw_refused']}")
    if report["bundles"]["bundles"] != n or report["bundles"]["not_verified"]:
        bundles = report["bundles"]
        found.append(f"bundles: {bundles['bundles']} exported, not verified: {bundles['not_verified']}")
    if not report["audit_verify"]["ok"]:
        found.append(f"audit verify failed: {report['audit_verify']['output']}")
    return found
