"""Who may call what: one entry per gRPC method, keyed by its full name (``/dualdraw.v1.DrawService/Draw``).

An entry names the roles that may call the method and, for data that belongs to a department, the request
field that names the resource (``on=Target(kind, field)``). The interceptor resolves that resource to its
department (``security.resources``) and allows the call only inside the caller's department subtree. When
the field is empty, ``when_empty`` decides: ``"own"`` fills in the caller's own department (lists default
to the caller's subtree), ``"root"`` allows only callers whose department is a root of the tree (an
unfiltered list would show other branches' data), ``"required"`` denies, ``"skip"`` leaves it to the use
case's validation. A write naming several resources lists the others in ``also``: a write that replaces a
record is checked against the department owning the stored record as well as the one it names.

Adding an RPC means adding one line here; ``tests/security/test_policy_table.py`` fails for any method of
a registered service without an entry (and the interceptor refuses such calls: fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dualdraw.entrypoints.grpc.security.tokens import Role

ResourceKind = Literal[
    "department", "task", "draw", "object", "inspector", "complaint", "risk_assessment", "designation",
    "import", "substitution", "item", "transfer", "plan", "filing", "filing_parent", "result", "follow_up",
    "objection", "checklist", "assignment", "inspection_record", "draw_name", "department_name", "item_name",
    "expert_draw", "expert_import", "object_name", "inspector_name", "complaint_name", "risk_assessment_name",
    "designation_name", "task_name", "plan_name",
]  # fmt: skip
WhenEmpty = Literal["own", "root", "required", "skip"]


@dataclass(frozen=True)
class Target:
    """The request field naming the resource a call touches (dotted path into the request message)."""

    kind: ResourceKind
    field: str
    when_empty: WhenEmpty = "required"
    unknown_allowed: bool = False  # a resource that does not exist yet passes (it is being created)
    exact: bool = False  # the resource must belong to the caller's own department, not one below it


@dataclass(frozen=True)
class MethodPolicy:
    roles: frozenset[Role]
    on: Target | None = None  # None: not department data (the item catalogue, published data, campaigns)
    writes: bool = False  # mutating: takes a ``request_id`` and is replayed from the idempotency ledger
    team_member: frozenset[Role] = frozenset()  # these roles must be on the assignment's team as well
    also: tuple[Target, ...] = ()  # further resources the call touches, each checked like ``on``


P, D, I, A, U = Role.POLICY_EDITOR, Role.DRAW_OPERATOR, Role.INSPECTOR, Role.AUDITOR, Role.PUBLIC  # noqa: E741
STAFF = (D, I, A)  # directory and draw readers
INTERNAL = (P, D, I, A)
EVERYONE = (P, D, I, A, U)


def rule(
    *roles: Role,
    on: Target | None = None,
    writes: bool = False,
    team_member: tuple[Role, ...] = (),
    also: tuple[Target, ...] = (),
) -> MethodPolicy:
    return MethodPolicy(frozenset(roles), on, writes, frozenset(team_member), also)


def _m(service: str, method: str) -> str:
    return f"/dualdraw.v1.{service}/{method}"


DIR, ITEMS, TASKS, DRAWS, AUDIT = (
    "DirectoryService", "InspectionItemService", "TaskService", "DrawService", "AuditService",
)  # fmt: skip
RESULTS, PUBLICATION, PUBLIC = "ResultService", "PublicationService", "PublicService"
RULES, VERIFIABLE, AUDIT_LOG = "RuleService", "VerifiableDrawService", "AuditLogService"
PLANS = "PlanService"
EVIDENCE = "EvidenceService"
FILINGS = "DirectoryFilingService"
DELIVERIES = "DeliveryService"
FOLLOW_UPS, OBJECTIONS, PUBLIC_FOLLOW_UPS = "FollowUpService", "ObjectionService", "PublicFollowUpService"
PUBLIC_SERVICES = (PUBLIC, PUBLIC_FOLLOW_UPS)
"""The services of published data, which the public may call without a token (and nothing else may be)."""
CHECKLISTS, RECORDS = "ChecklistService", "InspectionRecordService"
EXPERTS = "ExpertService"

POLICIES: dict[str, MethodPolicy] = {
    # -- directory ------------------------------------------------------------------------------------
    _m(DIR, "ImportDirectory"): rule(D, on=Target("import", ""), writes=True),
    # a move: the caller's subtree holds the record's current department and the target (resources)
    _m(DIR, "TransferRecord"): rule(D, on=Target("transfer", "key"), writes=True),
    _m(DIR, "GetDepartment"): rule(*STAFF, on=Target("department_name", "name")),
    _m(DIR, "ListDepartments"): rule(*STAFF, on=Target("department", "root_id", "own")),
    _m(DIR, "GetObject"): rule(*STAFF, on=Target("object_name", "name")),
    _m(DIR, "ListObjects"): rule(*STAFF, on=Target("department", "department_id", "own")),
    _m(DIR, "GetInspector"): rule(*STAFF, on=Target("inspector_name", "name")),
    _m(DIR, "ListInspectors"): rule(*STAFF, on=Target("department", "department_id", "own")),
    _m(DIR, "GetComplaint"): rule(*STAFF, on=Target("complaint_name", "name")),
    _m(DIR, "ListComplaints"): rule(*STAFF, on=Target("object", "credit_code", "root")),
    _m(DIR, "GetCampaign"): rule(*STAFF),  # campaigns are announced to every level below the organiser
    _m(DIR, "ListCampaigns"): rule(*STAFF),
    _m(DIR, "GetRiskAssessment"): rule(*STAFF, on=Target("risk_assessment_name", "name")),
    _m(DIR, "ListRiskAssessments"): rule(*STAFF, on=Target("object", "credit_code", "root")),
    _m(DIR, "GetStatutoryDesignation"): rule(*STAFF, on=Target("designation_name", "name")),
    _m(DIR, "ListStatutoryDesignations"): rule(*STAFF, on=Target("object", "credit_code", "root")),
    # -- the item catalogue (policy staff own it; everyone inside reads it) -------------------------
    _m(ITEMS, "CreateInspectionItem"): rule(
        P,
        on=Target("department", "item.department_id"),
        also=(Target("item", "item.code", "skip", unknown_allowed=True),),  # a taken code: its owner's
        writes=True,
    ),
    _m(ITEMS, "GetInspectionItem"): rule(*INTERNAL),
    _m(ITEMS, "ListInspectionItems"): rule(*INTERNAL),
    # -- tasks and draws -------------------------------------------------------------------------------
    _m(TASKS, "CreateTask"): rule(D, on=Target("department", "task.department_id"), writes=True),
    _m(TASKS, "GetTask"): rule(*STAFF, on=Target("task_name", "name")),
    _m(TASKS, "ListTasks"): rule(*STAFF, on=Target("department", "department_id", "own")),
    _m(DRAWS, "Draw"): rule(D, on=Target("task", "task_id"), writes=True),
    _m(DRAWS, "GetDraw"): rule(*STAFF, on=Target("draw_name", "name")),
    _m(DRAWS, "ListDraws"): rule(*STAFF, on=Target("task", "task_id", "root")),
    _m(DRAWS, "ListAssignments"): rule(*STAFF, on=Target("draw", "draw_id")),
    _m(DRAWS, "ListExclusions"): rule(*STAFF, on=Target("draw", "draw_id")),
    _m(DRAWS, "ListRaises"): rule(*STAFF, on=Target("draw", "draw_id")),  # objects raised a stratum
    _m(DRAWS, "ListJointInspections"): rule(D, A, on=Target("department", "department_id", "own")),
    _m(AUDIT, "ListAuditEvents"): rule(A, on=Target("department", "", "root")),  # the whole log: root only
    # -- the annual plan (Art. 9): the draw operators or policy staff of the plan's department (or above)
    # draft it; only policy staff approve, publish and amend it, so that no draw operator puts in force the
    # plan they draw from. Staff of the subtree read it; the public reads published versions (PublicService).
    _m(PLANS, "CreatePlan"): rule(D, P, on=Target("department", "plan.department_id"), writes=True),
    _m(PLANS, "AddPlanEntry"): rule(D, P, on=Target("plan", "plan_id"), writes=True),
    _m(PLANS, "UpdatePlanEntry"): rule(D, P, on=Target("plan", "plan_id"), writes=True),
    _m(PLANS, "ApprovePlan"): rule(P, on=Target("plan", "plan_id"), writes=True),
    _m(PLANS, "PublishPlan"): rule(P, on=Target("plan", "plan_id"), writes=True),
    _m(PLANS, "AmendPlan"): rule(P, on=Target("plan", "plan_id"), writes=True),
    _m(PLANS, "GetPlan"): rule(P, *STAFF, on=Target("plan_name", "name")),
    _m(PLANS, "ListPlans"): rule(P, *STAFF, on=Target("department", "department_id", "own")),
    _m(PLANS, "EstimatePlan"): rule(P, D, A, on=Target("plan_name", "name")),
    _m(PLANS, "GetPlanProgress"): rule(P, *STAFF, on=Target("plan_name", "name")),
    # -- directory filing with the level above (Art. 7): a department's own draw operator files its
    # directories; only the draw operator of the department it is filed with (its parent) decides; staff of
    # the subtree read filings (a filing belongs to the filing department, so the levels above see it).
    _m(FILINGS, "SubmitDirectoryFiling"): rule(
        D, on=Target("department", "department", exact=True), writes=True
    ),
    _m(FILINGS, "AcknowledgeDirectoryFiling"): rule(
        D, on=Target("filing_parent", "name", exact=True), writes=True
    ),
    _m(FILINGS, "ReturnDirectoryFiling"): rule(
        D, on=Target("filing_parent", "name", exact=True), writes=True
    ),
    _m(FILINGS, "GetDirectoryFiling"): rule(*STAFF, on=Target("filing", "name")),
    _m(FILINGS, "ListDirectoryFilings"): rule(
        *STAFF,
        on=Target("department", "department", "skip"),
        also=(Target("department", "parent_department", "skip"),),  # the use case needs one of the two
    ),
    _m(FILINGS, "ListDirectoryFilingDifferences"): rule(
        *STAFF,
        on=Target("filing", "directory_filing", "skip"),
        also=(Target("department", "department", "skip"),),  # the use case needs exactly one of the two
    ),
    _m(FILINGS, "ListChildFilingStatuses"): rule(*STAFF, on=Target("department", "parent_department", "own")),
    # -- results and publication -----------------------------------------------------------------------
    _m(RESULTS, "RecordResult"): rule(I, on=Target("draw", "result.draw_id"), writes=True, team_member=(I,)),
    _m(RESULTS, "CorrectResult"): rule(I, on=Target("draw", "result.draw_id"), writes=True, team_member=(I,)),
    _m(RESULTS, "GetResult"): rule(*STAFF, on=Target("result", "name")),
    _m(RESULTS, "ListResultVersions"): rule(*STAFF, on=Target("result", "name")),
    _m(RESULTS, "ListResults"): rule(*STAFF, on=Target("draw", "draw_id", "root")),
    # -- checklists (policy staff of the item's department write them; everyone inside reads them) and
    # inspection records (the inspectors of the assignment's team write them; staff of the subtree read them)
    _m(CHECKLISTS, "ReviseChecklist"): rule(P, on=Target("checklist", "checklist.name"), writes=True),
    _m(CHECKLISTS, "GetChecklist"): rule(*INTERNAL),
    _m(CHECKLISTS, "ListChecklistRevisions"): rule(*INTERNAL),
    _m(RECORDS, "CreateInspectionRecord"): rule(
        I, on=Target("assignment", "inspection_record.assignment"), writes=True, team_member=(I,)
    ),
    _m(RECORDS, "ReviseInspectionRecord"): rule(
        I, on=Target("inspection_record", "inspection_record.name"), writes=True, team_member=(I,)
    ),
    _m(RECORDS, "GetInspectionRecord"): rule(*STAFF, on=Target("inspection_record", "name")),
    _m(RECORDS, "ListInspectionRecordVersions"): rule(*STAFF, on=Target("inspection_record", "name")),
    _m(RECORDS, "ListInspectionRecords"): rule(
        *STAFF, on=Target("draw_name", "draw", "root"), also=(Target("assignment", "assignment", "skip"),)
    ),
    _m(PUBLICATION, "PublishDrawResults"): rule(D, on=Target("draw", "draw_id"), writes=True),
    _m(PUBLICATION, "ListPendingPublications"): rule(D, A, on=Target("department", "", "root")),
    _m(PUBLICATION, "PublishItemList"): rule(
        P, on=Target("department", "", "root"), writes=True
    ),  # all items
    _m(PUBLICATION, "ReviseInspectionItem"): rule(
        P,
        on=Target("item", "item.code"),
        also=(Target("department", "item.department_id", "skip"),),
        writes=True,
    ),
    _m(PUBLICATION, "Export"): rule(A, on=Target("draw", "draw_id", "root")),
    _m(PUBLICATION, "ExportCreditRecords"): rule(A),  # published results only, for the credit record
    # -- after the draw (Art. 13): inspectors and draw operators of the department that drew open follow-ups
    # of its results; the owning department (for a lead: the one it was passed to) changes and closes them.
    # Draw operators file objections on the enterprise's behalf and decide them (a correction of the result
    # itself is the inspectors'). Staff of the subtree read both; the public reads PublicFollowUpService.
    _m(FOLLOW_UPS, "CreateFollowUp"): rule(I, D, on=Target("result", "follow_up.result"), writes=True),
    _m(FOLLOW_UPS, "GetFollowUp"): rule(*STAFF, on=Target("follow_up", "name")),
    _m(FOLLOW_UPS, "ListFollowUps"): rule(*STAFF, on=Target("department", "department", "own")),
    # a read that records follow_up.overdue for newly overdue follow-ups (the sweep; never twice)
    _m(FOLLOW_UPS, "ListOverdueFollowUps"): rule(*STAFF, on=Target("department", "department", "own")),
    _m(FOLLOW_UPS, "AddFollowUpEvidence"): rule(I, D, on=Target("follow_up", "name"), writes=True),
    _m(FOLLOW_UPS, "ReportRectification"): rule(I, D, on=Target("follow_up", "name"), writes=True),
    _m(FOLLOW_UPS, "RecordReinspection"): rule(I, D, on=Target("follow_up", "name"), writes=True),
    _m(FOLLOW_UPS, "CloseFollowUp"): rule(I, D, on=Target("follow_up", "name"), writes=True),
    _m(OBJECTIONS, "CreateObjection"): rule(D, on=Target("result", "objection.result"), writes=True),
    _m(OBJECTIONS, "GetObjection"): rule(*STAFF, on=Target("objection", "name")),
    _m(OBJECTIONS, "ListObjections"): rule(*STAFF, on=Target("department", "department", "own")),
    _m(OBJECTIONS, "DecideObjection"): rule(D, on=Target("objection", "name"), writes=True),
    _m(PUBLIC_FOLLOW_UPS, "ListPublicFollowUps"): rule(*EVERYONE),
    _m(PUBLIC_FOLLOW_UPS, "ListPublicObjections"): rule(*EVERYONE),
    # -- the rule set: policy staff reload and preview; staff read and explain ------------------------------
    _m(RULES, "GetRuleSet"): rule(*INTERNAL),
    # The rule set serves the whole server: only a policy editor at a root of the tree reloads it.
    # Reloading the same files gives the same set: naturally idempotent.
    _m(RULES, "ReloadRules"): rule(P, on=Target("department", "", "root")),
    _m(RULES, "PreviewRuleChange"): rule(P, A, on=Target("department", "department_id", "root")),
    _m(RULES, "ExplainExclusion"): rule(P, *STAFF, on=Target("object", "credit_code")),
    _m(RULES, "ReevaluateDraw"): rule(D, A, on=Target("draw", "draw_id")),
    # -- verifiable draws ----------------------------------------------------------------------------------
    _m(VERIFIABLE, "CommitDraw"): rule(D, on=Target("task", "task_id"), writes=True),
    _m(VERIFIABLE, "RevealEntropy"): rule(D, on=Target("draw", "draw_id"), writes=True),
    _m(VERIFIABLE, "ExecuteDraw"): rule(D, on=Target("draw", "draw_id"), writes=True),
    _m(VERIFIABLE, "AbandonDraw"): rule(D, on=Target("draw", "draw_id"), writes=True),
    _m(VERIFIABLE, "RequestSubstitution"): rule(D, on=Target("draw", "draw_id"), writes=True),
    _m(VERIFIABLE, "ExecuteSubstitution"): rule(D, on=Target("substitution", "substitution_id"), writes=True),
    _m(VERIFIABLE, "ListSubstitutions"): rule(*STAFF, on=Target("draw", "draw_id")),
    _m(VERIFIABLE, "GetDrawStatistics"): rule(D, A, on=Target("department", "", "root")),
    _m(VERIFIABLE, "ExportDrawBundle"): rule(D, A, on=Target("draw", "draw_id")),
    _m(VERIFIABLE, "StreamDrawBundle"): rule(D, A, on=Target("draw", "draw_id")),  # = ExportDrawBundle
    # -- experts and testing institutions (§8.2): a department writes only its own records ------------------
    _m(EXPERTS, "ImportExperts"): rule(D, on=Target("expert_import", "parent"), writes=True),
    _m(EXPERTS, "ListExperts"): rule(*STAFF, on=Target("department_name", "parent", "own")),
    _m(EXPERTS, "ListTestingInstitutions"): rule(*STAFF, on=Target("department_name", "parent", "own")),
    _m(EXPERTS, "SetExpertRequirement"): rule(P, on=Target("item_name", "requirement.item"), writes=True),
    _m(EXPERTS, "ListExpertRequirements"): rule(P, *STAFF, on=Target("item_name", "parent")),
    _m(EXPERTS, "CreateExpertDraw"): rule(D, on=Target("draw_name", "draw"), writes=True),
    _m(EXPERTS, "ExecuteExpertDraw"): rule(D, on=Target("expert_draw", "name"), writes=True),
    _m(EXPERTS, "GetExpertDraw"): rule(*STAFF, on=Target("expert_draw", "name")),
    _m(EXPERTS, "ListExpertDraws"): rule(*STAFF, on=Target("draw_name", "parent")),
    _m(EXPERTS, "VerifyExpertDraw"): rule(D, A, on=Target("expert_draw", "name")),
    # -- the Merkle audit log: verifying needs the whole log; checkpoints and proofs are hashes only (staff;
    # the public gets draw data through PublicService) --------------------------------------------------
    _m(AUDIT_LOG, "VerifyLog"): rule(A, on=Target("department", "", "root")),
    _m(AUDIT_LOG, "GetCheckpoint"): rule(*INTERNAL),
    _m(AUDIT_LOG, "GetInclusionProof"): rule(*INTERNAL),
    _m(AUDIT_LOG, "GetConsistencyProof"): rule(*INTERNAL),
    # -- evidence files: inspectors upload what they collect (photos, reports); staff read them. A hash names
    # bytes, not whose they are: the inspection records citing a hash carry the jurisdiction, so evidence is
    # not department data. Checking the whole store is a root auditor's, like VerifyLog. ---------------------
    _m(EVIDENCE, "UploadEvidence"): rule(I, writes=True),
    _m(EVIDENCE, "GetEvidence"): rule(*STAFF),
    _m(EVIDENCE, "ListEvidence"): rule(*STAFF),
    _m(EVIDENCE, "DownloadEvidence"): rule(*STAFF),
    _m(EVIDENCE, "VerifyEvidence"): rule(A, on=Target("department", "", "root")),
    # -- deliveries to the credit system and the event broker: the outbox holds every department's records,
    # so only staff at a root of the tree read it (read-only; the relays deliver) -------------------------
    _m(DELIVERIES, "ListDeliveries"): rule(*STAFF, on=Target("department", "", "root")),
    _m(DELIVERIES, "GetDeliverySummary"): rule(*STAFF, on=Target("department", "", "root")),
    # -- the public read API: published data only, no token needed --------------------------------------
    _m(PUBLIC, "ListPublishedItems"): rule(*EVERYONE),
    _m(PUBLIC, "ListItemVersions"): rule(*EVERYONE),
    _m(PUBLIC, "GetPublishedItem"): rule(*EVERYONE),
    _m(PUBLIC, "ListPublishedDraws"): rule(*EVERYONE),
    _m(PUBLIC, "GetPublishedDraw"): rule(*EVERYONE),
    _m(PUBLIC, "GetPublishedTask"): rule(*EVERYONE),
    _m(PUBLIC, "ListPublishedResults"): rule(*EVERYONE),
    _m(PUBLIC, "ListAbandonedDraws"): rule(*EVERYONE),  # public from the moment a draw is abandoned
    _m(PUBLIC, "GetAbandonedDraw"): rule(*EVERYONE),
    _m(PUBLIC, "GetRedrawStatistics"): rule(*EVERYONE),
    # -- published annual plans --
    _m(PUBLIC, "GetPublishedPlan"): rule(*EVERYONE),
    _m(PUBLIC, "ListPublishedPlans"): rule(*EVERYONE),
    _m(PUBLIC, "GetPublishedPlanEstimate"): rule(*EVERYONE),
    _m(PUBLIC, "GetPublishedPlanProgress"): rule(*EVERYONE),  # published data only
}

# Infrastructure every client may use without a token.
OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                 "/grpc.reflection.v1.ServerReflection/")  # fmt: skip


def policy_for(method: str) -> MethodPolicy | None:
    return POLICIES.get(method)


def mutating_methods() -> frozenset[str]:
    return frozenset(m for m, p in POLICIES.items() if p.writes)
