"""Where a draw's memory goes, per stage: ``python -m bench.draw_memory --size 100000``.

Imports a generated directory, then runs one draw in this process under ``tracemalloc``. At the end of each
stage of the draw it records the Python memory then alive and the source lines that allocated most of it,
and at the end the peak; ``per_object_bytes`` divides by the directory's objects. The draw runs slower
under tracing (about twice); the sizes are what a draw of that many objects holds, which scales linearly,
so a 100k run names the structures a 10M draw would need a hundred times over.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tracemalloc
from typing import Any

from bench.generate import AS_OF, directory
from bench.run import CALLER, RULES, fresh_database, load_directory, province_task, timed
from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy

TOP = 8


def _top(snapshot: tracemalloc.Snapshot) -> list[dict[str, Any]]:
    stats = snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)]).statistics("lineno")
    return [
        {
            "at": f"{s.traceback[0].filename.split('/dualdraw/')[-1]}:{s.traceback[0].lineno}",
            "mb": round(s.size / 2**20, 1),
        }
        for s in stats[:TOP]
    ]


def draw_memory(base_url: str, size: int) -> dict[str, Any]:
    d = directory(size, max(100, size // 200))
    store = Store.from_url(fresh_database(base_url, f"memory_{size}"))
    load_directory(store, d)
    del d
    task = province_task(store)
    stages: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if done == total:
            current, peak = tracemalloc.get_traced_memory()
            stages[stage] = {
                "alive_mb": round(current / 2**20, 1),
                "peak_so_far_mb": round(peak / 2**20, 1),
                "top": _top(tracemalloc.take_snapshot()),
            }

    with ExclusionEngine() as engine:
        rule_set = load_rule_set([RULES])
        tracemalloc.start()
        seconds, outcome = timed(
            lambda: run_draw(
                store.unit_of_work(),
                engine,
                rule_set,
                task_id=task.id,
                as_of=AS_OF,
                caller=CALLER,
                progress=progress,
                entropy=EntropyPolicy(allow_local=True),  # the bench's draws use a local secret
            )
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    store.dispose()
    return {
        "objects": size,
        "eligible": outcome.draw.eligible_count,
        "traced_draw_s": round(seconds, 1),
        "peak_traced_mb": round(peak / 2**20, 1),
        "per_object_bytes": round(peak / size),
        "stages": stages,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "sqlite:///bench.db"),
        help="sqlite:///... (a temporary file is used) or a PostgreSQL server URL",
    )
    args = parser.parse_args(argv)
    print(json.dumps(draw_memory(args.database_url, args.size), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
