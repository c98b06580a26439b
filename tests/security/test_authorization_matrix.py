"""Every RPC × every role × inside/outside the caller's jurisdiction, over real gRPC with tokens on.

The caller's department is the Lunan branch; "inside" requests name Lunan's task, draw, object, ...;
"outside" ones name Lubei's. A call is expected to be denied (PERMISSION_DENIED, and one audited
``access.denied`` event) exactly when the policy table says so; an admitted call may still fail for other
reasons (a bare request is often INVALID_ARGUMENT), but never with PERMISSION_DENIED or UNAUTHENTICATED.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import descriptor_pool, message_factory

from dualdraw.entrypoints.grpc import convert, directory_convert
from dualdraw.entrypoints.grpc.security.policy import POLICIES, MethodPolicy, mutating_methods
from dualdraw.entrypoints.grpc.security.tokens import Role
from dualdraw.v1 import (
    checklists_pb2,
    directory_pb2,
    draws_pb2,
    experts_pb2,
    filings_pb2,
    follow_ups_pb2,
    inspection_records_pb2,
    items_pb2,
    plans_pb2,
    publication_pb2,
    results_pb2,
    rules_pb2,
    tasks_pb2,
    verification_pb2,
)
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb
from tests.security.conftest import Secured, Side, bearer

SIDE_FIELD = {
    "department": "department_id",
    "task": "task_id",
    "draw": "draw_id",
    "object": "credit_code",
    "inspector": "badge_number",
    "complaint": "complaint_id",
    "risk_assessment": "risk_assessment_id",
    "designation": "designation_id",
    "substitution": "substitution_id",
    "item": "item_code",
    "transfer": "credit_code",
    "plan": "plan_id",
    "filing": "filing",
    "filing_parent": "filing_to_decide",
    "result": "result_name",
    "follow_up": "follow_up_name",
    "objection": "objection_name",
    "checklist": "checklist_name",
    "assignment": "assignment_name",
    "draw_name": "draw_name",
    "task_name": "task_name",
    "plan_name": "plan_name",
    "inspection_record": "inspection_record_name",
    "department_name": "department_id",  # a bare id is taken for a resource name
    "item_name": "item_code",
    "object_name": "object_name",
    "inspector_name": "inspector_name",
    "complaint_name": "complaint_name",
    "risk_assessment_name": "risk_assessment_name",
    "designation_name": "designation_name",
    "expert_draw": "expert_draw_id",
    "expert_import": "department_id",
}


def _method(name: str) -> Any:
    service, method = name.lstrip("/").rsplit("/", 1)
    return descriptor_pool.Default().FindServiceByName(service).methods_by_name[method]


def _set(message: Any, path: str, value: object) -> None:
    *parents, last = path.split(".")
    for part in parents:
        message = getattr(message, part)
    setattr(message, last, value)


def _request(name: str, policy: MethodPolicy, side: Side) -> Any:
    descriptor = _method(name)
    request = message_factory.GetMessageClass(descriptor.input_type)()
    target = policy.on
    if target is not None and target.kind == "import":
        request.objects.add(
            credit_code=side.credit_code, display_name="x", registering_department_id=side.department_id
        )
    elif target is not None and target.field:
        _set(request, target.field, getattr(side, SIDE_FIELD[target.kind]))
        if name.endswith(("RecordResult", "CorrectResult")):
            request.result.position = 1
        if target.kind == "transfer":  # the object stays in its department: a no-op when admitted
            request.kind = directory_pb2.RECORD_KIND_OBJECT
            request.to_department_id = side.department_id
            request.reason = "matrix"
    return request


def call(secured: Secured, name: str, request: Any, token: str | None) -> grpc.StatusCode:
    """Calls ``name`` with ``request`` and returns the status code (streams are drained)."""
    descriptor = _method(name)
    response = message_factory.GetMessageClass(descriptor.output_type)
    metadata = bearer(token) if token else ()
    with secured.channel() as channel:
        kwargs = {
            "request_serializer": lambda m: m.SerializeToString(),
            "response_deserializer": response.FromString,
        }
        try:
            if descriptor.client_streaming:
                channel.stream_unary(name, **kwargs)(iter([request]), metadata=metadata, timeout=60)
            elif descriptor.server_streaming:
                list(channel.unary_stream(name, **kwargs)(request, metadata=metadata, timeout=60))
            else:
                channel.unary_unary(name, **kwargs)(request, metadata=metadata, timeout=60)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def expected_denied(policy: MethodPolicy, role: Role, inside: bool) -> bool:
    if role not in policy.roles:
        return True
    target = policy.on
    if target is None:
        return False
    if not target.field and target.kind != "import":
        return True  # root-only: the caller is a branch
    return not inside


def test_every_rpc_for_every_role_inside_and_outside(secured: Secured) -> None:
    failures: list[str] = []
    denials = secured.denials()
    for name, policy in sorted(POLICIES.items()):
        for role in Role:
            for inside in (True, False):
                side = secured.inside if inside else secured.outside
                subject = secured.inside.badge_number if role is Role.INSPECTOR else "tester"
                token = secured.token(role, subject=subject, department=secured.inside.department_id)
                code = call(secured, name, _request(name, policy, side), token)
                unknown = (
                    inside
                    and policy.on is not None
                    and getattr(side, SIDE_FIELD.get(policy.on.kind, ""), "") == "none"
                )
                denied = expected_denied(policy, role, inside and not unknown)
                where = f"{name} as {role.value} {'inside' if inside else 'outside'}: {code.name}"
                if code == grpc.StatusCode.UNAUTHENTICATED:
                    failures.append(where)
                elif denied != (code == grpc.StatusCode.PERMISSION_DENIED):
                    failures.append(where + (" (expected a denial)" if denied else " (unexpected denial)"))
                if denied:
                    now = secured.denials()
                    if now != denials + 1:
                        failures.append(where + f" was audited {now - denials} times")
                    denials = now
    assert failures == [], "\n".join(failures)


def test_a_root_auditor_reads_the_whole_log(secured: Secured) -> None:
    from dualdraw.service_layer.demo_directory import PROVINCE

    token = secured.token(Role.AUDITOR, department=PROVINCE)
    for name in (
        "/dualdraw.v1.AuditService/ListAuditEvents",
        "/dualdraw.v1.PublicationService/ListPendingPublications",
    ):
        code = call(secured, name, _request(name, POLICIES[name], secured.inside), token)
        assert code == grpc.StatusCode.OK, name


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("/dualdraw.v1.DrawService/GetDraw", "name"),
        ("/dualdraw.v1.TaskService/GetTask", "name"),
        ("/dualdraw.v1.DirectoryService/GetObject", "name"),
    ],
)
def test_an_unknown_id_and_a_foreign_id_are_denied_alike(secured: Secured, name: str, field: str) -> None:
    descriptor = _method(name)
    request_class = message_factory.GetMessageClass(descriptor.input_type)
    response = message_factory.GetMessageClass(descriptor.output_type)
    token = secured.token(Role.AUDITOR, department=secured.inside.department_id)
    foreign = {
        "GetDraw": secured.outside.draw_name,
        "GetTask": secured.outside.task_name,
        "GetObject": secured.outside.object_name,
    }[name.rsplit("/", 1)[1]]
    unknown = foreign.rsplit("/", 1)[0] + "/does-not-exist-0001" if field == "name" else "does-not-exist-0001"
    answers = []
    with secured.channel() as channel:
        stub = channel.unary_unary(
            name,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response.FromString,
        )
        for value in (foreign, unknown):
            with pytest.raises(grpc.RpcError) as caught:
                stub(request_class(**{field: value}), metadata=bearer(token), timeout=30)
            error = caught.value
            answers.append(
                (
                    error.code(),
                    error.details(),
                    dict(error.trailing_metadata() or ()).get("grpc-status-details-bin"),
                )
            )
    assert answers[0][0] == grpc.StatusCode.PERMISSION_DENIED
    assert answers[0] == answers[1]


def test_an_import_outside_the_subtree_is_denied_and_writes_nothing(secured: Secured) -> None:
    token = secured.token(Role.DRAW_OPERATOR, department=secured.inside.department_id)
    name = "/dualdraw.v1.DirectoryService/ImportDirectory"
    request = directory_pb2.ImportDirectoryRequest()
    request.departments.add(
        id="999999-X",
        display_name="rogue",
        parent_id=secured.outside.department_id,
        level=3,
        region_code="130203",
    )
    assert call(secured, name, request, token) == grpc.StatusCode.PERMISSION_DENIED
    with secured.running.services.reader() as uow:
        assert uow.directory.get_department("999999-X") is None


# -- every write × a record of the sibling branch ------------------------------------------------------
# The caller is a Lunan (inside) principal with the write's role; each request names a record that exists
# and belongs to Lubei (outside), mostly while naming the caller's own department as its new owner. Each
# must be denied with nothing changed. Every write of the policy table (and ReloadRules) needs its cases.

RELOAD_RULES = "/dualdraw.v1.RuleService/ReloadRules"
IMPORT = "/dualdraw.v1.DirectoryService/ImportDirectory"
UNLOGGED_TABLES = {"audit_events", "audit_log_head", "audit_checkpoints", "idempotent_requests"}
Build = Callable[[Secured], Any]


def _stored(secured: Secured, fetch: Callable[[Any], Any]) -> Any:
    with secured.running.services.reader() as uow:
        return fetch(uow)


def _import_object(s: Secured) -> Any:
    stored = _stored(s, lambda u: u.directory.get_object(s.outside.credit_code))
    pb = directory_convert.object_to_pb(stored)
    pb.registering_department_id = s.inside.department_id
    pb.risk_class = directory_pb2.RISK_CLASS_A
    return directory_pb2.ImportDirectoryRequest(objects=[pb], last_chunk=True)


def _import_inspector(s: Secured) -> Any:
    stored = _stored(s, lambda u: u.directory.get_inspector(s.outside.badge_number))
    pb = directory_convert.inspector_to_pb(stored)
    pb.department_id = s.inside.department_id
    del pb.conflicts[:]
    return directory_pb2.ImportDirectoryRequest(inspectors=[pb], last_chunk=True)


def _import_department(s: Secured) -> Any:
    stored = _stored(s, lambda u: u.directory.get_department(s.outside.department_id))
    pb = directory_convert.department_to_pb(stored)
    pb.display_name = "renamed by another branch"
    return directory_pb2.ImportDirectoryRequest(departments=[pb], last_chunk=True)


def _import_complaint(s: Secured) -> Any:
    stored = _stored(s, lambda u: u.directory.get_complaint(s.outside.complaint_id))
    pb = directory_convert.complaint_to_pb(stored)
    pb.credit_code = s.inside.credit_code  # now about an object of the caller's own branch
    return directory_pb2.ImportDirectoryRequest(complaints=[pb], last_chunk=True)


def _import_risk_assessment(s: Secured) -> Any:
    stored = _stored(s, lambda u: u.directory.get_risk_assessment(s.outside.risk_assessment_id))
    pb = directory_convert.risk_assessment_to_pb(stored)
    pb.credit_code = s.inside.credit_code
    return directory_pb2.ImportDirectoryRequest(risk_assessments=[pb], last_chunk=True)


def _import_designation(s: Secured) -> Any:
    stored = _stored(s, lambda u: u.directory.get_statutory_designation(s.outside.designation_id))
    pb = directory_convert.designation_to_pb(stored)
    pb.credit_code = s.inside.credit_code
    return directory_pb2.ImportDirectoryRequest(statutory_designations=[pb], last_chunk=True)


def _import_campaign(s: Secured) -> Any:
    stored = _stored(s, lambda u: u.directory.get_campaign(s.outside.campaign_id))
    pb = directory_convert.campaign_to_pb(stored)
    pb.organizer_department_id = s.inside.department_id
    return directory_pb2.ImportDirectoryRequest(campaigns=[pb], last_chunk=True)


def _item(s: Secured, code: str) -> Any:
    item = convert.item_to_pb(_stored(s, lambda u: u.items.get(code)))
    item.department_id = s.inside.department_id
    item.name = "taken over"
    return item


def _plan_entry(entry_id: str = "") -> Any:
    return plans_pb2.PlanEntry(
        id=entry_id,
        item_code="TS-PQ-01",
        item_version=1,
        ratio=decimal_pb("0.2"),
        window_start=date_pb("2026-01-01"),
        window_end=date_pb("2026-12-31"),
    )


SIBLING_CASES: dict[str, dict[str, Build]] = {
    IMPORT: {
        "object": _import_object,
        "inspector": _import_inspector,
        "department": _import_department,
        "complaint": _import_complaint,
        "risk_assessment": _import_risk_assessment,
        "designation": _import_designation,
        "campaign": _import_campaign,
    },
    "/dualdraw.v1.DirectoryService/TransferRecord": {
        "object to the caller": lambda s: directory_pb2.TransferRecordRequest(
            kind=directory_pb2.RECORD_KIND_OBJECT,
            key=s.outside.credit_code,
            to_department_id=s.inside.department_id,
            reason="takeover",
        ),
        "inspector to the caller": lambda s: directory_pb2.TransferRecordRequest(
            kind=directory_pb2.RECORD_KIND_INSPECTOR,
            key=s.outside.badge_number,
            to_department_id=s.inside.department_id,
            reason="takeover",
        ),
    },
    "/dualdraw.v1.InspectionItemService/CreateInspectionItem": {
        "item code": lambda s: items_pb2.CreateInspectionItemRequest(item=_item(s, s.outside.item_code)),
    },
    "/dualdraw.v1.PublicationService/ReviseInspectionItem": {
        "item": lambda s: publication_pb2.ReviseInspectionItemRequest(
            item=_item(s, s.outside.item_code),
            effective_from=date_pb("2026-01-01"),
            change_summary="x",
            change_legal_basis="x",
        ),
    },
    "/dualdraw.v1.PublicationService/PublishItemList": {
        "every item": lambda s: publication_pb2.PublishItemListRequest(
            effective_from=date_pb("2026-01-01"), change_summary="x", change_legal_basis="x"
        ),
    },
    RELOAD_RULES: {"the rule set": lambda s: rules_pb2.ReloadRulesRequest()},
    "/dualdraw.v1.TaskService/CreateTask": {
        "department": lambda s: tasks_pb2.CreateTaskRequest(
            task=tasks_pb2.Task(
                item_code="TS-PQ-01",
                department_id=s.outside.department_id,
                ratio=decimal_pb("1/10"),
                team_size=2,
                title="x",
            )
        ),
    },
    "/dualdraw.v1.DrawService/Draw": {"task": lambda s: draws_pb2.DrawRequest(task_id=s.outside.task_id)},
    # the annual plan: a plan of the sibling branch, or a new one in its name
    "/dualdraw.v1.PlanService/CreatePlan": {
        "department": lambda s: plans_pb2.CreatePlanRequest(
            plan=plans_pb2.Plan(department_id=s.outside.department_id, year=2026, title="x")
        )
    },
    "/dualdraw.v1.PlanService/AddPlanEntry": {
        "plan": lambda s: plans_pb2.AddPlanEntryRequest(plan_id=s.outside.plan_id, entry=_plan_entry())
    },
    "/dualdraw.v1.PlanService/UpdatePlanEntry": {
        "plan": lambda s: plans_pb2.UpdatePlanEntryRequest(plan_id=s.outside.plan_id, entry=_plan_entry("e1"))
    },
    "/dualdraw.v1.PlanService/ApprovePlan": {
        "plan": lambda s: plans_pb2.ApprovePlanRequest(plan_id=s.outside.plan_id)
    },
    "/dualdraw.v1.PlanService/PublishPlan": {
        "plan": lambda s: plans_pb2.PublishPlanRequest(plan_id=s.outside.plan_id)
    },
    "/dualdraw.v1.PlanService/AmendPlan": {
        "plan": lambda s: plans_pb2.AmendPlanRequest(plan_id=s.outside.plan_id, reason="x")
    },
    # directory filing: filing in the sibling's name, deciding on the sibling's filing (the city decides)
    "/dualdraw.v1.DirectoryFilingService/SubmitDirectoryFiling": {
        "department": lambda s: filings_pb2.SubmitDirectoryFilingRequest(
            department=f"departments/{s.outside.department_id}"
        )
    },
    "/dualdraw.v1.DirectoryFilingService/AcknowledgeDirectoryFiling": {
        "filing": lambda s: filings_pb2.AcknowledgeDirectoryFilingRequest(name=s.outside.filing)
    },
    "/dualdraw.v1.DirectoryFilingService/ReturnDirectoryFiling": {
        "filing": lambda s: filings_pb2.ReturnDirectoryFilingRequest(
            name=s.outside.filing, reason=filings_pb2.FILING_RETURN_REASON_INCOMPLETE
        )
    },
    "/dualdraw.v1.ChecklistService/ReviseChecklist": {
        "item": lambda s: checklists_pb2.ReviseChecklistRequest(
            checklist=checklists_pb2.Checklist(name=s.outside.checklist_name)
        )
    },
    "/dualdraw.v1.InspectionRecordService/CreateInspectionRecord": {
        "draw": lambda s: inspection_records_pb2.CreateInspectionRecordRequest(
            inspection_record=inspection_records_pb2.InspectionRecord(assignment=s.outside.assignment_name)
        )
    },
    "/dualdraw.v1.InspectionRecordService/ReviseInspectionRecord": {
        "record": lambda s: inspection_records_pb2.ReviseInspectionRecordRequest(
            inspection_record=inspection_records_pb2.InspectionRecord(
                name=f"inspectionRecords/{s.outside.draw_id}-1"
            ),
            reason="x",
        )
    },
    "/dualdraw.v1.ResultService/RecordResult": {
        "draw": lambda s: results_pb2.RecordResultRequest(
            result=results_pb2.InspectionResult(draw_id=s.outside.draw_id, position=1)
        )
    },
    "/dualdraw.v1.ResultService/CorrectResult": {
        "draw": lambda s: results_pb2.CorrectResultRequest(
            result=results_pb2.InspectionResult(draw_id=s.outside.draw_id, position=1)
        )
    },
    "/dualdraw.v1.PublicationService/PublishDrawResults": {
        "draw": lambda s: publication_pb2.PublishDrawResultsRequest(draw_id=s.outside.draw_id)
    },
    # after the draw: a follow-up or objection of the sibling branch, or one opened on its result
    "/dualdraw.v1.FollowUpService/CreateFollowUp": {
        "result": lambda s: follow_ups_pb2.CreateFollowUpRequest(
            follow_up=follow_ups_pb2.FollowUp(
                result=s.outside.result_name, kind=follow_ups_pb2.FOLLOW_UP_KIND_RECTIFICATION
            )
        )
    },
    "/dualdraw.v1.FollowUpService/AddFollowUpEvidence": {
        "follow-up": lambda s: follow_ups_pb2.AddFollowUpEvidenceRequest(
            name=s.outside.follow_up_name, note="x"
        )
    },
    "/dualdraw.v1.FollowUpService/ReportRectification": {
        "follow-up": lambda s: follow_ups_pb2.ReportRectificationRequest(name=s.outside.follow_up_name)
    },
    "/dualdraw.v1.FollowUpService/RecordReinspection": {
        "follow-up": lambda s: follow_ups_pb2.RecordReinspectionRequest(name=s.outside.follow_up_name)
    },
    "/dualdraw.v1.FollowUpService/CloseFollowUp": {
        "follow-up": lambda s: follow_ups_pb2.CloseFollowUpRequest(
            name=s.outside.follow_up_name,
            closing=follow_ups_pb2.FollowUpClosing(
                outcome=follow_ups_pb2.FOLLOW_UP_OUTCOME_WITHDRAWN, text="x"
            ),
        )
    },
    "/dualdraw.v1.ObjectionService/CreateObjection": {
        "result": lambda s: follow_ups_pb2.CreateObjectionRequest(
            objection=follow_ups_pb2.Objection(result=s.outside.result_name, grounds="x")
        )
    },
    "/dualdraw.v1.ObjectionService/DecideObjection": {
        "objection": lambda s: follow_ups_pb2.DecideObjectionRequest(
            name=s.outside.objection_name, reason="x"
        )
    },
    "/dualdraw.v1.VerifiableDrawService/CommitDraw": {
        "task": lambda s: verification_pb2.CommitDrawRequest(task_id=s.outside.task_id)
    },
    "/dualdraw.v1.VerifiableDrawService/RevealEntropy": {
        "draw": lambda s: verification_pb2.RevealEntropyRequest(draw_id=s.outside.draw_id)
    },
    "/dualdraw.v1.VerifiableDrawService/ExecuteDraw": {
        "draw": lambda s: verification_pb2.ExecuteDrawRequest(draw_id=s.outside.draw_id)
    },
    "/dualdraw.v1.VerifiableDrawService/AbandonDraw": {
        "draw": lambda s: verification_pb2.AbandonDrawRequest(
            draw_id=s.outside.draw_id, reason=draws_pb2.ABANDON_REASON_OTHER, note="x"
        )
    },
    "/dualdraw.v1.VerifiableDrawService/RequestSubstitution": {
        "draw": lambda s: verification_pb2.RequestSubstitutionRequest(
            draw_id=s.outside.draw_id,
            position=1,
            badge_number=s.outside.badge_number,
            reason=verification_pb2.SUBSTITUTION_REASON_LEAVE,
        )
    },
    "/dualdraw.v1.VerifiableDrawService/ExecuteSubstitution": {
        "substitution": lambda s: verification_pb2.ExecuteSubstitutionRequest(
            substitution_id=s.outside.substitution_id
        )
    },
    # experts and testing institutions: the sibling's directory, the sibling's draw
    "/dualdraw.v1.ExpertService/ImportExperts": {
        "department": lambda s: experts_pb2.ImportExpertsRequest(
            parent=f"departments/{s.outside.department_id}",
            experts=[
                experts_pb2.Expert(
                    name="experts/EXP-new",
                    display_name="x",
                    department=f"departments/{s.outside.department_id}",
                    specialities=[experts_pb2.Qualification(code="x")],
                )
            ],
        ),
        "its expert, named as the caller's": lambda s: experts_pb2.ImportExpertsRequest(
            parent=f"departments/{s.inside.department_id}",
            experts=[
                experts_pb2.Expert(
                    name=f"experts/EXP-{s.outside.department_id}",
                    display_name="x",
                    department=f"departments/{s.inside.department_id}",
                    specialities=[experts_pb2.Qualification(code="x")],
                )
            ],
        ),
    },
    "/dualdraw.v1.ExpertService/SetExpertRequirement": {
        "item": lambda s: experts_pb2.SetExpertRequirementRequest(
            requirement=experts_pb2.ExpertRequirement(
                item=f"items/{s.outside.item_code}",
                kind=experts_pb2.EXPERT_KIND_EXPERT,
                qualification="x",
                count=1,
            )
        )
    },
    "/dualdraw.v1.ExpertService/CreateExpertDraw": {
        "draw": lambda s: experts_pb2.CreateExpertDrawRequest(
            draw=f"draws/{s.outside.draw_id}", kind=experts_pb2.EXPERT_KIND_EXPERT
        )
    },
    "/dualdraw.v1.ExpertService/ExecuteExpertDraw": {
        "expert draw": lambda s: experts_pb2.ExecuteExpertDrawRequest(
            name=f"expertDraws/{s.outside.expert_draw_id}", beacon_value="00"
        )
    },
}


def _database_state(secured: Secured) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log and the request ledger (which a denial may write)."""
    engine = secured.running.store.engine
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted(map(tuple, connection.execute(sa.select(table))), key=repr)
            for name, table in metadata.tables.items()
            if name not in UNLOGGED_TABLES
        }


