"""Load test: ``python -m bench.load [--duration 120] [--clients 50] [--objects 10000]``.

Starts ``dualdraw serve`` as a subprocess on loopback over a fresh PostgreSQL database ``bench_load`` (or a
temporary SQLite file) holding the bench directory (``bench/generate.py``), then runs ``--clients`` threads,
each with its own channel, for ``--duration`` seconds. Each client picks operations by a seeded weighted
choice:

- reads: ``GetObject`` of a stored object, ``ListObjects`` of a district (one page of 50), ``GetDraw`` of a
  draw made earlier in the run;
- small imports: one new object with a complaint, under a fresh request id; one in ten is sent twice with
  the same request id (the retry must answer with the first response);
- draws: ``CreateTask`` then ``Draw`` (ratio 1 % of the province's objects, teams of two);
- expected errors, on purpose: ``GetObject`` of a valid but unknown credit code (``NOT_FOUND``) and a second
  ``Draw`` of a drawn task under a new request id (``ALREADY_EXISTS``); and a ``Draw`` refused because the
  server's draw queue is full (``UNAVAILABLE`` ``DRAW_QUEUE_FULL``, counted apart: nothing was written).

At the end it reports throughput, p50/p99 latency per operation and error counts by code (expected ones
apart; any other error is unexpected), then checks that no acknowledged write was lost: every imported
object, created task and draw is in the database, each draw with all its assignments, and the audit log
verifies. Exits 1 on an unexpected error or a lost write. Writes ``bench/results/load-<time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.generate import AS_OF, ITEM, PROVINCE, _org_body, directory
from bench.run import RESULTS, ROOT, RULES, _free_port, _server_peak_rss_mb, fresh_database, load_directory
from dualdraw.adapters.store import Store
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.model import (
    Complaint,
    ComplaintStatus,
    DepartmentLevel,
    InspectionObject,
    ObjectStatus,
    RiskClass,
)
from dualdraw.entrypoints.grpc import directory_convert
from dualdraw.v1 import tasks_pb2
from dualdraw_client import DualdrawClient, chunk_records
from dualdraw_client.decimals import decimal_pb
from dualdraw_client.errors import DualdrawError

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RATIO = "0.01"
WEIGHTS = {
    "GetObject": 30,
    "ListObjects": 20,
    "GetDraw": 15,
    "Import": 15,
    "Draw": 8,
    "GetObject(unknown)": 6,
    "Draw(again)": 6,
}
EXPECTED = {
    ("GetObject(unknown)", "NOT_FOUND"),
    ("Draw(again)", "ALREADY_EXISTS"),
    ("Draw", "DRAW_QUEUE_FULL"),
    ("Draw(again)", "DRAW_QUEUE_FULL"),
}
"""Refusals on purpose, and the server's back-pressure when more draws wait than it admits."""
NEW_OBJECTS_FROM = 10**9  # org-code numbers of the bench directory stay far below this


