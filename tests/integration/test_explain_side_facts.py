"""ExplainExclusion reads one object's side facts, not the whole directory: the same facts either way."""

from __future__ import annotations

from dualdraw.adapters.store.unit_of_work import Store
from dualdraw.service_layer import rule_preview
from dualdraw.service_layer.demo_loader import load_demo


def test_side_facts_of_one_object_are_those_of_the_whole_directory_snapshot(database_url: str) -> None:
    store = Store.from_url(database_url)
    try:
        load_demo(store.unit_of_work)
        with store.read_unit_of_work() as uow:
            snapshot = rule_preview.snapshot_from_uow(uow)
            assert snapshot.objects
            with_facts = 0
            for obj in snapshot.objects:
                alone = rule_preview.side_facts_of_object(uow, obj)
                assert alone == snapshot.side_facts_of({obj.credit_code})
                with_facts += bool(alone.complaints or alone.risk_assessments or alone.statutory_designations)
            assert with_facts > 0
    finally:
        store.dispose()
