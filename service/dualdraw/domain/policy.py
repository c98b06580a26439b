"""Task policy (Art. 7, 8, 10, 15): differentiated ratios, raises, frequency caps, team rules, joint
draws, and the ``DrawRules`` (caps, raises, objects another level drew) every new draw applies — a plan
entry's, or the bureau defaults. Every new draw is a policy draw (docs/DRAW-ALGORITHM.md §14).

Everything here is pure: the service layer gathers the facts (complaints, earlier inspections, serious
violations) and these functions decide.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import compress
from typing import Any

from dualdraw.domain.errors import FieldViolation, Violations
from dualdraw.domain.model import (
    ItemKind,
    ObjectAttributes,
    RiskClass,
    attribute_column,
    credit_codes,
)

FREQUENCY_CAP_RULE_ID = "frequency-cap"
"""Reserved rule id of the exclusions made by the frequency cap (not a rule-file rule)."""
EXCLUDE = "exclude"
JOIN = "join"
OTHER_LEVEL_HANDLINGS = (EXCLUDE, JOIN)
DEFAULT_FREQUENCY_CAP = 1
DEFAULT_COMPLAINT_THRESHOLD = 3
DEFAULT_RAISE_WINDOW_DAYS = 365
MAX_COMPLAINT_THRESHOLD = 1000
MAX_ITEM_FREQUENCY_CAP = 366
"""The highest per-item cap (one inspection a day)."""
DEFAULT_GENERAL_RATIO_CAP = Fraction(1, 5)
"""The highest ratio a task on a *general* item may use under a policy (key items: up to 1)."""
MAX_RECENT_CYCLES = 20
MAX_COOPERATING = 10
_CLASSES = tuple(RiskClass)


@dataclass(frozen=True)
class TaskPolicy:
    """The policy settings of a task (ratios per class, raises, caps, team rules, joint draws); the default
    (all unset) keeps ``dualdraw-draw/1`` behaviour."""

    class_ratios: Mapping[str, Fraction] = field(default_factory=dict)
    """Ratio per credit-risk class ``A``..``D``; a class not listed uses the task's ratio."""
    complaint_threshold: int = 0
    """Objects with at least this many complaints received in the window are raised (0: off)."""
    raise_window_days: int = 365
    raise_on_serious_violation: bool = False
    """Objects with a result ``case_opened`` or referred to the judiciary in the window are raised."""
    raise_to: str = ""
    """The class a raised object is drawn in; empty: one class higher (D stays D)."""
    frequency_cap: int | None = None
    """Planned inspections per object per department per calendar year (0: no cap; ``None``: not set by the
    task — the item's cap, else ``DEFAULT_FREQUENCY_CAP``; see ``for_item``)."""
    campaign: bool = False
    """A campaign ordered from above: counted separately from planned inspections."""
    central: bool = False
    """Draw centrally across the subtree and hand every object to its registering (supervising) branch."""
    cross_office: bool = False
    """No inspector inspects an object of their own office."""
    recent_cycles: int = 0
    """No inspector on an object they inspected in its last K inspections (0: off)."""
    workload_cap: int = 0
    """At most this many assignments per inspector in one draw (0: no cap)."""
    cooperating_department_ids: tuple[str, ...] = ()
    """Joint draw (Art. 15): the cooperating departments; each adds ``cooperating_team_size`` members."""
    cooperating_team_size: int = 1
    cooperating_lines: Mapping[str, str] = field(default_factory=dict)
    """Cooperating department → the line (speciality) its members must hold on the draw date; one for every
    cooperating department (``dualdraw-draw/3``)."""
    other_level: str = ""
    """Objects another level drew this year for the same item: ``exclude`` or ``join`` (empty: not set by
    the task — the plan entry's, else the bureau default; see ``DrawRules``)."""
    enabled: bool = False
    """True when the task was created with a policy; every draw uses one (``DrawRules.policy_for``)."""

    def to_json(self) -> dict[str, Any]:
        if not self.enabled:
            return {}
        return {
            "class_ratios": {
                k: f"{v.numerator}/{v.denominator}" for k, v in sorted(self.class_ratios.items())
            },
            "complaint_threshold": self.complaint_threshold,
            "raise_window_days": self.raise_window_days,
            "raise_on_serious_violation": self.raise_on_serious_violation,
            "raise_to": self.raise_to,
            "frequency_cap": self.frequency_cap,
            "campaign": self.campaign,
            "central": self.central,
            "cross_office": self.cross_office,
            "recent_cycles": self.recent_cycles,
            "workload_cap": self.workload_cap,
            "cooperating_department_ids": list(self.cooperating_department_ids),
            "cooperating_team_size": self.cooperating_team_size,
            # Only when declared: the policies of earlier tasks (and their v2 manifests) keep their bytes.
            **(
                {"cooperating_lines": dict(sorted(self.cooperating_lines.items()))}
                if self.cooperating_lines
                else {}
            ),
            **({"other_level": self.other_level} if self.other_level else {}),
        }

    @property
    def effective_frequency_cap(self) -> int:
        return DEFAULT_FREQUENCY_CAP if self.frequency_cap is None else self.frequency_cap

    def for_item(self, item_frequency_cap: int | None) -> TaskPolicy:
        """This policy with the cap a draw uses: the task's own cap if set, else the item's, else the
        default (1)."""
        if self.frequency_cap is not None:
            return self
        cap = DEFAULT_FREQUENCY_CAP if item_frequency_cap is None else item_frequency_cap
        return replace(self, frequency_cap=cap)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> TaskPolicy:
        if not data:
            return TaskPolicy()

        def fraction(text: str) -> Fraction:
            p, q = text.split("/")
            return Fraction(int(p), int(q))

        return TaskPolicy(
            class_ratios={k: fraction(v) for k, v in data.get("class_ratios", {}).items()},
            complaint_threshold=int(data.get("complaint_threshold", 0)),
            raise_window_days=int(data.get("raise_window_days", 365)),
            raise_on_serious_violation=bool(data.get("raise_on_serious_violation", False)),
            raise_to=str(data.get("raise_to", "")),
            frequency_cap=_optional_int(data.get("frequency_cap", DEFAULT_FREQUENCY_CAP)),
            campaign=bool(data.get("campaign", False)),
            central=bool(data.get("central", False)),
            cross_office=bool(data.get("cross_office", False)),
            recent_cycles=int(data.get("recent_cycles", 0)),
            workload_cap=int(data.get("workload_cap", 0)),
            cooperating_department_ids=tuple(data.get("cooperating_department_ids", ())),
            cooperating_team_size=int(data.get("cooperating_team_size", 1)),
            cooperating_lines={str(k): str(v) for k, v in data.get("cooperating_lines", {}).items()},
            other_level=str(data.get("other_level", "")),
            enabled=True,
        )

    @staticmethod
    def loads(text: str) -> TaskPolicy:
        return TaskPolicy.from_json(json.loads(text or "{}"))


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class DrawRules:
    """The caps and raises every new draw applies, and what it does with objects another level drew: a
    published plan entry's (its task takes them from the version in force at commit), or — with no plan
    required (development) — the bureau defaults from Settings."""

    frequency_cap: int = DEFAULT_FREQUENCY_CAP
    """Planned inspections per object per department per calendar year (0: no cap)."""
    complaint_threshold: int = DEFAULT_COMPLAINT_THRESHOLD
    """Objects with at least this many complaints in the window are raised (Art. 8; 0: off)."""
    raise_window_days: int = DEFAULT_RAISE_WINDOW_DAYS
    raise_on_serious_violation: bool = True
    """Objects with a case opened or a judicial referral in the window are raised (Art. 8)."""
    raise_to: str = ""
    """The class a raised object is drawn in; empty: one class higher."""
    other_level: str = EXCLUDE
    """Objects an ancestor's or a descendant's draw of the same item selected this year (Art. 8, 15):
    ``exclude`` (left to that draw) or ``join`` (joined into that draw's inspection)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "frequency_cap": self.frequency_cap,
            "complaint_threshold": self.complaint_threshold,
            "raise_window_days": self.raise_window_days,
            "raise_on_serious_violation": self.raise_on_serious_violation,
            "raise_to": self.raise_to,
            "other_level": self.other_level,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> DrawRules:
        """Missing keys take the defaults (plan versions stored before the rules existed)."""
        d = DrawRules()
        return DrawRules(
            frequency_cap=int(data.get("frequency_cap", d.frequency_cap)),
            complaint_threshold=int(data.get("complaint_threshold", d.complaint_threshold)),
            raise_window_days=int(data.get("raise_window_days", d.raise_window_days)),
            raise_on_serious_violation=bool(data.get("raise_on_serious_violation", True)),
            raise_to=str(data.get("raise_to", "")),
            other_level=str(data.get("other_level", EXCLUDE)),
        )

    def problems(self, path: str) -> list[FieldViolation]:
        v = Violations()
        if not 0 <= self.frequency_cap <= MAX_ITEM_FREQUENCY_CAP:
            v.add(
                f"{path}.frequency_cap",
                f"must be between 0 (no cap) and {MAX_ITEM_FREQUENCY_CAP}",
                reason="VALUE_OUT_OF_RANGE",
            )
        if not 0 <= self.complaint_threshold <= MAX_COMPLAINT_THRESHOLD:
            v.add(
                f"{path}.complaint_threshold",
                f"must be between 0 (off) and {MAX_COMPLAINT_THRESHOLD}",
                reason="VALUE_OUT_OF_RANGE",
            )
        if not 1 <= self.raise_window_days <= 3660:
            v.add(f"{path}.raise_window_days", "must be between 1 and 3660", reason="VALUE_OUT_OF_RANGE")
        if self.raise_to and self.raise_to not in {c.value for c in _CLASSES}:
            v.add(
                f"{path}.raise_to",
                f"unknown credit-risk class {self.raise_to!r} (A, B, C or D)",
                reason="RISK_CLASS_UNKNOWN",
            )
        if self.other_level not in OTHER_LEVEL_HANDLINGS:
            v.add(f"{path}.other_level", f"must be {EXCLUDE!r} or {JOIN!r}", reason="ENUM_VALUE_UNKNOWN")
        return v.items

    def policy_for(self, task: TaskPolicy, *, item_frequency_cap: int | None = None) -> TaskPolicy:
        """The policy a task's draw uses under these rules (bureau defaults, no plan): what the task set
        itself wins (its policy was checked at creation); its cap, else the item's, else these rules'."""
        if not task.enabled:
            task = replace(
                TaskPolicy(),
                complaint_threshold=self.complaint_threshold,
                raise_window_days=self.raise_window_days,
                raise_on_serious_violation=self.raise_on_serious_violation,
                raise_to=self.raise_to,
                enabled=True,
            )
        cap = task.frequency_cap
        if cap is None:
            cap = self.frequency_cap if item_frequency_cap is None else item_frequency_cap
        return replace(task, frequency_cap=cap, other_level=task.other_level or self.other_level)

    def planned_policy(self, task: TaskPolicy) -> TaskPolicy:
        """The policy a planned task's draw uses: these (the entry's) caps, raises and other-level handling
        over the task's team rules. ``plan_mismatches`` keeps a task from asking for anything else."""
        return replace(
            task,
            frequency_cap=self.frequency_cap,
            complaint_threshold=self.complaint_threshold,
            raise_window_days=self.raise_window_days,
            raise_on_serious_violation=self.raise_on_serious_violation,
            raise_to=self.raise_to,
            other_level=self.other_level,
            enabled=True,
        )

    def mismatches(self, task: TaskPolicy, path: str, entry_id: str) -> list[FieldViolation]:
        """A planned task's policy fields that differ from the entry's rules. A task may repeat the entry's
        value or leave the field unset; it may not change it, stricter or laxer: a cap or a raise is the
        published plan's, not the operator's choice."""
        if not task.enabled:
            return []
        unset = TaskPolicy()
        out = []
        for name in (
            "frequency_cap",
            "complaint_threshold",
            "raise_window_days",
            "raise_on_serious_violation",
            "raise_to",
            "other_level",
        ):
            asked, planned = getattr(task, name), getattr(self, name)
            if asked != getattr(unset, name) and asked != planned:
                out.append(
                    FieldViolation(
                        f"{path}.{name}",
                        f"plan entry {entry_id} sets {name} to {planned!r}; a planned task takes the "
                        "plan's caps and raises (leave it unset)",
                        "PLAN_ENTRY_MISMATCH",
                    )
                )
        return out


