"""The domain's records, as plain frozen dataclasses (terms from ../DESIGN.md).

Dates are ``datetime.date``; ratios are exact ``Fraction``s; enumerations are ``StrEnum``s whose values are
the lower-case words used in rule files, the database and JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from fractions import Fraction
from itertools import compress
from operator import attrgetter
from typing import Any, NamedTuple, Protocol, overload

import numpy as np
import numpy.typing as npt


class DepartmentLevel(IntEnum):
    PROVINCE = 1
    CITY = 2
    DISTRICT = 3


class RiskClass(StrEnum):
    """Credit-risk class: A low ... D high."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class ObjectStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEREGISTERED = "deregistered"


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    HANDLING = "handling"
    CLOSED = "closed"


class RiskConclusion(StrEnum):
    SUITABLE = "suitable"
    UNSUITABLE = "unsuitable"


class ItemKind(StrEnum):
    GENERAL = "general"
    KEY = "key"


class ExclusionCategory(StrEnum):
    """The four categories of Art. 16."""

    STATUTORY_METHOD = "statutory_method"
    COMPLAINT_HANDLING = "complaint_handling"
    RISK_UNSUITABLE = "risk_unsuitable"
    HIGHER_LEVEL_CAMPAIGN = "higher_level_campaign"


class SystemExclusionCategory(StrEnum):
    """Exclusions the service makes itself, outside the Art. 16 rule files (frequency caps)."""

    FREQUENCY_CAP = "frequency_cap"
    """The object reached the task's yearly frequency cap."""
    OTHER_LEVEL = "other_level"
    """Another level's draw of the same item selected the object this year (left to it, or joined)."""


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    parent_id: str | None
    level: DepartmentLevel
    region_code: str


@dataclass(frozen=True)
class InspectionObject:
    credit_code: str
    name: str
    region_code: str
    registering_department_id: str
    industry: str
    business_lines: tuple[str, ...]
    risk_class: RiskClass
    status: ObjectStatus
    office: str = ""


class ObjectAttributes(Protocol):
    """What the exclusion rules, strata, raises and hand-over read of an inspection object: every attribute
    but its name. ``InspectionObject`` and ``DrawObject`` both have them."""

    @property
    def credit_code(self) -> str: ...
    @property
    def region_code(self) -> str: ...
    @property
    def registering_department_id(self) -> str: ...
    @property
    def industry(self) -> str: ...
    @property
    def business_lines(self) -> tuple[str, ...]: ...
    @property
    def risk_class(self) -> RiskClass: ...
    @property
    def status(self) -> ObjectStatus: ...
    @property
    def office(self) -> str: ...


class ObjectProfile(NamedTuple):
    """Every attribute a draw reads of an object but its credit code. Objects of one department, region,
    industry, class and office share one profile: a draw loads thousands of profiles for millions of
    objects."""

    region_code: str
    registering_department_id: str
    industry: str
    business_lines: tuple[str, ...]
    risk_class: RiskClass
    status: ObjectStatus
    office: str

    @classmethod
    def of(cls, obj: ObjectAttributes) -> ObjectProfile:
        """The profile of ``obj``: every attribute but its credit code."""
        return cls(
            obj.region_code,
            obj.registering_department_id,
            obj.industry,
            obj.business_lines,
            obj.risk_class,
            obj.status,
            obj.office,
        )


class DrawObject(NamedTuple):
    """An in-scope object as a draw loads it: an ``InspectionObject`` without its name (no rule, stratum,
    raise or hand-over reads it), as its credit code and a shared ``ObjectProfile``. A draw holds one per
    object in scope, millions of them: a pair is 64 bytes where the eight attributes side by side took
    112, and the name is most of an object's text."""

    credit_code: str
    profile: ObjectProfile

    @property
    def region_code(self) -> str:
        return self.profile.region_code

    @property
    def registering_department_id(self) -> str:
        return self.profile.registering_department_id

    @property
    def industry(self) -> str:
        return self.profile.industry

    @property
    def business_lines(self) -> tuple[str, ...]:
        return self.profile.business_lines

    @property
    def risk_class(self) -> RiskClass:
        return self.profile.risk_class

    @property
    def status(self) -> ObjectStatus:
        return self.profile.status

    @property
    def office(self) -> str:
        return self.profile.office


