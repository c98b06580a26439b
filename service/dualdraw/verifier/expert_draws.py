"""Verifying an expert draw offline (docs/DRAW-ALGORITHM.md §8.2) from what ``GetExpertDraw`` returns
(``dualdraw experts show ID --json``): inputs and result canonical and hashed as recorded, the entropy
opening its declaration (a beacon round produced after the commit, its signature verified; or a local
secret's commitment), and the selection recomputed from the inputs. Domain code only: no SQL, no gRPC.

What it cannot see offline: that the inputs were logged before the entropy (the audit log's
``expert_draw.commit`` event; the server's ``VerifyExpertDraw`` checks it) and that ``draw_seed`` and
``objects`` are the draw's (checked against the draw's own bundle by whoever holds both)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from dualdraw.domain.draw.entropy import (
    BEACON,
    ROLE_BEACON,
    ROLE_LOCAL,
    EntropyProblem,
    check_rounds_after,
    combine,
    validate_declaration,
)
from dualdraw.domain.draw.expert_draw import verify

LOCAL_NOTE = "entropy: local secret — development only, not publishable"


@dataclass
class ExpertDrawReport:
    """``problem`` is "" on a match; ``notes`` say what was not or could not be checked."""

    problem: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problem


def is_expert_draw(document: Any) -> bool:
    """Whether ``document`` is an expert draw as ``GetExpertDraw`` returns it in JSON."""
    return isinstance(document, dict) and str(document.get("name", "")).startswith("expertDraws/")


def verify_expert_draw_document(document: dict[str, Any]) -> ExpertDrawReport:
    """Checks an executed expert draw's JSON document; see the module docstring."""
    report = ExpertDrawReport()
    inputs_json = str(document.get("inputs_json", ""))
    result_json = str(document.get("result_json", ""))
    if not result_json:
        report.problem = "state: not executed (nothing to verify yet)"
        return report
    if hashlib.sha256(inputs_json.encode("utf-8")).hexdigest() != document.get("inputs_hash"):
        report.problem = "inputs: SHA-256 differs from inputs_hash"
        return report
    if hashlib.sha256(result_json.encode("utf-8")).hexdigest() != document.get("result_hash"):
        report.problem = "result: SHA-256 differs from result_hash"
        return report
    if problem := verify(inputs_json, result_json):
        report.problem = problem
        return report
    inputs, result = json.loads(inputs_json), json.loads(result_json)
    declaration = inputs["entropy_source"]
    try:
        validate_declaration(declaration)
        if declaration["kind"] == BEACON:
            requested = dt.datetime.fromisoformat(inputs["requested_at"].replace("Z", "+00:00"))
            check_rounds_after(declaration, requested)
            values = {(ROLE_BEACON, declaration["beacon"]): str(document.get("beacon_value", ""))}
        else:
            values = {(ROLE_LOCAL, "local"): result["entropy"]}
            report.notes.append(LOCAL_NOTE)
        entropy, _ = combine(declaration, values)
    except EntropyProblem as exc:
        report.problem = f"entropy: {exc}"
        return report
    if entropy.hex() != result["entropy"]:
        report.problem = "entropy: differs from its declaration's value"
        return report
    report.notes.append(
        "not checked offline: the commit's place in the audit log, and the draw's seed and objects"
    )
    return report
