"""Thin servicers for follow-ups (FollowUpService), objections (ObjectionService) and what the public sees of
both (PublicFollowUpService)."""

from __future__ import annotations

from collections import defaultdict

import grpc

from dualdraw.domain.errors import Violations, invalid
from dualdraw.domain.follow_ups import FollowUp
from dualdraw.domain.objections import Objection
from dualdraw.entrypoints.grpc import follow_ups_convert as fc
from dualdraw.entrypoints.grpc.convert import date_from_pb
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of, subtree_ids
from dualdraw.service_layer import follow_ups, objections
from dualdraw.service_layer.follow_ups import parse_id, parse_result_name
from dualdraw.v1 import follow_ups_pb2 as pb
from dualdraw.v1 import follow_ups_pb2_grpc as pb_grpc


def _follow_up_id(name: str) -> str:
    return parse_id(name, "followUps", "name")


def _objection_id(name: str) -> str:
    return parse_id(name, "objections", "name")


class FollowUpServicer(pb_grpc.FollowUpServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def _pb(self, f: FollowUp) -> pb.FollowUp:
        return fc.follow_up_to_pb(f)

    def CreateFollowUp(self, request: pb.CreateFollowUpRequest, context: grpc.ServicerContext) -> pb.FollowUp:
        given = request.follow_up
        draw_id, position = parse_result_name(given.result, "follow_up.result")
        kind = fc.KIND.get(given.kind)
        if kind is None:
            raise invalid("follow_up.kind", "is required: one of FollowUpKind", "FIELD_REQUIRED")
        opened = follow_ups.open_follow_up(
            self._s.unit_of_work(),
            self._s.calendar,
            follow_ups.OpenRequest(
                draw_id=draw_id,
                position=position,
                kind=kind,
                owner_department_id=given.department.strip(),
                note=given.note,
                evidence=fc.evidence_from_pb(list(given.evidence)),
                due_in_working_days=given.due_in_working_days,
            ),
            caller_of(context, request.request_id),
            self._s.follow_up_days,
        )
        return self._pb(opened)

    def GetFollowUp(self, request: pb.GetFollowUpRequest, context: grpc.ServicerContext) -> pb.FollowUp:
        return self._pb(follow_ups.get_follow_up(self._s.reader(), _follow_up_id(request.name)))

    def ListFollowUps(
        self, request: pb.ListFollowUpsRequest, context: grpc.ServicerContext
    ) -> pb.ListFollowUpsResponse:
        filters = (request.department, request.draw, str(request.open_only))
        ids = subtree_ids(self._s, request.department, "department")
        page = follow_ups.list_follow_ups(
            self._s.reader(),
            page_request(request.page_size, request.page_token, *filters),
            ids,
            request.draw.strip(),
            request.open_only,
        )
        return pb.ListFollowUpsResponse(
            follow_ups=[self._pb(f) for f in page.items],
            next_page_token=next_page_token(page.next_after, *filters),
        )

    def ListOverdueFollowUps(
        self, request: pb.ListOverdueFollowUpsRequest, context: grpc.ServicerContext
    ) -> pb.ListOverdueFollowUpsResponse:
        v = Violations()
        caller = caller_of(context)
        day = date_from_pb(request.as_of_date, "as_of_date", v, required=False) or caller.today()
        v.raise_if_any()
        ids = subtree_ids(self._s, request.department, "department")
        overdue = follow_ups.overdue_follow_ups(self._s.unit_of_work(), day, ids, caller)
        by_department: dict[str, list[pb.FollowUp]] = defaultdict(list)
        for f in overdue:
            by_department[f.department_id].append(self._pb(f))
        return pb.ListOverdueFollowUpsResponse(
            departments=[
                pb.DepartmentOverdueFollowUps(department=d, follow_ups=items)
                for d, items in sorted(by_department.items())
            ]
        )

    def AddFollowUpEvidence(
        self, request: pb.AddFollowUpEvidenceRequest, context: grpc.ServicerContext
    ) -> pb.FollowUp:
        changed = follow_ups.add_evidence(
            self._s.unit_of_work(),
            _follow_up_id(request.name),
            fc.evidence_from_pb(list(request.evidence)),
            request.note,
            caller_of(context, request.request_id),
        )
        return self._pb(changed)

    def ReportRectification(
        self, request: pb.ReportRectificationRequest, context: grpc.ServicerContext
    ) -> pb.FollowUp:
        changed = follow_ups.await_reinspection(
            self._s.unit_of_work(), _follow_up_id(request.name), caller_of(context, request.request_id)
        )
        return self._pb(changed)

    def RecordReinspection(
        self, request: pb.RecordReinspectionRequest, context: grpc.ServicerContext
    ) -> pb.FollowUp:
        v = Violations()
        reinspection = fc.reinspection_from_pb(request.reinspection, v)
        v.raise_if_any()
        assert reinspection is not None
        changed = follow_ups.record_reinspection(
            self._s.unit_of_work(),
            _follow_up_id(request.name),
            reinspection,
            caller_of(context, request.request_id),
        )
        return self._pb(changed)

    def CloseFollowUp(self, request: pb.CloseFollowUpRequest, context: grpc.ServicerContext) -> pb.FollowUp:
        caller = caller_of(context, request.request_id)
        v = Violations()
        closing = fc.closing_from_pb(request.closing, caller.today(), v)
        v.raise_if_any()
        assert closing is not None
        changed = follow_ups.close_follow_up(
            self._s.unit_of_work(), _follow_up_id(request.name), closing, caller
        )
        return self._pb(changed)


class ObjectionServicer(pb_grpc.ObjectionServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def _pb(self, o: Objection) -> pb.Objection:
        return fc.objection_to_pb(o, self._s.calendar, self._s.objection_working_days)

    def CreateObjection(
        self, request: pb.CreateObjectionRequest, context: grpc.ServicerContext
    ) -> pb.Objection:
        given = request.objection
        v = Violations()
        received = date_from_pb(given.receive_date, "objection.receive_date", v)
        draw_id, position = parse_result_name(given.result, "objection.result")
        v.raise_if_any()
        assert received is not None
        filed = objections.file_objection(
            self._s.unit_of_work(),
            self._s.calendar,
            objections.FileRequest(
                draw_id=draw_id,
                position=position,
                received_on=received,
                grounds=given.grounds,
                evidence=fc.evidence_from_pb(list(given.evidence)),
            ),
            caller_of(context, request.request_id),
            self._s.objection_working_days,
        )
        return self._pb(filed)

    def GetObjection(self, request: pb.GetObjectionRequest, context: grpc.ServicerContext) -> pb.Objection:
        return self._pb(objections.get_objection(self._s.reader(), _objection_id(request.name)))

    def ListObjections(
        self, request: pb.ListObjectionsRequest, context: grpc.ServicerContext
    ) -> pb.ListObjectionsResponse:
        filters = (request.department, request.draw)
        ids = subtree_ids(self._s, request.department, "department")
        page = objections.list_objections(
            self._s.reader(),
            page_request(request.page_size, request.page_token, *filters),
            ids,
            request.draw.strip(),
        )
        return pb.ListObjectionsResponse(
            objections=[self._pb(o) for o in page.items],
            next_page_token=next_page_token(page.next_after, *filters),
        )

    def DecideObjection(
        self, request: pb.DecideObjectionRequest, context: grpc.ServicerContext
    ) -> pb.Objection:
        decided = objections.decide_objection(
            self._s.unit_of_work(),
            _objection_id(request.name),
            upheld=request.upheld,
            reason=request.reason,
            corrected_version=request.corrected_version,
            caller=caller_of(context, request.request_id),
        )
        return self._pb(decided)


class PublicFollowUpServicer(pb_grpc.PublicFollowUpServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def ListPublicFollowUps(
        self, request: pb.ListPublicFollowUpsRequest, context: grpc.ServicerContext
    ) -> pb.ListPublicFollowUpsResponse:
        found = follow_ups.public_follow_ups(self._s.reader(), draw_id=request.draw.strip())
        return pb.ListPublicFollowUpsResponse(follow_ups=[fc.public_follow_up_to_pb(f) for f in found])

    def ListPublicObjections(
        self, request: pb.ListPublicObjectionsRequest, context: grpc.ServicerContext
    ) -> pb.ListPublicObjectionsResponse:
        found = objections.public_objections(self._s.reader(), draw_id=request.draw.strip())
        return pb.ListPublicObjectionsResponse(objections=[fc.public_objection_to_pb(o) for o in found])
