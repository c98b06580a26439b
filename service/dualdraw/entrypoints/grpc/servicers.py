"""Thin gRPC servicers: convert the request, call one use case, convert the answer. Errors are mapped by
``dualdraw.entrypoints.grpc.errors.ErrorMappingInterceptor``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

import grpc

from dualdraw.adapters.rules_engine.engine import ExclusionEngine
from dualdraw.domain import model
from dualdraw.domain.errors import FieldViolation, InvalidArgument, Violations, invalid
from dualdraw.domain.evidence import EvidenceLimits
from dualdraw.domain.follow_ups import FollowUpKind
from dualdraw.domain.objections import DEFAULT_OBJECTION_WORKING_DAYS
from dualdraw.domain.policy import DEFAULT_GENERAL_RATIO_CAP, DrawRules
from dualdraw.domain.working_days import HolidayCalendar
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_of, page_request
from dualdraw.entrypoints.grpc.security.interceptor import current_principal
from dualdraw.service_layer import catalogue, draw_policy
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.draw_runner import DrawRunner, InProcessDraws, draw_at_once
from dualdraw.service_layer.entropy_policy import EntropyPolicy
from dualdraw.service_layer.ports import EvidenceStore, ObjectLookup, Page, PointRead, UnitOfWork
from dualdraw.service_layer.rule_book import RuleBook
from dualdraw.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    draws_pb2,
    draws_pb2_grpc,
    items_pb2,
    items_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)

ACTOR_METADATA_KEY = "x-dualdraw-actor"
T = TypeVar("T")
E = TypeVar("E")


@dataclass(frozen=True)
class Services:
    """What the servicers need: unit-of-work factories (``read_unit_of_work`` for reads only; defaults to
    ``unit_of_work``), the rules engine and the rule book."""

    unit_of_work: Callable[[], UnitOfWork]
    engine: ExclusionEngine
    rule_book: RuleBook
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)  # working days, for deadlines
    read_unit_of_work: Callable[[], UnitOfWork] | None = None

    def reader(self) -> UnitOfWork:
        return (self.read_unit_of_work or self.unit_of_work)()

    point_read: PointRead | None = None
    """Runs reads of a few rows by key (``fetch_one``): ``Store.point_read``; ``None``: in ``reader()``."""
    object_lookup: ObjectLookup | None = None
    """Reads ``GetObject``'s object: ``Store.object_lookup``; ``None``: through ``fetch_one``."""

    draw_runner: DrawRunner | None = None
    """Runs ``Draw``, ``CommitDraw`` and builds bundles (``dualdraw.adapters.draw_process``); ``None``:
    here."""

    def draws(self) -> DrawRunner:
        return self.draw_runner or InProcessDraws(self.unit_of_work, self.engine, self.entropy_policy)

    audit_trusted_keys: frozenset[str] | None = None
    """Public keys (hex) whose audit checkpoints ``VerifyLog`` accepts; ``None``: any (development key)."""
    general_ratio_cap: Fraction = DEFAULT_GENERAL_RATIO_CAP
    """The highest ratio a task with a policy may use on a general inspection item (key items: up to 1)."""
    max_abandons_per_task: int = 1
    """``Settings.max_abandons_per_task``: how many draws of one task ``AbandonDraw`` may retire."""
    entropy_policy: EntropyPolicy = field(default_factory=EntropyPolicy)
    """Which entropy draws may use: a local secret only in development (``DUALDRAW_ALLOW_LOCAL_ENTROPY``)."""
    max_message_bytes: int = 16 * 1024 * 1024
    """The server's gRPC message limit (``Settings.max_message_bytes``): ``ExportDrawBundle`` refuses a bundle
    that does not fit in one message, ``StreamDrawBundle`` cuts its chunks to fit."""
    plan_required: bool = True
    """``Settings.plan_required``: every new task names a published plan entry (``PLAN_ENTRY_REQUIRED``)."""
    bureau_rules: DrawRules = field(default_factory=DrawRules)
    """The caps and raises a task outside a plan is created with (``Settings.default_*``)."""
    evidence_store: EvidenceStore | None = None
    """Where evidence files are kept (``DUALDRAW_EVIDENCE_DIR``); ``None``: ``EvidenceService`` is off."""
    evidence_limits: EvidenceLimits = field(default_factory=EvidenceLimits)
    """The largest evidence file and the content types taken (``DUALDRAW_EVIDENCE_*``)."""
    follow_up_days: dict[FollowUpKind, int] = field(default_factory=dict)
    """``Settings.follow_up_days``: working days to a follow-up's due date, per kind (defaults otherwise)."""
    objection_working_days: int = DEFAULT_OBJECTION_WORKING_DAYS
    """``Settings.objection_working_days``: how long after publication an objection is received in time."""