# Writes that touch no department's record, each with why a sibling branch cannot be wronged by it.
UNSCOPED_WRITES = {
    "/dualdraw.v1.EvidenceService/UploadEvidence": (
        "stores bytes under their own hash, owned by no department; the records citing a hash carry the"
        " jurisdiction"
    ),
}


def test_every_write_has_cases_for_a_sibling_branch_record() -> None:
    assert not set(SIBLING_CASES) & set(UNSCOPED_WRITES)
    assert set(SIBLING_CASES) | set(UNSCOPED_WRITES) == mutating_methods() | {RELOAD_RULES}
    assert set(SIBLING_CASES[IMPORT]) == {
        "object", "inspector", "department", "complaint", "risk_assessment", "designation", "campaign",
    }  # fmt: skip


def test_no_write_touches_a_record_of_a_sibling_branch(secured: Secured) -> None:
    failures: list[str] = []
    for name, cases in sorted(SIBLING_CASES.items()):
        role = sorted(POLICIES[name].roles, key=lambda r: r.value)[0]
        subject = secured.inside.badge_number if role is Role.INSPECTOR else "tester"
        token = secured.token(role, subject=subject, department=secured.inside.department_id)
        for label, build in cases.items():
            request = build(secured)
            before, denials = _database_state(secured), secured.denials()
            code = call(secured, name, request, token)
            where = f"{name} ({label}) as {role.value}: {code.name}"
            if code != grpc.StatusCode.PERMISSION_DENIED:
                failures.append(where)
            if _database_state(secured) != before:
                failures.append(where + " changed the database")
            if secured.denials() != denials + 1:
                failures.append(where + " was not audited once")
    assert failures == [], "\n".join(failures)
