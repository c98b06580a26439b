"""The plan's estimate (Art. 9): draws, inspections, inspector-days and cost per entry and period, set
against the qualified inspectors of each window, with every shortfall named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from dualdraw.domain.draw.selection import selection_size
from dualdraw.domain.model import InspectionItem
from dualdraw.domain.plan.model import Period, PlanEntry, periods


@dataclass(frozen=True)
class Workload:
    """What one inspection of an entry takes: the item version's figures, each one the entry overrides
    replaced by the entry's (testing fees are always the item's: they follow from its sampling)."""

    team_size: int
    days_per_inspection: Fraction
    cost_per_inspection: Fraction
    testing_fee: Fraction

    @staticmethod
    def of(entry: PlanEntry, item: InspectionItem) -> Workload:
        return Workload(
            team_size=item.team_size if entry.team_size is None else entry.team_size,
            days_per_inspection=(
                item.days_per_inspection if entry.days_per_inspection is None else entry.days_per_inspection
            ),
            cost_per_inspection=(
                item.cost_per_inspection if entry.cost_per_inspection is None else entry.cost_per_inspection
            ),
            testing_fee=item.testing_fee,
        )


@dataclass(frozen=True)
class CooperatingScope:
    """A cooperating department of a joint entry, the line it declares, and per period its available
    inspectors holding that line from the period's first to its last day."""

    department_id: str
    line: str
    qualified_per_period: tuple[int, ...]


@dataclass(frozen=True)
class CooperatingPeriod:
    """What one period of a joint entry asks of a cooperating department: one member per inspection (the
    default ``cooperating_team_size``) for the inspection's days, against its qualified inspectors' days."""

    department_id: str
    line: str
    period: Period
    qualified_inspectors: int
    inspector_days: Fraction
    available_inspector_days: Fraction


@dataclass(frozen=True)
class EntryScope:
    """What the live directory and rules say about one entry as of the plan date."""

    speciality: str
    in_scope: int
    excluded: int
    eligible_by_class: Mapping[str, int]
    qualified_inspectors: int
    """Qualified on the window's first day."""
    qualified_per_period: tuple[int, ...] = ()
    """Per period, those qualified from its first to its last day (a certificate may lapse mid-year);
    empty: ``qualified_inspectors`` in every period."""
    cooperating: tuple[CooperatingScope, ...] = ()


@dataclass(frozen=True)
class PeriodEstimate:
    entry_id: str
    period: Period
    speciality: str
    draws_by_class: Mapping[str, int]
    inspections: int
    inspector_days: Fraction
    qualified_inspectors: int
    available_inspector_days: Fraction
    cost: Fraction
    """Inspection cost and testing fees together."""
    testing_fees: Fraction

    @property
    def shortfall_days(self) -> Fraction:
        return max(Fraction(0), self.inspector_days - self.available_inspector_days)


@dataclass(frozen=True)
class EntryEstimate:
    entry: PlanEntry
    scope: EntryScope
    workload: Workload
    periods: tuple[PeriodEstimate, ...]
    cooperating: tuple[CooperatingPeriod, ...] = ()

    @property
    def inspections(self) -> int:
        return sum(p.inspections for p in self.periods)

    @property
    def inspector_days(self) -> Fraction:
        return sum((p.inspector_days for p in self.periods), Fraction(0))

    @property
    def cost(self) -> Fraction:
        return sum((p.cost for p in self.periods), Fraction(0))

    @property
    def testing_fees(self) -> Fraction:
        return sum((p.testing_fees for p in self.periods), Fraction(0))


def months_in(period: Period) -> Fraction:
    """The period's length in (30-day) months."""
    return Fraction((period.end - period.start).days + 1, 30)


def estimate_entry(
    entry: PlanEntry, scope: EntryScope, workload: Workload, inspector_days_per_month: int
) -> EntryEstimate:
    """Each period draws ``selection_size(ratio of the class, eligible of the class)`` per class, exactly as
    a draw does; every inspection needs ``team_size × days_per_inspection`` inspector-days and costs
    ``cost_per_inspection + testing_fee`` yuan."""
    ratios = dict(entry.class_ratios)
    draws = {
        c: selection_size(ratios.get(c, entry.ratio), n) for c, n in sorted(scope.eligible_by_class.items())
    }
    inspections = sum(draws.values())
    result = []
    for period in periods(entry):
        qualified = (
            scope.qualified_per_period[period.index - 1]
            if scope.qualified_per_period
            else scope.qualified_inspectors
        )
        result.append(
            PeriodEstimate(
                entry_id=entry.id,
                period=period,
                speciality=scope.speciality,
                draws_by_class=draws,
                inspections=inspections,
                inspector_days=inspections * workload.team_size * workload.days_per_inspection,
                qualified_inspectors=qualified,
                available_inspector_days=qualified * inspector_days_per_month * months_in(period),
                cost=inspections * (workload.cost_per_inspection + workload.testing_fee),
                testing_fees=inspections * workload.testing_fee,
            )
        )
    cooperating = tuple(
        CooperatingPeriod(
            department_id=c.department_id,
            line=c.line,
            period=period,
            qualified_inspectors=c.qualified_per_period[period.index - 1],
            inspector_days=inspections * workload.days_per_inspection,
            available_inspector_days=(
                c.qualified_per_period[period.index - 1] * inspector_days_per_month * months_in(period)
            ),
        )
        for c in scope.cooperating
        for period in periods(entry)
    )
    return EntryEstimate(entry, scope, workload, tuple(result), cooperating)


def shortfalls(estimates: list[EntryEstimate], department_id: str) -> list[str]:
    """Named shortfalls: per department, speciality and period, inspector-days needed beyond those
    available, e.g. ``"special_equipment, 2026-04-01..2026-06-30: 41 inspector-days short in 130273-GXQ"``:
    the plan's department for its teams, each cooperating department of a joint entry for the line the entry
    declares for it. Entries of one speciality whose periods are the same share its inspectors."""
    need: dict[tuple[str, str, str], Fraction] = {}
    have: dict[tuple[str, str, str], Fraction] = {}

    def count(key: tuple[str, str, str], needed: Fraction, available: Fraction) -> None:
        need[key] = need.get(key, Fraction(0)) + needed
        have[key] = max(have.get(key, Fraction(0)), available)

    for e in estimates:
        for p in e.periods:
            count(
                (department_id, p.speciality, p.period.label()), p.inspector_days, p.available_inspector_days
            )
        for c in e.cooperating:
            count((c.department_id, c.line, c.period.label()), c.inspector_days, c.available_inspector_days)
    named = []
    for key in sorted(need, key=lambda k: (k[0] != department_id, k)):
        short = need[key] - have[key]
        if short > 0:
            days = -(-short.numerator // short.denominator)
            named.append(f"{key[1] or 'no speciality'}, {key[2]}: {days} inspector-days short in {key[0]}")
    return named