def caller_of(context: grpc.ServicerContext, request_id: str = "") -> Caller:
    """Who calls: the principal the security interceptor admitted, else the (unauthenticated) actor."""
    principal = current_principal()
    if principal is not None:
        return Caller(actor=principal.actor, request_id=request_id[:128])
    metadata = dict(context.invocation_metadata() or ())
    actor = str(metadata.get(ACTOR_METADATA_KEY, "") or "anonymous")
    return Caller(actor=actor[:128], request_id=request_id[:128])


def fetch_one(services: Services, fetch: Callable[[UnitOfWork], T | None], resource: str, key: str) -> T:
    """``fetch``'s record (a read of a few rows by key), or ``NotFound`` for ``resource`` ``key``."""
    if services.point_read is not None:
        return require(services.point_read(fetch), resource, key)
    with services.reader() as uow:
        return require(fetch(uow), resource, key)


def fetch_page(services: Services, fetch: Callable[[UnitOfWork], Page[T]]) -> Page[T]:
    with services.reader() as uow:
        return fetch(uow)


def subtree_ids(services: Services, department_id: str, field: str) -> list[str] | None:
    """The ids of ``department_id``'s subtree, sorted; ``None`` (no filter) when it is empty. Raises
    ``InvalidArgument`` (``UNKNOWN_DEPARTMENT`` on ``field``) for a department not in the directory."""
    if not department_id:
        return None
    with services.reader() as uow:
        return _subtree_ids(uow, department_id, field)


def fetch_subtree_page(
    services: Services,
    department_id: str,
    field: str,
    fetch: Callable[[UnitOfWork, list[str] | None], Page[T]],
) -> Page[T]:
    """``fetch``'s page of the records in ``department_id``'s subtree (``subtree_ids``), with the subtree
    read in the same transaction: one connection and one snapshot for the whole call."""
    with services.reader() as uow:
        return fetch(uow, _subtree_ids(uow, department_id, field) if department_id else None)


def _subtree_ids(uow: UnitOfWork, department_id: str, field: str) -> list[str]:
    ids = uow.directory.department_subtree(department_id)
    if not ids:
        raise invalid(field, f"unknown department {department_id!r}", "UNKNOWN_DEPARTMENT")
    return sorted(ids)


