"""Results, their publication, exports and the public read API."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from dualdraw.v1 import items_pb2, public_pb2, publication_pb2, results_pb2

from ..dates import date_pb
from .base import ClientBase, new_request_id


class ResultCalls(ClientBase):
    """Inspection results and corrections, publication, the item list, exports, public reads."""

    # -- results and publication -----------------------------------------------------------------------

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
        name = f"draws/{draw_id}/assignments/{position}/result"
        request = results_pb2.GetResultRequest(name=name, version=version)
        return self._call(self._results.GetResult, request)

    def result_versions(self, draw_id: str, position: int) -> list[results_pb2.InspectionResult]:
        """Every version of one result, oldest first."""
        return list(
            self._follow(
                lambda token: self._call(
                    self._results.ListResultVersions,
                    results_pb2.ListResultVersionsRequest(
                        name=f"draws/{draw_id}/assignments/{position}/result", page_token=token
                    ),
                ),
                lambda page: page.results,
            )
        )

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
        """Publishes every result of a draw recorded so far (Art. 14: as they come); again after more results
        or corrections: the next revision."""
        request = publication_pb2.PublishDrawResultsRequest(
            draw_id=draw_id, request_id=request_id or new_request_id()
        )
        return self._call(self._publication.PublishDrawResults, request)

    def pending_publications(
        self, *, as_of: str | datetime.date | None = None, overdue_only: bool = False
    ) -> list[publication_pb2.PendingPublication]:
        """Draws whose results are due for publication (``overdue_only``: past the deadline)."""
        day = date_pb(as_of)
        return list(
            self._follow(
                lambda token: self._call(
                    self._publication.ListPendingPublications,
                    publication_pb2.ListPendingPublicationsRequest(
                        as_of=day, overdue_only=overdue_only, page_token=token
                    ),
                ),
                lambda page: page.publications,
            )
        )

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
            effective_from=date_pb(effective_from),
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
            effective_from=date_pb(effective_from),
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
        day = date_pb(as_of)
        return list(
            self._follow(
                lambda token: self._call(
                    self._public.ListPublishedItems,
                    public_pb2.ListPublishedItemsRequest(as_of=day, page_token=token),
                ),
                lambda page: page.items,
            )
        )

    def item_versions(self, code: str) -> list[publication_pb2.ItemVersion]:
        """Every published version of an item."""
        return list(
            self._follow(
                lambda token: self._call(
                    self._public.ListItemVersions,
                    public_pb2.ListItemVersionsRequest(code=code, page_token=token),
                ),
                lambda page: page.versions,
            )
        )

    def published_item(
        self, code: str, *, version: int = 0, as_of: str | datetime.date | None = None
    ) -> publication_pb2.ItemVersion:
        """One published version of an item: by number, or the one in force on ``as_of``, or the latest."""
        request = public_pb2.GetPublishedItemRequest(code=code, version=version, as_of=date_pb(as_of))
        return self._call(self._public.GetPublishedItem, request)

    def published_draw(self, draw_id: str) -> public_pb2.PublicDraw:
        """A published draw (NotFoundError when unknown or unpublished)."""
        return self._call(
            self._public.GetPublishedDraw, public_pb2.GetPublishedDrawRequest(name=f"draws/{draw_id}")
        )

    def published_task(self, task_id: str) -> public_pb2.PublicTask:
        """A task whose draw's results are published."""
        return self._call(
            self._public.GetPublishedTask, public_pb2.GetPublishedTaskRequest(name=f"tasks/{task_id}")
        )

    def abandoned_draws(
        self, *, task_id: str = "", department_id: str = ""
    ) -> list[public_pb2.AbandonedDraw]:
        """Every abandoned draw (of a task or a department), oldest first: public once abandoned."""
        return list(
            self._follow(
                lambda token: self._call(
                    self._public.ListAbandonedDraws,
                    public_pb2.ListAbandonedDrawsRequest(
                        task_id=task_id, department_id=department_id, page_token=token
                    ),
                ),
                lambda page: page.draws,
            )
        )

    def abandoned_draw(self, draw_id: str) -> public_pb2.AbandonedDraw:
        """One abandoned draw (NotFoundError for a draw that is not abandoned)."""
        return self._call(
            self._public.GetAbandonedDraw, public_pb2.GetAbandonedDrawRequest(name=f"draws/{draw_id}")
        )

    def redraw_statistics(self) -> public_pb2.GetRedrawStatisticsResponse:
        """Draws and abandoned draws per department, and the server's cap of abandoned draws per task."""
        return self._call(self._public.GetRedrawStatistics, public_pb2.GetRedrawStatisticsRequest())

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
