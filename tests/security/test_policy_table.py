"""The authorization table covers every RPC of every registered service, and grants writes as intended."""

from __future__ import annotations

from google.protobuf import descriptor_pool

from dualdraw.entrypoints.grpc.security.policy import POLICIES, PUBLIC_SERVICES, mutating_methods
from dualdraw.entrypoints.grpc.security.tokens import Role
from dualdraw.entrypoints.grpc.server import SERVICE_NAMES


def registered_methods() -> set[str]:
    pool = descriptor_pool.Default()
    return {
        f"/{name}/{method.name}" for name in SERVICE_NAMES for method in pool.FindServiceByName(name).methods
    }


def test_every_rpc_of_every_registered_service_has_a_policy() -> None:
    missing = registered_methods() - set(POLICIES)
    assert missing == set(), f"add these to dualdraw/entrypoints/grpc/security/policy.py: {sorted(missing)}"


def test_every_policy_names_a_registered_rpc() -> None:
    assert set(POLICIES) - registered_methods() == set()


def test_every_mutating_rpc_takes_a_request_id() -> None:
    pool = descriptor_pool.Default()
    for name in mutating_methods():
        service, method = name.lstrip("/").rsplit("/", 1)
        request = pool.FindServiceByName(service).methods_by_name[method].input_type
        assert "request_id" in request.fields_by_name, name


INTENT = {  # who may write what, written out independently of the table
    "/dualdraw.v1.DrawService/Draw": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.TaskService/CreateTask": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.DirectoryService/ImportDirectory": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.DirectoryService/TransferRecord": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.ResultService/RecordResult": {Role.INSPECTOR},
    "/dualdraw.v1.ResultService/CorrectResult": {Role.INSPECTOR},
    "/dualdraw.v1.PublicationService/PublishDrawResults": {Role.DRAW_OPERATOR},
    # after the draw: policy staff write the checklists, the team's inspectors the inspection records
    "/dualdraw.v1.ChecklistService/ReviseChecklist": {Role.POLICY_EDITOR},
    "/dualdraw.v1.InspectionRecordService/CreateInspectionRecord": {Role.INSPECTOR},
    "/dualdraw.v1.InspectionRecordService/ReviseInspectionRecord": {Role.INSPECTOR},
    "/dualdraw.v1.PublicationService/PublishItemList": {Role.POLICY_EDITOR},
    "/dualdraw.v1.PublicationService/ReviseInspectionItem": {Role.POLICY_EDITOR},
    "/dualdraw.v1.InspectionItemService/CreateInspectionItem": {Role.POLICY_EDITOR},
    "/dualdraw.v1.AuditService/ListAuditEvents": {Role.AUDITOR},
    "/dualdraw.v1.RuleService/ReloadRules": {Role.POLICY_EDITOR},
    "/dualdraw.v1.VerifiableDrawService/CommitDraw": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.VerifiableDrawService/ExecuteDraw": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.VerifiableDrawService/AbandonDraw": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.VerifiableDrawService/RevealEntropy": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.VerifiableDrawService/RequestSubstitution": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.VerifiableDrawService/ExecuteSubstitution": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.AuditLogService/VerifyLog": {Role.AUDITOR},
    "/dualdraw.v1.EvidenceService/UploadEvidence": {Role.INSPECTOR},  # what an inspection collected
    # the annual plan: drafted by draw operators or policy staff, put in force by policy staff only
    "/dualdraw.v1.PlanService/CreatePlan": {Role.DRAW_OPERATOR, Role.POLICY_EDITOR},
    "/dualdraw.v1.PlanService/AddPlanEntry": {Role.DRAW_OPERATOR, Role.POLICY_EDITOR},
    "/dualdraw.v1.PlanService/UpdatePlanEntry": {Role.DRAW_OPERATOR, Role.POLICY_EDITOR},
    "/dualdraw.v1.PlanService/ApprovePlan": {Role.POLICY_EDITOR},
    "/dualdraw.v1.PlanService/PublishPlan": {Role.POLICY_EDITOR},
    "/dualdraw.v1.PlanService/AmendPlan": {Role.POLICY_EDITOR},
    # directory filing (Art. 7): the department's draw operator files, the parent's decides
    "/dualdraw.v1.DirectoryFilingService/SubmitDirectoryFiling": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.DirectoryFilingService/AcknowledgeDirectoryFiling": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.DirectoryFilingService/ReturnDirectoryFiling": {Role.DRAW_OPERATOR},
    # after the draw: the enforcement staff follow results up; draw operators file and decide objections
    "/dualdraw.v1.FollowUpService/CreateFollowUp": {Role.INSPECTOR, Role.DRAW_OPERATOR},
    "/dualdraw.v1.FollowUpService/AddFollowUpEvidence": {Role.INSPECTOR, Role.DRAW_OPERATOR},
    "/dualdraw.v1.FollowUpService/ReportRectification": {Role.INSPECTOR, Role.DRAW_OPERATOR},
    "/dualdraw.v1.FollowUpService/RecordReinspection": {Role.INSPECTOR, Role.DRAW_OPERATOR},
    "/dualdraw.v1.FollowUpService/CloseFollowUp": {Role.INSPECTOR, Role.DRAW_OPERATOR},
    "/dualdraw.v1.ObjectionService/CreateObjection": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.ObjectionService/DecideObjection": {Role.DRAW_OPERATOR},
    # experts and testing institutions: directory writes as the directory's, requirements as the item's
    "/dualdraw.v1.ExpertService/ImportExperts": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.ExpertService/SetExpertRequirement": {Role.POLICY_EDITOR},
    "/dualdraw.v1.ExpertService/CreateExpertDraw": {Role.DRAW_OPERATOR},
    "/dualdraw.v1.ExpertService/ExecuteExpertDraw": {Role.DRAW_OPERATOR},
}


def test_the_table_says_what_the_roles_mean() -> None:
    for name, roles in INTENT.items():
        assert set(POLICIES[name].roles) == roles, name
    assert set(INTENT) >= mutating_methods()
    for name, policy in POLICIES.items():
        public_service = name.startswith(tuple(f"/dualdraw.v1.{s}/" for s in PUBLIC_SERVICES))
        assert (Role.PUBLIC in policy.roles) == public_service, name
        if Role.AUDITOR in policy.roles:
            assert not policy.writes, name  # auditors read and verify, never write