def policy_problems(
    policy: TaskPolicy,
    *,
    ratio: Fraction,
    item_kind: ItemKind,
    department_id: str,
    known_departments: Iterable[str],
    below: Iterable[str] = (),
    general_ratio_cap: Fraction = DEFAULT_GENERAL_RATIO_CAP,
    path: str = "task.policy",
) -> list[FieldViolation]:
    """Why ``policy`` may not be used by a task of ``department_id`` on an item of ``item_kind``.

    ``below`` are the departments under ``department_id``: none of them may cooperate, since a central draw
    already draws its teams there (the same inspector could be picked twice for one team)."""
    v = Violations()
    if not policy.enabled:
        return []
    known = set(known_departments)
    own_branches = set(below) - {department_id}
    for cls, r in sorted(policy.class_ratios.items()):
        if cls not in {c.value for c in _CLASSES}:
            v.add(
                f"{path}.class_ratios",
                f"unknown credit-risk class {cls!r} (A, B, C or D)",
                reason="RISK_CLASS_UNKNOWN",
            )
        elif not 0 < r <= 1:
            v.add(
                f"{path}.class_ratios[{cls}]",
                f"must be greater than 0 and at most 1, got {r}",
                reason="RATIO_OUT_OF_RANGE",
            )
    if item_kind == ItemKind.GENERAL:
        for where, r in [("task.ratio", ratio)] + [
            (f"{path}.class_ratios[{c}]", x) for c, x in sorted(policy.class_ratios.items())
        ]:
            if r > general_ratio_cap:
                v.add(
                    where,
                    f"a general inspection item is drawn at most at {_decimal(general_ratio_cap)}, got "
                    f"{_decimal(r)} (only key items may go up to 1, Art. 8)",
                    reason="RATIO_ABOVE_GENERAL_CAP",
                )
    if policy.raise_to and policy.raise_to not in {c.value for c in _CLASSES}:
        v.add(
            f"{path}.raise_to",
            f"unknown credit-risk class {policy.raise_to!r} (A, B, C or D)",
            reason="RISK_CLASS_UNKNOWN",
        )
    for name in ("complaint_threshold", "frequency_cap", "recent_cycles", "workload_cap"):
        if (getattr(policy, name) or 0) < 0:
            v.add(f"{path}.{name}", "must not be negative", reason="VALUE_OUT_OF_RANGE")
    if policy.recent_cycles > MAX_RECENT_CYCLES:
        v.add(f"{path}.recent_cycles", f"at most {MAX_RECENT_CYCLES}", reason="VALUE_OUT_OF_RANGE")
    if not 1 <= policy.raise_window_days <= 3660:
        v.add(f"{path}.raise_window_days", "must be between 1 and 3660", reason="VALUE_OUT_OF_RANGE")
    if policy.other_level not in ("", *OTHER_LEVEL_HANDLINGS):
        v.add(
            f"{path}.other_level",
            f"must be {EXCLUDE!r} or {JOIN!r} (empty: the plan's or the default)",
            reason="ENUM_VALUE_UNKNOWN",
        )
    if len(policy.cooperating_department_ids) > MAX_COOPERATING:
        v.add(f"{path}.cooperating_department_ids", f"at most {MAX_COOPERATING}", reason="VALUE_OUT_OF_RANGE")
    seen: set[str] = set()
    for i, dep in enumerate(policy.cooperating_department_ids):
        if dep == department_id:
            v.add(
                f"{path}.cooperating_department_ids[{i}]",
                "the initiating department cannot also cooperate",
                reason="FIELDS_CONFLICT",
            )
        elif dep in own_branches:
            v.add(
                f"{path}.cooperating_department_ids[{i}]",
                f"{dep!r} is a branch of the initiating department: it takes part in the draw itself and "
                "cannot also cooperate",
                reason="FIELDS_CONFLICT",
            )
        elif dep in seen:
            v.add(
                f"{path}.cooperating_department_ids[{i}]",
                f"duplicate department {dep!r}",
                reason="DUPLICATE_VALUE",
            )
        elif dep not in known:
            v.add(
                f"{path}.cooperating_department_ids[{i}]",
                f"unknown department {dep!r}",
                reason="UNKNOWN_DEPARTMENT",
            )
        seen.add(dep)
    for dep in policy.cooperating_department_ids:
        if not policy.cooperating_lines.get(dep, "").strip():
            v.add(
                f"{path}.cooperating_lines[{dep}]",
                "declare the line (speciality) the cooperating department's inspectors must hold",
                reason="FIELD_REQUIRED",
            )
    for dep in sorted(set(policy.cooperating_lines) - set(policy.cooperating_department_ids)):
        v.add(
            f"{path}.cooperating_lines[{dep}]",
            f"{dep!r} is not a cooperating department",
            reason="FIELDS_CONFLICT",
        )
    if policy.cooperating_department_ids and not 1 <= policy.cooperating_team_size <= 5:
        v.add(f"{path}.cooperating_team_size", "must be between 1 and 5", reason="VALUE_OUT_OF_RANGE")
    return v.items


