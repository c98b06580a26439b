"""Benchmarks: ``python -m bench.run [--sizes 10000,100000] [--database-url URL] [--api]``.

The targets they measure against and the results are in docs/PERFORMANCE.md.

Two measurements, both on a fresh database per size:
- **stages**: the import in-process, stage by stage (``bench.import_stages``: decode, text check,
  conversion, ownership checks, use-case checks, audit view, write; ``import_stages_s``), then the draw
  pipeline in-process, stage by stage (load, rules, selection, teams), with a
  plain-Python evaluation of the same shipped rules for comparison, then one real draw (``run_draw``) with
  the duration and this process's resident memory at the end of each of its stages
  (``draw_progress.DRAW_STAGES``:
  load, rules, commitments, store, selection, teams, persist, audit, commit);
- **api** (``--api``): the same directory imported through the real gRPC API against a server subprocess, the
  database settled as autovacuum would settle it (``settle_s``: ``VACUUM (ANALYZE)``, so that neither draw
  pays for the other's first read), then drawn through the API, with reads (GetObject every 10 ms,
  ExplainExclusion every 250 ms unless ``BENCH_EXPLAIN=0``) timed while the draw runs, and the peak RSS of the
  server and of its children (draw process, rules workers); then the draw's full bundle is exported and
  verified offline (in this process and with ``dualdraw verify FILE``); on PostgreSQL the same draw is then
  run as one SQL query over the same database (``bench.sql_floor``: scope, the four exclusions as NOT EXISTS,
  ORDER BY sha256 LIMIT k) and the ratio ``draw_to_sql_floor`` reported, with a check that both found the same
  number of eligible objects; then the least work any Python implementation of the specified draw must do on
  the same database (``bench.python_floor``: fetch the in-scope rows, the SHA-256 calls the commitments and
  tickets require) and its ratios to the SQL floor and to dualdraw's draw; and the CPU seconds of both draws
  (``bench.cpu``): the server's process tree and PostgreSQL's during dualdraw's (the readers' calls included),
  PostgreSQL's during the query, and ``draw_cpu_bound_to_sql_floor``, the least ratio that work allows on this
  machine's cores (its CPU seconds over the cores, over the query's seconds); ``DUALDRAW_DRAW_PROCESS=off`` in
  the environment measures draws in the server process. API runs are repeated ``--repeat`` times on fresh
  databases and their medians printed.
Results are printed and written to ``bench/results/<timestamp>.json``. Timings use ``time.perf_counter``;
each figure is the median of ``--repeat`` runs where the stage can be repeated without side effects.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.cpu import postgres_cpu_s, tree_cpu_s
from bench.directory_messages import directory_messages
from bench.generate import AS_OF, ITEM, PROVINCE, Directory, directory
from bench.import_stages import import_stages
from bench.python_floor import python_floor
from bench.readers import reading
from bench.server_log import draw_stages
from bench.sql_floor import floor_draw
from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store
from dualdraw.adapters.store.database import migrate
from dualdraw.adapters.worker_process import child_pids
from dualdraw.domain.draw.policy_teams import PlannedObject
from dualdraw.domain.draw.qualified_teams import (
    QualifiedPoolMember,
    QualifiedTeamRules,
    certificate_for,
    qualified_teams_for_plan,
)
from dualdraw.domain.draw.selection import select_objects
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.domain.exclusions.model import EvaluationContext
from dualdraw.domain.jurisdiction import DepartmentTree, task_object_filter
from dualdraw.domain.model import InspectionObject, SideFacts, Task, TaskScope
from dualdraw.domain.object_columns import ObjectColumns
from dualdraw.domain.region import region_within
from dualdraw.service_layer import catalogue
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import DirectoryBatch, import_directory
from dualdraw.service_layer.draw_progress import StageLog
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw_client.decimals import decimal_pb

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
RESULTS = ROOT / "bench" / "results"
CALLER = Caller(actor="bench")
RATIO = "0.05"


def province_task(store: Store, title: str = "bench") -> Task:
    """The benchmark's task: the bench item over the whole province, teams of two."""
    return catalogue.create_task(
        store.unit_of_work(),
        item_code=ITEM.code,
        department_id=PROVINCE,
        ratio=ITEM.default_ratio,
        team_size=2,
        scope=TaskScope(),
        title=title,
        caller=CALLER,
    )


def bench_database_name(base_url: str, tag: str) -> str:
    """``bench_<tag>``, or ``<base>_bench_<tag>`` when the base URL names a database other than ``test``:
    runs against different base databases never drop each other's."""
    base = make_url(base_url).database
    return f"bench_{tag}" if base in (None, "", "test") else f"{base}_bench_{tag}"


