"""Many departments drawing at once: ``python -m bench.district_load [--districts 200] [--objects 5000]``.

The way a bureau scales out at the start of a plan period: one PostgreSQL database, several ``dualdraw
serve`` processes on it (``--servers``, default 3), and every district branch of a province drawing its
own task at the same moment through one of them.

1. **Setup**, in this process through the service layer: a fresh database ``bench_districts`` holding a
   province of ``--districts`` branches × ``--objects`` objects (``bench/district_directory.py``, with
   ``--inspectors`` inspectors per branch), the bench item on the published item list, and one published
   annual plan per branch with one entry (the item at 5 %, the whole year, once).
2. **Draws**: the servers start with the plan required (``DUALDRAW_PLAN_REQUIRED=on``) and local entropy
   (development mode, ``DUALDRAW_ALLOW_LOCAL_ENTROPY=1``: no beacon round to wait for). One client thread
   per branch, branch ``n`` through server ``n mod servers``, all released together: ``CreateTask`` for
   its plan entry and ``Draw`` (dated today), each under its own request id; then, as a client that lost
   the answers would, the same two requests again with the same request ids through the next server
   (they must answer with the same task and draw), and, as a careless operator would, a second task for
   the entry and a second draw of the task under new request ids through the third server (they must be
   refused: ``PLAN_ENTRY_ALREADY_DRAWN``, ``DRAW_EXISTS``). Meanwhile a reader loop times ``GetObject``
   (every 10 ms) and ``ListObjects`` of a branch (every 100 ms), spread over the servers.
3. **Checks**: none lost (every acknowledged task has exactly one draw in the database, executed, with
   the acknowledged id and all its assignments), none duplicated (one task per plan entry and period, one
   draw per task, no draw but the acknowledged ones); every draw's bundle exported (``StreamDrawBundle``)
   and verified offline (``verify_bundle`` in a process pool, timed apart); ``dualdraw audit verify``
   against one server at the end.

Reports draws per minute, p50/p99 latency of the draws and of the reads meanwhile, each server's peak RSS
(with its draw process and rules workers) and CPU seconds during the draws, and what the database sessions
waited for meanwhile (sampled from ``pg_stat_activity``); exits 1 when a check fails. Writes
``bench/results/districts-<time>.json``. ``run`` is the harness without the command line (the e2e test
runs it small).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from bench.district_checks import (
    CALL_TIMEOUT_S,
    Answered,
    audit_verify,
    database_checks,
    failures,
    verify_bundles,
)
from bench.district_directory import district_directory
from bench.generate import ITEM
from bench.run import (
    CALLER,
    RESULTS,
    ROOT,
    RULES,
    _children_peak_rss_mb,
    _free_port,
    _server_peak_rss_mb,
    fresh_database,
    load_directory,
)
from dualdraw.adapters.store import Store
from dualdraw.adapters.worker_process import child_pids
from dualdraw.domain.audit.checkpoints import CheckpointSigner, write_private_key
from dualdraw.domain.model import DepartmentLevel
from dualdraw.domain.plan.model import PlanEntry
from dualdraw.service_layer import plans, publication
from dualdraw.v1 import tasks_pb2
from dualdraw_client import DualdrawClient, new_request_id
from dualdraw_client.errors import DualdrawError, UnavailableError

T = TypeVar("T")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RATIO = Fraction(1, 20)


@dataclass(frozen=True)
class District:
    """One branch as the bench drives it: its department, its published plan and an object to read."""

    department_id: str
    plan_id: str
    read_code: str


@dataclass
class Outcome:
    """What one district's client was answered."""

    task_id: str = ""
    draw_id: str = ""
    selected: int = 0
    draw_s: float = 0.0
    draw_started: float = 0.0
    draw_ended: float = 0.0
    task_retry_same: bool = False
    draw_retry_same: bool = False
    second_task_refused: str = ""
    second_draw_refused: str = ""
    queue_full: int = 0
    """Calls refused with ``DRAW_QUEUE_FULL`` and sent again."""
    error: str = ""


@dataclass
class Reads:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"GetObject": [], "ListObjects": []})
    errors: Counter[str] = field(default_factory=Counter)


