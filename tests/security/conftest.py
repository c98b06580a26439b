"""Fixtures for the security tests: a real server with authentication on (HMAC tokens) over the demo,
with one drawn task in the Lunan branch (inside) and one in the Lubei branch (outside)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import grpc
import pytest

from dualdraw.domain import model
from dualdraw.domain.audit.checkpoints import CheckpointSigner
from dualdraw.domain.draw.expert_draw import Expert, Qualification, Requirement
from dualdraw.domain.follow_ups import FollowUpKind
from dualdraw.domain.objections import Objection
from dualdraw.domain.plan.model import PlanEntry
from dualdraw.domain.results import Outcome, ResultEntry
from dualdraw.entrypoints.grpc.security.tokens import Principal, Role, TokenKeys, mint_token
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer import (
    catalogue,
    directory,
    directory_filings,
    draw_lifecycle,
    draws,
    expert_draws,
    follow_ups,
    plans,
    publication,
    results,
)
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import LUBEI, LUNAN, PRODUCT_QUALITY
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.ports import PageRequest
from dualdraw.settings import Settings

RULES = Path(__file__).resolve().parents[2] / "rules"
KEYS = TokenKeys.hmac(b"test-secret-of-at-least-thirty-two-bytes!")
AUDIT_SIGNER = CheckpointSigner.generate()  # outside development the audit key is required
AS_OF = dt.date(2026, 12, 1)
LIST_PUBLISHED = dt.datetime(AS_OF.year - 1, 12, 1, tzinfo=dt.UTC)  # an item list takes effect after it

DEVELOPMENT = EntropyPolicy(allow_local=True)  # development mode: one-step draws use a local secret


def _named(collection: str, key: str) -> str:
    """``collection/key``; "none" (the side has no such record: an unknown resource) stays "none"."""
    return key if key == "none" else f"{collection}/{key}"


@dataclass
class Side:
    department_id: str
    task_id: str
    draw_id: str
    credit_code: str  # an object registered there
    badge_number: str  # an inspector there, on the team of assignment 1
    complaint_id: str
    risk_assessment_id: str
    designation_id: str
    substitution_id: str  # a requested (not yet executed) substitution on the side's draw
    item_code: str  # an inspection item of the side's department
    campaign_id: str  # a campaign the side's department organises
    plan_id: str  # a draft annual plan of the side's department, with one entry
    filing: str  # the side's submitted directory filing (directoryFilings/...), filed with the city
    filing_to_decide: str  # a submitted filing the side's department decides on ("none": it has no children)
    result_name: str  # a recorded result of the side's draw (its last assignment)
    follow_up_name: str  # an open rectification order of that result
    objection_name: str  # a pending objection to that result

    @property
    def checklist_name(self) -> str:
        """The checklist resource of the side's item."""
        return f"items/{self.item_code}/checklist"

    @property
    def assignment_name(self) -> str:
        """Assignment 1 of the side's draw (the side's inspector is on its team)."""
        return f"draws/{self.draw_id}/assignments/1"

    @property
    def object_name(self) -> str:
        return f"objects/{self.credit_code}"

    @property
    def inspector_name(self) -> str:
        return f"inspectors/{self.badge_number}"

    @property
    def complaint_name(self) -> str:
        return _named("complaints", self.complaint_id)

    @property
    def risk_assessment_name(self) -> str:
        return _named("riskAssessments", self.risk_assessment_id)

    @property
    def designation_name(self) -> str:
        return _named("statutoryDesignations", self.designation_id)

    @property
    def draw_name(self) -> str:
        return f"draws/{self.draw_id}"

    @property
    def task_name(self) -> str:
        return f"tasks/{self.task_id}"

    @property
    def plan_name(self) -> str:
        return f"plans/{self.plan_id}"

    @property
    def inspection_record_name(self) -> str:
        """No record is stored: "none" marks an unknown resource, which every caller is denied."""
        return "none"

    expert_draw_id: str  # a committed (not yet executed) expert draw on the side's draw