_NUMBERED_PIECE = 1 << 16


class DrawObjects(Sequence[DrawObject]):
    """A draw's in-scope objects as two columns, their credit codes and their shared profiles (same
    order): 16 bytes per object where a list of ``DrawObject`` pairs takes 72. A ``DrawObject`` is made
    when one is read; a slice is ``DrawObjects`` again."""

    __slots__ = ("_numbered", "codes", "profiles")

    def __init__(self, codes: list[str] | None = None, profiles: list[ObjectProfile] | None = None) -> None:
        self.codes: list[str] = [] if codes is None else codes
        self.profiles: list[ObjectProfile] = [] if profiles is None else profiles
        if len(self.codes) != len(self.profiles):
            raise ValueError(f"{len(self.codes)} credit codes for {len(self.profiles)} profiles")
        self._numbered: tuple[list[ObjectProfile], npt.NDArray[np.intp]] | None = None

    @classmethod
    def of_numbered(
        cls, codes: list[str], distinct: list[ObjectProfile], numbers: npt.NDArray[np.intp]
    ) -> DrawObjects:
        """The objects of ``codes`` whose profiles are ``distinct[n]`` for each ``n`` of ``numbers`` (same
        order): ``distinct`` holds no profile twice (by identity), in order of first occurrence, and
        ``numbered()`` returns these two as they are."""
        profiles: list[ObjectProfile] = []
        for start in range(0, len(numbers), _NUMBERED_PIECE):  # a piece's ints at a time, not ten million
            profiles.extend(map(distinct.__getitem__, numbers[start : start + _NUMBERED_PIECE].tolist()))
        objects = cls(codes, profiles)
        objects._numbered = (distinct, numbers)
        return objects

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int) -> DrawObject: ...
    @overload
    def __getitem__(self, index: slice) -> DrawObjects: ...
    def __getitem__(self, index: int | slice) -> DrawObject | DrawObjects:
        if isinstance(index, slice):
            return DrawObjects(self.codes[index], self.profiles[index])
        return DrawObject(self.codes[index], self.profiles[index])

    def __iter__(self) -> Iterator[DrawObject]:
        return map(DrawObject._make, zip(self.codes, self.profiles, strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DrawObjects):
            return self.codes == other.codes and self.profiles == other.profiles
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for

    def append(self, obj: DrawObject) -> None:
        self.codes.append(obj.credit_code)
        self.profiles.append(obj.profile)
        self._numbered = None

    def pop(self) -> DrawObject:
        """Removes and returns the last object."""
        self._numbered = None
        return DrawObject(self.codes.pop(), self.profiles.pop())

    def numbered(self) -> tuple[list[ObjectProfile], npt.NDArray[np.intp]]:
        """The distinct profiles (by identity, in order of first occurrence) and each object's number among
        them, in order: what is read once per profile reaches each object by array indexing. Computed once
        and kept, and carried by ``where`` (the profiles of objects filtered out stay listed); recomputed
        if the columns changed length since."""
        found = self._numbered
        if found is None or len(found[1]) != len(self.profiles):
            profiles = self.profiles
            distinct = dict(zip(map(id, profiles), profiles, strict=True))  # first occurrence kept in order
            number_of = {key: number for number, key in enumerate(distinct)}
            numbers = np.fromiter(map(number_of.__getitem__, map(id, profiles)), np.intp, len(profiles))
            found = self._numbered = (list(distinct.values()), numbers)
        return found

    def where(self, keep: Sequence[bool]) -> DrawObjects:
        """The objects whose flag in ``keep`` (same order) is true."""
        kept = DrawObjects(list(compress(self.codes, keep)), list(compress(self.profiles, keep)))
        found = self._numbered
        if found is not None and len(found[1]) == len(self.profiles):
            flags = np.fromiter(keep, np.bool_, len(self.profiles))
            kept._numbered = (found[0], found[1][flags])
        return kept

    def clear(self) -> None:
        self.codes.clear()
        self.profiles.clear()
        self._numbered = None


def credit_codes(objects: Sequence[ObjectAttributes]) -> Sequence[str]:
    """The objects' credit codes, in order: for ``DrawObjects`` their own column (read it, do not change it:
    a copy of ten million codes is 80 MB at a draw's peak), else a new list."""
    return objects.codes if isinstance(objects, DrawObjects) else [o.credit_code for o in objects]


def attribute_column(objects: Sequence[ObjectAttributes], attribute: str) -> list[Any]:
    """Each object's ``attribute`` (an ``ObjectAttributes`` name), in order, as a new list. For
    ``DrawObjects`` read from their columns (the profile's, once per object at C speed): no ``DrawObject``
    is made, where a loop over a million of them spends a second making pairs."""
    if isinstance(objects, DrawObjects):
        return (
            list(objects.codes)
            if attribute == "credit_code"
            else list(map(attrgetter(attribute), objects.profiles))
        )
    return list(map(attrgetter(attribute), objects))


@dataclass(frozen=True)
class Speciality:
    code: str
    certificate_expires_on: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return self.certificate_expires_on is None or self.certificate_expires_on >= day


@dataclass(frozen=True)
class Inspector:
    badge_number: str
    name: str
    department_id: str
    office: str
    specialities: tuple[Speciality, ...]
    available: bool = True
    conflicts: frozenset[str] = field(default_factory=frozenset)

    def qualified_for(self, speciality: str, day: dt.date) -> bool:
        """True when the inspector holds ``speciality`` with a certificate valid on ``day``."""
        return any(s.code == speciality and s.valid_on(day) for s in self.specialities)


@dataclass(frozen=True)
class Complaint:
    id: str
    credit_code: str
    status: ComplaintStatus
    received_on: dt.date
    closed_on: dt.date | None = None
    summary: str = ""


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    organizer_department_id: str
    region_code: str
    industry: str
    business_line: str
    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True)
