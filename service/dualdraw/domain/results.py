"""Inspection results (Art. 12-13): the outcome recorded per assignment, append-only with versions.

A result is never edited: a correction is a new version with a reason. The outcome categories are those of
national "double random, one public" practice (the wording of the national results publicity forms).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from dualdraw.domain.errors import FieldViolation

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_FINDINGS_CHARS = 4000
MAX_ATTACHMENTS = 100
MAX_REASON_CHARS = 1000
PENALTY_DECISION_NUMBER = re.compile(r"^\S(.{0,62}\S)?$")


class Outcome(StrEnum):
    NO_PROBLEM = "no_problem"
    PROBLEM_CORRECTED = "problem_corrected"
    CASE_OPENED = "case_opened"
    NOT_FOUND_AT_ADDRESS = "not_found_at_address"
    NO_RELEVANT_ACTIVITY = "no_relevant_activity"


OUTCOME_LABELS_ZH: dict[Outcome, str] = {
    Outcome.NO_PROBLEM: "未发现问题",
    Outcome.PROBLEM_CORRECTED: "发现问题已责令改正",
    Outcome.CASE_OPENED: "发现问题待后续处理（已立案查处）",
    Outcome.NOT_FOUND_AT_ADDRESS: "通过登记的住所（经营场所）无法联系",
    Outcome.NO_RELEVANT_ACTIVITY: "未发现开展本次抽查涉及的经营活动",
}
"""Chinese labels as shown to the public."""

# Outcomes that state that a problem was found, so the findings must say what it was.
_NEEDS_FINDINGS = frozenset({Outcome.PROBLEM_CORRECTED, Outcome.CASE_OPENED})


@dataclass(frozen=True)
class ResultEntry:
    """What an inspector records about one assignment (before it is stored as a version)."""

    outcome: Outcome
    inspected_on: dt.date
    findings: str = ""
    attachment_sha256: tuple[str, ...] = ()
    penalty_decision_number: str = ""
    referred_to_judicial: bool = False
    referral_note: str = ""


@dataclass(frozen=True)
class InspectionResult:
    """One stored version of the result of assignment ``position`` of draw ``draw_id``."""

    draw_id: str
    position: int
    version: int
    credit_code: str
    entry: ResultEntry
    recorded_by: str
    recorded_at: dt.datetime
    correction_reason: str = ""

    @property
    def record_id(self) -> str:
        """Stable id of this version (used by the credit export for idempotent re-delivery)."""
        return result_record_id(self.draw_id, self.position, self.version)


def result_record_id(draw_id: str, position: int, version: int) -> str:
    return f"{draw_id}/{position}/v{version}"


def result_problems(
    entry: ResultEntry,
    *,
    today: dt.date,
    drawn_on: dt.date,
    path: str = "result",
) -> list[FieldViolation]:
    """Every field violation of ``entry`` (empty when it may be stored)."""
    out: list[FieldViolation] = []

    def bad(name: str, text: str, reason: str) -> None:
        out.append(FieldViolation(f"{path}.{name}", text, reason=reason))

    if entry.inspected_on > today:
        bad("inspected_on", f"{entry.inspected_on} is in the future", "DATE_IN_FUTURE")
    elif entry.inspected_on < drawn_on:
        bad("inspected_on", f"{entry.inspected_on} is before the draw ({drawn_on})", "DATE_ORDER")
    findings = entry.findings.strip()
    if len(entry.findings) > MAX_FINDINGS_CHARS:
        bad("findings", f"at most {MAX_FINDINGS_CHARS} characters", "VALUE_TOO_LONG")
    if entry.outcome in _NEEDS_FINDINGS and not findings:
        bad("findings", f"is required when the outcome is {entry.outcome.value}", "FIELD_REQUIRED")
    if len(entry.attachment_sha256) > MAX_ATTACHMENTS:
        bad("attachment_sha256", f"at most {MAX_ATTACHMENTS} attachments", "VALUE_OUT_OF_RANGE")
    for i, digest in enumerate(entry.attachment_sha256):
        if not SHA256_HEX.match(digest):
            bad(f"attachment_sha256[{i}]", "must be 64 lower-case hex digits (SHA-256)", "SHA256_INVALID")
    if len(set(entry.attachment_sha256)) != len(entry.attachment_sha256):
        bad("attachment_sha256", "lists an attachment twice", "DUPLICATE_VALUE")
    number = entry.penalty_decision_number
    if number:
        if entry.outcome is not Outcome.CASE_OPENED:
            bad(
                "penalty_decision_number",
                "only a result with outcome case_opened has a penalty decision",
                "FIELDS_CONFLICT",
            )
        elif not PENALTY_DECISION_NUMBER.match(number):
            bad(
                "penalty_decision_number",
                "1-64 characters without leading or trailing spaces",
                "FORMAT_INVALID",
            )
    if entry.referred_to_judicial and entry.outcome is not Outcome.CASE_OPENED:
        bad(
            "referred_to_judicial",
            "only a case (outcome case_opened) can be referred (Art. 13)",
            "FIELDS_CONFLICT",
        )
    if entry.referral_note and not entry.referred_to_judicial:
        bad("referral_note", "is only allowed with referred_to_judicial", "FIELDS_CONFLICT")
    if len(entry.referral_note) > MAX_REASON_CHARS:
        bad("referral_note", f"at most {MAX_REASON_CHARS} characters", "VALUE_TOO_LONG")
    return out


def correction_problems(reason: str, path: str = "correction_reason") -> list[FieldViolation]:
    text = reason.strip()
    if not text:
        return [FieldViolation(path, "a correction needs a reason", reason="FIELD_REQUIRED")]
    if len(text) > MAX_REASON_CHARS:
        return [FieldViolation(path, f"at most {MAX_REASON_CHARS} characters", reason="VALUE_TOO_LONG")]
    return []


def inspection_ended_on(results: Sequence[InspectionResult], assignment_count: int) -> dt.date | None:
    """The day the draw's inspection ended: the last inspection day once every assignment has a result."""
    if assignment_count == 0 or len({r.position for r in results}) < assignment_count:
        return None
    return max(r.entry.inspected_on for r in results)
