"""Directory filing over gRPC (``DirectoryFilingService``): convert the request, call one use case, convert
back. Departments and filings are named by resource name (``departments/{id}``, ``directoryFilings/{id}``);
a bare id is taken too (the security layer fills a bare id into an empty department field)."""

from __future__ import annotations

import grpc

from dualdraw.domain.directory_filing import (
    FORMAT,
    Change,
    ChildStatus,
    DirectoryFiling,
    DirectoryKind,
    FilingState,
    ReturnReason,
)
from dualdraw.domain.errors import Violations
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of
from dualdraw.service_layer import directory_filings as filings
from dualdraw.v1 import filings_pb2 as pb
from dualdraw.v1 import filings_pb2_grpc

DEPARTMENTS = "departments/"
FILINGS = "directoryFilings/"

_KIND = {
    DirectoryKind.OBJECTS.value: pb.DIRECTORY_KIND_OBJECTS,
    DirectoryKind.INSPECTORS.value: pb.DIRECTORY_KIND_INSPECTORS,
    DirectoryKind.EXPERTS.value: pb.DIRECTORY_KIND_EXPERTS,
    DirectoryKind.TESTING_INSTITUTIONS.value: pb.DIRECTORY_KIND_TESTING_INSTITUTIONS,
}
_STATE = {
    FilingState.SUBMITTED: pb.DIRECTORY_FILING_STATE_SUBMITTED,
    FilingState.ACKNOWLEDGED: pb.DIRECTORY_FILING_STATE_ACKNOWLEDGED,
    FilingState.RETURNED: pb.DIRECTORY_FILING_STATE_RETURNED,
}
_REASON = {
    ReturnReason.LEVEL_JURISDICTION: pb.FILING_RETURN_REASON_LEVEL_JURISDICTION,
    ReturnReason.TERRITORIAL_JURISDICTION: pb.FILING_RETURN_REASON_TERRITORIAL_JURISDICTION,
    ReturnReason.PROFESSIONAL_REQUIREMENTS: pb.FILING_RETURN_REASON_PROFESSIONAL_REQUIREMENTS,
    ReturnReason.INSPECTOR_NUMBERS: pb.FILING_RETURN_REASON_INSPECTOR_NUMBERS,
    ReturnReason.INCOMPLETE: pb.FILING_RETURN_REASON_INCOMPLETE,
    ReturnReason.INACCURATE: pb.FILING_RETURN_REASON_INACCURATE,
    ReturnReason.OTHER: pb.FILING_RETURN_REASON_OTHER,
}
_REASON_FROM_PB: dict[int, ReturnReason] = {int(number): reason for reason, number in _REASON.items()}
_CHILD = {
    ChildStatus.NEVER_FILED: pb.CHILD_FILING_STATE_NEVER_FILED,
    ChildStatus.SUBMITTED: pb.CHILD_FILING_STATE_SUBMITTED,
    ChildStatus.ACKNOWLEDGED: pb.CHILD_FILING_STATE_ACKNOWLEDGED,
    ChildStatus.RETURNED: pb.CHILD_FILING_STATE_RETURNED,
    ChildStatus.STALE: pb.CHILD_FILING_STATE_STALE,
}
_CHANGE = {
    Change.ADDED: pb.RECORD_CHANGE_ADDED,
    Change.REMOVED: pb.RECORD_CHANGE_REMOVED,
    Change.CHANGED: pb.RECORD_CHANGE_CHANGED,
}


def department_id(name: str) -> str:
    """The department id in ``departments/{id}`` (or a bare id)."""
    return name.strip().removeprefix(DEPARTMENTS)


def filing_id(name: str) -> str:
    """The filing id in ``directoryFilings/{id}`` (or a bare id)."""
    return name.strip().removeprefix(FILINGS)


def _department(id: str) -> str:
    return f"{DEPARTMENTS}{id}" if id else ""


def _filing(id: str) -> str:
    return f"{FILINGS}{id}" if id else ""


def filing_to_pb(f: DirectoryFiling) -> pb.DirectoryFiling:
    message = pb.DirectoryFiling(
        name=_filing(f.id),
        department=_department(f.department_id),
        parent_department=_department(f.parent_department_id),
        sequence=f.sequence,
        state=_STATE[f.state],
        digest=f.digest,
        format=FORMAT,
        directories=[
            pb.DirectorySummary(
                kind=_KIND.get(k.kind, pb.DIRECTORY_KIND_UNSPECIFIED), count=k.count, merkle_root=k.root
            )
            for k in f.kinds
        ],
        submit_time=convert.timestamp(f.submitted_at),
        submitter=f.submitted_by,
        note=f.note,
        decider=f.decided_by,
        return_reason=_REASON[f.return_reason] if f.return_reason else pb.FILING_RETURN_REASON_UNSPECIFIED,
        return_note=f.return_note,
        superseded_by=_filing(f.superseded_by),
    )
    if f.decided_at is not None:
        message.decide_time.CopyFrom(convert.timestamp(f.decided_at))
    return message


