"""Loads the bundled demo directory (``dualdraw.service_layer.demo_directory``) into an empty database."""

from __future__ import annotations

from collections.abc import Callable

from dualdraw.service_layer import catalogue, directory
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import demo_directory
from dualdraw.service_layer.directory import DirectoryBatch
from dualdraw.service_layer.ports import UnitOfWork

DEMO_ACTOR = "demo-loader"


def load_demo(unit_of_work: Callable[[], UnitOfWork], *, only_if_empty: bool = True) -> dict[str, int] | None:
    """Imports the demo directory and item list; returns the counts, or ``None`` when data existed already."""
    if only_if_empty:
        with unit_of_work() as uow:
            if uow.directory.count_objects() > 0:
                return None
    demo = demo_directory()
    caller = Caller(actor=DEMO_ACTOR)
    batch = DirectoryBatch(
        departments=list(demo.departments),
        objects=list(demo.objects),
        inspectors=list(demo.inspectors),
        complaints=list(demo.complaints),
        campaigns=list(demo.campaigns),
        risk_assessments=list(demo.risk_assessments),
        statutory_designations=list(demo.statutory_designations),
    )
    counts = directory.import_directory(unit_of_work(), batch, caller)
    for item in demo.items:
        catalogue.create_item(unit_of_work(), item, caller)
    counts["items"] = len(demo.items)
    return counts
