"""``DualdrawClient``: typed, blocking wrappers around every dualdraw.v1 RPC.

Every method returns the protobuf message of the RPC (types from the committed ``.pyi`` stubs) and raises
a :class:`~dualdraw_client.errors.DualdrawError` subclass instead of ``grpc.RpcError``. The caller's
identity goes out as the ``x-dualdraw-actor`` metadata on every call; mutating calls get a fresh uuid4
``request_id`` unless one is given, so a caller that retries with the same id is not applied twice.

``list_*`` return one page; ``iter_*`` are generators that follow ``next_page_token`` to the end.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Final, TypeVar

import grpc

from dualdraw.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    draws_pb2,
    draws_pb2_grpc,
    items_pb2,
    items_pb2_grpc,
    public_pb2,
    public_pb2_grpc,
    publication_pb2,
    publication_pb2_grpc,
    results_pb2,
    results_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
    verification_pb2,
    verification_pb2_grpc,
)

from .bundles import BundleReceipt, receive_bundle
from .errors import DualdrawError, from_rpc_error
from .records import DEFAULT_MAX_CHUNK_BYTES, DEFAULT_MAX_CHUNK_RECORDS, DirectoryRecord, chunk_records

__all__ = ["ACTOR_METADATA_KEY", "DEFAULT_TARGET", "DualdrawClient", "new_request_id"]

DEFAULT_TARGET: Final = "127.0.0.1:50051"
ACTOR_METADATA_KEY: Final = "x-dualdraw-actor"
"""Metadata key naming the caller (an ASCII login name or badge number) until authentication exists."""

_MAX_RECEIVE_BYTES: Final = 32 * 1024 * 1024

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")
_Page = TypeVar("_Page")
_Item = TypeVar("_Item")


def new_request_id() -> str:
    """A fresh idempotency key (uuid4, canonical text form)."""
    return str(uuid.uuid4())


def _check_actor(actor: str) -> str:
    """gRPC metadata values must be printable ASCII; reject others here rather than fail in the transport."""
    if not actor.isascii() or not actor.isprintable():
        raise ValueError(f"actor must be printable ASCII (a login name or badge number), got {actor!r}")
    return actor


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


def _rpc_errors_mapped(responses: Iterable[_Resp]) -> Iterator[_Resp]:
    """``responses`` with ``grpc.RpcError`` turned into :class:`DualdrawError`."""
    try:
        yield from responses
    except grpc.RpcError as exc:
        raise from_rpc_error(exc) from None


class DualdrawClient:
    """A connection to a dualdraw server. Use as a context manager, or call :meth:`close`.

    ``target`` is ``host:port``; ``actor`` is sent as ``x-dualdraw-actor`` (omitted when None);
    ``timeout`` is the per-call deadline in seconds (None: no deadline). Pass ``channel`` to reuse an
    existing channel (it is then not closed by :meth:`close`), or ``credentials`` for TLS; ``token`` is a
    signed bearer token sent as ``authorization: Bearer ...`` (servers with authentication on require it).
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        actor: str | None = None,
        timeout: float | None = 30.0,
        channel: grpc.Channel | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        token: str | None = None,
    ) -> None:
        self.target = target
        self.actor = None if actor is None else _check_actor(actor)
        self.token = None if not token else _check_actor(token.strip())
        self.timeout = timeout
        self._owns_channel = channel is None
        if channel is None:
            options = [("grpc.max_receive_message_length", _MAX_RECEIVE_BYTES)]
            if credentials is None:
                channel = grpc.insecure_channel(target, options=options)
            else:
                channel = grpc.secure_channel(target, credentials, options=options)
        self._channel = channel
        self._directory = directory_pb2_grpc.DirectoryServiceStub(channel)
        self._items = items_pb2_grpc.InspectionItemServiceStub(channel)
        self._tasks = tasks_pb2_grpc.TaskServiceStub(channel)
        self._draws = draws_pb2_grpc.DrawServiceStub(channel)
        self._audit = audit_pb2_grpc.AuditServiceStub(channel)
        self._results = results_pb2_grpc.ResultServiceStub(channel)
        self._publication = publication_pb2_grpc.PublicationServiceStub(channel)
        self._public = public_pb2_grpc.PublicServiceStub(channel)

    # -- lifecycle -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the channel if this client created it. Idempotent."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> DualdrawClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        metadata = () if self.actor is None else ((ACTOR_METADATA_KEY, self.actor),)
        if self.token:
            metadata = (*metadata, ("authorization", f"Bearer {self.token}"))
        return metadata

    def _call(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Req, _Resp],
        request: _Req,
        timeout: float | None = None,
    ) -> _Resp:
        try:
            return method(
                request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    @staticmethod
    def _follow(fetch: Callable[[str], _Page], items: Callable[[_Page], Iterable[_Item]]) -> Iterator[_Item]:
        """Yields ``items(page)`` for every page, passing each ``next_page_token`` back to ``fetch``."""
        token = ""
        while True:
            page = fetch(token)
            yield from items(page)
            next_token = str(getattr(page, "next_page_token", ""))
            if not next_token:
                return
            if next_token == token:
                raise DualdrawError(
                    f"server returned the page token it was given ({next_token!r}); stopping",
                    code=grpc.StatusCode.INTERNAL,
                )
            token = next_token

    # -- directory ---------------------------------------------------------------------------------------

    def import_directory(
        self,
        chunks: Iterable[directory_pb2.ImportDirectoryRequest],
        *,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> directory_pb2.ImportDirectoryResponse:
        """Streams import chunks; the server applies all of them in one transaction, or none.

        ``request_id`` (default: the first chunk's, else a fresh uuid4) is set on a copy of the first chunk,
        ``final`` on a copy of the last (the server commits only a stream that ends with it); no chunks at all
        still sends one empty, final chunk. If iterating ``chunks`` raises, the call is cancelled
        (nothing is imported) and that exception propagates. ``timeout`` overrides the client's for this
        call; it covers the whole stream.
        """
        source = iter(chunks)

        def stamped() -> Iterator[directory_pb2.ImportDirectoryRequest]:
            """The chunks with the request id on the first and ``final`` on the last (one look-ahead)."""
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
            final.final = True
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
        return self._call(self._directory.GetDepartment, directory_pb2.GetDepartmentRequest(id=department_id))

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
        return self._call(self._directory.GetObject, directory_pb2.GetObjectRequest(credit_code=credit_code))

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
            self._directory.GetInspector, directory_pb2.GetInspectorRequest(badge_number=badge_number)
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
        return self._call(self._directory.GetComplaint, directory_pb2.GetComplaintRequest(id=complaint_id))

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
        return self._call(self._directory.GetCampaign, directory_pb2.GetCampaignRequest(id=campaign_id))

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
            self._directory.GetRiskAssessment, directory_pb2.GetRiskAssessmentRequest(id=assessment_id)
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
            directory_pb2.GetStatutoryDesignationRequest(id=designation_id),
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

    # -- inspection items -------------------------------------------------------------------------------

    def create_item(
        self, item: items_pb2.InspectionItem, *, request_id: str | None = None
    ) -> items_pb2.InspectionItem:
        """Creates an inspection item (``create_time`` is set by the server); returns it as stored."""
        request = items_pb2.CreateInspectionItemRequest(item=item, request_id=request_id or new_request_id())
        return self._call(self._items.CreateInspectionItem, request)

    def get_item(self, code: str) -> items_pb2.InspectionItem:
        """The inspection item with this code."""
        return self._call(self._items.GetInspectionItem, items_pb2.GetInspectionItemRequest(code=code))

    def list_items(
        self, *, page_size: int = 0, page_token: str = ""
    ) -> items_pb2.ListInspectionItemsResponse:
        """One page of the item list."""
        request = items_pb2.ListInspectionItemsRequest(page_size=page_size, page_token=page_token)
        return self._call(self._items.ListInspectionItems, request)

    def iter_items(self, *, page_size: int = 0) -> Iterator[items_pb2.InspectionItem]:
        """Every inspection item, following page tokens."""
        return self._follow(
            lambda token: self.list_items(page_size=page_size, page_token=token), lambda page: page.items
        )

    # -- tasks -------------------------------------------------------------------------------------------

    def create_task(self, task: tasks_pb2.Task, *, request_id: str | None = None) -> tasks_pb2.Task:
        """Creates a task (the server assigns ``id`` and ``create_time``); returns it as stored."""
        request = tasks_pb2.CreateTaskRequest(task=task, request_id=request_id or new_request_id())
        return self._call(self._tasks.CreateTask, request)

    def get_task(self, task_id: str) -> tasks_pb2.Task:
        """The task with this id."""
        return self._call(self._tasks.GetTask, tasks_pb2.GetTaskRequest(id=task_id))

    def list_tasks(
        self, *, department_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> tasks_pb2.ListTasksResponse:
        """One page of tasks (``department_id``: only that department's)."""
        request = tasks_pb2.ListTasksRequest(
            department_id=department_id, page_size=page_size, page_token=page_token
        )
        return self._call(self._tasks.ListTasks, request)

    def iter_tasks(self, *, department_id: str = "", page_size: int = 0) -> Iterator[tasks_pb2.Task]:
        """Every task (of ``department_id``), following page tokens."""
        return self._follow(
            lambda token: self.list_tasks(department_id=department_id, page_size=page_size, page_token=token),
            lambda page: page.tasks,
        )

    # -- draws -------------------------------------------------------------------------------------------

    def draw(
        self,
        task_id: str,
        as_of: str | datetime.date | None = None,
        request_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> draws_pb2.Draw:
        """Runs the draw of a task, evaluating the exclusion rules at ``as_of`` (default: the server's today).

        A task is drawn once: a second draw fails with AlreadyExistsError (reason ``DRAW_EXISTS``) unless it
        repeats the first one's ``request_id``.
        While another committed draw that shares its inspection history (caps, recent inspections) has not
        executed yet, it fails with FailedPreconditionError (``PENDING_DRAW_IN_SCOPE``;
        ``metadata["draw_id"]`` names that draw).
        """
        if isinstance(as_of, datetime.date):
            as_of = as_of.isoformat()
        request = draws_pb2.DrawRequest(
            task_id=task_id, as_of=as_of or "", request_id=request_id or new_request_id()
        )
        return self._call(self._draws.Draw, request, timeout)

    def get_draw(self, draw_id: str) -> draws_pb2.Draw:
        """The draw with this id."""
        return self._call(self._draws.GetDraw, draws_pb2.GetDrawRequest(id=draw_id))

    def list_draws(
        self, *, task_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> draws_pb2.ListDrawsResponse:
        """One page of draws (``task_id``: only that task's)."""
        request = draws_pb2.ListDrawsRequest(task_id=task_id, page_size=page_size, page_token=page_token)
        return self._call(self._draws.ListDraws, request)

    def iter_draws(self, *, task_id: str = "", page_size: int = 0) -> Iterator[draws_pb2.Draw]:
        """Every draw (of ``task_id``), following page tokens."""
        return self._follow(
            lambda token: self.list_draws(task_id=task_id, page_size=page_size, page_token=token),
            lambda page: page.draws,
        )

    def list_assignments(
        self, draw_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> draws_pb2.ListAssignmentsResponse:
        """One page of a draw's assignments (selected objects and their teams), in ticket order."""
        request = draws_pb2.ListAssignmentsRequest(
            draw_id=draw_id, page_size=page_size, page_token=page_token
        )
        return self._call(self._draws.ListAssignments, request)

    def iter_assignments(self, draw_id: str, *, page_size: int = 0) -> Iterator[draws_pb2.Assignment]:
        """Every assignment of a draw, following page tokens."""
        return self._follow(
            lambda token: self.list_assignments(draw_id, page_size=page_size, page_token=token),
            lambda page: page.assignments,
        )

    def list_exclusions(
        self, draw_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> draws_pb2.ListExclusionsResponse:
        """One page of the objects a rule excluded from a draw."""
        request = draws_pb2.ListExclusionsRequest(draw_id=draw_id, page_size=page_size, page_token=page_token)
        return self._call(self._draws.ListExclusions, request)

    def iter_exclusions(self, draw_id: str, *, page_size: int = 0) -> Iterator[draws_pb2.Exclusion]:
        """Every exclusion of a draw, following page tokens."""
        return self._follow(
            lambda token: self.list_exclusions(draw_id, page_size=page_size, page_token=token),
            lambda page: page.exclusions,
        )

    def list_raises(
        self, draw_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> draws_pb2.ListRaisesResponse:
        """One page of the objects a ``dualdraw-draw/2`` draw raised to a higher stratum, with the reasons."""
        request = draws_pb2.ListRaisesRequest(draw_id=draw_id, page_size=page_size, page_token=page_token)
        return self._call(self._draws.ListRaises, request)

    def iter_raises(self, draw_id: str, *, page_size: int = 0) -> Iterator[draws_pb2.Raise]:
        """Every raise of a draw, following page tokens."""
        return self._follow(
            lambda token: self.list_raises(draw_id, page_size=page_size, page_token=token),
            lambda page: page.raises,
        )

    def list_joint_inspections(
        self, year: int, department_id: str = ""
    ) -> draws_pb2.ListJointInspectionsResponse:
        """Objects several departments' executed draws selected in ``year``, merged into joint inspections
        (only those involving ``department_id`` or a department below it, when given)."""
        request = draws_pb2.ListJointInspectionsRequest(year=year, department_id=department_id)
        return self._call(self._draws.ListJointInspections, request)

    # -- audit -------------------------------------------------------------------------------------------

    def list_audit_events(
        self, *, resource: str = "", page_size: int = 0, page_token: str = ""
    ) -> audit_pb2.ListAuditEventsResponse:
        """One page of the audit log (``resource``: only events on it, e.g. ``tasks/t-3f2a9c1b7d4e``)."""
        request = audit_pb2.ListAuditEventsRequest(
            resource=resource, page_size=page_size, page_token=page_token
        )
        return self._call(self._audit.ListAuditEvents, request)

    def iter_audit_events(self, *, resource: str = "", page_size: int = 0) -> Iterator[audit_pb2.AuditEvent]:
        """Every audit event (on ``resource``), in log order, following page tokens."""
        return self._follow(
            lambda token: self.list_audit_events(resource=resource, page_size=page_size, page_token=token),
            lambda page: page.events,
        )

    # -- results and publication -----------------------------------------------------------------------

    def _stream(
        self,
        method: grpc.UnaryStreamMultiCallable[_Req, _Resp],
        request: _Req,
        timeout: float | None = None,
    ) -> Iterator[_Resp]:
        """Yields a server stream's messages, turning ``grpc.RpcError`` into :class:`DualdrawError`."""
        try:
            yield from method(
                request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
            )
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None

    def record_result(
        self, result: results_pb2.InspectionResult, *, request_id: str | None = None
    ) -> results_pb2.InspectionResult:
        """Records the first result of assignment (``result.draw_id``, ``result.position``)."""
        request = results_pb2.RecordResultRequest(result=result, request_id=request_id or new_request_id())
        return self._call(self._results.RecordResult, request)

    def correct_result(
        self, result: results_pb2.InspectionResult, reason: str, *, request_id: str | None = None
    ) -> results_pb2.InspectionResult:
        """Records a correction (the next version) of a result, with the reason for it."""
        request = results_pb2.CorrectResultRequest(
            result=result, reason=reason, request_id=request_id or new_request_id()
        )
        return self._call(self._results.CorrectResult, request)

    def get_result(self, draw_id: str, position: int, version: int = 0) -> results_pb2.InspectionResult:
        """One version of a result (0: the latest)."""
        request = results_pb2.GetResultRequest(draw_id=draw_id, position=position, version=version)
        return self._call(self._results.GetResult, request)

    def result_versions(self, draw_id: str, position: int) -> list[results_pb2.InspectionResult]:
        """Every version of one result, oldest first."""
        request = results_pb2.ListResultVersionsRequest(draw_id=draw_id, position=position)
        return list(self._call(self._results.ListResultVersions, request).results)

    def list_results(
        self, *, draw_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> results_pb2.ListResultsResponse:
        """One page of current results (of ``draw_id``)."""
        request = results_pb2.ListResultsRequest(draw_id=draw_id, page_size=page_size, page_token=page_token)
        return self._call(self._results.ListResults, request)

    def iter_results(
        self, *, draw_id: str = "", page_size: int = 0
    ) -> Iterator[results_pb2.InspectionResult]:
        """Every current result (of ``draw_id``), following page tokens."""
        return self._follow(
            lambda token: self.list_results(draw_id=draw_id, page_size=page_size, page_token=token),
            lambda page: page.results,
        )

    def publish_results(self, draw_id: str, *, request_id: str | None = None) -> publication_pb2.Publication:
        """Publishes every result of a draw in one step (again after corrections: the next revision)."""
        request = publication_pb2.PublishDrawResultsRequest(
            draw_id=draw_id, request_id=request_id or new_request_id()
        )
        return self._call(self._publication.PublishDrawResults, request)

    def pending_publications(
        self, *, as_of: str | datetime.date | None = None, overdue_only: bool = False
    ) -> list[publication_pb2.PendingPublication]:
        """Draws whose results are due for publication (``overdue_only``: past the deadline)."""
        if isinstance(as_of, datetime.date):
            as_of = as_of.isoformat()
        request = publication_pb2.ListPendingPublicationsRequest(as_of=as_of or "", overdue_only=overdue_only)
        return list(self._call(self._publication.ListPendingPublications, request).publications)

    def publish_item_list(
        self,
        effective_from: str | datetime.date,
        change_summary: str,
        change_legal_basis: str,
        *,
        request_id: str | None = None,
    ) -> list[publication_pb2.ItemVersion]:
        """Publishes every new or changed item as its next version; returns the versions made."""
        request = publication_pb2.PublishItemListRequest(
            effective_from=str(effective_from),
            change_summary=change_summary,
            change_legal_basis=change_legal_basis,
            request_id=request_id or new_request_id(),
        )
        return list(self._call(self._publication.PublishItemList, request).versions)

    def revise_item(
        self,
        item: items_pb2.InspectionItem,
        effective_from: str | datetime.date,
        change_summary: str,
        change_legal_basis: str,
        *,
        request_id: str | None = None,
    ) -> publication_pb2.ItemVersion:
        """Changes an item and publishes the change as its next version."""
        request = publication_pb2.ReviseInspectionItemRequest(
            item=item,
            effective_from=str(effective_from),
            change_summary=change_summary,
            change_legal_basis=change_legal_basis,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._publication.ReviseInspectionItem, request)

    def export(
        self,
        kind: publication_pb2.ExportKind.ValueType,
        fmt: publication_pb2.ExportFormat.ValueType,
        *,
        draw_id: str = "",
    ) -> Iterator[bytes]:
        """The export file's bytes, chunk by chunk, as the server streams them."""
        request = publication_pb2.ExportRequest(kind=kind, format=fmt, draw_id=draw_id)
        for chunk in self._stream(self._publication.Export, request):
            yield chunk.data

    def export_credit_records(self, since_checkpoint: int = 0) -> Iterator[publication_pb2.CreditExportChunk]:
        """The credit feed after a checkpoint (docs/CREDIT-EXPORT.md); each chunk carries its checkpoint."""
        request = publication_pb2.ExportCreditRecordsRequest(since_checkpoint=since_checkpoint)
        return self._stream(self._publication.ExportCreditRecords, request)

    # public read API (no actor needed)

    def published_items(self, as_of: str | datetime.date | None = None) -> list[publication_pb2.ItemVersion]:
        """The published item list as it stood on ``as_of`` (default: today)."""
        request = public_pb2.ListPublishedItemsRequest(as_of=str(as_of or ""))
        return list(self._call(self._public.ListPublishedItems, request).items)

    def item_versions(self, code: str) -> list[publication_pb2.ItemVersion]:
        """Every published version of an item."""
        return list(
            self._call(self._public.ListItemVersions, public_pb2.ListItemVersionsRequest(code=code)).versions
        )

    def published_item(
        self, code: str, *, version: int = 0, as_of: str | datetime.date | None = None
    ) -> publication_pb2.ItemVersion:
        """One published version of an item: by number, or the one in force on ``as_of``, or the latest."""
        request = public_pb2.GetPublishedItemRequest(code=code, version=version, as_of=str(as_of or ""))
        return self._call(self._public.GetPublishedItem, request)

    def published_draw(self, draw_id: str) -> public_pb2.PublicDraw:
        """A published draw (NotFoundError when unknown or unpublished)."""
        return self._call(self._public.GetPublishedDraw, public_pb2.GetPublishedDrawRequest(draw_id=draw_id))

    def published_task(self, task_id: str) -> public_pb2.PublicTask:
        """A task whose draw's results are published."""
        return self._call(self._public.GetPublishedTask, public_pb2.GetPublishedTaskRequest(task_id=task_id))

    def iter_published_draws(
        self, *, department_id: str = "", page_size: int = 0
    ) -> Iterator[public_pb2.PublicDraw]:
        """Every published draw (of ``department_id``)."""
        return self._follow(
            lambda token: self._call(
                self._public.ListPublishedDraws,
                public_pb2.ListPublishedDrawsRequest(
                    department_id=department_id, page_size=page_size, page_token=token
                ),
            ),
            lambda page: page.draws,
        )

    def iter_published_results(
        self, *, draw_id: str = "", credit_code: str = "", department_id: str = "", page_size: int = 0
    ) -> Iterator[public_pb2.PublicResult]:
        """Every published result, optionally of one draw, object or department."""
        return self._follow(
            lambda token: self._call(
                self._public.ListPublishedResults,
                public_pb2.ListPublishedResultsRequest(
                    draw_id=draw_id,
                    credit_code=credit_code,
                    department_id=department_id,
                    page_size=page_size,
                    page_token=token,
                ),
            ),
            lambda page: page.results,
        )

    # -- rules -----------------------------------------------------------------------------------------

    @property
    def _rules(self) -> rules_pb2_grpc.RuleServiceStub:
        return rules_pb2_grpc.RuleServiceStub(self._channel)

    def get_rule_set(self, rule_set_hash: str = "") -> rules_pb2.RuleSet:
        """The rule set in force, or a stored one (one that some draw used) by its hash."""
        return self._call(self._rules.GetRuleSet, rules_pb2.GetRuleSetRequest(hash=rule_set_hash))

    def reload_rules(self, *, timeout: float | None = None) -> rules_pb2.ReloadRulesResponse:
        """Re-reads the server's rule files; InvalidArgumentError (one violation per problem) if refused."""
        return self._call(self._rules.ReloadRules, rules_pb2.ReloadRulesRequest(), timeout)

    def preview_rule_change(
        self,
        files: dict[str, str],
        *,
        as_of: str | datetime.date | None = None,
        department_id: str = "",
        business_line: str = "",
        max_share: float = 0.0,
        timeout: float | None = None,
    ) -> rules_pb2.PreviewRuleChangeResponse:
        """Which objects the changed rule ``files`` (name → YAML; empty text removes) exclude or include."""
        if isinstance(as_of, datetime.date):
            as_of = as_of.isoformat()
        request = rules_pb2.PreviewRuleChangeRequest(
            files=files,
            as_of=as_of or "",
            department_id=department_id,
            business_line=business_line,
            max_share=max_share,
        )
        return self._call(self._rules.PreviewRuleChange, request, timeout)

    def explain_exclusion(
        self,
        credit_code: str,
        *,
        as_of: str | datetime.date | None = None,
        task_id: str = "",
        item_code: str = "",
        department_id: str = "",
    ) -> rules_pb2.ExplainExclusionResponse:
        """Every rule's verdict for one object, with matched facts and when it becomes eligible again."""
        if isinstance(as_of, datetime.date):
            as_of = as_of.isoformat()
        request = rules_pb2.ExplainExclusionRequest(
            credit_code=credit_code,
            as_of=as_of or "",
            task_id=task_id,
            item_code=item_code,
            department_id=department_id,
        )
        return self._call(self._rules.ExplainExclusion, request)

    def reevaluate_draw(self, draw_id: str) -> rules_pb2.ReevaluateDrawResponse:
        """Recomputes an old draw's exclusions with its own stored rule set and compares."""
        return self._call(self._rules.ReevaluateDraw, rules_pb2.ReevaluateDrawRequest(draw_id=draw_id))

    # -- verification ------------------------------------------------------------------------------------

    @property
    def _verifiable(self) -> verification_pb2_grpc.VerifiableDrawServiceStub:
        return verification_pb2_grpc.VerifiableDrawServiceStub(self._channel)

    @property
    def _audit_log(self) -> verification_pb2_grpc.AuditLogServiceStub:
        return verification_pb2_grpc.AuditLogServiceStub(self._channel)

    def commit_draw(
        self,
        task_id: str,
        entropy_source: verification_pb2.EntropySource | None = None,
        *,
        as_of: str | datetime.date | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> draws_pb2.Draw:
        """Freezes a draw's manifest with its declared entropy source (default: a local secret, demos only).

        Fails with AlreadyExistsError (``DRAW_EXISTS``) while the task has a live draw, and with
        FailedPreconditionError (``PENDING_DRAW_IN_SCOPE``) while another committed draw sharing its
        inspection history has not executed yet (``metadata["draw_id"]`` names it).
        """
        if isinstance(as_of, datetime.date):
            as_of = as_of.isoformat()
        request = verification_pb2.CommitDrawRequest(
            task_id=task_id,
            as_of=as_of or "",
            entropy_source=entropy_source or verification_pb2.EntropySource(kind="local-secret"),
            request_id=request_id or new_request_id(),
        )
        return self._call(self._verifiable.CommitDraw, request, timeout)

    def reveal_entropy(self, draw_id: str, party: str, secret_hex: str) -> draws_pb2.Draw:
        """A commit-reveal party reveals its secret; the draw runs once every party has revealed."""
        request = verification_pb2.RevealEntropyRequest(
            draw_id=draw_id, party=party, secret=secret_hex, request_id=new_request_id()
        )
        return self._call(self._verifiable.RevealEntropy, request)

    def execute_draw(
        self, draw_id: str, beacon_value: str = "", *, timeout: float | None = None
    ) -> draws_pb2.Draw:
        """Executes a committed draw; ``beacon_value`` is the beacon round's value (hex) when needed."""
        request = verification_pb2.ExecuteDrawRequest(
            draw_id=draw_id, beacon_value=beacon_value, request_id=new_request_id()
        )
        return self._call(self._verifiable.ExecuteDraw, request, timeout)

    def abandon_draw(self, draw_id: str, reason: str, note: str) -> draws_pb2.Draw:
        """Abandons a live draw with a reason code; it stays visible and counted."""
        request = verification_pb2.AbandonDrawRequest(
            draw_id=draw_id, reason=reason, note=note, request_id=new_request_id()
        )
        return self._call(self._verifiable.AbandonDraw, request)

    def request_substitution(
        self,
        draw_id: str,
        position: int,
        badge_number: str,
        reason: str,
        evidence_hash: str,
        *,
        beacon: str = "",
        beacon_round: int = 0,
    ) -> verification_pb2.Substitution:
        """Logs a substitution (reason and evidence hash) before its entropy exists."""
        request = verification_pb2.RequestSubstitutionRequest(
            draw_id=draw_id,
            position=position,
            badge_number=badge_number,
            reason=reason,
            evidence_hash=evidence_hash,
            beacon=beacon,
            beacon_round=beacon_round,
            request_id=new_request_id(),
        )
        return self._call(self._verifiable.RequestSubstitution, request)

    def execute_substitution(
        self, substitution_id: str, beacon_value: str = ""
    ) -> verification_pb2.Substitution:
        """Takes the substitution's entropy and swaps the replacement into the team."""
        request = verification_pb2.ExecuteSubstitutionRequest(
            substitution_id=substitution_id, beacon_value=beacon_value, request_id=new_request_id()
        )
        return self._call(self._verifiable.ExecuteSubstitution, request)

    def list_substitutions(self, draw_id: str) -> verification_pb2.ListSubstitutionsResponse:
        return self._call(
            self._verifiable.ListSubstitutions, verification_pb2.ListSubstitutionsRequest(draw_id=draw_id)
        )

    def draw_statistics(self) -> verification_pb2.GetDrawStatisticsResponse:
        """Abandoned draws by reason; substitutions per department and per inspector."""
        return self._call(self._verifiable.GetDrawStatistics, verification_pb2.GetDrawStatisticsRequest())

    def export_draw_bundle(
        self, draw_id: str, *, public: bool = False, timeout: float | None = None
    ) -> bytes:
        """The verification bundle of a draw (canonical JSON bytes); check it with ``dualdraw verify``.

        Streamed (``StreamDrawBundle``), so bundles of any size arrive; the length and SHA-256 the server
        announced are checked (``BundleIntegrityError`` otherwise). ``timeout`` covers the whole stream.
        """
        parts: list[bytes] = []
        self.write_draw_bundle(draw_id, parts.append, public=public, timeout=timeout)
        return b"".join(parts)

    def write_draw_bundle(
        self,
        draw_id: str,
        write: Callable[[bytes], object],
        *,
        public: bool = False,
        timeout: float | None = None,
    ) -> BundleReceipt:
        """Streams a draw's bundle into ``write`` (e.g. a binary file's ``write``) chunk by chunk, holding
        none of it, and checks it whole (:func:`.bundles.receive_bundle`). On ``BundleIntegrityError``
        ``write`` has had part of a bundle: discard what it wrote."""
        request = verification_pb2.StreamDrawBundleRequest(draw_id=draw_id, public_variant=public)
        call = self._verifiable.StreamDrawBundle(
            request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
        )
        try:
            return receive_bundle(_rpc_errors_mapped(call), write, draw_id=draw_id)
        finally:
            call.cancel()  # stops a stream abandoned on a fault; nothing once it has ended

    def export_draw_bundle_unary(self, draw_id: str, *, public: bool = False) -> verification_pb2.DrawBundle:
        """The bundle in one message (``ExportDrawBundle``): only for bundles below the server's message
        limit (``FailedPreconditionError`` with reason ``BUNDLE_TOO_LARGE`` otherwise)."""
        request = verification_pb2.ExportDrawBundleRequest(draw_id=draw_id, public_variant=public)
        return self._call(self._verifiable.ExportDrawBundle, request)

    def verify_log(
        self, known_tree_size: int = 0, known_root_hash: str = ""
    ) -> verification_pb2.VerifyLogResponse:
        """Has the server recompute the Merkle log and check every signed checkpoint."""
        request = verification_pb2.VerifyLogRequest(
            known_tree_size=known_tree_size, known_root_hash=known_root_hash
        )
        return self._call(self._audit_log.VerifyLog, request)

    def get_checkpoint(self, tree_size: int = 0) -> verification_pb2.Checkpoint:
        request = verification_pb2.GetCheckpointRequest(tree_size=tree_size)
        return self._call(self._audit_log.GetCheckpoint, request)

    def get_inclusion_proof(self, sequence: int, tree_size: int = 0) -> verification_pb2.InclusionProof:
        request = verification_pb2.GetInclusionProofRequest(sequence=sequence, tree_size=tree_size)
        return self._call(self._audit_log.GetInclusionProof, request)

    def get_consistency_proof(self, old_size: int, new_size: int = 0) -> verification_pb2.ConsistencyProof:
        request = verification_pb2.GetConsistencyProofRequest(old_size=old_size, new_size=new_size)
        return self._call(self._audit_log.GetConsistencyProof, request)
