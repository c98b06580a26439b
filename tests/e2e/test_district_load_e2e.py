"""The district load harness (``bench/district_load.py``, its proofs in ``bench/district_checks.py``) run
small: six district branches of a province drawing their planned tasks at once through three ``dualdraw
serve`` processes on one PostgreSQL database. Nothing is lost or duplicated, retries answer the same, second
attempts are refused, every bundle verifies offline and the audit log verifies."""

from __future__ import annotations

from typing import Any

import pytest
from bench.district_checks import failures
from bench.district_load import run


@pytest.mark.slow
def test_six_districts_drawing_at_once_through_three_servers_lose_and_duplicate_nothing(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several server processes share one PostgreSQL database")
    report = run(
        database_url, districts=6, objects_per_district=200, inspectors_per_district=6, verify_processes=2
    )
    assert report["verdict"] == "PASS", report["failures"]
    assert report["database"]["tasks"] == report["database"]["draws"] == 6
    assert report["bundles"]["bundles"] == 6
    assert report["audit_verify"]["ok"]
    assert report["audit_verify"]["tree_size"] > 6
    assert report["audit_verify"]["signing_keys"] == 1
    assert report["draw_latency"]["count"] == 6
    assert report["selected_per_draw"] > 0
    assert report["reads_meanwhile"]["GetObject"]["count"] > 0
    assert report["database_sessions_meanwhile"]["samples"] > 0


def test_the_harness_finds_a_lost_draw_and_a_duplicate() -> None:
    """The checks themselves: a report with a task missing its draw, or a draw nobody acknowledged, fails."""
    clean: dict[str, Any] = {
        "districts": 2,
        "client_errors": {},
        "database": {
            "tasks": 2,
            "draws": 2,
            "lost": [],
            "duplicated": {"draws_not_acknowledged": [], "draws_per_task_above_one": []},
        },
        "retries": {
            "create_task_same_task": 2,
            "draw_same_draw": 2,
            "second_task_refused": {"PLAN_ENTRY_ALREADY_DRAWN": 2},
            "second_draw_refused": {"DRAW_EXISTS": 2},
        },
        "bundles": {"bundles": 2, "not_verified": {}},
        "audit_verify": {"ok": True, "output": ""},
    }
    assert failures(clean) == []
    lost = {**clean, "database": {**clean["database"], "lost": ["t-1"]}}
    assert any(f.startswith("lost") for f in failures(lost))
    twice = {
        **clean,
        "database": {**clean["database"], "draws": 3, "duplicated": {"draws_not_acknowledged": ["d-3"]}},
    }
    assert any(f.startswith("duplicated") for f in failures(twice))
    again = {
        **clean,
        "retries": {**clean["retries"], "second_draw_refused": {"ACCEPTED": 1, "DRAW_EXISTS": 1}},
    }
    assert any(f.startswith("second draws") for f in failures(again))
