"""The benchmark's one-query SQL draw (bench/sql_floor.py) finds the same eligible set as dualdraw's draw:
same scope and the same four Art. 16 exclusions (no object was drawn before, so no cap or other level
excludes more). The floor selects ceil(ratio × eligible) in one stratum, as `dualdraw-draw/1` did; a
policy draw selects ceil(ratio × count) in each risk-class stratum."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from bench.generate import AS_OF, ITEM, PROVINCE, directory
from bench.python_floor import python_floor
from bench.run import CALLER, load_directory
from bench.sql_floor import floor_draw

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.adapters.store import Store
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.domain.model import TaskScope
from dualdraw.service_layer import catalogue
from dualdraw.service_layer.draws import run_draw
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from tests.e2e.conftest import RULES

DEVELOPMENT = EntropyPolicy(allow_local=True)  # development mode: one-step draws use a local secret


def test_the_sql_and_python_floors_find_the_sets_of_a_real_draw(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the one-query floor is written for PostgreSQL (sha256(), a recursive CTE)")
    store = Store.from_url(database_url)
    d = directory(3000, 100)
    load_directory(store, d)
    ratio = "0.05"
    task = catalogue.create_task(
        store.unit_of_work(),
        item_code=ITEM.code,
        department_id=PROVINCE,
        ratio=Fraction(ratio),
        team_size=2,
        scope=TaskScope(),
        title="floor",
        caller=CALLER,
    )
    with ExclusionEngine() as engine:
        drawn = run_draw(
            store.unit_of_work(),
            engine,
            load_rule_set([RULES]),
            task_id=task.id,
            as_of=AS_OF,
            caller=CALLER,
            entropy=DEVELOPMENT,
        ).draw
    store.dispose()
    floor = floor_draw(database_url, department=PROVINCE, as_of=AS_OF, line=ITEM.business_line, ratio=ratio)
    least = python_floor(database_url, department=PROVINCE, eligible=drawn.eligible_count)
    assert least.in_scope == drawn.in_scope_count  # the Python floor fetches the draw's scope
    assert drawn.excluded_count > 0  # the generated directory exercises the exclusions
    assert floor.eligible == drawn.eligible_count
    assert len(floor.selected) == math.ceil(Fraction(ratio) * floor.eligible)
    strata = json.loads(drawn.manifest_json)["objects"]["strata"]
    assert drawn.selected_count == sum(math.ceil(Fraction(ratio) * s["count"]) for s in strata.values())
