"""Item checklists (ChecklistService) and inspection records (InspectionRecordService)."""

from __future__ import annotations

from collections.abc import Iterator

from dualdraw.v1 import (
    checklists_pb2,
    checklists_pb2_grpc,
    inspection_records_pb2,
    inspection_records_pb2_grpc,
)

from .base import ClientBase, new_request_id

_ir = inspection_records_pb2


def checklist_name(item_code: str) -> str:
    """The resource name of an item's checklist."""
    return f"items/{item_code}/checklist"


def record_name(record: str) -> str:
    """``inspectionRecords/{record}`` from a record id or name."""
    return record if record.startswith("inspectionRecords/") else f"inspectionRecords/{record}"


class InspectionCalls(ClientBase):
    """Checklists of items (Art. 4, 11) and inspection records of assignments (Art. 12)."""

    @property
    def _checklists(self) -> checklists_pb2_grpc.ChecklistServiceStub:
        return checklists_pb2_grpc.ChecklistServiceStub(self._channel)

    @property
    def _records(self) -> inspection_records_pb2_grpc.InspectionRecordServiceStub:
        return inspection_records_pb2_grpc.InspectionRecordServiceStub(self._channel)

    # -- checklists --------------------------------------------------------------------------------------

    def revise_checklist(
        self, item_code: str, checklist: checklists_pb2.Checklist, *, request_id: str | None = None
    ) -> checklists_pb2.Checklist:
        """Stores the next revision of an item's checklist (its name is set from ``item_code``)."""
        body = checklists_pb2.Checklist()
        body.CopyFrom(checklist)
        body.name = checklist_name(item_code)
        request = checklists_pb2.ReviseChecklistRequest(
            checklist=body, request_id=request_id or new_request_id()
        )
        return self._call(self._checklists.ReviseChecklist, request)

    def get_checklist(self, item_code: str, revision: int = 0) -> checklists_pb2.Checklist:
        """One revision of an item's checklist (0: the latest)."""
        request = checklists_pb2.GetChecklistRequest(name=checklist_name(item_code), revision=revision)
        return self._call(self._checklists.GetChecklist, request)

    def checklist_revisions(self, item_code: str) -> list[checklists_pb2.Checklist]:
        """Every revision of an item's checklist, oldest first."""
        return list(
            self._follow(
                lambda token: self._call(
                    self._checklists.ListChecklistRevisions,
                    checklists_pb2.ListChecklistRevisionsRequest(
                        name=checklist_name(item_code), page_token=token
                    ),
                ),
                lambda page: page.checklists,
            )
        )

    # -- inspection records ---------------------------------------------------------------------------------

    def create_inspection_record(
        self, record: _ir.InspectionRecord, *, request_id: str | None = None
    ) -> _ir.InspectionRecord:
        """Records the inspection of ``record.assignment`` (``draws/{draw}/assignments/{position}``)."""
        request = _ir.CreateInspectionRecordRequest(
            inspection_record=record, request_id=request_id or new_request_id()
        )
        return self._call(self._records.CreateInspectionRecord, request)

    def revise_inspection_record(
        self, record: str, body: _ir.InspectionRecord, reason: str, *, request_id: str | None = None
    ) -> _ir.InspectionRecord:
        """Stores the next version of record ``record`` (id or name), with the reason for it."""
        revised = _ir.InspectionRecord()
        revised.CopyFrom(body)
        revised.name = record_name(record)
        request = _ir.ReviseInspectionRecordRequest(
            inspection_record=revised, reason=reason, request_id=request_id or new_request_id()
        )
        return self._call(self._records.ReviseInspectionRecord, request)

    def get_inspection_record(self, record: str, version: int = 0) -> _ir.InspectionRecord:
        """One version of a record (0: the latest)."""
        request = _ir.GetInspectionRecordRequest(name=record_name(record), version=version)
        return self._call(self._records.GetInspectionRecord, request)

    def inspection_record_versions(self, record: str) -> list[_ir.InspectionRecord]:
        """Every version of a record, oldest first."""
        request = _ir.ListInspectionRecordVersionsRequest(name=record_name(record))
        return list(self._call(self._records.ListInspectionRecordVersions, request).inspection_records)

    def list_inspection_records(
        self, *, draw_id: str = "", assignment: str = "", page_size: int = 0, page_token: str = ""
    ) -> _ir.ListInspectionRecordsResponse:
        """One page of current records (of a draw, or of one assignment ``draws/{draw}/assignments/{n}``)."""
        request = _ir.ListInspectionRecordsRequest(
            draw=f"draws/{draw_id}" if draw_id else "",
            assignment=assignment,
            page_size=page_size,
            page_token=page_token,
        )
        return self._call(self._records.ListInspectionRecords, request)

    def iter_inspection_records(
        self, *, draw_id: str = "", assignment: str = "", page_size: int = 0
    ) -> Iterator[_ir.InspectionRecord]:
        """Every current record (of a draw or an assignment), following page tokens."""
        return self._follow(
            lambda token: self.list_inspection_records(
                draw_id=draw_id, assignment=assignment, page_size=page_size, page_token=token
            ),
            lambda page: page.inspection_records,
        )
