"""A department's annual plan (年度双随机抽查工作计划) and its versions.

A plan version is ``draft`` → ``approved`` → ``published``; an amendment is a new published version with
a reason. A published version takes effect at its publication time, never earlier. Entries keep their id
across versions, so "one draw per entry and period" holds across amendments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any, TypeVar

from dualdraw.domain.canonical_json import canonical_json, sha256_hex
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, Violations
from dualdraw.domain.model import Task
from dualdraw.domain.policy import DrawRules, TaskPolicy

_T = TypeVar("_T")
RISK_CLASSES = ("A", "B", "C", "D")
MAX_FREQUENCY = 12


class PlanState(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"


@dataclass(frozen=True)
class PlanEntry:
    """One line of the plan: an item version drawn at a ratio, ``frequency`` times in its window.

    The window ``[window_start, window_end]`` is cut into ``frequency`` periods (``periods``); each period
    admits one draw. ``class_ratios`` (by credit-risk class) override ``ratio`` for their class."""

    id: str
    item_code: str
    item_version: int
    ratio: Fraction
    window_start: dt.date
    window_end: dt.date
    frequency: int = 1
    class_ratios: tuple[tuple[str, Fraction], ...] = ()
    cooperating_department_ids: tuple[str, ...] = ()
    cooperating_lines: tuple[tuple[str, str], ...] = ()
    """Cooperating department → the line (speciality) its members must hold on the draw date, sorted by
    department; one for every cooperating department (entries stored before lines existed have none)."""
    central: bool = False
    team_size: int | None = None
    """Inspectors per team for this entry; ``None``: the item version's (``InspectionItem.team_size``)."""
    days_per_inspection: Fraction | None = None
    """Working days one inspection takes each inspector; ``None``: the item version's."""
    cost_per_inspection: Fraction | None = None
    """Cost of one inspection in yuan, testing fees apart; ``None``: the item version's."""
    rules: DrawRules = field(default_factory=DrawRules)
    """The caps, raises and other-level handling every draw of this entry applies (Art. 8, 15)."""

    def draw_policy(self, task: TaskPolicy) -> TaskPolicy:
        """The policy a draw of this entry uses: the entry's ratios by class, central or joint draw, caps,
        raises and other-level handling, cooperating departments and their lines, over the task's own team
        rules. An entry stored before entries declared lines leaves the lines to the task."""
        return replace(
            self.rules.planned_policy(task),
            class_ratios=dict(self.class_ratios),
            central=self.central,
            cooperating_department_ids=self.cooperating_department_ids,
            cooperating_lines=dict(self.cooperating_lines)
            if self.cooperating_lines
            else task.cooperating_lines,
        )

    def policy_mismatches(self, task: TaskPolicy, path: str = "task.policy") -> list[FieldViolation]:
        """What a planned task's own policy asks for that the entry does not say (see ``DrawRules``)."""
        if not task.enabled:
            return []
        out = self.rules.mismatches(task, path, self.id)
        if task.class_ratios and dict(task.class_ratios) != dict(self.class_ratios):
            out.append(
                FieldViolation(
                    f"{path}.class_ratios",
                    f"plan entry {self.id} sets the class ratios",
                    "PLAN_ENTRY_MISMATCH",
                )
            )
        if task.central and not self.central:
            out.append(
                FieldViolation(
                    f"{path}.central", f"plan entry {self.id} is not a central draw", "PLAN_ENTRY_MISMATCH"
                )
            )
        if task.cooperating_department_ids and set(task.cooperating_department_ids) != set(
            self.cooperating_department_ids
        ):
            out.append(
                FieldViolation(
                    f"{path}.cooperating_department_ids",
                    f"plan entry {self.id} names the cooperating departments",
                    "PLAN_ENTRY_MISMATCH",
                )
            )
        if (
            self.cooperating_lines
            and task.cooperating_lines
            and dict(task.cooperating_lines) != dict(self.cooperating_lines)
        ):
            out.append(
                FieldViolation(
                    f"{path}.cooperating_lines",
                    f"plan entry {self.id} declares the cooperating departments' lines",
                    "PLAN_ENTRY_MISMATCH",
                )
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return (
            {
                "id": self.id,
                "item_code": self.item_code,
                "item_version": self.item_version,
                "ratio": _ratio(self.ratio),
                "class_ratios": {c: _ratio(r) for c, r in self.class_ratios},
                "window": [self.window_start.isoformat(), self.window_end.isoformat()],
                "frequency": self.frequency,
                "cooperating_department_ids": list(self.cooperating_department_ids),
                "central": self.central,
            }
            | self._lines()
            | self._rules()
            | self._overrides()
        )

    def _lines(self) -> dict[str, Any]:
        """The cooperating lines when declared: versions stored before entries had lines keep their hash."""
        return {"cooperating_lines": dict(self.cooperating_lines)} if self.cooperating_lines else {}

    def _rules(self) -> dict[str, Any]:
        """The entry's draw rules when they differ from the defaults: versions stored before entries had
        rules keep their content hash."""
        return {"rules": self.rules.to_json()} if self.rules != DrawRules() else {}

    def _overrides(self) -> dict[str, Any]:
        """The entry's own workload and cost figures; absent ones are the item version's."""
        data: dict[str, Any] = {}
        if self.team_size is not None:
            data["team_size"] = self.team_size
        if self.days_per_inspection is not None:
            data["days_per_inspection"] = _ratio(self.days_per_inspection)
        if self.cost_per_inspection is not None:
            data["cost_per_inspection"] = _ratio(self.cost_per_inspection)
        return data

    @staticmethod
    def from_json(data: dict[str, Any]) -> PlanEntry:
        return PlanEntry(
            id=data["id"],
            item_code=data["item_code"],
            item_version=int(data["item_version"]),
            ratio=Fraction(data["ratio"]),
            class_ratios=tuple((c, Fraction(r)) for c, r in sorted(data["class_ratios"].items())),
            window_start=dt.date.fromisoformat(data["window"][0]),
            window_end=dt.date.fromisoformat(data["window"][1]),
            frequency=int(data["frequency"]),
            cooperating_department_ids=tuple(data["cooperating_department_ids"]),
            cooperating_lines=tuple(sorted(data.get("cooperating_lines", {}).items())),
            central=bool(data["central"]),
            team_size=_optional(int, data.get("team_size")),
            days_per_inspection=_optional(Fraction, data.get("days_per_inspection")),
            cost_per_inspection=_optional(Fraction, data.get("cost_per_inspection")),
            rules=DrawRules.from_json(data.get("rules", {})),
        )


def _ratio(r: Fraction) -> str:
    return f"{r.numerator}/{r.denominator}"


def _optional(parse: Callable[[Any], _T], value: object) -> _T | None:
    return None if value is None else parse(value)


@dataclass(frozen=True)
class Period:
    """The ``index``-th (1-based) period of an entry: the days one draw of the entry may happen on."""

    index: int
    start: dt.date
    end: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def periods(entry: PlanEntry) -> list[Period]:
    """The entry's window cut into ``frequency`` consecutive periods of (nearly) equal length in days."""
    days = (entry.window_end - entry.window_start).days + 1
    bounds = [
        entry.window_start + dt.timedelta(days=days * k // entry.frequency)
        for k in range(entry.frequency + 1)
    ]
    return [Period(k + 1, bounds[k], bounds[k + 1] - dt.timedelta(days=1)) for k in range(entry.frequency)]


def period_of(entry: PlanEntry, day: dt.date) -> Period | None:
    return next((p for p in periods(entry) if p.contains(day)), None)


@dataclass(frozen=True)
class PlanVersion:
    plan_id: str
    version: int
    department_id: str
    year: int
    title: str
    state: PlanState
    entries: tuple[PlanEntry, ...]
    created_at: dt.datetime
    created_by: str
    inspector_days_per_month: int = 2
    """Days each qualified inspector can give to random inspections per month (the estimate's capacity)."""
    amendment_reason: str = ""
    approved_at: dt.datetime | None = None
    published_at: dt.datetime | None = None

    def entry(self, entry_id: str) -> PlanEntry | None:
        return next((e for e in self.entries if e.id == entry_id), None)

    def content(self) -> dict[str, Any]:
        """The canonical content of this version (what its hash covers): no timestamps or state."""
        return {
            "plan_id": self.plan_id,
            "version": self.version,
            "department_id": self.department_id,
            "year": self.year,
            "title": self.title,
            "inspector_days_per_month": self.inspector_days_per_month,
            "amendment_reason": self.amendment_reason,
            "entries": [e.to_json() for e in sorted(self.entries, key=lambda e: e.id)],
        }

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of ``content()``: what the audit log commits to."""
        return sha256_hex(canonical_json(self.content()))

    def in_force_at(self, moment: dt.datetime) -> bool:
        return (
            self.state is PlanState.PUBLISHED
            and self.published_at is not None
            and self.published_at <= moment
        )


def require_state(version: PlanVersion, state: PlanState, doing: str) -> None:
    if version.state is not state:
        raise FailedPrecondition(
            f"plan {version.plan_id} version {version.version} is {version.state.value}; {doing} needs a "
            f"{state.value} version",
            reason="PLAN_STATE",
            metadata={"plan_id": version.plan_id, "state": version.state.value},
        )


def entry_problems(entry: PlanEntry, year: int, field: str) -> Violations:
    """What is wrong with an entry on its own (the item and departments are checked against the store)."""
    v = Violations()
    if not entry.item_code:
        v.add(f"{field}.item_code", "is required", reason="FIELD_REQUIRED")
    if entry.item_version < 1:
        v.add(
            f"{field}.item_version",
            "must name a published item version (1 or more)",
            reason="VALUE_OUT_OF_RANGE",
        )
    if not 0 < entry.ratio <= 1:
        v.add(f"{field}.ratio", "must be in (0, 1]", reason="RATIO_OUT_OF_RANGE")
    for c, r in entry.class_ratios:
        if c not in RISK_CLASSES:
            v.add(f"{field}.class_ratios", f"unknown risk class {c!r}", reason="RISK_CLASS_UNKNOWN")
        if not 0 < r <= 1:
            v.add(
                f"{field}.class_ratios", f"ratio of class {c} must be in (0, 1]", reason="RATIO_OUT_OF_RANGE"
            )
    if entry.window_start > entry.window_end:
        v.add(f"{field}.window_end", "must not be before window_start", reason="DATE_ORDER")
    if entry.window_start.year != year or entry.window_end.year != year:
        v.add(
            f"{field}.window_start",
            f"the window must lie in the plan year {year}",
            reason="DATE_OUT_OF_RANGE",
        )
    if not 1 <= entry.frequency <= MAX_FREQUENCY:
        v.add(f"{field}.frequency", f"must be between 1 and {MAX_FREQUENCY}", reason="VALUE_OUT_OF_RANGE")
    elif (
        entry.window_start <= entry.window_end
        and (entry.window_end - entry.window_start).days + 1 < entry.frequency
    ):
        v.add(f"{field}.frequency", "the window has fewer days than periods", reason="VALUE_OUT_OF_RANGE")
    for dep in entry.cooperating_department_ids:
        if not dict(entry.cooperating_lines).get(dep, "").strip():
            v.add(
                f"{field}.cooperating_lines[{dep}]",
                "declare the line (speciality) the cooperating department's inspectors must hold",
                reason="FIELD_REQUIRED",
            )
    for dep, _ in entry.cooperating_lines:
        if dep not in entry.cooperating_department_ids:
            v.add(
                f"{field}.cooperating_lines[{dep}]",
                f"{dep!r} is not a cooperating department of the entry",
                reason="FIELDS_CONFLICT",
            )
    v.items.extend(
        workload_problems(entry.team_size, entry.days_per_inspection, entry.cost_per_inspection, field).items
    )
    v.items.extend(entry.rules.problems(f"{field}.rules"))
    return v


def workload_problems(
    team_size: int | None,
    days_per_inspection: Fraction | None,
    cost_per_inspection: Fraction | None,
    field: str,
    testing_fee: Fraction | None = None,
) -> Violations:
    """What is wrong with the figures the estimate counts (an item's, or an entry's overrides)."""
    v = Violations()
    if days_per_inspection is not None and days_per_inspection <= 0:
        v.add(f"{field}.days_per_inspection", "must be greater than 0", reason="VALUE_OUT_OF_RANGE")
    if cost_per_inspection is not None and cost_per_inspection < 0:
        v.add(f"{field}.cost_per_inspection", "must not be negative", reason="VALUE_OUT_OF_RANGE")
    if testing_fee is not None and testing_fee < 0:
        v.add(f"{field}.testing_fee", "must not be negative", reason="VALUE_OUT_OF_RANGE")
    if team_size is not None and not 2 <= team_size <= 20:
        v.add(f"{field}.team_size", "must be between 2 and 20 (Art. 10)", reason="TEAM_SIZE_OUT_OF_RANGE")
    return v


def with_entry(version: PlanVersion, entry: PlanEntry) -> PlanVersion:
    """``version`` with ``entry`` added, or replacing the entry of the same id."""
    kept = tuple(e for e in version.entries if e.id != entry.id)
    return replace(version, entries=tuple(sorted((*kept, entry), key=lambda e: e.id)))


def already_drawn(holder: Task) -> FailedPrecondition:
    """The refusal of a second task for the period ``holder`` holds, naming its task and draw."""
    assert holder.plan is not None
    where = f"draw {holder.draw_id}" if holder.draw_id else "no draw yet"
    return FailedPrecondition(
        f"entry {holder.plan.entry_id} of plan {holder.plan.plan_id}, period {holder.plan.period}, belongs "
        f"to task {holder.id} ({where}): one draw per entry and period; abandon that draw to draw again",
        reason="PLAN_ENTRY_ALREADY_DRAWN",
        metadata={"task_id": holder.id, "draw_id": holder.draw_id or "", "plan_id": holder.plan.plan_id},
    )


def same_item_and_period(a: PlanEntry, b: PlanEntry) -> bool:
    """Two entries plan the same item over overlapping days: each would draw it again for one period."""
    return a.item_code == b.item_code and a.window_start <= b.window_end and b.window_start <= a.window_end


def duplicate_entry(plan_id: str, held: PlanEntry, entry: PlanEntry) -> FailedPrecondition:
    """The refusal of a second entry for an item and period that ``held`` (of plan ``plan_id``) plans."""
    return FailedPrecondition(
        f"entry {held.id} of plan {plan_id} plans item {held.item_code} over {held.window_start}.."
        f"{held.window_end} already; a second entry for the same item and period would draw it twice",
        reason="PLAN_ENTRY_DUPLICATE",
        metadata={"plan_id": plan_id, "entry_id": held.id, "item_code": held.item_code},
    )
