"""The directory servicer: imports (streamed, validated, all or nothing), transfers and directory reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import grpc

from dualdraw.domain import model
from dualdraw.domain.credit_code import require_canonical
from dualdraw.domain.errors import Violations, invalid
from dualdraw.domain.object_columns import ObjectColumns
from dualdraw.entrypoints.grpc import directory_convert
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import (
    Services,
    caller_of,
    fetch_one,
    fetch_page,
    fetch_subtree_page,
)
from dualdraw.runtime import collection_pause, heap
from dualdraw.service_layer import directory
from dualdraw.service_layer.directory import DirectoryBatch, require
from dualdraw.v1 import directory_pb2, directory_pb2_grpc

MAX_IMPORT_RECORDS = 2_000_000
T = TypeVar("T")
E = TypeVar("E")


class DirectoryServicer(directory_pb2_grpc.DirectoryServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def ImportDirectory(
        self, request_iterator: Iterable[directory_pb2.ImportDirectoryRequest], context: grpc.ServicerContext
    ) -> directory_pb2.ImportDirectoryResponse:
        try:
            with collection_pause.paused():  # up to millions of records, none of them in a reference cycle
                return self._import_directory(request_iterator, context)
        finally:
            heap.give_back_free_memory()  # the import's freed pages, for the next draw

    def _import_directory(
        self, request_iterator: Iterable[directory_pb2.ImportDirectoryRequest], context: grpc.ServicerContext
    ) -> directory_pb2.ImportDirectoryResponse:
        batch = DirectoryBatch()
        v = Violations()
        request_id = ""
        total = 0
        last_seen = False
        for chunk in request_iterator:
            if last_seen:
                raise invalid("last_chunk", "a chunk followed the last chunk", "IMPORT_STREAM_INVALID")
            last_seen = chunk.last_chunk
            request_id = request_id or chunk.request_id
            total += sum(
                len(x)
                for x in (
                    chunk.departments,
                    chunk.objects,
                    chunk.inspectors,
                    chunk.complaints,
                    chunk.campaigns,
                    chunk.risk_assessments,
                    chunk.statutory_designations,
                )
            )
            if total > MAX_IMPORT_RECORDS:
                raise invalid(
                    "objects", f"an import holds at most {MAX_IMPORT_RECORDS} records", "IMPORT_TOO_LARGE"
                )
            _collect(
                chunk.departments, batch.departments, "departments", directory_convert.department_from_pb, v
            )
            _collect_objects(chunk.objects, batch.objects, v)
            _collect(chunk.inspectors, batch.inspectors, "inspectors", directory_convert.inspector_from_pb, v)
            _collect(chunk.complaints, batch.complaints, "complaints", directory_convert.complaint_from_pb, v)
            _collect(chunk.campaigns, batch.campaigns, "campaigns", directory_convert.campaign_from_pb, v)
            _collect(
                chunk.risk_assessments,
                batch.risk_assessments,
                "risk_assessments",
                directory_convert.risk_assessment_from_pb,
                v,
            )
            _collect(
                chunk.statutory_designations,
                batch.statutory_designations,
                "statutory_designations",
                directory_convert.designation_from_pb,
                v,
            )
        if not last_seen:
            v.add(
                "last_chunk",
                "the stream ended without its last chunk (cut off or failed half-way): nothing imported",
                reason="IMPORT_INCOMPLETE",
            )
        v.raise_if_any()
        counts = directory.import_directory(self._s.unit_of_work(), batch, caller_of(context, request_id))
        response = directory_pb2.ImportDirectoryResponse(
            departments=counts["departments"],
            objects=counts["objects"],
            inspectors=counts["inspectors"],
            complaints=counts["complaints"],
            campaigns=counts["campaigns"],
            risk_assessments=counts["risk_assessments"],
            statutory_designations=counts["statutory_designations"],
        )
        response.imported_at.GetCurrentTime()
        return response

    def TransferRecord(
        self, request: directory_pb2.TransferRecordRequest, context: grpc.ServicerContext
    ) -> directory_pb2.TransferRecordResponse:
        kind = directory_convert.record_kind_from_pb(request.kind)
        if kind is None:
            raise invalid(
                "kind", "must be RECORD_KIND_OBJECT, _INSPECTOR or _DEPARTMENT", "ENUM_VALUE_UNKNOWN"
            )
        transfer = directory.transfer_record(
            self._s.unit_of_work(),
            kind,
            request.key,
            request.to_department_id,
            request.reason,
            caller_of(context, request.request_id),
        )
        return directory_convert.transfer_to_pb(transfer)

    def GetDepartment(
        self, request: directory_pb2.GetDepartmentRequest, context: grpc.ServicerContext
    ) -> directory_pb2.Department:
        key = names.DEPARTMENTS.parse(request.name)
        return directory_convert.department_to_pb(
            fetch_one(self._s, lambda u: u.directory.get_department(key), "department", key)
        )

    def ListDepartments(
        self, request: directory_pb2.ListDepartmentsRequest, context: grpc.ServicerContext
    ) -> directory_pb2.ListDepartmentsResponse:
        page_req = page_request(request.page_size, request.page_token, request.root_id)
        page = fetch_subtree_page(
            self._s, request.root_id, "root_id", lambda u, ids: u.directory.list_departments(page_req, ids)
        )
        return directory_pb2.ListDepartmentsResponse(
            departments=[directory_convert.department_to_pb(d) for d in page.items],
            next_page_token=next_page_token(page.next_after, request.root_id),
        )

    def GetObject(
        self, request: directory_pb2.GetObjectRequest, context: grpc.ServicerContext
    ) -> directory_pb2.InspectionObject:
        code = require_canonical(names.OBJECTS.parse(request.name), "name")
        lookup = self._s.object_lookup
        if lookup is not None:
            return directory_convert.object_to_pb(require(lookup(code), "object", code))
        return directory_convert.object_to_pb(
            fetch_one(self._s, lambda u: u.directory.get_object(code), "object", code)
        )

    def ListObjects(
        self, request: directory_pb2.ListObjectsRequest, context: grpc.ServicerContext
    ) -> directory_pb2.ListObjectsResponse:
        page_req = page_request(request.page_size, request.page_token, request.department_id)
        page = fetch_subtree_page(
            self._s,
            request.department_id,
            "department_id",
            lambda u, ids: u.directory.list_objects(page_req, ids),
        )
        return directory_pb2.ListObjectsResponse(
            objects=[directory_convert.object_to_pb(o) for o in page.items],
            next_page_token=next_page_token(page.next_after, request.department_id),
        )

    def GetInspector(
        self, request: directory_pb2.GetInspectorRequest, context: grpc.ServicerContext
    ) -> directory_pb2.Inspector:
        badge = names.INSPECTORS.parse(request.name)
        return directory_convert.inspector_to_pb(
            fetch_one(self._s, lambda u: u.directory.get_inspector(badge), "inspector", badge)
        )

    def ListInspectors(
        self, request: directory_pb2.ListInspectorsRequest, context: grpc.ServicerContext
    ) -> directory_pb2.ListInspectorsResponse:
        page_req = page_request(request.page_size, request.page_token, request.department_id)
        page = fetch_subtree_page(
            self._s,
            request.department_id,
            "department_id",
            lambda u, ids: u.directory.list_inspectors(page_req, ids),
        )
        return directory_pb2.ListInspectorsResponse(
            inspectors=[directory_convert.inspector_to_pb(i) for i in page.items],
            next_page_token=next_page_token(page.next_after, request.department_id),
        )

    def GetComplaint(
        self, request: directory_pb2.GetComplaintRequest, context: grpc.ServicerContext
    ) -> directory_pb2.Complaint:
        key = names.COMPLAINTS.parse(request.name)
        return directory_convert.complaint_to_pb(
            fetch_one(self._s, lambda u: u.directory.get_complaint(key), "complaint", key)
        )

    def ListComplaints(
        self, request: directory_pb2.ListComplaintsRequest, context: grpc.ServicerContext
    ) -> directory_pb2.ListComplaintsResponse:
        page_req = page_request(request.page_size, request.page_token, request.credit_code)
        page = fetch_page(
            self._s, lambda u: u.directory.list_complaints(page_req, _code_filter(request.credit_code))
        )
        return directory_pb2.ListComplaintsResponse(
            complaints=[directory_convert.complaint_to_pb(c) for c in page.items],
            next_page_token=next_page_token(page.next_after, request.credit_code),
        )

    def GetCampaign(
        self, request: directory_pb2.GetCampaignRequest, context: grpc.ServicerContext
    ) -> directory_pb2.Campaign:
        key = names.CAMPAIGNS.parse(request.name)
        return directory_convert.campaign_to_pb(
            fetch_one(self._s, lambda u: u.directory.get_campaign(key), "campaign", key)
        )

    def ListCampaigns(
        self, request: directory_pb2.ListCampaignsRequest, context: grpc.ServicerContext
    ) -> directory_pb2.ListCampaignsResponse:
        page_req = page_request(request.page_size, request.page_token)
        page = fetch_page(self._s, lambda u: u.directory.list_campaigns(page_req))
        return directory_pb2.ListCampaignsResponse(
            campaigns=[directory_convert.campaign_to_pb(c) for c in page.items],
            next_page_token=next_page_token(page.next_after),
        )

    def GetRiskAssessment(
        self, request: directory_pb2.GetRiskAssessmentRequest, context: grpc.ServicerContext
    ) -> directory_pb2.RiskAssessment:
        key = names.RISK_ASSESSMENTS.parse(request.name)
        return directory_convert.risk_assessment_to_pb(
            fetch_one(self._s, lambda u: u.directory.get_risk_assessment(key), "risk assessment", key)
        )

    def ListRiskAssessments(
        self, request: directory_pb2.ListRiskAssessmentsRequest, context: grpc.ServicerContext
    ) -> directory_pb2.ListRiskAssessmentsResponse:
        page_req = page_request(request.page_size, request.page_token, request.credit_code)
        page = fetch_page(
            self._s,
            lambda u: u.directory.list_risk_assessments(page_req, _code_filter(request.credit_code)),
        )
        return directory_pb2.ListRiskAssessmentsResponse(
            risk_assessments=[directory_convert.risk_assessment_to_pb(r) for r in page.items],
            next_page_token=next_page_token(page.next_after, request.credit_code),
        )

    def GetStatutoryDesignation(
        self, request: directory_pb2.GetStatutoryDesignationRequest, context: grpc.ServicerContext
    ) -> directory_pb2.StatutoryDesignation:
        key = names.STATUTORY_DESIGNATIONS.parse(request.name)
        return directory_convert.designation_to_pb(
            fetch_one(
                self._s, lambda u: u.directory.get_statutory_designation(key), "statutory designation", key
            )
        )

    def ListStatutoryDesignations(
        self, request: directory_pb2.ListStatutoryDesignationsRequest, context: grpc.ServicerContext
    ) -> directory_pb2.ListStatutoryDesignationsResponse:
        page_req = page_request(request.page_size, request.page_token, request.credit_code)
        page = fetch_page(
            self._s,
            lambda u: u.directory.list_statutory_designations(page_req, _code_filter(request.credit_code)),
        )
        return directory_pb2.ListStatutoryDesignationsResponse(
            statutory_designations=[directory_convert.designation_to_pb(d) for d in page.items],
            next_page_token=next_page_token(page.next_after, request.credit_code),
        )


def _collect(
    source: Iterable[T],
    target: list[E],
    path: str,
    parse: Callable[[T, str, Violations], E | None],
    v: Violations,
) -> None:
    """Parses ``source`` into ``target``, numbering field paths across chunks."""
    for message in source:
        record = parse(message, f"{path}[{len(target)}]", v)
        # keep positions aligned with request order even when a record is invalid
        target.append(record if record is not None else INVALID_RECORD)  # type: ignore[arg-type]  # never written: v is non-empty


def _collect_objects(
    source: Sequence[directory_pb2.InspectionObject], target: ObjectColumns, v: Violations
) -> None:
    """``_collect`` of objects: a chunk without problems in a few column-wise passes (no field paths built,
    no object made), else each record through ``object_from_pb``, which names its problems."""
    if directory_convert.well_formed_objects(source, target):
        return
    for message in source:
        record = directory_convert.object_from_pb(message, f"objects[{len(target)}]", v)
        # keep positions aligned with request order even when a record is invalid (never written: v is
        # non-empty then)
        target.append(record if record is not None else INVALID_OBJECT)


INVALID_OBJECT = model.InspectionObject("", "", "", "", "", (), model.RiskClass.A, model.ObjectStatus.ACTIVE)
INVALID_RECORD = object()


def _code_filter(credit_code: str) -> str | None:
    """A credit-code filter as written (``None`` when empty); lower case or spaces are refused."""
    return require_canonical(credit_code, "credit_code") or None
