"""Thin servicers for results (ResultService) and publication (PublicationService)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from dualdraw.domain.errors import NotFound, Violations, invalid
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc import publication_convert as pconvert
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_of, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of
from dualdraw.service_layer import exports, publication, results
from dualdraw.v1 import publication_pb2, publication_pb2_grpc, results_pb2, results_pb2_grpc

EXPORT_KIND: dict[int, exports.ExportKind] = {
    publication_pb2.EXPORT_KIND_RESULTS: exports.ExportKind.RESULTS,
    publication_pb2.EXPORT_KIND_ASSIGNMENTS: exports.ExportKind.ASSIGNMENTS,
    publication_pb2.EXPORT_KIND_EXCLUSIONS: exports.ExportKind.EXCLUSIONS,
    publication_pb2.EXPORT_KIND_ITEMS: exports.ExportKind.ITEMS,
}
EXPORT_FORMAT: dict[int, exports.ExportFormat] = {
    publication_pb2.EXPORT_FORMAT_CSV: exports.ExportFormat.CSV,
    publication_pb2.EXPORT_FORMAT_JSONL: exports.ExportFormat.JSONL,
}


class ResultServicer(results_pb2_grpc.ResultServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def RecordResult(
        self, request: results_pb2.RecordResultRequest, context: grpc.ServicerContext
    ) -> results_pb2.InspectionResult:
        v = Violations()
        entry = pconvert.entry_from_pb(request.result, v)
        v.raise_if_any()
        stored = results.record_result(
            self._s.unit_of_work(),
            draw_id=request.result.draw_id,
            position=request.result.position,
            entry=entry,
            caller=caller_of(context, request.request_id),
        )
        return pconvert.result_to_pb(stored)

    def CorrectResult(
        self, request: results_pb2.CorrectResultRequest, context: grpc.ServicerContext
    ) -> results_pb2.InspectionResult:
        v = Violations()
        entry = pconvert.entry_from_pb(request.result, v)
        if not request.reason.strip():
            v.add("reason", "a correction needs a reason", reason="FIELD_REQUIRED")
        v.raise_if_any()
        stored = results.correct_result(
            self._s.unit_of_work(),
            draw_id=request.result.draw_id,
            position=request.result.position,
            entry=entry,
            reason=request.reason,
            caller=caller_of(context, request.request_id),
        )
        return pconvert.result_to_pb(stored)

    def GetResult(
        self, request: results_pb2.GetResultRequest, context: grpc.ServicerContext
    ) -> results_pb2.InspectionResult:
        draw_id, position = names.parse_result(request.name)
        history = results.result_history(self._s.unit_of_work(), draw_id, position)
        key = f"{draw_id}/{position}"
        if not history:
            raise NotFound("result", key)
        if request.version == 0:
            return pconvert.result_to_pb(history[-1])
        for r in history:
            if r.version == request.version:
                return pconvert.result_to_pb(r)
        raise NotFound("result", f"{key}/v{request.version}")

    def ListResultVersions(
        self, request: results_pb2.ListResultVersionsRequest, context: grpc.ServicerContext
    ) -> results_pb2.ListResultVersionsResponse:
        draw_id, position = names.parse_result(request.name)
        filters = (draw_id, str(position))
        page_req = page_request(request.page_size, request.page_token, *filters)
        history = results.result_history(self._s.unit_of_work(), draw_id, position)
        page = page_of(history, page_req)
        return results_pb2.ListResultVersionsResponse(
            results=[pconvert.result_to_pb(r) for r in page.items],
            next_page_token=next_page_token(page.next_after, *filters),
        )

    def ListResults(
        self, request: results_pb2.ListResultsRequest, context: grpc.ServicerContext
    ) -> results_pb2.ListResultsResponse:
        page_req = page_request(request.page_size, request.page_token, request.draw_id)
        with self._s.unit_of_work() as uow:
            if request.draw_id and uow.draws.get(request.draw_id) is None:
                raise NotFound("draw", request.draw_id)
            page = uow.results.list_current(page_req, request.draw_id or None)
        return results_pb2.ListResultsResponse(
            results=[pconvert.result_to_pb(r) for r in page.items],
            next_page_token=next_page_token(page.next_after, request.draw_id),
        )


class PublicationServicer(publication_pb2_grpc.PublicationServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def PublishDrawResults(
        self, request: publication_pb2.PublishDrawResultsRequest, context: grpc.ServicerContext
    ) -> publication_pb2.Publication:
        if not request.draw_id:
            raise invalid("draw_id", "is required", reason="FIELD_REQUIRED")
        done = publication.publish_draw(
            self._s.unit_of_work(), self._s.calendar, request.draw_id, caller_of(context, request.request_id)
        )
        return pconvert.publication_to_pb(done)

    def ListPendingPublications(
        self, request: publication_pb2.ListPendingPublicationsRequest, context: grpc.ServicerContext
    ) -> publication_pb2.ListPendingPublicationsResponse:
        v = Violations()
        day = convert.date_from_pb(request.as_of, "as_of", v, required=False)
        v.raise_if_any()
        caller = caller_of(context)
        filters = (convert.fmt_date(day), str(request.overdue_only))
        page_req = page_request(request.page_size, request.page_token, *filters)
        due = publication.pending_publications(
            self._s.unit_of_work(), self._s.calendar, day or caller.today(), overdue_only=request.overdue_only
        )
        page = page_of(due, page_req)
        return publication_pb2.ListPendingPublicationsResponse(
            publications=[pconvert.pending_to_pb(d) for d in page.items],
            next_page_token=next_page_token(page.next_after, *filters),
        )

    def PublishItemList(
        self, request: publication_pb2.PublishItemListRequest, context: grpc.ServicerContext
    ) -> publication_pb2.PublishItemListResponse:
        v = Violations()
        day = convert.date_from_pb(request.effective_from, "effective_from", v)
        v.raise_if_any()
        assert day is not None
        made = publication.publish_item_list(
            self._s.unit_of_work(),
            effective_from=day,
            change_summary=request.change_summary,
            change_legal_basis=request.change_legal_basis,
            caller=caller_of(context, request.request_id),
        )
        return publication_pb2.PublishItemListResponse(
            versions=[pconvert.item_version_to_pb(x) for x in made]
        )

    def ReviseInspectionItem(
        self, request: publication_pb2.ReviseInspectionItemRequest, context: grpc.ServicerContext
    ) -> publication_pb2.ItemVersion:
        v = Violations()
        day = convert.date_from_pb(request.effective_from, "effective_from", v)
        item = convert.item_from_pb(request.item, "item", v)
        v.raise_if_any()
        assert item is not None
        assert day is not None
        made = publication.revise_item(
            self._s.unit_of_work(),
            item,
            effective_from=day,
            change_summary=request.change_summary,
            change_legal_basis=request.change_legal_basis,
            caller=caller_of(context, request.request_id),
        )
        return pconvert.item_version_to_pb(made)

    def Export(
        self, request: publication_pb2.ExportRequest, context: grpc.ServicerContext
    ) -> Iterator[publication_pb2.ExportChunk]:
        v = Violations()
        kind = convert.parse_enum(request.kind, EXPORT_KIND, "kind", v)
        fmt = convert.parse_enum(request.format, EXPORT_FORMAT, "format", v)
        v.raise_if_any()
        pages = exports.export_records(self._s.unit_of_work(), kind, request.draw_id)
        for data, count in exports.encode(kind, fmt, pages):
            yield publication_pb2.ExportChunk(data=data, records=count)

    def ExportCreditRecords(
        self, request: publication_pb2.ExportCreditRecordsRequest, context: grpc.ServicerContext
    ) -> Iterator[publication_pb2.CreditExportChunk]:
        for data, checkpoint, count in exports.credit_export(
            self._s.unit_of_work(), request.since_checkpoint
        ):
            yield publication_pb2.CreditExportChunk(data=data, checkpoint=checkpoint, records=count)