@dataclass
class Secured:
    running: RunningServer
    target: str
    inside: Side
    outside: Side

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(self.target)

    def token(self, role: Role, *, department: str = LUNAN, subject: str = "tester") -> str:
        return mint_token(KEYS, Principal(subject, role, department))

    def denial_entries(self) -> list[model.AuditEvent]:
        """The ``access.denied`` entries written so far (nothing is flushed)."""
        with self.running.services.reader() as uow:
            events = uow.audit.list(PageRequest(size=100_000)).items
        return [e for e in events if e.action == "access.denied"]

    def denials(self) -> int:
        """Refusals the audit log accounts for once the counts still in memory are written: each
        ``access.denied`` entry stands for its ``count`` of them."""
        assert self.running.denials is not None
        self.running.denials.flush()
        return sum(denial_count(e) for e in self.denial_entries())


def denial_count(event: model.AuditEvent) -> int:
    return int(json.loads(event.after_json)["count"])


def secured_settings(database_url: str, **overrides: object) -> Settings:
    base = Settings(
        database_url=database_url, rules_path=RULES, address="127.0.0.1:0", rule_timeout_s=60, auth="on",
        token_keys=KEYS, audit_signer=AUDIT_SIGNER,
    )  # fmt: skip
    return base if not overrides else Settings(**{**base.__dict__, **overrides})  # type: ignore[arg-type]