def fresh_database(base_url: str, tag: str) -> str:
    """A new empty migrated database: a temporary SQLite file, or ``bench_<tag>`` on the PostgreSQL server
    (``<base>_bench_<tag>`` when the base URL names a database other than ``test``)."""
    url = make_url(base_url)
    if url.get_backend_name() == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="dualdraw-bench-")) / f"{tag}.db"
        fresh = f"sqlite:///{path}"
    else:
        name = bench_database_name(base_url, tag)
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        fresh = url.set(database=name).render_as_string(hide_password=False)
    migrate(fresh)
    return fresh


def settle(url: str) -> float:
    """PostgreSQL: ``VACUUM (ANALYZE)`` the database, as autovacuum does on its own within minutes of a large
    import; returns its seconds (0 on SQLite). Without it the first read of freshly imported rows sets
    their hint bits and writes those pages again: that cost fell on whichever draw ran first (dualdraw's),
    never on the SQL draw timed after it."""
    if make_url(url).get_backend_name() != "postgresql":
        return 0.0
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            seconds, _ = timed(lambda: conn.exec_driver_sql("VACUUM (ANALYZE)"))
    finally:
        engine.dispose()
    return round(seconds, 3)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def rss_mb() -> float:
    """This process's resident set now (``VmRSS``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_directory(store: Store, d: Directory) -> float:
    """Imports ``d`` through the import use case (validation included); returns seconds."""
    batch = DirectoryBatch(
        departments=d.departments,
        objects=ObjectColumns.of(d.objects),
        inspectors=d.inspectors,
        complaints=d.complaints,
        campaigns=d.campaigns,
        risk_assessments=d.risk_assessments,
        statutory_designations=d.statutory_designations,
    )
    seconds, _ = timed(lambda: import_directory(store.unit_of_work(), batch, CALLER))
    catalogue.create_item(store.unit_of_work(), ITEM, CALLER)
    return seconds


def plain_python_exclusions(
    objs: list[InspectionObject], side: SideFacts, department_level: int, organizer_levels: Mapping[str, int]
) -> set[str]:
    """The shipped rules as hand-written Python predicates (the floor the engine is compared with)."""
    day = AS_OF
    in_scope = {o.credit_code for o in objs}
    codes: set[str] = set()
    codes.update(
        s.credit_code
        for s in side.statutory_designations
        if s.business_line == ITEM.business_line
        and s.valid_from <= day
        and (s.valid_to is None or s.valid_to >= day)
    )
    codes.update(
        c.credit_code
        for c in side.complaints
        if c.status.value in ("received", "handling") and c.received_on <= day
    )
    codes.update(
        r.credit_code
        for r in side.risk_assessments
        if r.conclusion.value == "unsuitable"
        and r.assessed_on <= day
        and (r.valid_until is None or r.valid_until >= day)
    )
    active = [
        c
        for c in side.campaigns
        if c.starts_on <= day <= c.ends_on
        and c.business_line in ("", ITEM.business_line)
        and organizer_levels[c.organizer_department_id] < department_level
    ]
    for o in objs:
        if any(
            region_within(o.region_code, c.region_code) and c.industry in ("", o.industry) for c in active
        ):
            codes.add(o.credit_code)
    return codes & in_scope


def stages(base_url: str, size: int, inspectors: int, repeat: int) -> dict[str, Any]:
    d = directory(size, inspectors)
    url = fresh_database(base_url, f"stages_{size}")
    store = Store.from_url(url)
    result: dict[str, Any] = {
        "objects": size,
        "inspectors": inspectors,
        "database": make_url(url).get_backend_name(),
    }
    result["import_s"] = load_directory(store, d)
    result["import_objects_per_s"] = round(size / result["import_s"])
    result["import_stages_s"] = import_stages(fresh_database(base_url, f"import_{size}"), d)
    rule_set = load_rule_set([RULES])
    task = province_task(store)
    with ExclusionEngine() as engine:

        def load() -> Any:
            with store.unit_of_work() as uow:
                departments = uow.directory.all_departments()
                flt = task_object_filter(DepartmentTree(departments), task)
                return (
                    departments,
                    uow.directory.objects_matching(flt),
                    uow.directory.side_facts_matching(flt),
                    uow.directory.inspectors_of([PROVINCE]),
                )

        load_times = []
        for _ in range(repeat):
            seconds, (departments, objs, side, staff) = timed(load)
            load_times.append(seconds)
        context = EvaluationContext(
            AS_OF, ITEM.business_line, ITEM.code, PROVINCE, 1, {x.id: int(x.level) for x in departments}
        )
        rule_times = []
        for _ in range(repeat):
            seconds, exclusions = timed(lambda: engine.evaluate(rule_set, context, objs, side))
            rule_times.append(seconds)
        plain_times = []
        for _ in range(repeat):
            seconds, plain = timed(lambda: plain_python_exclusions(objs, side, 1, context.organizer_levels))
            plain_times.append(seconds)
        excluded = {e.credit_code for e in exclusions}
        eligible = sorted(o.credit_code for o in objs if o.credit_code not in excluded)
        seed = bytes(32)
        sel_s, selected = timed(
            lambda: select_objects(
                seed, eligible, Task("x", ITEM.code, PROVINCE, ITEM.default_ratio, 2, TaskScope()).ratio
            )
        )
        # Teams as a new draw forms them (dualdraw-draw/3): the province's available inspectors, each with
        # its certificate for the item's line, every selected object handed to the province.
        pool = [
            QualifiedPoolMember(
                i.badge_number,
                i.department_id,
                i.office,
                certificate_for(i, ITEM.required_speciality),
                frozenset(i.conflicts),
            )
            for i in staff
            if i.available
        ]
        office = {o.credit_code: o.office for o in objs}
        planned = [PlannedObject(s.credit_code, PROVINCE, office[s.credit_code]) for s in selected]
        team_rules = QualifiedTeamRules(2, ITEM.required_speciality, AS_OF.isoformat())
        team_s, _ = timed(lambda: qualified_teams_for_plan(seed, planned, pool, team_rules))
        stage_log = StageLog(f"bench draw of {size}")
        stage_rss: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            stage_log(stage, done, total)
            if done == total:
                stage_rss[stage] = round(rss_mb())

        total_s, outcome = timed(
            lambda: run_draw(
                store.unit_of_work(),
                engine,
                rule_set,
                task_id=task.id,
                as_of=AS_OF,
                caller=CALLER,
                progress=progress,
                entropy=EntropyPolicy(allow_local=True),
            )
        )
    store.dispose()
    rules_s = statistics.median(rule_times)
    plain_s = statistics.median(plain_times)
    result.update(
        load_s=statistics.median(load_times),
        rules_s=rules_s,
        rules_objects_per_s=round(size / rules_s),
        plain_python_s=plain_s,
        engine_vs_plain=round(rules_s / plain_s, 1),
        plain_python_agrees=plain == excluded,
        excluded=len(excluded),
        selection_s=sel_s,
        teams_s=team_s,
        draw_total_s=total_s,
        draw_stages_s={stage: round(seconds, 3) for stage, seconds in stage_log.seconds.items()},
        draw_stages_rss_mb=stage_rss,
        selected=outcome.draw.selected_count,
        peak_rss_mb=round(peak_rss_mb()),
    )
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children_peak_rss_mb(pid: int) -> dict[str, float]:
    """Peak RSS of the server's children: the draw process (the child that has children: its rules worker)
    with its workers, and the server's own rules worker."""
    peaks: dict[str, float] = {}
    for child in child_pids(pid):
        grandchildren = child_pids(child)
        name = "draw_process" if grandchildren else "rules_worker"
        peaks[name] = peaks.get(name, 0) + round(_server_peak_rss_mb(child))
        for grandchild in grandchildren:
            peaks[f"draw_process_{_worker_kind(grandchild)}"] = round(_server_peak_rss_mb(grandchild))
    return peaks