class RiskAssessment:
    id: str
    credit_code: str
    conclusion: RiskConclusion
    assessed_on: dt.date
    valid_until: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class StatutoryDesignation:
    id: str
    credit_code: str
    business_line: str
    method: str
    legal_basis: str
    valid_from: dt.date
    valid_to: dt.date | None = None


@dataclass(frozen=True)
class InspectionItem:
    code: str
    name: str
    legal_basis: str
    business_line: str
    target_scope: str
    required_speciality: str
    kind: ItemKind
    default_ratio: Fraction
    department_id: str
    created_at: dt.datetime | None = None
    frequency_cap: int | None = None
    """Planned inspections per object per department per calendar year for this item; ``None``: the default
    (1). A task's policy may set its own cap, which wins."""
    unqualified_assistant: bool = False
    """A team may include one member without the item's speciality (never the leader); frozen in the
    manifest of every ``dualdraw-draw/3`` draw."""
    team_size: int = 2
    """Inspectors one inspection of the item takes (Art. 10: at least 2); what the plan's estimate counts."""
    days_per_inspection: Fraction = Fraction(1)
    """Working days one inspection takes each inspector on the team, for the plan's estimate."""
    cost_per_inspection: Fraction = Fraction(0)
    """Cost of one inspection in yuan (travel, materials), for the plan's estimate."""
    testing_fee: Fraction = Fraction(0)
    """Laboratory testing fees per inspection in yuan for a sampling item (抽样检验); 0 for other items."""


