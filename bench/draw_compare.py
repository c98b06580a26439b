"""One draw in-process on a prepared directory, stage by stage, for side-by-side runs of two code trees.

``python -m bench.draw_compare prepare --size 1000000 --database-url URL`` imports a generated directory
once into ``URL`` (a SQLite file, or a PostgreSQL database made afresh) and creates the bench item;
``python -m bench.draw_compare draw --database-url URL`` then draws the whole province in this process on
a copy of it (a copied SQLite file; on PostgreSQL a database made from the prepared one as its template),
so every run sees the same contents, and prints one JSON line: the stages' seconds (the draw's progress
hook) and this process's CPU seconds in each (steadier than the wall clock on a shared machine), the
draw's total, the CPU seconds of the draw (``draw_cpu_s``, its hashing threads included), of its rules
worker (``workers_cpu_s``, and each worker's in ``worker_cpu_s``) and of the PostgreSQL server meanwhile
(``postgres_cpu_s``, ``bench.cpu``), the eligible and selected counts, and the peak resident memory of this
process (also as it was at the end of each stage) and of its children (the workers). Run it with
``PYTHONPATH`` naming another tree's ``service`` to measure that tree's draw on the same database,
alternating with this one's.

``python -m bench.draw_compare api --database-url URL`` draws the same copy through the gRPC API instead:
a ``dualdraw serve`` subprocess (its draw process does the draw), the call timed by the client, the draw
process's peak resident memory (``VmHWM``, with its rules worker's apart) and the server's own stage log
(``StageLog`` lines on its stderr, kept in ``--server-log``); on PostgreSQL the one-query SQL draw of
``bench.sql_floor`` is then timed on the same copy and ``draw_to_sql_floor`` reported, with the CPU
seconds of each: the server's process tree and PostgreSQL's during the draw (``draw_server_cpu_s``,
``draw_postgres_cpu_s``), PostgreSQL's during the query (``sql_floor_postgres_cpu_s``). Three seconds into
the draw another caller creates a task: ``write_during_draw`` says whether that write went through and
``write_during_draw_s`` how long it took (on SQLite a writer waits at most its 30 s busy timeout). With
``--readers`` the callers of ``bench.readers`` read meanwhile, as in ``make bench``, and their latencies are
reported; with ``--server-log FILE`` the draw's stages as its draw process logged them (``draw_stages_s``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.cpu import postgres_cpu_s, tree_cpu_s
from bench.generate import AS_OF, ITEM, PROVINCE, directory
from bench.readers import Reads, reading
from bench.run import CALLER, RATIO, RULES, _children_peak_rss_mb, _free_port, load_directory, province_task
from bench.server_log import draw_stages
from bench.sql_floor import floor_draw
from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store
from dualdraw.adapters.store.database import migrate
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy


def _admin(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def prepare(database_url: str, size: int) -> None:
    """A fresh database at ``database_url`` holding a generated directory of ``size`` objects."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        Path(str(url.database)).unlink(missing_ok=True)
    else:
        admin = _admin(url)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    migrate(database_url)
    store = Store.from_url(database_url)
    load_directory(store, directory(size, max(100, size // 200)))
    store.dispose()


def _copy(database_url: str) -> tuple[str, Any]:
    """A copy of the prepared database and how to drop it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="dualdraw-compare-"))
        shutil.copyfile(str(url.database), folder / "draw.db")
        return f"sqlite:///{folder / 'draw.db'}", lambda: shutil.rmtree(folder)
    name = f"{url.database}_copy"
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def _high_water_mb() -> int:
    """This process's peak resident memory so far (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def draw(database_url: str) -> dict[str, Any]:
    copy_url, drop = _copy(database_url)
    try:
        store = Store.from_url(copy_url)
        task = province_task(store)
        stages: dict[str, float] = {}
        cpu: dict[str, float] = {}
        last = [time.perf_counter()]
        last_cpu = [time.process_time()]

        high_water: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if done == total and stage not in stages:
                now = time.perf_counter()
                stages[stage] = round(now - last[0], 3)
                cpu[stage] = round(time.process_time() - last_cpu[0], 3)
                high_water[stage] = _high_water_mb()
                last[0], last_cpu[0] = now, time.process_time()

        with ExclusionEngine() as engine:
            rule_set = load_rule_set([RULES])
            postgres_before = postgres_cpu_s()
            start = last[0] = time.perf_counter()
            started_cpu = last_cpu[0] = time.process_time()
            outcome = run_draw(
                store.unit_of_work(),
                engine,
                rule_set,
                task_id=task.id,
                as_of=AS_OF,
                caller=CALLER,
                progress=progress,
                entropy=EntropyPolicy(allow_local=True),  # the bench's draws use a local secret
            )
            total = time.perf_counter() - start
            draw_cpu = time.process_time() - started_cpu
            postgres = postgres_cpu_s() - postgres_before
            workers = {  # read while they run: once ended, their time is only in the children's sum
                "rules": tree_cpu_s(engine.worker_pid) if engine.worker_pid else None,
            }
        store.dispose()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        drop()
    return {
        "code": str(Path(sys.modules[run_draw.__module__].__file__ or "").parents[3]),
        "database": make_url(database_url).get_backend_name(),
        "total_s": round(total, 3),
        "stages_s": stages,
        "stages_cpu_s": cpu,
        "draw_cpu_s": round(draw_cpu, 3),
        "workers_cpu_s": round(children.ru_utime + children.ru_stime, 3),  # rules and commitment workers
        "worker_cpu_s": workers,  # each one's, from its start (the rules worker's warm-up included)
        "postgres_cpu_s": round(postgres, 3)
        if make_url(database_url).get_backend_name() != "sqlite"
        else None,
        "in_scope": outcome.draw.in_scope_count,
        "eligible": outcome.draw.eligible_count,
        "selected": outcome.draw.selected_count,
        "eligible_digest": outcome.draw.eligible_digest,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_by_stage_end": high_water,
        "children_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def _write_meanwhile(target: str, result: dict[str, Any]) -> None:
    """Three seconds into the draw, another caller creates a task (a write): how long it waited, and
    whether it failed (on SQLite, a writer waits at most the 30 s busy timeout for the write lock)."""
    from dualdraw.v1 import tasks_pb2
    from dualdraw_client import DualdrawClient
    from dualdraw_client.decimals import decimal_pb

    time.sleep(3)
    with DualdrawClient(target, actor="bench-writer", timeout=120) as other:
        start = time.perf_counter()
        try:
            other.create_task(
                tasks_pb2.Task(
                    item_code=ITEM.code, department_id=PROVINCE, ratio=decimal_pb(RATIO), team_size=2
                )
            )
            result["write_during_draw"] = "ok"
        except Exception as exc:  # the outcome is what is measured
            result["write_during_draw"] = f"failed: {str(exc)[:120]}"
        result["write_during_draw_s"] = round(time.perf_counter() - start, 3)


def _middle_code(url: str) -> str:
    """The credit code in the middle of the directory at ``url``: the one the readers read."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM objects")).scalar_one()
            return str(
                conn.execute(
                    sa.text("SELECT credit_code FROM objects ORDER BY credit_code LIMIT 1 OFFSET :n"),
                    {"n": count // 2},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def api(database_url: str, server_log: str, readers: bool = False) -> dict[str, Any]:
    from dualdraw.v1 import tasks_pb2
    from dualdraw_client import DualdrawClient
    from dualdraw_client.decimals import decimal_pb

    copy_url, drop = _copy(database_url)
    port = _free_port()
    env = {
        **os.environ,
        "DUALDRAW_DATABASE_URL": copy_url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",
        "DUALDRAW_PLAN_REQUIRED": "off",
    }
    result: dict[str, Any] = {"database": make_url(database_url).get_backend_name()}
    with open(server_log, "ab") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dualdraw.entrypoints.cli.main",
                "serve",
                "--address",
                f"127.0.0.1:{port}",
                "--migrate",  # a copy prepared by an older tree is at its schema revision
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        target = f"127.0.0.1:{port}"
        with DualdrawClient(target, actor="bench", timeout=600) as client:
            for _ in range(300):
                try:
                    client.list_departments(page_size=1)
                    break
                except Exception:
                    time.sleep(0.1)
            task = client.create_task(
                tasks_pb2.Task(
                    item_code=ITEM.code, department_id=PROVINCE, ratio=decimal_pb(RATIO), team_size=2
                )
            )
            time.sleep(2)  # the draw process and its rules worker have started
            writer = threading.Thread(target=_write_meanwhile, args=(target, result))
            with (
                reading(target, _middle_code(copy_url), task_id=task.id, as_of=AS_OF)
                if readers
                else (nullcontext(Reads())) as reads
            ):
                server_before, postgres_before = tree_cpu_s(server.pid), postgres_cpu_s()
                start = time.perf_counter()
                writer.start()
                drawn = client.draw(task.id, as_of=AS_OF)
                result["draw_s"] = round(time.perf_counter() - start, 3)
                result["draw_server_cpu_s"] = round(tree_cpu_s(server.pid) - server_before, 3)
                result["draw_postgres_cpu_s"] = round(postgres_cpu_s() - postgres_before, 3)
            writer.join()
            result.update(reads.figures())
            if server_log != "/dev/null":
                result["draw_stages_s"] = draw_stages(server_log)
            result["eligible"] = drawn.eligible_count
            result["selected"] = drawn.selected_count
        result["children_peak_rss_mb"] = _children_peak_rss_mb(server.pid)
        if result["database"] == "postgresql":
            postgres_before = postgres_cpu_s()
            floor = floor_draw(
                copy_url, department=PROVINCE, as_of=AS_OF, line=ITEM.business_line, ratio=RATIO
            )
            result["sql_floor_postgres_cpu_s"] = round(postgres_cpu_s() - postgres_before, 3)
            result["sql_floor_s"] = round(floor.seconds, 3)
            result["sql_floor_same_eligible"] = floor.eligible == drawn.eligible_count
            result["draw_to_sql_floor"] = round(result["draw_s"] / floor.seconds, 2)
    finally:
        server.terminate()
        server.wait(60)
        drop()
    result["code"] = str(Path(sys.modules[run_draw.__module__].__file__ or "").parents[3])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("prepare", "draw", "api"))
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--database-url", required=True)
    parser.add_argument(
        "--server-log",
        default="/dev/null",
        help="api: where the server's stderr goes (kept: the draw's stages are reported from it)",
    )
    parser.add_argument(
        "--readers",
        action="store_true",
        help="api: GetObject and ExplainExclusion called during the draw, as make bench calls them",
    )
    args = parser.parse_args(argv)
    if args.action == "prepare":
        prepare(args.database_url, args.size)
    elif args.action == "api":
        print(json.dumps(api(args.database_url, args.server_log, args.readers)), flush=True)
    else:
        print(json.dumps(draw(args.database_url)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
