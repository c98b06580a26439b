"""What one inspection of a plan entry takes: the item version's figures unless the entry sets its own,
and how the estimate turns them into inspector-days and cost."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from dualdraw.domain.model import InspectionItem, ItemKind
from dualdraw.domain.plan.estimate import EntryScope, Workload, estimate_entry, months_in
from dualdraw.domain.plan.model import PlanEntry

ITEM = InspectionItem(
    "PQ", "抽查", "产品质量法", "product_quality", "生产企业", "product_quality", ItemKind.GENERAL,
    Fraction(1, 20), "city", team_size=3, days_per_inspection=Fraction(2), cost_per_inspection=Fraction(400),
    testing_fee=Fraction(2500),
)  # fmt: skip
YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_an_entry_takes_its_items_figures_unless_it_sets_its_own() -> None:
    plain = PlanEntry("e1", "PQ", 1, Fraction(1, 10), *YEAR)
    assert Workload.of(plain, ITEM) == Workload(3, Fraction(2), Fraction(400), Fraction(2500))
    own = PlanEntry("e1", "PQ", 1, Fraction(1, 10), *YEAR, team_size=2, cost_per_inspection=Fraction(0))
    assert Workload.of(own, ITEM) == Workload(2, Fraction(2), Fraction(0), Fraction(2500))


def test_only_an_entrys_own_figures_are_in_its_content_and_older_content_reads_back_unchanged() -> None:
    plain = PlanEntry("e1", "PQ", 1, Fraction(1, 10), *YEAR)
    assert not {"team_size", "days_per_inspection", "cost_per_inspection"} & set(plain.to_json())
    assert PlanEntry.from_json(plain.to_json()) == plain
    older = plain.to_json() | {"team_size": 2, "days_per_inspection": "1/1", "cost_per_inspection": "0/1"}
    assert PlanEntry.from_json(older).to_json() == older  # a stored version's content hash stays the same


def test_the_estimate_counts_team_days_cost_and_testing_fees_per_inspection() -> None:
    entry = PlanEntry("e1", "PQ", 1, Fraction(1, 10), *YEAR, frequency=2)
    scope = EntryScope("product_quality", 100, 0, {"A": 100}, 4)
    estimate = estimate_entry(entry, scope, Workload.of(entry, ITEM), inspector_days_per_month=2)
    first, second = estimate.periods
    assert first.inspections == second.inspections == 10
    assert first.inspector_days == 10 * 3 * 2
    assert first.testing_fees == 10 * 2500
    assert first.cost == 10 * (400 + 2500)
    assert (estimate.inspections, estimate.cost, estimate.testing_fees) == (20, 2 * 29000, 2 * 25000)


def test_each_period_counts_the_inspectors_qualified_throughout_it() -> None:
    entry = PlanEntry("e1", "PQ", 1, Fraction(1, 10), *YEAR, frequency=2)
    lapsing = EntryScope("product_quality", 100, 0, {"A": 100}, 4, qualified_per_period=(4, 1))
    first, second = estimate_entry(
        entry, lapsing, Workload.of(entry, ITEM), inspector_days_per_month=2
    ).periods
    assert (first.qualified_inspectors, second.qualified_inspectors) == (4, 1)
    assert first.available_inspector_days == 4 * 2 * months_in(first.period)
    assert second.available_inspector_days == 1 * 2 * months_in(second.period)
    assert second.shortfall_days > first.shortfall_days
