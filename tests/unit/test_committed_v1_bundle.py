"""A ``dualdraw-draw/1`` bundle made before every new draw became a policy draw still verifies: offline
(``dualdraw verify``'s ``verify_bundle``) and with the server's integrity check (``domain.draw.integrity``),
which publication and the audit-log check use. New draws never use v1; old ones must stay checkable."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from dualdraw.domain.draw.commitments import EligibleEntry
from dualdraw.domain.draw.integrity import StoredDraw, check_stored_draw
from dualdraw.domain.draw.versions import PLAIN_DRAW
from dualdraw.domain.model import Assignment, Draw, Exclusion, ExclusionCategory, TeamMember
from dualdraw.verifier.bundle import verify_bundle

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
BUNDLE = VECTORS / "bundle-v1.json"


def stored_from_bundle(bundle: dict[str, Any], salt_key: str) -> StoredDraw:
    """The rows a store would hold for the bundle's draw."""
    d = bundle["draw"]
    manifest = json.loads(d["manifest_json"])
    objects = manifest["objects"]
    draw = Draw(
        id=d["id"],
        task_id=d["task_id"],
        created_at=dt.datetime.fromisoformat(manifest["created_at"]),
        actor=manifest["actor"],
        algorithm_version=manifest["algorithm_version"],
        seed=d["seed"],
        entropy_source=d["entropy_source"],
        entropy=d["entropy"],
        manifest_hash=d["manifest_hash"],
        manifest_json=d["manifest_json"],
        rule_set_hash=manifest["rule_set"]["hash"],
        rule_set_version=manifest["rule_set"]["version"],
        as_of=dt.date.fromisoformat(manifest["as_of"]),
        in_scope_count=objects["in_scope"],
        excluded_count=objects["excluded"],
        eligible_count=objects["eligible"],
        selected_count=len(bundle["assignments"]),
        team_size=manifest["task"]["team_size"],
        ratio=Fraction(manifest["task"]["ratio"]),
        eligible_digest=objects["eligible_digest"],
        inspector_pool_digest=manifest["inspectors"]["pool_digest"],
        state=d["state"],
    )
    entries = [EligibleEntry(e["code"], e["stratum"], e["risk_class"]) for e in bundle["eligible"]]
    return StoredDraw(
        draw=draw,
        salt_key=bytes.fromhex(salt_key),
        entries=entries,
        eligible_codes=[e.code for e in entries],
        exclusions=[
            Exclusion(code, rule, ExclusionCategory.STATUTORY_METHOD, "", "")
            for code, rule in bundle["exclusions"]
        ],
        pool_lines=bundle["pool"],
        assignments=[
            Assignment(
                a["position"],
                a["code"],
                a["ticket"],
                a["stratum"],
                tuple(TeamMember(b, n == 0) for n, b in enumerate(a["team"])),
            )
            for a in bundle["assignments"]
        ],
        substitutions=[],
    )


def test_the_committed_v1_bundle_verifies_offline() -> None:
    raw = BUNDLE.read_bytes()
    assert json.loads(json.loads(raw)["draw"]["manifest_json"])["algorithm_version"] == PLAIN_DRAW
    report = verify_bundle(raw)
    assert report.ok, report.problem


def test_the_committed_v1_bundle_passes_the_servers_integrity_check() -> None:
    bundle = json.loads(BUNDLE.read_bytes())
    salt_key = json.loads((VECTORS / "bundle-v1.stored.json").read_text())["salt_key"]
    stored = stored_from_bundle(bundle, salt_key)
    assert check_stored_draw(stored) is None
    moved = stored.assignments[0]
    swapped = replace(moved, team=moved.team[::-1])  # the leader's row edited
    tampered = replace(stored, assignments=[swapped, *stored.assignments[1:]])
    found = check_stored_draw(tampered)
    assert found is not None
    assert found.what == "teams"
