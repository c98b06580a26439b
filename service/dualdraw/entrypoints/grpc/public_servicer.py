"""The public read API (PublicService): only published data, through ``service_layer.publication``'s
public read model. Unpublished and unknown resources are indistinguishable (both NOT_FOUND / absent)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc

from dualdraw.domain.errors import NotFound, Violations
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc import publication_convert as pconvert
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_of, page_request
from dualdraw.entrypoints.grpc.plans_servicer import PublishedPlans
from dualdraw.entrypoints.grpc.servicers import Services, caller_of
from dualdraw.service_layer import publication, redraws
from dualdraw.v1 import public_pb2, public_pb2_grpc, publication_pb2

T = TypeVar("T")


def _slice(
    items: Sequence[T], key: Callable[[T], str], size: int, after: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) after key ``after``, and the last key when more follow."""
    rest = [i for i in items if after is None or key(i) > after]
    shown = rest[:size]
    return shown, (key(shown[-1]) if len(rest) > size else None)


class PublicServicer(PublishedPlans, public_pb2_grpc.PublicServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def ListPublishedItems(
        self, request: public_pb2.ListPublishedItemsRequest, context: grpc.ServicerContext
    ) -> public_pb2.ListPublishedItemsResponse:
        v = Violations()
        day = convert.date_from_pb(request.as_of, "as_of", v, required=False) or caller_of(context).today()
        v.raise_if_any()
        page_req = page_request(request.page_size, request.page_token, day.isoformat())
        page = page_of(publication.public_items(self._s.unit_of_work(), day), page_req)
        return public_pb2.ListPublishedItemsResponse(
            items=[pconvert.item_version_to_pb(i) for i in page.items],
            as_of=convert.date_to_pb(day),
            next_page_token=next_page_token(page.next_after, day.isoformat()),
        )

    def ListItemVersions(
        self, request: public_pb2.ListItemVersionsRequest, context: grpc.ServicerContext
    ) -> public_pb2.ListItemVersionsResponse:
        page_req = page_request(request.page_size, request.page_token, request.code)
        page = page_of(publication.item_history(self._s.unit_of_work(), request.code), page_req)
        return public_pb2.ListItemVersionsResponse(
            versions=[pconvert.item_version_to_pb(i) for i in page.items],
            next_page_token=next_page_token(page.next_after, request.code),
        )

    def GetPublishedItem(
        self, request: public_pb2.GetPublishedItemRequest, context: grpc.ServicerContext
    ) -> publication_pb2.ItemVersion:
        v = Violations()
        day = convert.date_from_pb(request.as_of, "as_of", v, required=False)
        if request.version < 0:
            v.add("version", "must not be negative", reason="VALUE_OUT_OF_RANGE")
        if day is not None and request.version:
            v.add("as_of", "give a version or a day, not both", reason="FIELDS_CONFLICT")
        v.raise_if_any()
        found = publication.public_item_version(
            self._s.unit_of_work(), request.code, day=day, version=request.version
        )
        return pconvert.item_version_to_pb(found)

    def ListPublishedDraws(
        self, request: public_pb2.ListPublishedDrawsRequest, context: grpc.ServicerContext
    ) -> public_pb2.ListPublishedDrawsResponse:
        page_req = page_request(request.page_size, request.page_token, request.department_id)
        draws = sorted(publication.public_draws(self._s.unit_of_work()), key=lambda d: d.draw_id)
        if request.department_id:
            draws = [d for d in draws if d.department_id == request.department_id]
        shown, last = _slice(draws, lambda d: d.draw_id, page_req.size, page_req.after)
        return public_pb2.ListPublishedDrawsResponse(
            draws=[pconvert.public_draw_to_pb(d) for d in shown],
            next_page_token=next_page_token(last, request.department_id),
        )

    def GetPublishedDraw(
        self, request: public_pb2.GetPublishedDrawRequest, context: grpc.ServicerContext
    ) -> public_pb2.PublicDraw:
        draw_id = names.parse_draw(request.name)
        return pconvert.public_draw_to_pb(publication.public_draw(self._s.unit_of_work(), draw_id))

    def GetPublishedTask(
        self, request: public_pb2.GetPublishedTaskRequest, context: grpc.ServicerContext
    ) -> public_pb2.PublicTask:
        task_id = names.parse_task(request.name)
        for d in publication.public_draws(self._s.unit_of_work()):
            if d.task_id == task_id:
                return pconvert.public_task_to_pb(d, d.ratio, d.team_size)
        raise NotFound("published task", task_id)

    def ListPublishedResults(
        self, request: public_pb2.ListPublishedResultsRequest, context: grpc.ServicerContext
    ) -> public_pb2.ListPublishedResultsResponse:
        filters = (request.draw_id, request.credit_code, request.department_id)
        page_req = page_request(request.page_size, request.page_token, *filters)
        found = publication.public_results(
            self._s.unit_of_work(), draw_id=request.draw_id, credit_code=request.credit_code.strip().upper()
        )
        if request.department_id:
            found = [r for r in found if r.department_id == request.department_id]
        shown, last = _slice(found, lambda r: f"{r.draw_id}/{r.position:09d}", page_req.size, page_req.after)
        return public_pb2.ListPublishedResultsResponse(
            results=[pconvert.public_result_to_pb(r) for r in shown],
            next_page_token=next_page_token(last, *filters),
        )

    def ListAbandonedDraws(
        self, request: public_pb2.ListAbandonedDrawsRequest, context: grpc.ServicerContext
    ) -> public_pb2.ListAbandonedDrawsResponse:
        filters = (request.task_id, request.department_id)
        page_req = page_request(request.page_size, request.page_token, *filters)
        found = redraws.public_abandoned_draws(
            self._s.reader(), task_id=request.task_id, department_id=request.department_id
        )
        page = page_of(found, page_req)
        return public_pb2.ListAbandonedDrawsResponse(
            draws=[pconvert.abandoned_draw_to_pb(d) for d in page.items],
            next_page_token=next_page_token(page.next_after, *filters),
        )

    def GetAbandonedDraw(
        self, request: public_pb2.GetAbandonedDrawRequest, context: grpc.ServicerContext
    ) -> public_pb2.AbandonedDraw:
        draw_id = names.parse_draw(request.name)
        return pconvert.abandoned_draw_to_pb(redraws.public_abandoned_draw(self._s.reader(), draw_id))

    def GetRedrawStatistics(
        self, request: public_pb2.GetRedrawStatisticsRequest, context: grpc.ServicerContext
    ) -> public_pb2.GetRedrawStatisticsResponse:
        return public_pb2.GetRedrawStatisticsResponse(
            departments=[
                pconvert.department_redraws_to_pb(r) for r in redraws.redraw_statistics(self._s.reader())
            ],
            max_abandons_per_task=self._s.max_abandons_per_task,
        )
