"""What a public bundle shows of the eligible set (docs/DRAW-ALGORITHM.md §12.2, §14.8), over the real server
on SQLite and PostgreSQL: a ``dualdraw-draw/4`` public bundle, in either form, names no unselected eligible
object and no raised one that was not selected; the older versions' public bundles still do (their
manifests and pool lines are covered by hashes and cannot change for a stored draw), which is marked here."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dualdraw.domain.draw.versions import (
    ALGORITHMS,
    COMMITTED_PLAN_DRAW,
    PLAIN_DRAW,
    POLICY_DRAW,
    QUALIFIED_DRAW,
)
from dualdraw.domain.model import Complaint, ComplaintStatus
from dualdraw.service_layer.demo_directory import DEMO_AS_OF
from dualdraw.service_layer.ports import PageRequest
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient

from .conftest import Served
from .test_draw_e2e import demo_task

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_a_public_bundle_names_no_unselected_and_no_raised_object(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client)
    with demo_served.running.services.unit_of_work() as uow:  # raise every 3rd object a class: 3 complaints
        objects = uow.directory.list_objects(PageRequest(size=500), [task.department_id]).items
        uow.directory.upsert_complaints(
            [
                Complaint(
                    f"cp-{o.credit_code}-{k}", o.credit_code, ComplaintStatus.CLOSED, received, received
                )
                for o in objects[::3]
                for k, received in enumerate(DEMO_AS_OF - dt.timedelta(days=d) for d in (10, 20, 30))
            ]
        )
        uow.commit()
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    assert draw.algorithm_version == COMMITTED_PLAN_DRAW
    full = json.loads(client.export_draw_bundle(draw.id))
    selected = {a["code"] for a in full["assignments"]}
    eligible = {row["code"] for row in full["eligible"]}
    raised = {row["code"] for row in full["raised"]}
    excluded = {code for code, _ in full["exclusions"]}
    assert full["format"] == "dualdraw-bundle/2"
    assert selected, "the demo draw selects objects"
    assert eligible - selected, "and leaves some eligible objects unselected"
    assert raised - selected, "the complaints raise objects the draw does not select"
    assert {row["code"] for row in full["plan"]} == eligible
    assert any(row["conflicts"] or row["recent"] for row in full["plan"]), "some object bars an inspector"
    hidden = (eligible - selected) | (raised - selected)
    manifest = json.loads(full["draw"]["manifest_json"])
    assert "plan" not in manifest["objects"]
    assert "raised" not in manifest["objects"]
    for lines in (False, True):
        public = client.export_draw_bundle(draw.id, public=True, lines=lines)
        report = verify_bundle(public)
        assert report.ok, report.problem
        shown = sorted(code for code in hidden if code.encode("ascii") in public)
        assert shown == [], (lines, shown[:3])
        # what it does show: the selected objects, each with its proven plan row
        assert all(code.encode("ascii") in public for code in selected)
        # and the objects another level drew, excluded, named by objects.other_level (public elsewhere)
        other_level = {code for code, _ in manifest["objects"]["other_level"]}
        assert other_level <= excluded
    # the full bundle, for auditors, carries them all
    raw_full = client.export_draw_bundle(draw.id)
    assert all(code.encode("ascii") in raw_full for code in hidden)


def test_older_versions_public_bundles_still_name_eligible_objects() -> None:
    """Marked, not fixable for stored draws: what a public bundle of each older version shows."""
    assert not ALGORITHMS[COMMITTED_PLAN_DRAW].plan_in_manifest
    # dualdraw-draw/2 and /3: the manifest lists every eligible code (objects.plan) and every raised one
    # (objects.raised), as the v2 vectors' plan shows.
    for version in (POLICY_DRAW, QUALIFIED_DRAW):
        assert ALGORITHMS[version].plan_in_manifest
    for v in json.loads((VECTORS / "draw-v2.json").read_text(encoding="utf-8"))["vectors"]:
        assert {code for code, _, _ in v["plan"]} == {e["code"] for e in v["eligible"]}
    # dualdraw-draw/1, /2 and /3: the pool lines (public) list declared conflicts (and recent inspections)
    # by eligible code; dualdraw-draw/4's name none.
    pool_lines = json.loads((VECTORS / "draw-conformance.json").read_text(encoding="utf-8"))["pool_lines"]
    for version in (PLAIN_DRAW, POLICY_DRAW, QUALIFIED_DRAW):
        named = {c for line in pool_lines[version]["lines"] for c in json.loads(line)["conflicts"]}
        assert named & set(pool_lines["eligible"]), version
    v4 = json.loads((VECTORS / "draw-v4.json").read_text(encoding="utf-8"))["vectors"][0]
    codes = {e["code"] for e in v4["eligible"]}
    assert not any(code in line for line in v4["pool"] for code in codes)