def _decimal(r: Fraction) -> str:
    from dualdraw.domain.draw.algorithm import format_ratio

    try:
        return format_ratio(r)
    except ValueError:
        return str(r)


# --- jurisdiction (Art. 7) ----------------------------------------------------------------------------------


def hand_over(
    objects: Sequence[ObjectAttributes], task_department_id: str, central: bool, subtree: frozenset[str]
) -> list[str]:
    """The department every object is handed to, in the order of ``objects``: its registering
    (supervising) branch in a central draw, otherwise the task's department. Raises ``ValueError`` for an
    object registered outside ``subtree`` (the task's department and those below it): a department never
    draws outside its subtree."""
    registering = attribute_column(objects, "registering_department_id")
    outside = set(registering) - subtree  # checked at C speed
    if outside:
        o = next(o for o in objects if o.registering_department_id in outside)
        raise ValueError(
            f"object {o.credit_code} is registered by {o.registering_department_id}, outside the subtree "
            f"of department {task_department_id}"
        )
    return registering if central else [task_department_id] * len(registering)


# --- raises (Art. 8) ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raise:
    """An object drawn in a higher class than its credit-risk class, and why."""

    credit_code: str
    from_class: str
    to_class: str
    reason: str
    evidence: tuple[str, ...] = ()