def _side(running: RunningServer, department_id: str, item_code: str) -> Side:
    services = running.services
    caller = Caller(actor="setup")
    task = catalogue.create_task(
        services.unit_of_work(),
        item_code=item_code,
        department_id=department_id,
        ratio=Fraction(1, 10),
        team_size=2,
        scope=model.TaskScope(),
        title=f"security test {department_id}",
        caller=caller,
    )
    outcome = draws.run_draw(
        services.unit_of_work(), services.engine, services.rule_book.current(), task_id=task.id, as_of=AS_OF,
        caller=caller, entropy=DEVELOPMENT,
    )  # fmt: skip
    first = min(outcome.record.assignments, key=lambda a: a.position)
    substitution = draw_lifecycle.request_substitution(
        services.unit_of_work(),
        draw_lifecycle.SubstitutionRequest(
            draw_id=outcome.draw.id,
            position=first.position,
            badge_number=first.team[-1].badge_number,
            reason="LEAVE",
            evidence_hash="0" * 64,
        ),
        caller,
        entropy=DEVELOPMENT,
    )
    expert_draws.import_experts(
        services.unit_of_work(),
        department_id,
        [Expert(f"EXP-{department_id}", "专家", department_id, (Qualification(PRODUCT_QUALITY, None),))],
        [],
        caller,
    )
    drawn_item = str(json.loads(outcome.draw.manifest_json)["task"]["item_code"])
    expert_draws.set_requirement(
        services.unit_of_work(), Requirement(drawn_item, "expert", PRODUCT_QUALITY, 1), caller
    )
    expert_draw = expert_draws.commit_expert_draw(
        services.unit_of_work(),
        expert_draws.ExpertDrawRequest(outcome.draw.id),
        caller,
        entropy=EntropyPolicy(),
    )
    item = catalogue.create_item(
        services.unit_of_work(),
        model.InspectionItem(
            code=f"SEC-{department_id}",
            name=f"security test item of {department_id}",
            legal_basis="细则第五条",
            business_line=PRODUCT_QUALITY,
            target_scope="test",
            required_speciality=PRODUCT_QUALITY,
            kind=model.ItemKind.GENERAL,
            default_ratio=Fraction(1, 10),
            department_id=department_id,
        ),
        caller,
    )
    with services.reader() as uow:
        region = uow.directory.get_department(department_id)
    campaign = model.Campaign(
        id=f"CMP-{department_id}",
        name=f"campaign of {department_id}",
        organizer_department_id=department_id,
        region_code=region.region_code if region else "",
        industry="",
        business_line="",
        starts_on=AS_OF,
        ends_on=AS_OF,
    )
    directory.import_directory(
        services.unit_of_work(), directory.DirectoryBatch(campaigns=[campaign]), caller
    )
    with services.reader() as uow:
        codes = [
            o.credit_code for o in uow.directory.list_objects(PageRequest(size=1000), [department_id]).items
        ]
        complaints = [
            c for c in uow.directory.list_complaints(PageRequest(size=1000)).items if c.credit_code in codes
        ]
        risks = [
            r
            for r in uow.directory.list_risk_assessments(PageRequest(size=1000)).items
            if r.credit_code in codes
        ]
        designations = [
            d
            for d in uow.directory.list_statutory_designations(PageRequest(size=1000)).items
            if d.credit_code in codes
        ]
    plan = plans.create_plan(
        services.unit_of_work(),
        department_id=department_id,
        year=AS_OF.year,
        title=f"plan of {department_id}",
        inspector_days_per_month=2,
        caller=caller,
    )
    entry = PlanEntry(
        "", "TS-PQ-01", 1, Fraction(1, 10), dt.date(AS_OF.year, 1, 1), dt.date(AS_OF.year, 12, 31)
    )
    plans.add_entry(services.unit_of_work(), plan.plan_id, entry, caller)
    filing = directory_filings.submit_filing(services.unit_of_work(), department_id, "", caller)
    last = max(outcome.record.assignments, key=lambda a: a.position)
    results.record_result(
        services.unit_of_work(),
        draw_id=outcome.draw.id,
        position=last.position,
        entry=ResultEntry(Outcome.PROBLEM_CORRECTED, caller.today(), "标识不全"),
        caller=caller,
    )
    follow_up = follow_ups.open_follow_up(
        services.unit_of_work(),
        services.calendar,
        follow_ups.OpenRequest(outcome.draw.id, last.position, FollowUpKind.RECTIFICATION),
        caller,
    )
    objection = Objection(  # stored as is: a draw made with a local secret is never published
        id=f"o-{department_id}",
        draw_id=outcome.draw.id,
        position=last.position,
        result_version=1,
        credit_code=last.credit_code,
        department_id=department_id,
        received_on=caller.today(),
        grounds="security test",
        evidence=(),
        filed_by="setup",
        filed_at=caller.now,
        published_on=caller.today(),
    )
    with services.unit_of_work() as uow:
        uow.objections.add(objection)
        uow.commit()
    return Side(
        department_id=department_id,
        task_id=task.id,
        draw_id=outcome.draw.id,
        credit_code=first.credit_code,
        badge_number=first.team[0].badge_number,
        complaint_id=complaints[0].id if complaints else "none",
        risk_assessment_id=risks[0].id if risks else "none",
        designation_id=designations[0].id if designations else "none",
        substitution_id=substitution.id,
        item_code=item.code,
        campaign_id=campaign.id,
        plan_id=plan.plan_id,
        filing=f"directoryFilings/{filing.id}",
        filing_to_decide="none",  # the branches have no children; the city decides their filings
        result_name=f"draws/{outcome.draw.id}/assignments/{last.position}/result",
        follow_up_name=f"followUps/{follow_up.id}",
        objection_name=f"objections/{objection.id}",
        expert_draw_id=expert_draw.id,
    )


@pytest.fixture
def secured(database_url: str) -> Iterator[Secured]:
    running = create_server(secured_settings(database_url))
    try:
        load_demo(running.services.unit_of_work)
        publication.publish_item_list(  # plan entries name published item versions
            running.services.unit_of_work(),
            effective_from=dt.date(AS_OF.year, 1, 1),
            change_summary="first list",
            change_legal_basis="Art. 5",
            caller=Caller(actor="setup", now=LIST_PUBLISHED),
        )
        inside = _side(running, LUNAN, "TS-PQ-01")
        outside = _side(running, LUBEI, "TS-PQ-01")
        yield Secured(running, f"127.0.0.1:{running.port}", inside, outside)
    finally:
        running.stop(grace=1)


Metadata = Callable[[str], tuple[tuple[str, str], ...]]


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)