def _worker_kind(pid: int) -> str:
    """``rules_worker`` for a process that loaded durable_rules (its C extension is mapped), else
    ``worker``."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "worker"
    return "rules_worker" if "durable_rules_engine" in maps else "worker"


def _verify_offline(client: Any, draw_id: str) -> dict[str, Any]:
    """Exports the draw's full bundle through the API and verifies it offline, twice: in this process
    (``verify_bundle``, what the verifier itself costs) and as an auditor would, ``dualdraw verify FILE``
    in a fresh interpreter (start-up and imports included)."""
    from dualdraw.verifier.bundle import verify_bundle

    export_s, bundle = timed(lambda: client.export_draw_bundle(draw_id))
    verify_s, report = timed(lambda: verify_bundle(bundle))
    if not report.ok:
        raise RuntimeError(f"the draw's bundle does not verify: {report.problem}")
    with tempfile.TemporaryDirectory(prefix="dualdraw-bench-") as tmp:
        path = Path(tmp) / "draw.json"
        path.write_bytes(bundle)
        command = [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "verify", str(path)]
        cli_s, done = timed(lambda: subprocess.run(command, capture_output=True, text=True, check=False))
    if done.returncode != 0:
        raise RuntimeError(f"dualdraw verify failed: {done.stdout}{done.stderr}")
    return {
        "bundle_mb": round(len(bundle) / 2**20, 1),
        "export_bundle_s": export_s,
        "verify_s": verify_s,
        "verify_cli_s": cli_s,
    }


class ProcessTreeMemory(threading.Thread):
    """Samples the resident memory of a process and all its descendants together every ``every_s``
    seconds: the peak of the sum, per phase (``phase`` is set by the caller), is what the machine must
    hold at once — less than the sum of each process's own peak when they peak at different times.
    ``largest_mb`` keeps, per phase, the largest single process seen (in a draw, the draw process: read
    while it runs, so a draw process retired after a large draw is still measured)."""

    def __init__(self, pid: int, every_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._every_s = every_s
        self._done = threading.Event()
        self.phase = "start"
        self.peaks_mb: dict[str, float] = {}
        self.largest_mb: dict[str, float] = {}

    def _tree_pages(self) -> tuple[int, int]:
        """Resident pages of the whole tree, and of its largest process."""
        total, largest, pending = 0, 0, [self._pid]
        while pending:
            pid = pending.pop()
            try:
                pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
                pending.extend(child_pids(pid))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue  # a process that ended between listing and reading
            total, largest = total + pages, max(largest, pages)
        return total, largest

    def run(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self._done.wait(self._every_s):
            total, largest = self._tree_pages()
            self.peaks_mb[self.phase] = max(self.peaks_mb.get(self.phase, 0.0), total * page_mb)
            self.largest_mb[self.phase] = max(self.largest_mb.get(self.phase, 0.0), largest * page_mb)

    def stop(self) -> dict[str, int]:
        """Stops sampling; the tree's peak per phase."""
        self._done.set()
        self.join()
        return {phase: round(mb) for phase, mb in self.peaks_mb.items()}

    def largest(self) -> dict[str, int]:
        """The largest single process per phase (call after ``stop``)."""
        return {phase: round(mb) for phase, mb in self.largest_mb.items()}


