"""Inspection checklists (检查内容和方式, Art. 4 and 11): what is checked for an item, on which legal basis
and how, bound to a published item version.

A checklist is revised, never edited: each revision names the item version it belongs to and the date it
takes effect. The checklist in force for an inspection is, for the item version of the draw, the latest
revision whose ``effective_from`` is on or before the inspection day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dualdraw.domain.errors import FieldViolation

CHECK_POINT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
MAX_CHECK_POINTS = 200
MAX_TEXT = 2000


class CheckMethod(StrEnum):
    """How a check point is checked (检查方式)."""

    ON_SITE = "on_site"  # 实地核查
    DOCUMENT_REVIEW = "document_review"  # 书面检查
    ONLINE = "online"  # 网络监测
    SAMPLING_AND_TESTING = "sampling_and_testing"  # 抽样检验检测


@dataclass(frozen=True)
class CheckPoint:
    """One thing the inspectors check, with its legal basis and method."""

    id: str
    text: str
    legal_basis: str
    method: CheckMethod


@dataclass(frozen=True)
class Checklist:
    """The check points of an item and, for a sampling item, what samples and laboratories it needs."""

    check_points: tuple[CheckPoint, ...]
    sample_requirements: str = ""
    laboratory_requirements: str = ""

    def point(self, point_id: str) -> CheckPoint | None:
        return next((p for p in self.check_points if p.id == point_id), None)

    @property
    def samples_needed(self) -> bool:
        """True when a check point is checked by sampling and testing."""
        return any(p.method is CheckMethod.SAMPLING_AND_TESTING for p in self.check_points)


@dataclass(frozen=True)
class ChecklistRevision:
    """One stored revision of the checklist of item ``item_code``, for its published ``item_version``."""

    item_code: str
    revision: int
    item_version: int
    effective_from: dt.date
    checklist: Checklist
    change_reason: str
    published_at: dt.datetime
    published_by: str

    @property
    def name(self) -> str:
        return checklist_name(self.item_code)


def checklist_name(item_code: str) -> str:
    """The resource name of an item's checklist."""
    return f"items/{item_code}/checklist"


def checklist_problems(checklist: Checklist, path: str = "checklist") -> list[FieldViolation]:
    """Every field violation of ``checklist`` (empty when it may be stored)."""
    out: list[FieldViolation] = []

    def bad(name: str, text: str, reason: str) -> None:
        out.append(FieldViolation(f"{path}.{name}", text, reason=reason))

    if not checklist.check_points:
        bad("check_points", "a checklist has at least one check point", "FIELD_REQUIRED")
    if len(checklist.check_points) > MAX_CHECK_POINTS:
        bad("check_points", f"at most {MAX_CHECK_POINTS} check points", "VALUE_OUT_OF_RANGE")
    seen: set[str] = set()
    for i, p in enumerate(checklist.check_points):
        at = f"check_points[{i}]"
        if not CHECK_POINT_ID.match(p.id):
            bad(f"{at}.id", "1-32 characters of letters, digits, '.', '_' and '-'", "FORMAT_INVALID")
        elif p.id in seen:
            bad(f"{at}.id", f"check point {p.id!r} is listed twice", "DUPLICATE_VALUE")
        seen.add(p.id)
        for name, value in (("text", p.text), ("legal_basis", p.legal_basis)):
            if not value.strip():
                bad(f"{at}.{name}", "is required", "FIELD_REQUIRED")
            elif len(value) > MAX_TEXT:
                bad(f"{at}.{name}", f"at most {MAX_TEXT} characters", "VALUE_TOO_LONG")
    if checklist.samples_needed:
        for name, value in (
            ("sample_requirements", checklist.sample_requirements),
            ("laboratory_requirements", checklist.laboratory_requirements),
        ):
            if not value.strip():
                bad(
                    name,
                    "is required when a check point is checked by sampling and testing",
                    "FIELD_REQUIRED",
                )
    for name, value in (
        ("sample_requirements", checklist.sample_requirements),
        ("laboratory_requirements", checklist.laboratory_requirements),
    ):
        if len(value) > MAX_TEXT:
            bad(name, f"at most {MAX_TEXT} characters", "VALUE_TOO_LONG")
    return out


def in_force(
    revisions: Iterable[ChecklistRevision], item_version: int, day: dt.date
) -> ChecklistRevision | None:
    """The revision for ``item_version`` in force on ``day`` (``None`` when there is none)."""
    found: ChecklistRevision | None = None
    for r in revisions:
        if r.item_version != item_version or r.effective_from > day:
            continue
        if found is None or (r.effective_from, r.revision) > (found.effective_from, found.revision):
            found = r
    return found


def checklist_document(checklist: Checklist) -> dict[str, Any]:
    """The checklist as a JSON object (for storage and canonical hashing)."""
    return {
        "check_points": [
            {"id": p.id, "text": p.text, "legal_basis": p.legal_basis, "method": p.method.value}
            for p in checklist.check_points
        ],
        "sample_requirements": checklist.sample_requirements,
        "laboratory_requirements": checklist.laboratory_requirements,
    }


def checklist_from_document(doc: Mapping[str, Any]) -> Checklist:
    """The inverse of ``checklist_document``."""
    return Checklist(
        check_points=tuple(
            CheckPoint(p["id"], p["text"], p["legal_basis"], CheckMethod(p["method"]))
            for p in doc["check_points"]
        ),
        sample_requirements=doc.get("sample_requirements", ""),
        laboratory_requirements=doc.get("laboratory_requirements", ""),
    )