@dataclass(frozen=True)
class TaskScope:
    region_code: str | None = None
    industries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    id: str
    item_code: str
    department_id: str
    ratio: Fraction
    team_size: int
    scope: TaskScope
    title: str = ""
    created_at: dt.datetime | None = None
    draw_id: str | None = None
    policy_json: str = ""
    """The task's policy (``domain.policy.TaskPolicy`` as JSON); empty: draws ``dualdraw-draw/1``."""
    plan: PlanRef | None = None
    """The published plan entry and period the task draws for; ``None`` only outside a required plan."""
    rehearsal: bool = False
    """A rehearsal: drawn at any date, never published, never counted in history or caps."""

    @property
    def plan_slot(self) -> str | None:
        """``plan_id/entry_id/period`` when the task holds its plan period (a rehearsal holds none)."""
        if self.plan is None or self.rehearsal:
            return None
        return f"{self.plan.plan_id}/{self.plan.entry_id}/{self.plan.period}"


@dataclass(frozen=True)
class PlanRef:
    """A plan entry's period, as a task refers to it (the plan version it was created under)."""

    plan_id: str
    version: int
    entry_id: str
    period: int


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An object in scope removed from a draw by one rule; ``evidence`` names the side facts that matched.
    Slotted: a provincial draw holds hundreds of thousands."""

    credit_code: str
    rule_id: str
    category: ExclusionCategory | SystemExclusionCategory
    reason: str
    legal_basis: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamMember:
    badge_number: str
    leader: bool


@dataclass(frozen=True)
class Assignment:
    """A selected object (1-based ``position`` in ticket order) and its team; the first member leads."""

    position: int
    credit_code: str
    ticket: str
    stratum: str
    team: tuple[TeamMember, ...]


@dataclass(frozen=True)
class Draw:
    id: str
    task_id: str
    created_at: dt.datetime
    actor: str
    algorithm_version: str
    seed: str
    entropy_source: str
    entropy: str
    manifest_hash: str
    manifest_json: str
    rule_set_hash: str
    rule_set_version: str
    as_of: dt.date
    in_scope_count: int
    excluded_count: int
    eligible_count: int
    selected_count: int
    team_size: int
    ratio: Fraction
    eligible_digest: str
    inspector_pool_digest: str
    state: str = "executed"
    """``committed`` (manifest frozen, awaiting entropy), ``executed`` or ``abandoned``."""
    state_reason: str = ""
    state_note: str = ""
    executed_at: dt.datetime | None = None

    @property
    def rehearsal(self) -> bool:
        """Drawn to rehearse a plan entry: its committed manifest says so (``"rehearsal": true``).

        The manifest is canonical JSON (no blanks; a quote inside a string is escaped), so a manifest
        without the text ``"rehearsal":true`` has no such key and is not parsed: a 1M draw's manifest
        (50 MB) took seconds to parse for every ``Draw`` answered."""
        if '"rehearsal":true' not in self.manifest_json:
            return False
        return json.loads(self.manifest_json).get("rehearsal") is True


@dataclass(frozen=True)
class AuditEvent:
    sequence: int
    occurred_at: dt.datetime
    actor: str
    action: str
    resource: str
    before_json: str
    after_json: str
    request_id: str = ""


@dataclass(frozen=True)
class AuditRecord:
    """What a write records in the audit log; the log appends it as the ``AuditEvent`` with the next
    sequence. ``occurred_at`` must be timezone-aware."""

    actor: str
    action: str
    resource: str
    occurred_at: dt.datetime
    before_json: str = ""
    after_json: str = ""
    request_id: str = ""


@dataclass
class SideFacts:
    """Side facts for a set of objects, as the exclusion rules read them."""

    complaints: list[Complaint] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)
    risk_assessments: list[RiskAssessment] = field(default_factory=list)
    statutory_designations: list[StatutoryDesignation] = field(default_factory=list)
