"""Time and memory per stage at provincial sizes: ``python -m bench.scale --sizes 1000000,3000000,10000000``.

One run per size against a ``dualdraw serve`` subprocess on a fresh database (PostgreSQL by default):
generate (the directory made and converted to protobuf, sent nowhere), import (the same records streamed
through ``ImportDirectory`` as they are made, a million records per import: nothing holds the
directory), draw (the whole province, once), export (the full line bundle streamed to a file as it
arrives) and verify (``dualdraw verify FILE`` in a fresh interpreter). A sampler adds up the resident
memory of the whole process tree (this process, the server, its draw process and rules workers, the
verifier) every 50 ms and reports the peak per stage: what the machine must hold at once. Beside it, per
stage, the CPU seconds of the whole tree (``cpu_s``: on a shared machine a truer figure than the wall
seconds) and the load average at the stage's end. Each process's own peak (``VmHWM``) is reported too:
the server and its children that imported and drew, those of a fresh server that exported (the
``restart`` and ``stop`` phases are servers starting and stopping), and the verifier's
(``verify_peak_rss_mb``; the ``verify`` phase's tree is this process plus the verifier); and, per stage,
the largest single process the sampler saw (``largest_process_rss_mb``: in the draw stage the draw
process, even when it retired after a large draw before the server stopped).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench.cpu import tree_cpu_s
from bench.generate import AS_OF, ITEM, PROVINCE, DirectoryEntry, directory_entries
from bench.run import (
    RATIO,
    RESULTS,
    RULES,
    ProcessTreeMemory,
    _children_peak_rss_mb,
    _free_port,
    _server_peak_rss_mb,
    fresh_database,
    timed,
)
from dualdraw_client.decimals import decimal_pb

STAGE_TIMEOUT_S = 6 * 3600.0


def records(size: int, inspectors: int) -> Iterator[Any]:
    """The directory's entries as import records, made one at a time."""
    from dualdraw.domain import model
    from dualdraw.entrypoints.grpc import directory_convert as c

    converters: dict[type[DirectoryEntry], Any] = {
        model.Department: c.department_to_pb,
        model.InspectionObject: c.object_to_pb,
        model.Inspector: c.inspector_to_pb,
        model.Complaint: c.complaint_to_pb,
        model.Campaign: c.campaign_to_pb,
        model.RiskAssessment: c.risk_assessment_to_pb,
        model.StatutoryDesignation: c.designation_to_pb,
    }
    for entry in directory_entries(size, inspectors):
        yield converters[type(entry)](entry)


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DUALDRAW_DATABASE_URL": url,
        "DUALDRAW_RULES_PATH": str(RULES),
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",  # timing only: a beacon draw needs a published round
        "DUALDRAW_PLAN_REQUIRED": "off",  # a synthetic directory without an annual plan
        # a 10M draw on a shared machine may take longer than the default 15 minutes: measured, not capped
        "DUALDRAW_DRAW_TIMEOUT_S": os.environ.get("DUALDRAW_DRAW_TIMEOUT_S", "0"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(server: subprocess.Popen[bytes], result: dict[str, Any], name: str) -> None:
    """Records the server's and its children's own peaks under ``name``, then stops it."""
    try:
        result[f"{name}_server_peak_rss_mb"] = round(_server_peak_rss_mb(server.pid))
        result[f"{name}_children_peak_rss_mb"] = _children_peak_rss_mb(server.pid)
    except (FileNotFoundError, ProcessLookupError):
        pass
    server.terminate()
    server.wait(60)


def run_stages(
    base_url: str, size: int, inspectors: int, workdir: Path, *, generate_apart: bool = True
) -> dict[str, Any]:
    """One run at ``size``. The export runs on a freshly started server (same database), so that its
    memory is the export's own and not what the import and the draw left in the processes.
    ``generate_apart``: first time the generation alone (the import stage generates as it sends)."""
    from dualdraw.entrypoints.grpc import convert
    from dualdraw.v1 import tasks_pb2
    from dualdraw_client import DualdrawClient

    url = fresh_database(base_url, f"scale_{size}")
    port = _free_port()
    target = f"127.0.0.1:{port}"
    result: dict[str, Any] = {
        "objects": size,
        "inspectors": inspectors,
        "database": make_url(url).get_backend_name(),
        "seconds": {},
    }
    memory = ProcessTreeMemory(os.getpid())  # this process and every descendant: the server, the verifier
    memory.start()
    enter = StageAccount(memory, result)
    seconds = result["seconds"]
    server = _serve(url, port)
    try:
        with DualdrawClient(target, actor="bench", timeout=STAGE_TIMEOUT_S) as client:
            _ready(client)
            if generate_apart:
                enter("generate")
                seconds["generate"], _ = timed(lambda: sum(1 for _ in records(size, inspectors)))
            enter("import")
            seconds["import"], result["imports"] = timed(lambda: _import(client, size, inspectors))
            result["import_objects_per_s"] = round(size / seconds["import"])
            enter("between")
            client.create_item(convert.item_to_pb(ITEM))
            task = client.create_task(
                tasks_pb2.Task(
                    item_code=ITEM.code, department_id=PROVINCE, ratio=decimal_pb(RATIO), team_size=2
                )
            )
            enter("draw")
            seconds["draw"], draw = timed(lambda: client.draw(task.id, as_of=AS_OF))
            result["eligible"], result["selected"] = draw.eligible_count, draw.selected_count
        enter("restart")
        _stop(server, result, "import_and_draw")
        server = _serve(url, port)
        path = workdir / f"draw-{size}.jsonl"
        with DualdrawClient(target, actor="bench", timeout=STAGE_TIMEOUT_S) as client:
            _ready(client)
            enter("export")
            with path.open("wb") as f:
                seconds["export"], _ = timed(lambda: client.write_draw_bundle(draw.id, f.write, lines=True))
            result["bundle_mb"] = round(path.stat().st_size / 2**20, 1)
        enter("stop")
        _stop(server, result, "export")
        enter("verify")
        command = [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "verify", str(path), "--json"]
        seconds["verify"], (stdout, result["verify_peak_rss_mb"]) = timed(lambda: _run_with_peak(command))
        verdict = json.loads(stdout)
        result["verify_ok"] = verdict["ok"]
        result["verify_problem"] = verdict["problem"]
        path.unlink()
    except Exception as exc:  # a stage that fails (say, a draw process killed for memory) ends the run
        result["failed"] = f"{type(exc).__name__}: {exc}"[:500]
        if server.poll() is None:
            _stop(server, result, "failed")
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(60)
        enter("end")
        result["process_tree_peak_rss_mb"] = memory.stop()
        result["largest_process_rss_mb"] = memory.largest()
    seconds.update({k: round(v, 1) for k, v in seconds.items()})
    return result


class StageAccount:
    """Moves the memory sampler to the next stage and books, per stage, the CPU seconds of the whole
    process tree (``cpu_s``) and the one-minute load average at the stage's end (``load_average``)."""

    def __init__(self, memory: ProcessTreeMemory, result: dict[str, Any]) -> None:
        self._memory = memory
        self._cpu: dict[str, float] = result.setdefault("cpu_s", {})
        self._load: dict[str, float] = result.setdefault("load_average", {})
        self._phase = memory.phase
        self._mark = tree_cpu_s(os.getpid())

    def __call__(self, phase: str) -> None:
        now = tree_cpu_s(os.getpid())
        self._cpu[self._phase] = round(self._cpu.get(self._phase, 0.0) + now - self._mark, 1)
        self._load[self._phase] = round(os.getloadavg()[0], 2)
        self._phase, self._mark = phase, now
        self._memory.phase = phase


def _run_with_peak(command: list[str]) -> tuple[str, int]:
    """Runs ``command``; its standard output and its own peak resident memory (``VmHWM``, sampled until it
    exits; the peak never decreases, so the last sample is at most 50 ms short of it)."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        peak = 0.0
        while process.poll() is None:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
                peak = max(peak, _server_peak_rss_mb(process.pid))
            time.sleep(0.05)
        out.seek(0)
        return out.read().decode("utf-8"), round(peak)


IMPORT_RECORDS = 1_000_000
"""Records per ``ImportDirectory`` call (the server takes at most 2,000,000 objects in one import)."""


def _import(client: Any, size: int, inspectors: int) -> int:
    """Streams the directory into the server as it is made; the number of imports it took."""
    from dualdraw_client import chunk_records

    imports = 0
    for part in _parts(records(size, inspectors)):
        client.import_directory(chunk_records(part))
        imports += 1
    return imports


def _parts(entries: Iterator[Any]) -> Iterator[Iterator[Any]]:
    """``entries`` in consecutive imports of ``IMPORT_RECORDS``, each consumed before the next starts."""
    for first in entries:
        yield itertools.chain([first], itertools.islice(entries, IMPORT_RECORDS - 1))


def _ready(client: Any) -> None:
    for _ in range(300):
        try:
            client.list_departments(page_size=1)
            return
        except Exception:
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000000,3000000", help="comma-separated object counts")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server URL (or sqlite:///...: a temporary file)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the bundle file goes (default: a temp dir)"
    )
    parser.add_argument(
        "--no-generate-stage",
        action="store_true",
        help="skip timing the generation alone (at 10M it takes minutes; the import generates anyway)",
    )
    parser.add_argument(
        "--results-file",
        type=Path,
        default=None,
        help="where the JSON report goes (default: bench/results/scale-<start>.json)",
    )
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "command": " ".join(["python -m bench.scale", *(argv if argv is not None else sys.argv[1:])]),
        "stages": [],
    }
    out = args.results_file or RESULTS / f"scale-{report['started'].replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dualdraw-scale-", dir=args.workdir) as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            row = run_stages(
                args.database_url,
                size,
                max(100, size // 200),
                Path(tmp),
                generate_apart=not args.no_generate_stage,
            )
            row["load_average_after"] = os.getloadavg()
            print(json.dumps({"stages": row}, ensure_ascii=False), flush=True)
            report["stages"].append(row)
            out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
