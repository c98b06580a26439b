"""The bench reads a draw's stages from the server's log and its readers' latencies as figures."""

from __future__ import annotations

from pathlib import Path

from bench.readers import Reads
from bench.server_log import draw_stages


def test_the_stages_of_the_last_draw_are_read_from_json_or_plain_lines(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        '{"message": "draw of task t-1: load done (10) in 9.00 s"}\n'
        '{"message": "draw of task t-1: rules done (10) in 8.00 s"}\n'
        "some other line\n"
        '{"message": "draw of task t-2: load done (979863) in 1.98 s", "process": "dualdraw-draw-process"}\n'
        "INFO draw of task t-2: rules done (979863) in 1.04 s\n"
        "INFO draw of task t-2: teams 1000 of 46087\n",
        encoding="utf-8",
    )
    assert draw_stages(log) == {"load": 1.98, "rules": 1.04}


def test_reads_give_their_count_and_percentiles() -> None:
    reads = Reads(objects=[0.001 * n for n in range(1, 101)], explanations=[0.02, 0.01, 0.03])
    assert reads.figures() == {
        "reads_during_draw": 100,
        "read_p50_ms": 51.0,
        "read_p99_ms": 100.0,
        "explains_during_draw": 3,
        "explain_p50_ms": 20.0,
        "explain_p99_ms": 30.0,
        "explain_max_ms": 30.0,
    }
    assert Reads().figures() == {}