def prepare(
    url: str, districts: int, objects_per_district: int, inspectors: int, audit_key: Path
) -> list[District]:
    """Imports the province into ``url`` (a migrated, empty database), publishes the item list and one
    plan per branch, signing audit checkpoints with ``audit_key`` (the servers' key); returns the branches."""
    d = district_directory(districts, objects_per_district, inspectors)
    reads: dict[str, str] = {}
    for o in d.objects:
        reads.setdefault(o.registering_department_id, o.credit_code)
    branches = [x.id for x in d.departments if x.level is DepartmentLevel.DISTRICT]
    store = Store.from_url(url, signer=CheckpointSigner.from_file(audit_key, development=True))
    try:
        load_directory(store, d)
        del d
        year = CALLER.today().year
        publication.publish_item_list(
            store.unit_of_work(),
            effective_from=CALLER.today(),
            change_summary="基准事项清单",
            change_legal_basis="《市场监管领域全面推行部门联合“双随机、一公开”监管工作细则》第五条",
            caller=CALLER,
        )
        made = []
        for department_id in branches:
            plan = plans.create_plan(
                store.unit_of_work(),
                department_id=department_id,
                year=year,
                title=f"{department_id} {year}年度双随机抽查工作计划",
                inspector_days_per_month=2,
                caller=CALLER,
            )
            entry = PlanEntry("", ITEM.code, 1, RATIO, dt.date(year, 1, 1), dt.date(year, 12, 31))
            plans.add_entry(store.unit_of_work(), plan.plan_id, entry, CALLER)
            plans.approve_plan(store.unit_of_work(), plan.plan_id, CALLER)
            plans.publish_plan(store.unit_of_work(), plan.plan_id, CALLER)
            made.append(District(department_id, plan.plan_id, reads[department_id]))
    finally:
        store.dispose()
    return made


