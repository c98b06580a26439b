"""Thin servicers for checklists (ChecklistService) and inspection records (InspectionRecordService)."""

from __future__ import annotations

import grpc

from dualdraw.domain.errors import NotFound, Violations, invalid
from dualdraw.entrypoints.grpc import records_convert as rc
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of
from dualdraw.service_layer import checklists, inspection_records
from dualdraw.service_layer.ports import PageRequest
from dualdraw.v1 import (
    checklists_pb2,
    checklists_pb2_grpc,
    inspection_records_pb2,
    inspection_records_pb2_grpc,
)

_pb = inspection_records_pb2


class ChecklistServicer(checklists_pb2_grpc.ChecklistServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def ReviseChecklist(
        self, request: checklists_pb2.ReviseChecklistRequest, context: grpc.ServicerContext
    ) -> checklists_pb2.Checklist:
        v = Violations()
        item_code = rc.item_of_checklist(request.checklist.name, "checklist.name", v)
        checklist, day = rc.checklist_from_pb(request.checklist, v)
        v.raise_if_any()
        stored = checklists.set_checklist(
            self._s.unit_of_work(),
            item_code=item_code,
            checklist=checklist,
            item_version=request.checklist.item_version,
            effective_from=day,
            change_reason=request.checklist.change_reason,
            caller=caller_of(context, request.request_id),
        )
        return rc.checklist_to_pb(stored)

    def GetChecklist(
        self, request: checklists_pb2.GetChecklistRequest, context: grpc.ServicerContext
    ) -> checklists_pb2.Checklist:
        v = Violations()
        item_code = rc.item_of_checklist(request.name, "name", v)
        v.raise_if_any()
        return rc.checklist_to_pb(
            checklists.get_checklist(self._s.unit_of_work(), item_code, request.revision)
        )

    def ListChecklistRevisions(
        self, request: checklists_pb2.ListChecklistRevisionsRequest, context: grpc.ServicerContext
    ) -> checklists_pb2.ListChecklistRevisionsResponse:
        v = Violations()
        item_code = rc.item_of_checklist(request.name, "name", v)
        v.raise_if_any()
        page = page_request(request.page_size, request.page_token, request.name)
        history = checklists.checklist_history(self._s.unit_of_work(), item_code)
        start = int(page.after) if page.after and page.after.isdigit() else 0
        if page.after and not page.after.isdigit():
            raise invalid("page_token", "is not a token this list issued", reason="PAGE_TOKEN_INVALID")
        shown = history[start : start + page.size]
        more = start + page.size < len(history)
        return checklists_pb2.ListChecklistRevisionsResponse(
            checklists=[rc.checklist_to_pb(r) for r in shown],
            next_page_token=next_page_token(str(start + page.size) if more else None, request.name),
        )


class InspectionRecordServicer(inspection_records_pb2_grpc.InspectionRecordServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def CreateInspectionRecord(
        self, request: _pb.CreateInspectionRecordRequest, context: grpc.ServicerContext
    ) -> _pb.InspectionRecord:
        v = Violations()
        draw_id, position = rc.parse_assignment(
            request.inspection_record.assignment, "inspection_record.assignment", v
        )
        content = rc.content_from_pb(request.inspection_record, v)
        v.raise_if_any()
        stored = inspection_records.create_record(
            self._s.unit_of_work(),
            draw_id=draw_id,
            position=position,
            content=content,
            caller=caller_of(context, request.request_id),
        )
        return rc.record_to_pb(stored)

    def ReviseInspectionRecord(
        self, request: _pb.ReviseInspectionRecordRequest, context: grpc.ServicerContext
    ) -> _pb.InspectionRecord:
        v = Violations()
        record_id = inspection_records.parse_record_name(
            request.inspection_record.name, "inspection_record.name"
        )
        content = rc.content_from_pb(request.inspection_record, v)
        if not request.reason.strip():
            v.add("reason", "a revision needs a reason", reason="FIELD_REQUIRED")
        v.raise_if_any()
        stored = inspection_records.revise_record(
            self._s.unit_of_work(),
            record_id=record_id,
            content=content,
            reason=request.reason,
            caller=caller_of(context, request.request_id),
        )
        return rc.record_to_pb(stored)

    def GetInspectionRecord(
        self, request: _pb.GetInspectionRecordRequest, context: grpc.ServicerContext
    ) -> _pb.InspectionRecord:
        record_id = inspection_records.parse_record_name(request.name)
        history = inspection_records.record_history(self._s.unit_of_work(), record_id)
        if request.version == 0:
            return rc.record_to_pb(history[-1])
        for r in history:
            if r.version == request.version:
                return rc.record_to_pb(r)
        raise NotFound("inspection record version", f"{request.name}@{request.version}")

    def ListInspectionRecordVersions(
        self, request: _pb.ListInspectionRecordVersionsRequest, context: grpc.ServicerContext
    ) -> _pb.ListInspectionRecordVersionsResponse:
        record_id = inspection_records.parse_record_name(request.name)
        history = inspection_records.record_history(self._s.unit_of_work(), record_id)
        return _pb.ListInspectionRecordVersionsResponse(
            inspection_records=[rc.record_to_pb(r) for r in history]
        )

    def ListInspectionRecords(
        self, request: _pb.ListInspectionRecordsRequest, context: grpc.ServicerContext
    ) -> _pb.ListInspectionRecordsResponse:
        v = Violations()
        draw_id, position = "", 0
        if request.assignment:
            draw_id, position = rc.parse_assignment(request.assignment, "assignment", v)
        elif request.draw:
            draw_id = rc.parse_draw(request.draw, "draw", v)
        v.raise_if_any()
        page: PageRequest = page_request(
            request.page_size, request.page_token, request.draw, request.assignment
        )
        found = inspection_records.list_records(
            self._s.unit_of_work(), page, draw_id=draw_id, position=position
        )
        return _pb.ListInspectionRecordsResponse(
            inspection_records=[rc.record_to_pb(r) for r in found.items],
            next_page_token=next_page_token(found.next_after, request.draw, request.assignment),
        )
