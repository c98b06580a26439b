"""Exporting a line bundle and verifying it hold no more for eight times the eligible objects at the same
selection: what they keep grows with the selection and the sort runs, not with the objects (the budget of
the 10M-object run, docs/PERFORMANCE.md "Provincial scale")."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import pytest
from bench.generate import AS_OF, ITEM, PROVINCE, directory
from bench.run import CALLER, load_directory

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store, codes
from dualdraw.adapters.store.database import migrate
from dualdraw.domain.draw import object_plan
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.domain.model import TaskScope
from dualdraw.runtime import external_sort
from dualdraw.service_layer import bundles, catalogue
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.verifier.bundle import verify_path
from tests.e2e.conftest import RULES

T = TypeVar("T")
SMALL, LARGE = 4_000, 32_000
RATIO = Fraction(1, 1000)  # a handful selected at either size: the selection is not what grows
RUN_ITEMS = 1_000  # sort runs spill at this many rows, so both sizes spill
UNPACK_PIECE = 4_096  # stored code lists inflate a piece of this many compressed bytes at a time
STORED_BATCH = 500  # stored plan rows are decoded this many lines at a time


def _traced(fn: Callable[[], T]) -> tuple[T, int]:
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _export_and_verify(tmp: Path, size: int) -> tuple[int, int]:
    """The traced peaks of building the full line bundle of a draw of ``size`` objects and of verifying it."""
    url = f"sqlite:///{tmp}/draw-{size}.db"
    migrate(url)
    store = Store.from_url(url)
    try:
        load_directory(store, directory(size, 100))
        task = catalogue.create_task(
            store.unit_of_work(),
            item_code=ITEM.code,
            department_id=PROVINCE,
            ratio=RATIO,
            team_size=2,
            scope=TaskScope(),
            title="bounded bundles",
            caller=CALLER,
        )
        with ExclusionEngine() as engine:
            outcome = run_draw(
                store.unit_of_work(),
                engine,
                load_rule_set([RULES]),
                task_id=task.id,
                as_of=AS_OF,
                caller=CALLER,
                entropy=EntropyPolicy(allow_local=True),
            )
        built, export_peak = _traced(
            lambda: bundles.build_bundle(store.unit_of_work(), outcome.draw.id, form=bundles.LINES_FORMAT)
        )
    finally:
        store.dispose()
    try:
        report, verify_peak = _traced(lambda: verify_path(Path(built.path)))  # as `dualdraw verify FILE`
    finally:
        built.discard()
    assert report.ok, report.problem
    return export_peak, verify_peak


@pytest.mark.slow
def test_exporting_and_verifying_a_line_bundle_hold_no_more_for_eight_times_the_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the pieces and runs of a 10M run, scaled down: each holds at most a constant number of rows,
    # so what is left to grow is what the design keeps for every object
    monkeypatch.setattr(external_sort, "RUN_ITEMS", RUN_ITEMS)
    monkeypatch.setattr(codes, "UNPACK_PIECE", UNPACK_PIECE)
    monkeypatch.setattr(object_plan, "STORED_BATCH", STORED_BATCH)
    small_export, small_verify = _export_and_verify(tmp_path, SMALL)
    large_export, large_verify = _export_and_verify(tmp_path, LARGE)
    more = LARGE - SMALL
    # bytes held per object more: a list of the rows would be hundreds; the export keeps the draw's two
    # compressed code lists (entries and plan, ~7 bytes an object each: 14 measured), the verifier nothing
    assert (large_export - small_export) / more < 25, (small_export, large_export)
    assert (large_verify - small_verify) / more < 5, (small_verify, large_verify)