@contextmanager
def servers(url: str, count: int, log_dir: Path, audit_key: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``dualdraw serve`` processes on ``url`` (plan required, local entropy, auth off on
    loopback, one audit signing key as a bureau's replicas share one); yields them once all answer, with
    ``.args[-1]`` their address; stops them afterwards."""
    env = {
        **os.environ,
        "DUALDRAW_DATABASE_URL": url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",  # development mode: a beacon draw needs a published round
        "DUALDRAW_PLAN_REQUIRED": "on",
        "DUALDRAW_AUDIT_KEY_FILE": str(audit_key),
    }
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(count):
            target = f"127.0.0.1:{_free_port()}"
            with (log_dir / f"server-{n}.log").open("wb") as log:
                started.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", target],
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                )
        for process in started:
            _wait_answering(str(process.args[-1]))  # type: ignore[index]  # args is the list given above
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(60)


def _wait_answering(target: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    with DualdrawClient(target, actor="bench-districts", timeout=5) as client:
        while True:
            try:
                client.list_departments(page_size=1)
                return
            except DualdrawError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def _refusal(call: Callable[[], Any]) -> str:
    """The reason ``call`` was refused with, or ``ACCEPTED`` when it was not."""
    try:
        call()
    except DualdrawError as error:
        return error.reason or (error.code.name if error.code else "UNKNOWN")
    return "ACCEPTED"


def patiently(clients: list[DualdrawClient], call: Callable[[DualdrawClient], T], out: Outcome) -> T:
    """``call`` through ``clients[0]``; when that server's draw queue is full (``DRAW_QUEUE_FULL``: nothing
    was written), again with the same request through the next server after a growing, jittered pause."""
    pause = random.Random(id(out))
    for attempt in itertools.count():
        try:
            return call(clients[attempt % len(clients)])
        except UnavailableError as error:
            if error.reason != "DRAW_QUEUE_FULL":
                raise
            out.queue_full += 1
            time.sleep(pause.uniform(0.5, 1.0) * min(30.0, 2.0 ** min(attempt, 5)))
    raise AssertionError("unreachable")  # pragma: no cover


def draw_district(district: District, targets: list[str], n: int, start: threading.Barrier) -> Outcome:
    """One branch's client: its task and draw through server ``n mod servers``; the same requests again
    through the next server; second attempts under new request ids through the third."""
    out = Outcome()
    order = [targets[(n + k) % len(targets)] for k in range(len(targets))]
    task = tasks_pb2.Task(
        department_id=district.department_id, plan_id=district.plan_id, plan_entry_id="e1", team_size=2
    )
    task_request, draw_request = f"district-{n}-task", f"district-{n}-draw"
    clients = [DualdrawClient(t, actor=f"district-{n}", timeout=CALL_TIMEOUT_S) for t in order]
    again, careless = clients[1:] + clients[:1], clients[2:] + clients[:2]
    try:
        start.wait()
        out.task_id = clients[0].create_task(task, request_id=task_request).id
        out.draw_started = time.perf_counter()
        drawn = patiently(clients, lambda c: c.draw(out.task_id, request_id=draw_request), out)
        out.draw_ended = time.perf_counter()
        out.draw_s = out.draw_ended - out.draw_started
        out.draw_id, out.selected = drawn.id, drawn.selected_count
        out.task_retry_same = again[0].create_task(task, request_id=task_request).id == out.task_id
        redrawn = patiently(again, lambda c: c.draw(out.task_id, request_id=draw_request), out)
        out.draw_retry_same = redrawn.id == out.draw_id
        out.second_task_refused = _refusal(lambda: careless[0].create_task(task, request_id=new_request_id()))
        out.second_draw_refused = _refusal(
            lambda: patiently(careless, lambda c: c.draw(out.task_id, request_id=new_request_id()), out)
        )
    except Exception as error:  # reported per district; the checks count it
        out.error = f"{type(error).__name__}: {error}"[:300]
    finally:
        for c in clients:
            c.close()
    return out


def read_loop(districts: list[District], targets: list[str], stop: threading.Event, reads: Reads) -> None:
    """``GetObject`` every 10 ms and ``ListObjects`` of a branch every tenth turn, round robin over the
    servers and the branches, until ``stop``."""
    clients = [DualdrawClient(t, actor="bench-reader", timeout=30) for t in targets]
    try:
        turn = 0
        while not stop.is_set():
            client, district = clients[turn % len(clients)], districts[turn % len(districts)]
            op = "ListObjects" if turn % 10 == 9 else "GetObject"
            started = time.perf_counter()
            try:
                if op == "GetObject":
                    client.get_object(district.read_code)
                else:
                    client.list_objects(department_id=district.department_id, page_size=50)
                seconds = time.perf_counter() - started
                with reads.lock:
                    reads.latencies[op].append(seconds)
            except DualdrawError as error:
                with reads.lock:
                    reads.errors[f"{op} {error.code.name if error.code else 'UNKNOWN'}"] += 1
            turn += 1
            stop.wait(0.01)
    finally:
        for c in clients:
            c.close()


class DatabaseWaits(threading.Thread):
    """Samples what this database's sessions are doing every ``every_s`` (``pg_stat_activity``) until
    stopped: per sample, the sessions running a statement by what they wait for (``CPU``: no wait;
    ``Lock:advisory``: a department's draw lock; ``Lock:tuple``/``Lock:transactionid``: a row another
    transaction holds), a lock wait named with the table of the statement's ungranted lock or, for a row
    lock, whether the statement locks the audit log's head. ``stop`` gives the mean number of sessions in
    each state over the samples: where the draws queue inside PostgreSQL."""

    QUERY = (
        "SELECT coalesce(a.wait_event_type || ':' || a.wait_event, 'CPU'),"
        " (SELECT string_agg(DISTINCT l.relation::regclass::text, ',') FROM pg_locks l"
        "  WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL),"
        " strpos(a.query, 'audit_log_head') > 0"
        " FROM pg_stat_activity a WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
        " AND a.state = 'active'"
    )

    def __init__(self, url: str, every_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self._url, self._every_s = url, every_s
        self._done = threading.Event()
        self.totals: Counter[str] = Counter()
        self.samples = 0

    def run(self) -> None:
        engine = sa.create_engine(self._url)
        try:
            with engine.connect() as c:
                while not self._done.wait(self._every_s):
                    rows = c.exec_driver_sql(self.QUERY).all()
                    c.rollback()
                    self.samples += 1
                    for wait, table, on_head in rows:
                        where = "audit_log_head" if on_head and wait.startswith("Lock") else table
                        self.totals[f"{wait} on {where}" if where else wait] += 1
        finally:
            engine.dispose()

    def stop(self) -> dict[str, float]:
        self._done.set()
        self.join()
        n = max(1, self.samples)
        return {"samples": self.samples} | {w: round(c / n, 2) for w, c in self.totals.most_common()}


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its live descendants, in seconds."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            pending.extend(child_pids(current))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    return {
        "count": len(ordered),
        "p50_ms": round(1000 * at(0.5), 1),
        "p99_ms": round(1000 * at(0.99), 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def run(
    url: str,
    *,
    districts: int,
    objects_per_district: int,
    inspectors_per_district: int,
    server_count: int = 3,
    verify_processes: int = 0,
) -> dict[str, Any]:
    """The whole harness on ``url`` (a migrated, empty PostgreSQL database); returns the report, whose
    ``verdict`` is PASS or FAIL."""
    report: dict[str, Any] = {
        "districts": districts,
        "objects_per_district": objects_per_district,
        "inspectors_per_district": inspectors_per_district,
        "servers": server_count,
        "plan_required": True,
        "entropy": "local (development mode, DUALDRAW_ALLOW_LOCAL_ENTROPY=1)",
    }
    log_dir = Path(tempfile.mkdtemp(prefix="dualdraw-districts-"))
    report["server_logs"] = str(log_dir)
    audit_key = log_dir / "audit-key.pem"
    write_private_key(audit_key)
    started = time.perf_counter()
    branches = prepare(url, districts, objects_per_district, inspectors_per_district, audit_key)
    report["setup_s"] = round(time.perf_counter() - started, 1)
    reads = Reads()
    with servers(url, server_count, log_dir, audit_key) as processes:
        targets = [str(p.args[-1]) for p in processes]  # type: ignore[index]  # the list servers() gave
        stop = threading.Event()
        reader = threading.Thread(target=read_loop, args=(branches, targets, stop, reads), daemon=True)
        reader.start()
        cpu_before = [cpu_seconds(p.pid) for p in processes]
        waits = DatabaseWaits(url)
        waits.start()
        start = threading.Barrier(len(branches))
        released = time.perf_counter()
        with ThreadPoolExecutor(len(branches)) as pool:
            outcomes = list(
                pool.map(lambda n: draw_district(branches[n], targets, n, start), range(len(branches)))
            )
        stop.set()
        reader.join()
        report["database_sessions_meanwhile"] = waits.stop()
        report["server_cpu_s"] = [
            round(cpu_seconds(p.pid) - before, 1) for p, before in zip(processes, cpu_before, strict=True)
        ]
        drawn = [o for o in outcomes if o.draw_id]
        if drawn:
            first = min(o.draw_started for o in drawn)
            window = max(o.draw_ended for o in drawn) - first
            report["draw_window_s"] = round(window, 2)
            report["draws_per_minute"] = round(60 * len(drawn) / window, 1) if window else 0.0
        report["wall_s"] = round(time.perf_counter() - released, 2)
        report["draw_latency"] = percentiles([o.draw_s for o in drawn])
        report["selected_per_draw"] = round(sum(o.selected for o in drawn) / max(1, len(drawn)), 1)
        report["reads_meanwhile"] = {op: percentiles(v) for op, v in reads.latencies.items()}
        report["read_errors"] = dict(reads.errors)
        report["server_peak_rss_mb"] = [
            {"server": round(_server_peak_rss_mb(p.pid)), **_children_peak_rss_mb(p.pid)} for p in processes
        ]
        report["bundles"] = verify_bundles(
            targets, [o.draw_id for o in drawn], verify_processes or os.cpu_count() or 1
        )
        report["audit_verify"] = audit_verify(targets[0])
    report["client_errors"] = {
        o.task_id or f"district {n}": o.error for n, o in enumerate(outcomes) if o.error
    }
    report["retries"] = {
        "create_task_same_task": sum(o.task_retry_same for o in outcomes),
        "draw_same_draw": sum(o.draw_retry_same for o in outcomes),
        "second_task_refused": dict(Counter(o.second_task_refused for o in outcomes)),
        "second_draw_refused": dict(Counter(o.second_draw_refused for o in outcomes)),
        "draw_queue_full_sent_again": sum(o.queue_full for o in outcomes),
    }
    answered = [Answered(o.task_id, o.draw_id, o.selected) for o in outcomes]
    report["database"] = database_checks(url, {d.plan_id for d in branches}, answered)
    report["verdict"] = "PASS" if not failures(report) else "FAIL"
    report["failures"] = failures(report)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--districts", type=int, default=200)
    parser.add_argument("--objects", type=int, default=5000, help="objects per district (default 5000)")
    parser.add_argument("--inspectors", type=int, default=20, help="inspectors per district (default 20)")
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument(
        "--verify-processes", type=int, default=0, help="offline verification pool (default: one per CPU)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG),
        help="a PostgreSQL server URL; database bench_districts is made afresh",
    )
    parser.add_argument("--no-results-file", action="store_true")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        parser.error("several servers share one PostgreSQL database: --database-url postgresql+psycopg://...")
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": os.getloadavg(),
        },
        "command": " ".join(["python -m bench.district_load", *(argv if argv is not None else sys.argv[1:])]),
    }
    url = fresh_database(args.database_url, "districts")
    report.update(
        run(
            url,
            districts=args.districts,
            objects_per_district=args.objects,
            inspectors_per_district=args.inspectors,
            server_count=args.servers,
            verify_processes=args.verify_processes,
        )
    )
    report["machine"]["load_average_at_end"] = os.getloadavg()
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if not args.no_results_file:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"districts-{report['started'].replace(':', '')}.json"
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"written {out.relative_to(ROOT)}")
    return 0 if report["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