class InspectionItemServicer(items_pb2_grpc.InspectionItemServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def CreateInspectionItem(
        self, request: items_pb2.CreateInspectionItemRequest, context: grpc.ServicerContext
    ) -> items_pb2.InspectionItem:
        v = Violations()
        item = convert.item_from_pb(request.item, "item", v)
        v.raise_if_any()
        assert item is not None
        stored = catalogue.create_item(self._s.unit_of_work(), item, caller_of(context, request.request_id))
        return convert.item_to_pb(stored)

    def GetInspectionItem(
        self, request: items_pb2.GetInspectionItemRequest, context: grpc.ServicerContext
    ) -> items_pb2.InspectionItem:
        code = names.ITEMS.parse(request.name)
        return convert.item_to_pb(fetch_one(self._s, lambda u: u.items.get(code), "inspection item", code))

    def ListInspectionItems(
        self, request: items_pb2.ListInspectionItemsRequest, context: grpc.ServicerContext
    ) -> items_pb2.ListInspectionItemsResponse:
        page_req = page_request(request.page_size, request.page_token)
        page = fetch_page(self._s, lambda u: u.items.list(page_req))
        return items_pb2.ListInspectionItemsResponse(
            items=[convert.item_to_pb(i) for i in page.items],
            next_page_token=next_page_token(page.next_after),
        )


class TaskServicer(tasks_pb2_grpc.TaskServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def CreateTask(
        self, request: tasks_pb2.CreateTaskRequest, context: grpc.ServicerContext
    ) -> tasks_pb2.Task:
        pb = request.task
        v = Violations()
        planned = bool(pb.plan_id.strip())
        # a planned task's ratio defaults to its entry's
        ratio = (
            convert.parse_ratio_field(pb.ratio.value, "task.ratio", v)
            if pb.ratio.value or not planned
            else None
        )
        if pb.plan_period < 0:
            v.add(
                "task.plan_period",
                "must not be negative (0: the period containing today)",
                reason="VALUE_OUT_OF_RANGE",
            )
        plan = (
            catalogue.PlanRequest(pb.plan_id.strip(), pb.plan_entry_id.strip(), pb.plan_period, pb.rehearsal)
            if planned
            else None
        )
        if planned and not pb.plan_entry_id.strip():
            v.add(
                "task.plan_entry_id",
                "is required with task.plan_id: the plan entry the task draws for",
                reason="FIELD_REQUIRED",
            )
        if pb.plan_entry_id.strip() and not planned:
            v.add("task.plan_id", "is required with task.plan_entry_id", reason="FIELD_REQUIRED")
        if pb.rehearsal and not planned:
            v.add(
                "task.rehearsal",
                "a rehearsal rehearses a plan entry: name task.plan_id and task.plan_entry_id",
                reason="FIELD_REQUIRED",
            )
        if any(x.field.startswith(("task.plan", "task.rehearsal")) for x in v.items):
            v.raise_if_any()  # the plan entry the task is for comes before everything checked against it
        policy = convert.policy_from_pb(pb, v)
        scope = model.TaskScope(
            region_code=pb.scope.region_code.strip() or None,
            industries=tuple(sorted({i.strip() for i in pb.scope.industries if i.strip()})),
        )
        task = catalogue.create_task(
            self._s.unit_of_work(),
            item_code=pb.item_code.strip(),
            department_id=pb.department_id.strip(),
            ratio=ratio,
            team_size=pb.team_size,
            scope=scope,
            title=pb.title,
            caller=caller_of(context, request.request_id),
            violations=v,
            policy=policy,
            general_ratio_cap=self._s.general_ratio_cap,
            plan=plan,
            plan_required=self._s.plan_required,
            bureau_rules=self._s.bureau_rules,
        )
        return convert.task_to_pb(task)

    def GetTask(self, request: tasks_pb2.GetTaskRequest, context: grpc.ServicerContext) -> tasks_pb2.Task:
        task_id = names.parse_task(request.name)
        return convert.task_to_pb(fetch_one(self._s, lambda u: u.tasks.get(task_id), "task", task_id))

    def ListTasks(
        self, request: tasks_pb2.ListTasksRequest, context: grpc.ServicerContext
    ) -> tasks_pb2.ListTasksResponse:
        page_req = page_request(request.page_size, request.page_token, request.department_id)
        page = fetch_subtree_page(
            self._s, request.department_id, "department_id", lambda u, ids: u.tasks.list(page_req, ids)
        )
        return tasks_pb2.ListTasksResponse(
            tasks=[convert.task_to_pb(t) for t in page.items],
            next_page_token=next_page_token(page.next_after, request.department_id),
        )


class DrawServicer(draws_pb2_grpc.DrawServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def Draw(self, request: draws_pb2.DrawRequest, context: grpc.ServicerContext) -> draws_pb2.DrawResponse:
        v = Violations()
        as_of = convert.date_from_pb(request.as_of, "as_of", v, required=False)
        if not request.task_id:
            v.add("task_id", "is required", reason="FIELD_REQUIRED")
        v.raise_if_any()
        draw = draw_at_once(
            self._s.draws(),
            self._s.entropy_policy,
            self._s.rule_book.current(),
            task_id=request.task_id,
            as_of=as_of,
            caller=caller_of(context, request.request_id),
            beacon_round=request.beacon_round,
        )
        return draws_pb2.DrawResponse(draw=convert.draw_to_pb(draw))

    def GetDraw(self, request: draws_pb2.GetDrawRequest, context: grpc.ServicerContext) -> draws_pb2.Draw:
        draw_id = names.parse_draw(request.name)
        return convert.draw_to_pb(fetch_one(self._s, lambda u: u.draws.get(draw_id), "draw", draw_id))

    def ListDraws(
        self, request: draws_pb2.ListDrawsRequest, context: grpc.ServicerContext
    ) -> draws_pb2.ListDrawsResponse:
        page_req = page_request(request.page_size, request.page_token, request.task_id)
        page = fetch_page(self._s, lambda u: u.draws.list(page_req, request.task_id or None))
        return draws_pb2.ListDrawsResponse(
            draws=[convert.draw_to_pb(d) for d in page.items],
            next_page_token=next_page_token(page.next_after, request.task_id),
        )

    def ListAssignments(
        self, request: draws_pb2.ListAssignmentsRequest, context: grpc.ServicerContext
    ) -> draws_pb2.ListAssignmentsResponse:
        page_req = page_request(request.page_size, request.page_token, request.draw_id)
        with self._s.reader() as uow:
            require(uow.draws.get(request.draw_id), "draw", request.draw_id)
            page = uow.draws.list_assignments(request.draw_id, page_req)
            draw = require(uow.draws.get(request.draw_id), "draw", request.draw_id)
            task = uow.tasks.get(draw.task_id)
            objects = _object_names(uow, (a.credit_code for a in page.items))
            badges = {m.badge_number for a in page.items for m in a.team}
            found = uow.directory.inspectors_by_badge(badges)
            inspectors = {b: i.name for b, i in found.items()}
            inspector_departments = {b: i.department_id for b, i in found.items()}
            handed_to = draw_policy.assignment_departments(uow, draw, task.department_id if task else "")
            if not handed_to and task is not None:
                handed_to = {a.credit_code: task.department_id for a in page.items}
        return draws_pb2.ListAssignmentsResponse(
            assignments=[
                convert.assignment_to_pb(
                    request.draw_id, a, objects, inspectors, handed_to, inspector_departments
                )
                for a in page.items
            ],
            next_page_token=next_page_token(page.next_after, request.draw_id),
        )

    def ListExclusions(
        self, request: draws_pb2.ListExclusionsRequest, context: grpc.ServicerContext
    ) -> draws_pb2.ListExclusionsResponse:
        page_req = page_request(request.page_size, request.page_token, request.draw_id)
        with self._s.reader() as uow:
            require(uow.draws.get(request.draw_id), "draw", request.draw_id)
            page = uow.draws.list_exclusions(request.draw_id, page_req)
            objects = _object_names(uow, (e.credit_code for e in page.items))
        return draws_pb2.ListExclusionsResponse(
            exclusions=[convert.exclusion_to_pb(request.draw_id, e, objects) for e in page.items],
            next_page_token=next_page_token(page.next_after, request.draw_id),
        )

    def ListRaises(
        self, request: draws_pb2.ListRaisesRequest, context: grpc.ServicerContext
    ) -> draws_pb2.ListRaisesResponse:
        page_req = page_request(request.page_size, request.page_token, request.draw_id)
        with self._s.reader() as uow:
            require(uow.draws.get(request.draw_id), "draw", request.draw_id)
            page = uow.draws.list_raises(request.draw_id, page_req)
        return draws_pb2.ListRaisesResponse(
            raises=[convert.raise_to_pb(request.draw_id, r) for r in page.items],
            next_page_token=next_page_token(page.next_after, request.draw_id),
        )

    def ListJointInspections(
        self, request: draws_pb2.ListJointInspectionsRequest, context: grpc.ServicerContext
    ) -> draws_pb2.ListJointInspectionsResponse:
        if not 1900 <= request.year <= 9999:
            raise InvalidArgument(
                [FieldViolation("year", "must be a calendar year such as 2026", reason="VALUE_OUT_OF_RANGE")]
            )
        filters = (str(request.year), request.department_id)
        page_req = page_request(request.page_size, request.page_token, *filters)
        ids = subtree_ids(self._s, request.department_id, "department_id")
        merged = draw_policy.joint_inspections(
            self._s.unit_of_work(), year=request.year, department_ids=None if ids is None else frozenset(ids)
        )
        page = page_of(merged, page_req)
        return draws_pb2.ListJointInspectionsResponse(
            joint_inspections=[convert.joint_inspection_to_pb(j) for j in page.items],
            next_page_token=next_page_token(page.next_after, *filters),
        )


def _object_names(uow: UnitOfWork, codes: Iterable[str]) -> dict[str, str]:
    return {code: o.name for code, o in uow.directory.objects_by_code(set(codes)).items()}


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def ListAuditEvents(
        self, request: audit_pb2.ListAuditEventsRequest, context: grpc.ServicerContext
    ) -> audit_pb2.ListAuditEventsResponse:
        page_req = page_request(request.page_size, request.page_token, request.resource)
        page = fetch_page(self._s, lambda u: u.audit.list(page_req, request.resource or None))
        return audit_pb2.ListAuditEventsResponse(
            events=[convert.audit_event_to_pb(e) for e in page.items],
            next_page_token=next_page_token(page.next_after, request.resource),
        )
