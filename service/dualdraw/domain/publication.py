"""Publication of results (Art. 14) and what the public may see of them.

What is public is decided here, once: an inspector appears with name and badge number only; an object with
credit code, name and region; never the risk class, the draw stratum (which is the risk class), offices,
specialities, conflicts, side facts or exclusion evidence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dualdraw.domain.results import Outcome


@dataclass(frozen=True)
class Publication:
    """One publication (revision) of a draw's results; ``sequence`` orders all publications (checkpoints)."""

    sequence: int
    draw_id: str
    revision: int
    published_at: dt.datetime
    published_by: str
    inspection_ended_on: dt.date
    deadline: dt.date
    verification: str
    versions: tuple[tuple[int, int], ...]  # (position, version) of every published result

    @property
    def on_time(self) -> bool:
        return self.published_at.date() <= self.deadline


@dataclass(frozen=True)
class PublicationDue:
    """An executed draw with assignments not yet recorded or results not yet published; the deadline runs
    from the draw, ``inspection_ended_on`` is ``None`` while results are missing."""

    draw_id: str
    task_id: str
    inspection_ended_on: dt.date | None
    deadline: dt.date
    overdue_working_days: int
    unpublished_results: int
    unrecorded_results: int = 0


@dataclass(frozen=True)
class PublicInspector:
    badge_number: str
    name: str
    leader: bool


@dataclass(frozen=True)
class PublicResult:
    """A published result as the public sees it."""

    record_id: str
    draw_id: str
    task_id: str
    position: int
    version: int
    credit_code: str
    object_name: str
    region_code: str
    item_code: str
    item_name: str
    department_id: str
    department_name: str
    inspected_on: dt.date
    outcome: Outcome
    findings: str
    penalty_decision_number: str
    referred_to_judicial: bool
    attachment_sha256: tuple[str, ...]
    team: tuple[PublicInspector, ...]
    published_at: dt.datetime
    """When this version was first published (Art. 14: results are published as they come)."""
    publication_sequence: int
    correction_reason: str = ""
    supersedes: str = ""
    deadline: dt.date | None = None
    """20 working days after the draw: the deadline of every result of the draw."""

    @property
    def on_time(self) -> bool:
        return self.deadline is not None and self.published_at.date() <= self.deadline


@dataclass(frozen=True)
class PublicDraw:
    """A published draw: what was drawn, how, whether it re-computes, and when its results went public.

    The manifest itself is not published: it lists inspectors left out of the pool with their reasons
    (personal data); the public gets its hash, the seed, the entropy and the digests.
    """

    draw_id: str
    task_id: str
    task_title: str
    item_code: str
    item_name: str
    department_id: str
    department_name: str
    drawn_at: dt.datetime
    as_of: dt.date
    algorithm_version: str
    seed: str
    entropy_source: str
    entropy: str
    manifest_hash: str
    rule_set_hash: str
    rule_set_version: str
    in_scope_count: int
    excluded_count: int
    eligible_count: int
    selected_count: int
    ratio: str
    team_size: int
    eligible_digest: str
    inspector_pool_digest: str
    verification: str
    published_at: dt.datetime
    revision: int
    inspection_ended_on: dt.date
    deadline: dt.date


@dataclass(frozen=True)
class PublicAbandonedDraw:
    """An abandoned draw as the public sees it, from the moment it is abandoned: its committed manifest hash,
    how far it had gone (``seed`` empty: abandoned before execution), the reason code and note, and the
    task's draw that replaced it (empty until the task is drawn again)."""

    draw_id: str
    task_id: str
    task_title: str
    item_code: str
    department_id: str
    department_name: str
    drawn_at: dt.datetime
    abandoned_at: dt.datetime | None
    manifest_hash: str
    seed: str
    selected_count: int
    reason: str
    note: str
    replaced_by: str
    replacement_published: bool
    entropy_source: str = ""
    entropy_note: str = ""
    """Non-empty for a draw made with a local secret (development only): marked wherever it is shown."""


@dataclass(frozen=True)
class DepartmentRedraws:
    """Re-draw statistics of one department (of the drawing task): draws made, draws abandoned (by reason)
    and tasks with at least one abandoned draw."""

    department_id: str
    department_name: str
    draws: int
    abandoned: int
    tasks_with_abandons: int
    abandoned_by_reason: dict[str, int]