def api(base_url: str, size: int, inspectors: int) -> dict[str, Any]:
    """Import and draw through the real gRPC API against a server subprocess."""
    from dualdraw.entrypoints.grpc import convert
    from dualdraw.v1 import directory_pb2, items_pb2, tasks_pb2
    from dualdraw_client import DualdrawClient, chunk_records

    d = directory(size, inspectors)
    url = fresh_database(base_url, f"api_{size}")
    port = _free_port()
    env = {
        **os.environ,
        "DUALDRAW_DATABASE_URL": url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",  # timing only: a beacon draw needs a published round
        "DUALDRAW_PLAN_REQUIRED": "off",  # synthetic directories without an annual plan: tasks drawn freely
    }
    # The server's log is kept for the draw's own stage lines (``draw_api_stages_s``); closed (and so
    # removed) in the ``finally`` below, which a ``with`` block around this function's body would only move.
    server_log = tempfile.NamedTemporaryFile(prefix="dualdraw-bench-server-", suffix=".log")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log,
    )
    result: dict[str, Any] = {
        "objects": size,
        "inspectors": inspectors,
        "database": make_url(url).get_backend_name(),
        "draw_process": env.get("DUALDRAW_DRAW_PROCESS", "on"),
    }
    memory = ProcessTreeMemory(server.pid)
    memory.start()
    try:
        target = f"127.0.0.1:{port}"
        with DualdrawClient(target, actor="bench", timeout=600) as client:
            for _ in range(100):
                try:
                    client.list_departments(page_size=1)
                    break
                except Exception:
                    time.sleep(0.1)
            records = directory_messages(d)
            memory.phase = "import"
            # The generated directory and its messages (millions of objects) are this process's fixtures: the
            # client's collector leaves them alone during the call, as a client holding only what it sends
            # would have nothing to scan.
            gc.freeze()
            try:
                seconds, _ = timed(lambda: client.import_directory(chunk_records(records)))
            finally:
                gc.unfreeze()
            memory.phase = "between"
            result["import_s"] = seconds
            result["import_objects_per_s"] = round(size / seconds)
            result["settle_s"] = settle(url)  # both draws below read a settled directory
            client.create_item(convert.item_to_pb(ITEM))
            task = client.create_task(
                tasks_pb2.Task(
                    item_code=ITEM.code, department_id=PROVINCE, ratio=decimal_pb(RATIO), team_size=2
                )
            )
            read_code = d.objects[len(d.objects) // 2].credit_code
            with reading(target, read_code, task_id=task.id, as_of=AS_OF) as reads:
                memory.phase = "draw"
                server_cpu, postgres_cpu = tree_cpu_s(server.pid), postgres_cpu_s()
                seconds, draw = timed(lambda: client.draw(task.id, as_of=AS_OF))
                server_cpu, postgres_cpu = (
                    tree_cpu_s(server.pid) - server_cpu,
                    postgres_cpu_s() - postgres_cpu,
                )
                memory.phase = "export"
            result["draw_api_stages_s"] = draw_stages(server_log.name)
            result["draw_s"] = seconds
            result["selected"] = draw.selected_count
            result.update(_verify_offline(client, draw.id))
            result["draw_server_cpu_s"] = round(server_cpu, 2)
            result["draw_postgres_cpu_s"] = round(postgres_cpu, 2)
            if make_url(url).get_backend_name() == "postgresql":  # the same draw as one SQL query
                floor_cpu = postgres_cpu_s()
                floor = floor_draw(
                    url, department=PROVINCE, as_of=AS_OF, line=ITEM.business_line, ratio=RATIO
                )
                result["sql_floor_postgres_cpu_s"] = round(postgres_cpu_s() - floor_cpu, 2)
                cores = os.cpu_count() or 1
                result["draw_cpu_bound_to_sql_floor"] = round(
                    (server_cpu + postgres_cpu) / cores / floor.seconds, 2
                )
                result["sql_floor_s"] = floor.seconds
                result["sql_floor_same_eligible"] = floor.eligible == draw.eligible_count
                result["draw_to_sql_floor"] = round(seconds / floor.seconds, 2)
                least = python_floor(url, department=PROVINCE, eligible=draw.eligible_count)
                result["python_floor_fetch_s"] = round(least.fetch_s, 3)
                result["python_floor_hash_s"] = round(least.hash_s, 3)
                result["python_floor_s"] = round(least.seconds, 3)
                result["python_floor_same_in_scope"] = least.in_scope == draw.in_scope_count
                result["python_floor_to_sql_floor"] = round(least.seconds / floor.seconds, 2)
                result["draw_to_python_floor"] = round(seconds / least.seconds, 2)
            result.update(reads.figures())
        result["server_peak_rss_mb"] = round(_server_peak_rss_mb(server.pid))
        children = _children_peak_rss_mb(server.pid)
        result["children_peak_rss_mb"] = children
        result["server_and_children_peak_rss_mb"] = result["server_peak_rss_mb"] + sum(children.values())
        result["process_tree_peak_rss_mb"] = memory.stop()
        del directory_pb2, items_pb2
    finally:
        server.terminate()
        server.wait(30)
        server_log.close()
    return result


def api_medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each timing and rate over repeated API runs of one size (fresh database each)."""
    first = runs[0]
    summary: dict[str, Any] = {k: first[k] for k in ("objects", "inspectors", "database", "draw_process")}
    summary["runs"] = len(runs)
    for key, value in first.items():
        if isinstance(value, bool):  # a check: it holds for the median only if it held in every run
            summary[key] = all(run.get(key, False) for run in runs)
        elif isinstance(value, int | float) and key not in summary and key not in ("selected", "objects"):
            values = [run[key] for run in runs if key in run]
            summary[key] = statistics.median(values)
        elif isinstance(value, dict) and key not in summary:  # per-process or per-phase memory
            parts = {part for run in runs for part in run.get(key, {})}
            summary[key] = {
                part: statistics.median(run[key][part] for run in runs if part in run.get(key, {}))
                for part in sorted(parts)
            }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated object counts")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "sqlite:///bench.db"),
        help="sqlite:///... (a temporary file is used) or a PostgreSQL server URL",
    )
    parser.add_argument("--api", action="store_true", help="also measure through the real gRPC API")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage and per API measurement")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "command": " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
        "stages": [],
        "api": [],
    }
    for size in (int(s) for s in args.sizes.split(",")):
        staff = max(100, size // 200)
        row = stages(args.database_url, size, staff, args.repeat)
        print(json.dumps({"stages": row}, ensure_ascii=False), flush=True)
        report["stages"].append(row)
        if args.api:
            runs = []
            for _ in range(args.repeat):
                row = api(args.database_url, size, staff)
                print(json.dumps({"api": row}, ensure_ascii=False), flush=True)
                runs.append(row)
            report["api"].extend(runs)
            if len(runs) > 1:
                summary = api_medians(runs)
                print(json.dumps({"api_median": summary}, ensure_ascii=False), flush=True)
                report.setdefault("api_median", []).append(summary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{report['started'].replace(':', '')}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
