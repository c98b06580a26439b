"""Inspection history (Art. 8, 15): the frequency-cap exclusions a draw makes from earlier draws, which
departments' history a draw reads, the inspectors of an object's recent inspections, and the joint
inspections several departments' draws make of one object. Pure: the service layer reads the history.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from dualdraw.domain.model import Exclusion, SystemExclusionCategory
from dualdraw.domain.policy import FREQUENCY_CAP_RULE_ID, TaskPolicy

# --- frequency caps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PastInspection:
    """An object selected in an earlier (executed, not abandoned) draw."""

    draw_id: str
    department_id: str
    campaign: bool
    as_of: dt.date
    credit_code: str
    badges: tuple[str, ...] = ()
    position: int = 0
    item_code: str = ""


def frequency_cap_exclusions(
    policy: TaskPolicy,
    department_id: str,
    as_of: dt.date,
    codes: Iterable[str],
    history: Iterable[PastInspection],
) -> list[Exclusion]:
    """Objects already inspected ``frequency_cap`` times this calendar year by ``department_id`` in draws of
    the same kind (planned vs. campaign: counted separately) — excluded with rule id ``frequency-cap``."""
    cap = policy.effective_frequency_cap
    if not cap:
        return []
    year = as_of.year
    counted: Counter[str] = Counter()
    drawn_in: dict[str, list[str]] = {}
    for past in history:
        if (
            past.department_id == department_id
            and past.campaign == policy.campaign
            and past.as_of.year == year
        ):
            counted[past.credit_code] += 1
            drawn_in.setdefault(past.credit_code, []).append(past.draw_id)
    if not counted:  # nothing drawn this year yet: no set of a million codes to make
        return []
    kind = "campaign" if policy.campaign else "planned"
    out = []
    # Only objects counted at all can reach the cap: the others (a million in a provincial draw) are not
    # looked up one by one.
    wanted = set(codes)
    for code in sorted(c for c, n in counted.items() if n >= cap and c in wanted):
        if counted[code] >= cap:
            out.append(
                Exclusion(
                    credit_code=code,
                    rule_id=FREQUENCY_CAP_RULE_ID,
                    category=SystemExclusionCategory.FREQUENCY_CAP,
                    reason=(
                        f"already {counted[code]} {kind} inspection(s) by department {department_id} in "
                        f"{year}; the cap is {cap} per calendar year"
                    ),
                    legal_basis=(
                        "frequency cap of the task or its item (national practice: 1 per object per year)"
                    ),
                    evidence=tuple(sorted(drawn_in[code])),
                )
            )
    return out


def reads_history(policy: TaskPolicy) -> bool:
    """Whether a draw under ``policy`` (its cap settled by ``for_item``) decides from earlier draws'
    selections: a frequency cap or the recent-inspections rule. Every draw adds to that history."""
    return policy.enabled and bool(policy.effective_frequency_cap or policy.recent_cycles)


def history_scope(department_id: str, policy: TaskPolicy, subtree: Iterable[str]) -> frozenset[str]:
    """The departments whose inspection history a draw of a task of ``department_id`` reads or adds to:
    its own (caps count per task department) and every department whose inspectors it may assign (recent
    inspections are remembered per inspector) — the cooperating ones and, in a central draw, ``subtree``
    (the task's department and every one below it). Two draws whose scopes share no department cannot
    change what the other reads."""
    scope = {department_id, *policy.cooperating_department_ids}
    if policy.central:
        scope.update(subtree)
    return frozenset(scope)


def recent_inspectors(
    recent_cycles: int, codes: Iterable[str], history: Iterable[PastInspection]
) -> dict[str, set[str]]:
    """badge → the codes (among ``codes``) on whose last ``recent_cycles`` inspections the badge served."""
    if not recent_cycles:
        return {}
    wanted = set(codes)
    by_code: dict[str, list[PastInspection]] = {}
    for past in history:
        if past.credit_code in wanted:
            by_code.setdefault(past.credit_code, []).append(past)
    out: dict[str, set[str]] = {}
    for code, pasts in by_code.items():
        for past in sorted(pasts, key=lambda p: (p.as_of, p.draw_id), reverse=True)[:recent_cycles]:
            for badge in past.badges:
                out.setdefault(badge, set()).add(code)
    return out


# --- joint inspections (Art. 15) --------------------------------------------------------------------------


@dataclass(frozen=True)
class JointInspection:
    """One object selected in one calendar year by the draws of several departments, merged: the inspections
    in draw-date order (the first draw's leader leads) and the union of their teams."""

    credit_code: str
    year: int
    parts: tuple[PastInspection, ...]
    team: tuple[str, ...]

    @property
    def department_ids(self) -> tuple[str, ...]:
        return tuple(p.department_id for p in self.parts)


def merge_joint_inspections(history: Iterable[PastInspection], year: int) -> list[JointInspection]:
    """Objects that executed draws of at least two different departments selected in ``year``, by code."""
    by_code: dict[str, list[PastInspection]] = {}
    for past in history:
        if past.as_of.year == year:
            by_code.setdefault(past.credit_code, []).append(past)
    out = []
    for code in sorted(by_code):
        parts = sorted(by_code[code], key=lambda p: (p.as_of, p.draw_id, p.position))
        if len({p.department_id for p in parts}) < 2:
            continue
        team: list[str] = []
        for p in parts:
            team.extend(b for b in p.badges if b not in team)
        out.append(JointInspection(code, year, tuple(parts), tuple(team)))
    return out