class DirectoryFilingServicer(filings_pb2_grpc.DirectoryFilingServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def SubmitDirectoryFiling(
        self, request: pb.SubmitDirectoryFilingRequest, context: grpc.ServicerContext
    ) -> pb.DirectoryFiling:
        filed = filings.submit_filing(
            self._s.unit_of_work(),
            department_id(request.department),
            request.note,
            caller_of(context, request.request_id),
        )
        return filing_to_pb(filed)

    def GetDirectoryFiling(
        self, request: pb.GetDirectoryFilingRequest, context: grpc.ServicerContext
    ) -> pb.DirectoryFiling:
        return filing_to_pb(filings.get_filing(self._s.reader(), filing_id(request.name)))

    def ListDirectoryFilings(
        self, request: pb.ListDirectoryFilingsRequest, context: grpc.ServicerContext
    ) -> pb.ListDirectoryFilingsResponse:
        department, parent = department_id(request.department), department_id(request.parent_department)
        page_req = page_request(request.page_size, request.page_token, department, parent)
        page = filings.list_filings(self._s.reader(), page_req, department, parent)
        return pb.ListDirectoryFilingsResponse(
            directory_filings=[filing_to_pb(f) for f in page.items],
            next_page_token=next_page_token(page.next_after, department, parent),
        )

    def AcknowledgeDirectoryFiling(
        self, request: pb.AcknowledgeDirectoryFilingRequest, context: grpc.ServicerContext
    ) -> pb.DirectoryFiling:
        decided = filings.acknowledge_filing(
            self._s.unit_of_work(), filing_id(request.name), caller_of(context, request.request_id)
        )
        return filing_to_pb(decided)

    def ReturnDirectoryFiling(
        self, request: pb.ReturnDirectoryFilingRequest, context: grpc.ServicerContext
    ) -> pb.DirectoryFiling:
        v = Violations()
        reason = convert.parse_enum(request.reason, _REASON_FROM_PB, "reason", v)
        v.raise_if_any()
        decided = filings.return_filing(
            self._s.unit_of_work(),
            filing_id(request.name),
            reason,
            request.note,
            caller_of(context, request.request_id),
        )
        return filing_to_pb(decided)

    def ListDirectoryFilingDifferences(
        self, request: pb.ListDirectoryFilingDifferencesRequest, context: grpc.ServicerContext
    ) -> pb.ListDirectoryFilingDifferencesResponse:
        filing, department = filing_id(request.directory_filing), department_id(request.department)
        page_req = page_request(request.page_size, request.page_token, filing, department)
        page = filings.list_differences(
            self._s.reader(), page_req, filing_id=filing, department_id=department
        )
        return pb.ListDirectoryFilingDifferencesResponse(
            differences=[
                pb.DirectoryRecordDifference(
                    kind=_KIND.get(d.kind, pb.DIRECTORY_KIND_UNSPECIFIED), key=d.key, change=_CHANGE[d.change]
                )
                for d in page.differences
            ],
            next_page_token=next_page_token(page.next_after, filing, department),
            since_filing=_filing(page.since.id) if page.since is not None else "",
        )

    def ListChildFilingStatuses(
        self, request: pb.ListChildFilingStatusesRequest, context: grpc.ServicerContext
    ) -> pb.ListChildFilingStatusesResponse:
        parent = department_id(request.parent_department)
        page_req = page_request(request.page_size, request.page_token, parent)
        page = filings.child_statuses(self._s.reader(), parent, page_req)
        found = []
        for child in page.items:
            status = pb.ChildFilingStatus(
                department=_department(child.department_id),
                display_name=child.department_name,
                state=_CHILD[child.status],
                current_digest=child.current_digest,
                last_acknowledged_filing=_filing(
                    child.last_acknowledged.id if child.last_acknowledged else ""
                ),
            )
            if child.latest is not None:
                status.latest_filing.CopyFrom(filing_to_pb(child.latest))
            found.append(status)
        return pb.ListChildFilingStatusesResponse(
            child_filing_statuses=found, next_page_token=next_page_token(page.next_after, parent)
        )