def raised_class(risk_class: str, raise_to: str) -> str:
    if raise_to:
        return max(risk_class, raise_to)  # A < B < C < D
    index = [c.value for c in _CLASSES].index(risk_class)
    return _CLASSES[min(index + 1, len(_CLASSES) - 1)].value


def compute_raises(
    policy: TaskPolicy,
    objects: Sequence[ObjectAttributes],
    as_of: dt.date,
    complaints: Mapping[str, Sequence[tuple[str, dt.date]]],
    serious_violations: Mapping[str, Sequence[tuple[str, dt.date]]],
) -> list[Raise]:
    """The raises of ``objects``: ``complaints`` and ``serious_violations`` map a credit code to
    ``(evidence id, date)`` pairs; those within ``raise_window_days`` before ``as_of`` (inclusive) count."""
    start = as_of - dt.timedelta(days=policy.raise_window_days)
    out: list[Raise] = []
    # Only an object with a complaint or a serious violation on record can be raised: at a million
    # eligible objects the others are not looked at one by one.
    candidates: set[str] = set()
    if policy.complaint_threshold:
        candidates.update(complaints)
    if policy.raise_on_serious_violation:
        candidates.update(serious_violations)
    codes = credit_codes(objects)
    named = (
        [objects[at] for at in compress(range(len(codes)), map(candidates.__contains__, codes))]
        if candidates
        else []
    )
    for o in sorted(named, key=lambda o: o.credit_code):
        reasons: list[str] = []
        evidence: list[str] = []
        if policy.complaint_threshold:
            hits = sorted(i for i, day in complaints.get(o.credit_code, ()) if start <= day <= as_of)
            if len(hits) >= policy.complaint_threshold:
                reasons.append(
                    f"{len(hits)} complaint(s) received from {start.isoformat()} to {as_of.isoformat()} "
                    f"(threshold {policy.complaint_threshold})"
                )
                evidence.extend(hits)
        if policy.raise_on_serious_violation:
            hits = sorted(i for i, day in serious_violations.get(o.credit_code, ()) if start <= day <= as_of)
            if hits:
                reasons.append(f"serious-violation record(s) from {start.isoformat()} on: {', '.join(hits)}")
                evidence.extend(hits)
        if reasons:
            to_class = raised_class(o.risk_class.value, policy.raise_to)
            out.append(
                Raise(o.credit_code, o.risk_class.value, to_class, "; ".join(reasons), tuple(evidence))
            )
    return out