@dataclass
class Shared:
    """What the clients acknowledged, and what they measured."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: dict[tuple[str, str], str] = field(default_factory=dict)
    objects: set[str] = field(default_factory=set)
    tasks: set[str] = field(default_factory=set)
    draws: dict[str, tuple[str, int]] = field(default_factory=dict)  # draw id -> (task id, selected)
    drawn_tasks: list[str] = field(default_factory=list)
    replays: int = 0
    replay_mismatches: int = 0


def _code(name: str, error: Exception) -> str:
    if isinstance(error, DualdrawError):
        if error.reason == "DRAW_QUEUE_FULL":  # UNAVAILABLE by design, apart from a server fault
            return error.reason
        return error.code.name if error.code is not None else "UNKNOWN"
    if isinstance(error, grpc.RpcError):
        return str(error.code().name)
    return type(error).__name__


class LoadClient(threading.Thread):
    def __init__(
        self, n: int, target: str, stop_at: float, shared: Shared, codes: list[str], districts: list[Any]
    ):
        super().__init__(name=f"load-{n}", daemon=True)
        self.n, self.target, self.stop_at, self.shared = n, target, stop_at, shared
        self.codes, self.districts = codes, districts
        self.rng = random.Random(n)
        self.made = 0

    def timed(self, op: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            value = call()
        except Exception as error:  # counted by code; the check at the end decides what is unexpected
            code = _code(op, error)
            with self.shared.lock:
                self.shared.errors[(op, code)] += 1
                self.shared.samples.setdefault((op, code), str(error)[:300])
            return None
        seconds = time.perf_counter() - start
        with self.shared.lock:
            self.shared.latencies[op].append(seconds)
        return value

    def new_object(self) -> tuple[InspectionObject, Complaint]:
        self.made += 1
        district = self.rng.choice(self.districts)
        number = NEW_OBJECTS_FROM + self.n * 10**6 + self.made
        obj = InspectionObject(
            credit_code=make_credit_code("9", "1", district.region_code, _org_body(number)),
            name=f"负载企业{self.n:02d}{self.made:06d}有限公司",
            region_code=district.region_code,
            registering_department_id=district.id,
            industry="C31",
            business_lines=(ITEM.business_line,),
            risk_class=RiskClass.B,
            status=ObjectStatus.ACTIVE,
            office=f"{district.region_code}-所0",
        )
        complaint = Complaint(f"L{number}", obj.credit_code, ComplaintStatus.HANDLING, AS_OF)
        return obj, complaint

    def unknown_code(self) -> str:
        district = self.rng.choice(self.districts)
        return make_credit_code(
            "9", "1", district.region_code, _org_body(NEW_OBJECTS_FROM // 2 + self.rng.randrange(10**6))
        )

    def run(self) -> None:
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        with DualdrawClient(self.target, actor=f"load-{self.n}", timeout=60) as client:
            while time.monotonic() < self.stop_at:
                op = self.rng.choices(ops, weights)[0]
                if op in ("GetDraw", "Draw(again)"):
                    with self.shared.lock:
                        draws = list(self.shared.draws)
                        tasks = list(self.shared.drawn_tasks)
                    if not draws:
                        op = "GetObject"
                if op == "GetObject":
                    self.timed(op, lambda: client.get_object(self.rng.choice(self.codes)))
                elif op == "GetObject(unknown)":
                    self.timed(op, lambda: client.get_object(self.unknown_code()))
                elif op == "ListObjects":
                    dept = self.rng.choice(self.districts).id
                    self.timed(op, partial(client.list_objects, department_id=dept, page_size=50))
                elif op == "GetDraw":
                    self.timed(op, partial(client.get_draw, self.rng.choice(draws)))
                elif op == "Draw(again)":
                    task_id = self.rng.choice(tasks)
                    self.timed(op, partial(client.draw, task_id, as_of=AS_OF))
                elif op == "Import":
                    self.import_one(client)
                elif op == "Draw":
                    self.create_and_draw(client)

    def import_one(self, client: DualdrawClient) -> None:
        obj, complaint = self.new_object()
        records: list[Any] = [
            directory_convert.object_to_pb(obj),
            directory_convert.complaint_to_pb(complaint),
        ]
        request_id = f"load-{self.n}-import-{self.made}"
        first = self.timed(
            "Import", lambda: client.import_directory(chunk_records(records), request_id=request_id)
        )
        if first is None:
            return
        with self.shared.lock:
            self.shared.objects.add(obj.credit_code)
        if self.rng.random() < 0.1:
            again = self.timed(
                "Import(retry)",
                lambda: client.import_directory(chunk_records(records), request_id=request_id),
            )
            with self.shared.lock:
                self.shared.replays += 1
                if again is not None and again != first:
                    self.shared.replay_mismatches += 1

    def create_and_draw(self, client: DualdrawClient) -> None:
        task = self.timed(
            "CreateTask",
            lambda: client.create_task(
                tasks_pb2.Task(
                    item_code=ITEM.code, department_id=PROVINCE, ratio=decimal_pb(RATIO), team_size=2
                )
            ),
        )
        if task is None:
            return
        with self.shared.lock:
            self.shared.tasks.add(task.id)
        drawn = self.timed("Draw", lambda: client.draw(task.id, as_of=AS_OF))
        if drawn is None:
            return
        with self.shared.lock:
            self.shared.draws[drawn.id] = (task.id, drawn.selected_count)
            self.shared.drawn_tasks.append(task.id)


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def lost_writes(url: str, shared: Shared) -> dict[str, Any]:
    """Every acknowledged write, looked up in the database."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            objects = {r[0] for r in c.exec_driver_sql("SELECT credit_code FROM objects")}
            tasks = {r[0]: r[1] for r in c.exec_driver_sql("SELECT id, draw_id FROM tasks")}
            draws = {
                r[0]: (r[1], r[2]) for r in c.exec_driver_sql("SELECT id, task_id, selected_count FROM draws")
            }
            assigned: dict[str, int] = dict(
                c.exec_driver_sql("SELECT draw_id, count(*) FROM assignments GROUP BY draw_id").all()
            )
    finally:
        engine.dispose()
    return {
        "objects_missing": sorted(shared.objects - objects),
        "tasks_missing": sorted(shared.tasks - set(tasks)),
        "draws_missing": sorted(d for d in shared.draws if d not in draws),
        "draws_differing": sorted(
            d
            for d, (task_id, selected) in shared.draws.items()
            if d in draws
            and (draws[d] != (task_id, selected) or tasks.get(task_id) != d or assigned.get(d, 0) != selected)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load (default 120)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--objects", type=int, default=10_000, help="objects in the directory loaded first")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG),
        help="a PostgreSQL server URL (database bench_load is made afresh) or sqlite:///... (a temp file)",
    )
    parser.add_argument(
        "--no-results-file", action="store_true", help="do not write bench/results/load-*.json"
    )
    parser.add_argument("--tag", default="load", help="PostgreSQL database bench_<tag> (default bench_load)")
    args = parser.parse_args(argv)

    url = fresh_database(args.database_url, args.tag)
    d = directory(args.objects, max(100, args.objects // 200))
    store = Store.from_url(url)
    try:
        load_directory(store, d)
    finally:
        store.dispose()
    codes = [o.credit_code for o in d.objects]
    districts = [x for x in d.departments if x.level is DepartmentLevel.DISTRICT]

    target = f"127.0.0.1:{_free_port()}"
    env = {
        **os.environ,
        "DUALDRAW_DATABASE_URL": url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",  # timing only: a beacon draw needs a published round
        "DUALDRAW_PLAN_REQUIRED": "off",  # synthetic directories without an annual plan: tasks drawn freely
    }
    log_file = tempfile.NamedTemporaryFile(prefix="dualdraw-load-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", target],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    shared = Shared()
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "command": " ".join(["python -m bench.load", *(argv if argv is not None else sys.argv[1:])]),
        "database": make_url(url).get_backend_name(),
        "objects": args.objects,
        "clients": args.clients,
        "duration_s": args.duration,
    }
    try:
        with DualdrawClient(target, actor="load-setup", timeout=10) as setup:
            for _ in range(300):
                try:
                    setup.list_departments(page_size=1)
                    break
                except DualdrawError:
                    time.sleep(0.1)
        stop_at = time.monotonic() + args.duration
        clients = [LoadClient(n, target, stop_at, shared, codes, districts) for n in range(args.clients)]
        started = time.perf_counter()
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        elapsed = time.perf_counter() - started
        with DualdrawClient(target, actor="load-check", timeout=300) as checker:
            verdict = checker.verify_log()
        report["server_peak_rss_mb"] = round(_server_peak_rss_mb(server.pid))
    finally:
        server.terminate()
        server.wait(60)
        log_file.close()

    total = sum(len(v) for v in shared.latencies.values()) + sum(shared.errors.values())
    report["elapsed_s"] = round(elapsed, 1)
    report["calls"] = total
    report["throughput_per_s"] = round(total / elapsed, 1)
    report["operations"] = {
        op: {
            "ok": len(v),
            "per_s": round(len(v) / elapsed, 1),
            "p50_ms": round(1000 * percentile(sorted(v), 0.5), 1),
            "p99_ms": round(1000 * percentile(sorted(v), 0.99), 1),
        }
        for op, v in sorted(shared.latencies.items())
        if v
    }
    expected = {f"{op} {code}": n for (op, code), n in shared.errors.items() if (op, code) in EXPECTED}
    unexpected = {f"{op} {code}": n for (op, code), n in shared.errors.items() if (op, code) not in EXPECTED}
    report["errors_expected"] = expected
    report["errors_unexpected"] = unexpected
    report["unexpected_samples"] = {
        f"{op} {code}": text for (op, code), text in shared.samples.items() if (op, code) not in EXPECTED
    }
    report["acknowledged"] = {
        "objects": len(shared.objects),
        "tasks": len(shared.tasks),
        "draws": len(shared.draws),
    }
    report["import_retries"] = {"sent": shared.replays, "answered_differently": shared.replay_mismatches}
    lost = lost_writes(url, shared)
    report["lost_writes"] = {k: len(v) for k, v in lost.items()}
    report["lost_examples"] = {k: v[:5] for k, v in lost.items() if v}
    report["audit_log"] = {"ok": verdict.ok, "tree_size": verdict.tree_size, "problem": verdict.problem}
    report["server_log"] = log_file.name
    failed = bool(unexpected) or any(lost.values()) or not verdict.ok or shared.replay_mismatches > 0
    report["verdict"] = "FAIL" if failed else "PASS"

    print(json.dumps(report, ensure_ascii=False, indent=2))
    if not args.no_results_file:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"load-{report['started'].replace(':', '')}.json"
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"written {out.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
