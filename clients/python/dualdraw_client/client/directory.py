"""Directory calls: streamed imports of objects, inspectors and departments, transfers, look-ups."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Final

import grpc

from dualdraw.v1 import directory_pb2

from ..errors import DualdrawError, from_rpc_error
from ..names import named
from ..records import DEFAULT_MAX_CHUNK_BYTES, DEFAULT_MAX_CHUNK_RECORDS, DirectoryRecord, chunk_records
from .base import ClientBase, new_request_id


class _GuardedRequests:
    """Feeds a request iterator to a client-streaming call; a failure while iterating cancels the call.

    Without this, grpc logs the exception and cancels with UNKNOWN; here the original exception is kept
    (``error``) and the call is cancelled explicitly, so the server never sees a half-close and commits
    nothing.
    """

    def __init__(self, requests: Iterator[directory_pb2.ImportDirectoryRequest]) -> None:
        self._requests = requests
        self.error: BaseException | None = None
        self._call: grpc.Future[directory_pb2.ImportDirectoryResponse] | None = None
        self._started = threading.Event()

    def attach(self, call: grpc.Future[directory_pb2.ImportDirectoryResponse]) -> None:
        self._call = call
        self._started.set()

    def __iter__(self) -> _GuardedRequests:
        return self

    def __next__(self) -> directory_pb2.ImportDirectoryRequest:
        try:
            return next(self._requests)
        except StopIteration:
            raise
        except BaseException as exc:  # anything (even KeyboardInterrupt) must cancel rather than half-close
            self.error = exc
            self._started.wait(timeout=10.0)
            if self._call is not None:
                self._call.cancel()
            raise StopIteration from None


class DirectoryCalls(ClientBase):
    """The directory: imports (one transaction per stream), transfers, departments, objects, inspectors,
    complaints, campaigns, risk assessments and statutory designations."""

    def import_directory(
        self,
        chunks: Iterable[directory_pb2.ImportDirectoryRequest],
        *,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> directory_pb2.ImportDirectoryResponse:
        """Streams import chunks; the server applies all of them in one transaction, or none.

        ``request_id`` (default: the first chunk's, else a fresh uuid4) is set on a copy of the first chunk,
        ``last_chunk`` on a copy of the last (the server commits only a stream that ends with it); no chunks
        at all still sends one empty last chunk. If iterating ``chunks`` raises, the call is cancelled
        (nothing is imported) and that exception propagates. ``timeout`` overrides the client's for this
        call; it covers the whole stream.
        """
        source = iter(chunks)

        def stamped() -> Iterator[directory_pb2.ImportDirectoryRequest]:
            """The chunks with the request id on the first and ``last_chunk`` on the last (one look-ahead)."""
            first = next(source, None)
            current = directory_pb2.ImportDirectoryRequest()
            if first is not None:
                current.CopyFrom(first)
            current.request_id = request_id or current.request_id or new_request_id()
            for following in source:
                yield current
                current = following
            final = directory_pb2.ImportDirectoryRequest()
            final.CopyFrom(current)
            final.last_chunk = True
            yield final

        guarded = _GuardedRequests(stamped())
        try:
            future = self._directory.ImportDirectory.future(
                guarded, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
            )
        except grpc.RpcError as exc:  # pragma: no cover - future() reports failures through the future
            raise from_rpc_error(exc) from None
        guarded.attach(future)
        try:
            response = future.result()
        except grpc.FutureCancelledError:
            if guarded.error is not None:
                raise guarded.error from None
            raise DualdrawError("import cancelled", code=grpc.StatusCode.CANCELLED) from None
        except grpc.RpcError as exc:
            if guarded.error is not None:
                raise guarded.error from None
            raise from_rpc_error(exc) from None
        except BaseException:
            future.cancel()
            raise
        if guarded.error is not None:  # the server answered a stream that had no final chunk
            raise guarded.error
        return response

    def import_records(
        self,
        records: Iterable[DirectoryRecord],
        *,
        request_id: str | None = None,
        timeout: float | None = None,
        max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
        max_chunk_records: int = DEFAULT_MAX_CHUNK_RECORDS,
    ) -> directory_pb2.ImportDirectoryResponse:
        """Imports directory messages of any kinds, chunked by :func:`.records.chunk_records`."""
        chunks = chunk_records(records, max_bytes=max_chunk_bytes, max_records=max_chunk_records)
        return self.import_directory(chunks, request_id=request_id, timeout=timeout)

    RECORD_KINDS: Final = {
        "object": directory_pb2.RECORD_KIND_OBJECT,
        "inspector": directory_pb2.RECORD_KIND_INSPECTOR,
        "department": directory_pb2.RECORD_KIND_DEPARTMENT,
    }

    def transfer_record(
        self, kind: str, key: str, to_department_id: str, reason: str, *, request_id: str | None = None
    ) -> directory_pb2.TransferRecordResponse:
        """Moves an object (``kind="object"``, key: credit code), an inspector (badge number) or a department
        (its id: moves it under ``to_department_id``) to another department; ``reason`` is required and
        audited. The caller must cover both the current and the target department. An import never moves a
        record (``FailedPreconditionError``, reason ``DEPARTMENT_CHANGE_NEEDS_TRANSFER``)."""
        request = directory_pb2.TransferRecordRequest(
            kind=self.RECORD_KINDS[kind],
            key=key,
            to_department_id=to_department_id,
            reason=reason,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._directory.TransferRecord, request)

    def get_department(self, department_id: str) -> directory_pb2.Department:
        """The department with this id (NotFoundError if none)."""
        return self._call(
            self._directory.GetDepartment,
            directory_pb2.GetDepartmentRequest(name=named("departments", department_id)),
        )

    def list_departments(
        self, *, root_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> directory_pb2.ListDepartmentsResponse:
        """One page of departments (``root_id``: only that subtree, itself included)."""
        request = directory_pb2.ListDepartmentsRequest(
            root_id=root_id, page_size=page_size, page_token=page_token
        )
        return self._call(self._directory.ListDepartments, request)

    def iter_departments(
        self, *, root_id: str = "", page_size: int = 0
    ) -> Iterator[directory_pb2.Department]:
        """Every department (of the ``root_id`` subtree), following page tokens."""
        return self._follow(
            lambda token: self.list_departments(root_id=root_id, page_size=page_size, page_token=token),
            lambda page: page.departments,
        )

    def get_object(self, credit_code: str) -> directory_pb2.InspectionObject:
        """The inspection object with this unified social credit code."""
        return self._call(
            self._directory.GetObject, directory_pb2.GetObjectRequest(name=named("objects", credit_code))
        )

    def list_objects(
        self, *, department_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> directory_pb2.ListObjectsResponse:
        """One page of objects (``department_id``: registered by it or its subtree)."""
        request = directory_pb2.ListObjectsRequest(
            department_id=department_id, page_size=page_size, page_token=page_token
        )
        return self._call(self._directory.ListObjects, request)

    def iter_objects(
        self, *, department_id: str = "", page_size: int = 0
    ) -> Iterator[directory_pb2.InspectionObject]:
        """Every object (of ``department_id``'s subtree), following page tokens."""
        return self._follow(
            lambda token: self.list_objects(
                department_id=department_id, page_size=page_size, page_token=token
            ),
            lambda page: page.objects,
        )

    def get_inspector(self, badge_number: str) -> directory_pb2.Inspector:
        """The inspector with this badge number."""
        return self._call(
            self._directory.GetInspector,
            directory_pb2.GetInspectorRequest(name=named("inspectors", badge_number)),
        )

    def list_inspectors(
        self, *, department_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> directory_pb2.ListInspectorsResponse:
        """One page of inspectors (``department_id``: only that department's)."""
        request = directory_pb2.ListInspectorsRequest(
            department_id=department_id, page_size=page_size, page_token=page_token
        )
        return self._call(self._directory.ListInspectors, request)

    def iter_inspectors(
        self, *, department_id: str = "", page_size: int = 0
    ) -> Iterator[directory_pb2.Inspector]:
        """Every inspector (of ``department_id``), following page tokens."""
        return self._follow(
            lambda token: self.list_inspectors(
                department_id=department_id, page_size=page_size, page_token=token
            ),
            lambda page: page.inspectors,
        )

    def get_complaint(self, complaint_id: str) -> directory_pb2.Complaint:
        """The complaint with this id."""
        return self._call(
            self._directory.GetComplaint,
            directory_pb2.GetComplaintRequest(name=named("complaints", complaint_id)),
        )

    def list_complaints(
        self, *, credit_code: str = "", page_size: int = 0, page_token: str = ""
    ) -> directory_pb2.ListComplaintsResponse:
        """One page of complaints (``credit_code``: only about that object)."""
        request = directory_pb2.ListComplaintsRequest(
            credit_code=credit_code, page_size=page_size, page_token=page_token
        )
        return self._call(self._directory.ListComplaints, request)

    def iter_complaints(
        self, *, credit_code: str = "", page_size: int = 0
    ) -> Iterator[directory_pb2.Complaint]:
        """Every complaint (about ``credit_code``), following page tokens."""
        return self._follow(
            lambda token: self.list_complaints(
                credit_code=credit_code, page_size=page_size, page_token=token
            ),
            lambda page: page.complaints,
        )

    def get_campaign(self, campaign_id: str) -> directory_pb2.Campaign:
        """The campaign with this id."""
        return self._call(
            self._directory.GetCampaign,
            directory_pb2.GetCampaignRequest(name=named("campaigns", campaign_id)),
        )

    def list_campaigns(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> directory_pb2.ListCampaignsResponse:
        """One page of campaigns."""
        request = directory_pb2.ListCampaignsRequest(page_size=page_size, page_token=page_token)
        return self._call(self._directory.ListCampaigns, request)

    def iter_campaigns(self, *, page_size: int = 0) -> Iterator[directory_pb2.Campaign]:
        """Every campaign, following page tokens."""
        return self._follow(
            lambda token: self.list_campaigns(page_size=page_size, page_token=token),
            lambda page: page.campaigns,
        )

    def get_risk_assessment(self, assessment_id: str) -> directory_pb2.RiskAssessment:
        """The risk assessment with this id."""
        return self._call(
            self._directory.GetRiskAssessment,
            directory_pb2.GetRiskAssessmentRequest(name=named("riskAssessments", assessment_id)),
        )

    def list_risk_assessments(
        self, *, credit_code: str = "", page_size: int = 0, page_token: str = ""
    ) -> directory_pb2.ListRiskAssessmentsResponse:
        """One page of risk assessments (``credit_code``: only of that object)."""
        request = directory_pb2.ListRiskAssessmentsRequest(
            credit_code=credit_code, page_size=page_size, page_token=page_token
        )
        return self._call(self._directory.ListRiskAssessments, request)

    def iter_risk_assessments(
        self, *, credit_code: str = "", page_size: int = 0
    ) -> Iterator[directory_pb2.RiskAssessment]:
        """Every risk assessment (of ``credit_code``), following page tokens."""
        return self._follow(
            lambda token: self.list_risk_assessments(
                credit_code=credit_code, page_size=page_size, page_token=token
            ),
            lambda page: page.risk_assessments,
        )

    def get_statutory_designation(self, designation_id: str) -> directory_pb2.StatutoryDesignation:
        """The statutory designation with this id."""
        return self._call(
            self._directory.GetStatutoryDesignation,
            directory_pb2.GetStatutoryDesignationRequest(name=named("statutoryDesignations", designation_id)),
        )

    def list_statutory_designations(
        self, *, credit_code: str = "", page_size: int = 0, page_token: str = ""
    ) -> directory_pb2.ListStatutoryDesignationsResponse:
        """One page of statutory designations (``credit_code``: only of that object)."""
        request = directory_pb2.ListStatutoryDesignationsRequest(
            credit_code=credit_code, page_size=page_size, page_token=page_token
        )
        return self._call(self._directory.ListStatutoryDesignations, request)

    def iter_statutory_designations(
        self, *, credit_code: str = "", page_size: int = 0
    ) -> Iterator[directory_pb2.StatutoryDesignation]:
        """Every statutory designation (of ``credit_code``), following page tokens."""
        return self._follow(
            lambda token: self.list_statutory_designations(
                credit_code=credit_code, page_size=page_size, page_token=token
            ),
            lambda page: page.statutory_designations,
        )
