"""Fake dualdraw servicers on a real in-process gRPC server, shared by the client and CLI tests.

``Fake`` holds canned resources, pages every list by ``page_size`` (offset tokens), logs each call with
its metadata, and aborts a method with a rich status when ``fail`` names it. Contains no tests itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from google.type import date_pb2, decimal_pb2
from grpc_status import rpc_status

from dualdraw.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    draws_pb2,
    draws_pb2_grpc,
    items_pb2,
    items_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from dualdraw_client.dates import date_pb
from dualdraw_client.decimals import decimal_pb

T = TypeVar("T")

DOMAIN = "dualdraw.v1"
TS = timestamp_pb2.Timestamp(seconds=1_740_787_200)  # 2025-03-01 00:00:00 UTC = 08:00 CST
SEED = "5e" * 32
RULE_SET_HASH = "ab" * 32


def rich_status(
    code: grpc.StatusCode,
    message: str,
    reason: str = "",
    violations: Sequence[tuple[str, str]] = (),
    metadata: dict[str, str] | None = None,
) -> grpc.Status:
    """A grpc.Status carrying google.rpc.Status with ErrorInfo (when ``reason``) and BadRequest."""
    details = []
    if reason:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata or {}))
        details.append(info)
    if violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    number = code_pb2.Code.Value(code.name)
    return rpc_status.to_status(status_pb2.Status(code=number, message=message, details=details))


def make_objects(count: int = 5) -> list[directory_pb2.InspectionObject]:
    names = ["唐山钢铁有限公司", "Tangshan Boiler Co.", "曹妃甸压力容器厂", "丰南电梯维保", "Kaiping Cranes"]
    return [
        directory_pb2.InspectionObject(
            name=f"objects/91130200MA0000000{i}",
            credit_code=f"91130200MA0000000{i}",
            display_name=names[i % len(names)],
            region_code="130203",
            registering_department_id="130203-GXQ",
            industry="C13",
            business_lines=["special_equipment", "product_quality"] if i % 2 == 0 else ["special_equipment"],
            risk_class=directory_pb2.RISK_CLASS_C,
            status=directory_pb2.OBJECT_STATUS_ACTIVE,
            office="第一所",
        )
        for i in range(count)
    ]


def make_draw(task_id: str = "t-1") -> draws_pb2.Draw:
    return draws_pb2.Draw(
        id="d-1",
        task_id=task_id,
        create_time=TS,
        actor="alice",
        algorithm_version="dualdraw-draw/1",
        state=draws_pb2.DRAW_STATE_EXECUTED,
        seed=SEED,
        entropy_source="os.urandom",
        entropy="cd" * 32,
        manifest_hash="ef" * 32,
        rule_set_hash=RULE_SET_HASH,
        rule_set_version="2025.1",
        as_of=date_pb("2025-03-01"),
        in_scope_count=120,
        excluded_count=8,
        eligible_count=112,
        selected_count=3,
        team_size=2,
        ratio=decimal_pb("0.03"),
        eligible_digest="12" * 32,
        inspector_pool_digest="34" * 32,
    )


def make_assignments() -> list[draws_pb2.Assignment]:
    return [
        draws_pb2.Assignment(
            draw_id="d-1",
            position=i + 1,
            credit_code=obj.credit_code,
            object_name=obj.display_name,
            ticket=f"{i:02x}" * 32,
            stratum="C",
            team=[
                draws_pb2.TeamMember(badge_number=f"B00{2 * i + 1}", name="张三", leader=True),
                draws_pb2.TeamMember(badge_number=f"B00{2 * i + 2}", name="Li Si", leader=False),
            ],
        )
        for i, obj in enumerate(make_objects(3))
    ]


@dataclass
class Call:
    method: str
    request: Message
    metadata: dict[str, str]


@dataclass
class Fake:
    """Canned data, failures to inject and a log of the calls the servicers received."""

    page_size: int = 2
    fail: dict[str, grpc.Status | tuple[grpc.StatusCode, str]] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    first_only: dict[str, int] = field(default_factory=dict)
    """``delay`` and ``fail`` of a method named here apply to its first n calls only."""
    repeat_token: bool = False
    calls: list[Call] = field(default_factory=list)
    departments: list[directory_pb2.Department] = field(
        default_factory=lambda: [
            directory_pb2.Department(
                id="13", display_name="河北省市场监督管理局", level=1, region_code="130000"
            ),
            directory_pb2.Department(id="1302", display_name="唐山市市场监督管理局", parent_id="13", level=2),
            directory_pb2.Department(id="130203-GXQ", display_name="高新区分局", parent_id="1302", level=3),
        ]
    )
    objects: list[directory_pb2.InspectionObject] = field(default_factory=make_objects)
    inspectors: list[directory_pb2.Inspector] = field(
        default_factory=lambda: [
            directory_pb2.Inspector(
                name=f"inspectors/B00{i}",
                badge_number=f"B00{i}",
                display_name=name,
                department_id="130203-GXQ",
                office="第一所",
                available=i != 3,
                specialities=[
                    directory_pb2.Speciality(
                        code="SE", certificate_expires_on=date_pb2.Date(year=2026, month=12, day=31)
                    )
                ],
                conflicts=["91130200MA00000001"] if i == 1 else [],
            )
            for i, name in enumerate(["张三", "Li Si", "王五", "赵六"], start=1)
        ]
    )
    complaints: list[directory_pb2.Complaint] = field(
        default_factory=lambda: [directory_pb2.Complaint(id=f"c-{i}") for i in range(3)]
    )
    campaigns: list[directory_pb2.Campaign] = field(
        default_factory=lambda: [directory_pb2.Campaign(id=f"cp-{i}") for i in range(3)]
    )
    risk_assessments: list[directory_pb2.RiskAssessment] = field(
        default_factory=lambda: [directory_pb2.RiskAssessment(id=f"ra-{i}") for i in range(3)]
    )
    statutory_designations: list[directory_pb2.StatutoryDesignation] = field(
        default_factory=lambda: [directory_pb2.StatutoryDesignation(id=f"sd-{i}") for i in range(3)]
    )
    items: list[items_pb2.InspectionItem] = field(
        default_factory=lambda: [
            items_pb2.InspectionItem(
                name=f"items/SE-00{i}",
                code=f"SE-00{i}",
                display_name="特种设备安全检查",
                kind=items_pb2.ITEM_KIND_GENERAL,
                default_ratio=decimal_pb2.Decimal(value="0.05"),
                business_line="special_equipment",
                required_speciality="SE",
                department_id="130203-GXQ",
            )
            for i in range(1, 4)
        ]
    )
    tasks: list[tasks_pb2.Task] = field(
        default_factory=lambda: [
            tasks_pb2.Task(
                id=f"t-{i}",
                item_code="SE-001",
                department_id="130203-GXQ",
                ratio=decimal_pb("0.03"),
                team_size=2,
                title="2025年特种设备抽查",
                scope=tasks_pb2.TaskScope(region_code="130203", industries=["C13", "C14"]),
                create_time=TS,
            )
            for i in range(1, 4)
        ]
    )
    draws: list[draws_pb2.Draw] = field(default_factory=lambda: [make_draw()])
    assignments: list[draws_pb2.Assignment] = field(default_factory=make_assignments)
    exclusions: list[draws_pb2.Exclusion] = field(
        default_factory=lambda: [
            draws_pb2.Exclusion(
                draw_id="d-1",
                credit_code="91130200MA00000009",
                object_name="唐山某某锅炉厂",
                rule_id="R16-2-complaint",
                category=draws_pb2.EXCLUSION_CATEGORY_COMPLAINT_HANDLING,
                reason="投诉举报正在处理中",
                evidence=["c-1"],
            )
        ]
    )
    events: list[audit_pb2.AuditEvent] = field(
        default_factory=lambda: [
            audit_pb2.AuditEvent(
                sequence=i, occur_time=TS, actor="alice", action="task.create", resource=f"tasks/t-{i}"
            )
            for i in range(1, 4)
        ]
    )
    import_chunks: list[directory_pb2.ImportDirectoryRequest] = field(default_factory=list)
    import_committed: bool = False
    import_aborted: threading.Event = field(default_factory=threading.Event)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def enter(self, method: str, request: Message, context: grpc.ServicerContext) -> None:
        """Logs the call, then sleeps and/or aborts as configured for ``method``."""
        metadata = {str(k): str(v) for k, v in context.invocation_metadata()}
        self.calls.append(Call(method, request, metadata))
        limit = self.first_only.get(method)
        if limit is not None and len(self.calls_to(method)) > limit:
            return
        if method in self.delay:
            time.sleep(self.delay[method])
        self.abort_if_failing(method, context)

    def abort_if_failing(self, method: str, context: grpc.ServicerContext) -> None:
        """Aborts with the rich status, or the plain (code, message), configured for ``method``."""
        failure = self.fail.get(method)
        if isinstance(failure, grpc.Status):
            context.abort_with_status(failure)
        elif failure is not None:
            context.abort(*failure)

    def page(self, items: Sequence[T], request: Any) -> tuple[list[T], str]:
        """One page of ``items`` for a request with page_size/page_token; the token is an offset."""
        offset = int(request.page_token or 0)
        size = request.page_size or self.page_size
        end = offset + size
        token = str(end) if end < len(items) else ""
        if self.repeat_token and request.page_token:
            token = request.page_token
        return list(items[offset:end]), token


def _by(items: Sequence[T], attr: str, value: str) -> list[T]:
    return [i for i in items if not value or getattr(i, attr) == value]


def _key(name: str) -> str:
    """The key of a resource name ``collection/key``."""
    return name.partition("/")[2]


def _get(items: Sequence[T], attr: str, key: str, context: grpc.ServicerContext) -> T:
    for item in items:
        if getattr(item, attr) == key:
            return item
    context.abort_with_status(rich_status(grpc.StatusCode.NOT_FOUND, f"{key!r} not found", "NOT_FOUND"))
    raise AssertionError("unreachable")


class DirectoryServicer(directory_pb2_grpc.DirectoryServiceServicer):
    def __init__(self, fake: Fake) -> None:
        self.fake = fake

    def TransferRecord(self, request, context):
        self.fake.enter("TransferRecord", request, context)
        return directory_pb2.TransferRecordResponse(
            kind=request.kind,
            key=request.key,
            from_department_id="130202-LN",
            to_department_id=request.to_department_id,
            moved=request.to_department_id != "130202-LN",
        )

    def ImportDirectory(self, request_iterator, context):
        self.fake.enter("ImportDirectory", directory_pb2.ImportDirectoryRequest(), context)
        try:
            for chunk in request_iterator:
                self.fake.import_chunks.append(chunk)
        except Exception:  # the client cancelled: nothing may be committed
            self.fake.import_aborted.set()
            raise
        chunks = self.fake.import_chunks
        if not context.is_active() or not (chunks and chunks[-1].last_chunk):
            self.fake.import_aborted.set()
            return directory_pb2.ImportDirectoryResponse()
        self.fake.abort_if_failing("ImportDirectory.commit", context)
        self.fake.import_committed = True
        counts = {
            kind: sum(len(getattr(c, kind)) for c in self.fake.import_chunks)
            for kind in (
                "departments",
                "objects",
                "inspectors",
                "complaints",
                "campaigns",
                "risk_assessments",
                "statutory_designations",
            )
        }
        return directory_pb2.ImportDirectoryResponse(imported_at=TS, **counts)

    def GetDepartment(self, request, context):
        self.fake.enter("GetDepartment", request, context)
        return _get(self.fake.departments, "id", _key(request.name), context)

    def ListDepartments(self, request, context):
        self.fake.enter("ListDepartments", request, context)
        items, token = self.fake.page(self.fake.departments, request)
        return directory_pb2.ListDepartmentsResponse(departments=items, next_page_token=token)

    def GetObject(self, request, context):
        self.fake.enter("GetObject", request, context)
        return _get(self.fake.objects, "credit_code", _key(request.name), context)

    def ListObjects(self, request, context):
        self.fake.enter("ListObjects", request, context)
        selected = _by(self.fake.objects, "registering_department_id", request.department_id)
        items, token = self.fake.page(selected, request)
        return directory_pb2.ListObjectsResponse(objects=items, next_page_token=token)

    def GetInspector(self, request, context):
        self.fake.enter("GetInspector", request, context)
        return _get(self.fake.inspectors, "badge_number", _key(request.name), context)

    def ListInspectors(self, request, context):
        self.fake.enter("ListInspectors", request, context)
        selected = _by(self.fake.inspectors, "department_id", request.department_id)
        items, token = self.fake.page(selected, request)
        return directory_pb2.ListInspectorsResponse(inspectors=items, next_page_token=token)

    def GetComplaint(self, request, context):
        self.fake.enter("GetComplaint", request, context)
        return _get(self.fake.complaints, "id", _key(request.name), context)

    def ListComplaints(self, request, context):
        self.fake.enter("ListComplaints", request, context)
        items, token = self.fake.page(self.fake.complaints, request)
        return directory_pb2.ListComplaintsResponse(complaints=items, next_page_token=token)

    def GetCampaign(self, request, context):
        self.fake.enter("GetCampaign", request, context)
        return _get(self.fake.campaigns, "id", _key(request.name), context)

    def ListCampaigns(self, request, context):
        self.fake.enter("ListCampaigns", request, context)
        items, token = self.fake.page(self.fake.campaigns, request)
        return directory_pb2.ListCampaignsResponse(campaigns=items, next_page_token=token)

    def GetRiskAssessment(self, request, context):
        self.fake.enter("GetRiskAssessment", request, context)
        return _get(self.fake.risk_assessments, "id", _key(request.name), context)

    def ListRiskAssessments(self, request, context):
        self.fake.enter("ListRiskAssessments", request, context)
        items, token = self.fake.page(self.fake.risk_assessments, request)
        return directory_pb2.ListRiskAssessmentsResponse(risk_assessments=items, next_page_token=token)

    def GetStatutoryDesignation(self, request, context):
        self.fake.enter("GetStatutoryDesignation", request, context)
        return _get(self.fake.statutory_designations, "id", _key(request.name), context)

    def ListStatutoryDesignations(self, request, context):
        self.fake.enter("ListStatutoryDesignations", request, context)
        items, token = self.fake.page(self.fake.statutory_designations, request)
        return directory_pb2.ListStatutoryDesignationsResponse(
            statutory_designations=items, next_page_token=token
        )


class ItemServicer(items_pb2_grpc.InspectionItemServiceServicer):
    def __init__(self, fake: Fake) -> None:
        self.fake = fake

    def CreateInspectionItem(self, request, context):
        self.fake.enter("CreateInspectionItem", request, context)
        created = items_pb2.InspectionItem()
        created.CopyFrom(request.item)
        created.create_time.CopyFrom(TS)
        return created

    def GetInspectionItem(self, request, context):
        self.fake.enter("GetInspectionItem", request, context)
        return _get(self.fake.items, "code", _key(request.name), context)

    def ListInspectionItems(self, request, context):
        self.fake.enter("ListInspectionItems", request, context)
        items, token = self.fake.page(self.fake.items, request)
        return items_pb2.ListInspectionItemsResponse(items=items, next_page_token=token)


class TaskServicer(tasks_pb2_grpc.TaskServiceServicer):
    def __init__(self, fake: Fake) -> None:
        self.fake = fake

    def CreateTask(self, request, context):
        self.fake.enter("CreateTask", request, context)
        created = tasks_pb2.Task()
        created.CopyFrom(request.task)
        created.id = "t-new"
        created.create_time.CopyFrom(TS)
        return created

    def GetTask(self, request, context):
        self.fake.enter("GetTask", request, context)
        return _get(self.fake.tasks, "id", request.name.removeprefix("tasks/"), context)

    def ListTasks(self, request, context):
        self.fake.enter("ListTasks", request, context)
        items, token = self.fake.page(_by(self.fake.tasks, "department_id", request.department_id), request)
        return tasks_pb2.ListTasksResponse(tasks=items, next_page_token=token)


class DrawServicer(draws_pb2_grpc.DrawServiceServicer):
    def __init__(self, fake: Fake) -> None:
        self.fake = fake

    def Draw(self, request, context):
        self.fake.enter("Draw", request, context)
        draw = make_draw(request.task_id)
        if request.HasField("as_of"):
            draw.as_of.CopyFrom(request.as_of)
        return draws_pb2.DrawResponse(draw=draw)

    def GetDraw(self, request, context):
        self.fake.enter("GetDraw", request, context)
        return _get(self.fake.draws, "id", request.name.removeprefix("draws/"), context)

    def ListDraws(self, request, context):
        self.fake.enter("ListDraws", request, context)
        items, token = self.fake.page(_by(self.fake.draws, "task_id", request.task_id), request)
        return draws_pb2.ListDrawsResponse(draws=items, next_page_token=token)

    def ListAssignments(self, request, context):
        self.fake.enter("ListAssignments", request, context)
        items, token = self.fake.page(_by(self.fake.assignments, "draw_id", request.draw_id), request)
        return draws_pb2.ListAssignmentsResponse(assignments=items, next_page_token=token)

    def ListExclusions(self, request, context):
        self.fake.enter("ListExclusions", request, context)
        items, token = self.fake.page(_by(self.fake.exclusions, "draw_id", request.draw_id), request)
        return draws_pb2.ListExclusionsResponse(exclusions=items, next_page_token=token)


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, fake: Fake) -> None:
        self.fake = fake

    def ListAuditEvents(self, request, context):
        self.fake.enter("ListAuditEvents", request, context)
        items, token = self.fake.page(_by(self.fake.events, "resource", request.resource), request)
        return audit_pb2.ListAuditEventsResponse(events=items, next_page_token=token)


@contextmanager
def serve(fake: Fake) -> Iterator[str]:
    """Runs the fake servicers on 127.0.0.1 (a free port); yields the ``host:port`` target."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    directory_pb2_grpc.add_DirectoryServiceServicer_to_server(DirectoryServicer(fake), server)
    items_pb2_grpc.add_InspectionItemServiceServicer_to_server(ItemServicer(fake), server)
    tasks_pb2_grpc.add_TaskServiceServicer_to_server(TaskServicer(fake), server)
    draws_pb2_grpc.add_DrawServiceServicer_to_server(DrawServicer(fake), server)
    audit_pb2_grpc.add_AuditServiceServicer_to_server(AuditServicer(fake), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def unused_target() -> str:
    """An address where nothing listens (a port just released by the OS)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"
