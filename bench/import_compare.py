"""``ImportDirectory`` through gRPC for source trees side by side: ``python -m bench.import_compare
--trees /work/main,. --size 1000000 --rounds 3`` (PostgreSQL by default).

The directory is generated once (``bench.generate``), chunked by the client library and serialized once
(kept in ``--cache``), so the client's share of each run is sending bytes, not building messages; with
``--client-chunking`` the client library chunks the records during each call instead, on the same cores as
the server, as ``make bench`` imports (the records are converted to messages beforehand). Each
round imports it once per tree, in alternating order (the first tree first in odd rounds), each into a
fresh database (dropped afterwards) through a ``dualdraw serve`` subprocess started from that tree
(authentication off). Per run: wall seconds, the seconds until the last chunk was handed over
(``stream_s``; the rest is the use case after the stream), objects per second, the server's CPU seconds
and its peak resident memory (``VmHWM``), and the load average; the medians per tree and, for each tree after
the first, the first tree's median divided by its own at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.directory_messages import directory_messages
from bench.generate import directory
from bench.run import _free_port, fresh_database

METHOD = "/dualdraw.v1.DirectoryService/ImportDirectory"


def serialized_chunks(size: int, cache: Path) -> list[bytes]:
    """The chunks of the generated directory of ``size`` objects, serialized, the last one marked."""
    path = cache / f"import-chunks-{size}.pickle"
    if path.exists():
        chunks: list[bytes] = pickle.loads(path.read_bytes())
        return chunks
    from dualdraw_client import chunk_records

    messages = list(chunk_records(directory_records(size)))
    messages[-1].last_chunk = True
    chunks = [m.SerializeToString() for m in messages]
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(chunks))
    return chunks


def directory_records(size: int) -> list[Any]:
    """The records of the generated directory of ``size`` objects, as the client library's messages."""
    return directory_messages(directory(size, max(100, size // 200)))


def chunked_live(records: list[Any]) -> Iterator[bytes]:
    """The chunks of ``records`` as the client library cuts them during a call, serialized, the last one
    marked (what ``DualdrawClient.import_directory`` sends)."""
    from dualdraw_client import chunk_records

    chunks = chunk_records(records)
    current = next(chunks)
    for following in chunks:
        yield current.SerializeToString()
        current = following
    current.last_chunk = True
    yield current.SerializeToString()


def _proc(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and peak resident memory in MB of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    peak = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) // 1024
    return cpu, peak


def run_once(
    tree: Path, base_url: str, chunks: Callable[[], Iterable[bytes]], size: int, tag: str
) -> dict[str, Any]:
    """One import of the chunks ``chunks()`` gives into a fresh database through a server started from
    ``tree``."""
    url = fresh_database(base_url, f"compare_{tag}")
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{tree / 'service'}:{tree / 'clients' / 'python'}",
        "DUALDRAW_DATABASE_URL": url,
        "DUALDRAW_AUTH": "off",
        "DUALDRAW_ALLOW_LOCAL_ENTROPY": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "dualdraw.entrypoints.cli.main", "serve", "--address", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tree,
    )
    try:
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_send_message_length", 64 * 2**20)]
        )
        grpc.channel_ready_future(channel).result(timeout=60)
        call: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(METHOD)
        cpu_before, _ = _proc(server.pid)
        load = os.getloadavg()[0]
        metadata = (("x-dualdraw-actor", "bench"),)
        sent: list[float] = []

        def sending() -> Iterator[bytes]:
            yield from chunks()
            sent.append(time.perf_counter())  # the server has taken all but the last chunks

        start = time.perf_counter()
        call(sending(), timeout=900, metadata=metadata)
        seconds = time.perf_counter() - start
        cpu_after, peak = _proc(server.pid)
        channel.close()
    finally:
        server.terminate()
        server.wait(60)
        _drop(url)
    return {
        "tree": str(tree),
        "at": time.strftime("%H:%M:%S", time.gmtime()),
        "load": round(load, 1),
        "seconds": round(seconds, 2),
        "stream_s": round(sent[0] - start, 2),
        "objects_per_s": round(size / seconds),
        "server_cpu_s": round(cpu_after - cpu_before, 2),
        "server_peak_mb": peak,
    }


def _drop(url: str) -> None:
    """Drops the run's PostgreSQL database (a million objects take ~0.5 GB of disk)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trees", required=True, help="comma-separated source trees (repo roots)")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/dualdraw-bench"))
    parser.add_argument(
        "--client-chunking",
        action="store_true",
        help="the client library chunks the records during each call (as make bench imports)",
    )
    args = parser.parse_args(argv)
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    chunks: Callable[[], Iterable[bytes]]
    if args.client_chunking:
        records = directory_records(args.size)
        chunks = lambda: chunked_live(records)  # noqa: E731 -- the same shape as the cached chunks' below
    else:
        serialized = serialized_chunks(args.size, args.cache)
        chunks = lambda: serialized  # noqa: E731
    runs: list[dict[str, Any]] = []
    for n in range(args.rounds):
        order = trees if n % 2 == 0 else trees[::-1]
        for i, tree in enumerate(order):
            row = run_once(tree, args.database_url, chunks, args.size, f"{args.size}_{trees.index(tree)}")
            print(json.dumps(row), flush=True)
            runs.append(row)
            del i
    medians = {}
    for tree in trees:
        seconds = statistics.median(r["seconds"] for r in runs if r["tree"] == str(tree))
        medians[str(tree)] = {"median_s": seconds, "objects_per_s": round(args.size / seconds)}
    print(json.dumps({"medians": medians}), flush=True)
    if len(trees) > 1:
        first, *others = (medians[str(t)]["median_s"] for t in trees)
        print(json.dumps({"speed_up": [round(first / other, 2) for other in others]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
