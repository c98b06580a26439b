"""Directory filing with the level above (DirectoryFilingService, Art. 7)."""

from __future__ import annotations

from collections.abc import Iterator

from dualdraw.v1 import filings_pb2, filings_pb2_grpc

from .base import ClientBase, new_request_id


def department_name(department: str) -> str:
    """``departments/{id}`` for a bare department id (a resource name is kept)."""
    return (
        department if department.startswith("departments/") or not department else f"departments/{department}"
    )


def filing_name(filing: str) -> str:
    """``directoryFilings/{id}`` for a bare filing id (a resource name is kept)."""
    return filing if filing.startswith("directoryFilings/") or not filing else f"directoryFilings/{filing}"


class FilingCalls(ClientBase):
    """A department files its directories with its parent; the parent acknowledges or returns the filing."""

    @property
    def _filings(self) -> filings_pb2_grpc.DirectoryFilingServiceStub:
        return filings_pb2_grpc.DirectoryFilingServiceStub(self._channel)

    def submit_directory_filing(
        self, department: str, *, note: str = "", request_id: str | None = None
    ) -> filings_pb2.DirectoryFiling:
        """Files the department's objects, inspectors, experts and testing institutions as they are now with
        its parent."""
        request = filings_pb2.SubmitDirectoryFilingRequest(
            department=department_name(department), note=note, request_id=request_id or new_request_id()
        )
        return self._call(self._filings.SubmitDirectoryFiling, request)

    def get_directory_filing(self, filing: str) -> filings_pb2.DirectoryFiling:
        request = filings_pb2.GetDirectoryFilingRequest(name=filing_name(filing))
        return self._call(self._filings.GetDirectoryFiling, request)

    def acknowledge_directory_filing(
        self, filing: str, *, request_id: str | None = None
    ) -> filings_pb2.DirectoryFiling:
        """The parent acknowledges a submitted filing."""
        request = filings_pb2.AcknowledgeDirectoryFilingRequest(
            name=filing_name(filing), request_id=request_id or new_request_id()
        )
        return self._call(self._filings.AcknowledgeDirectoryFiling, request)

    def return_directory_filing(
        self,
        filing: str,
        reason: filings_pb2.FilingReturnReason.ValueType,
        *,
        note: str = "",
        request_id: str | None = None,
    ) -> filings_pb2.DirectoryFiling:
        """The parent returns a submitted filing with a reason (a note is required for OTHER)."""
        request = filings_pb2.ReturnDirectoryFilingRequest(
            name=filing_name(filing), reason=reason, note=note, request_id=request_id or new_request_id()
        )
        return self._call(self._filings.ReturnDirectoryFiling, request)

    def list_directory_filings(
        self, *, parent: str = "", department: str = "", page_size: int = 0, page_token: str = ""
    ) -> filings_pb2.ListDirectoryFilingsResponse:
        request = filings_pb2.ListDirectoryFilingsRequest(
            parent_department=department_name(parent),
            department=department_name(department),
            page_size=page_size,
            page_token=page_token,
        )
        return self._call(self._filings.ListDirectoryFilings, request)

    def iter_directory_filings(
        self, *, parent: str = "", department: str = "", page_size: int = 0
    ) -> Iterator[filings_pb2.DirectoryFiling]:
        """Filings filed with ``parent`` and/or of ``department`` (at least one), every page."""
        return self._follow(
            lambda token: self.list_directory_filings(
                parent=parent, department=department, page_size=page_size, page_token=token
            ),
            lambda page: page.directory_filings,
        )

    def iter_directory_filing_differences(
        self, *, filing: str = "", department: str = "", page_size: int = 0
    ) -> Iterator[filings_pb2.DirectoryRecordDifference]:
        """Records added, removed and changed since the last acknowledged filing: in ``filing``, or in the
        live directory of ``department`` (exactly one), every page."""
        return self._follow(
            lambda token: self._call(
                self._filings.ListDirectoryFilingDifferences,
                filings_pb2.ListDirectoryFilingDifferencesRequest(
                    directory_filing=filing_name(filing),
                    department=department_name(department),
                    page_size=page_size,
                    page_token=token,
                ),
            ),
            lambda page: page.differences,
        )

    def iter_child_filing_statuses(
        self, parent: str = "", *, page_size: int = 0
    ) -> Iterator[filings_pb2.ChildFilingStatus]:
        """Each child of ``parent`` (empty: the caller's own department) with its filing status."""
        return self._follow(
            lambda token: self._call(
                self._filings.ListChildFilingStatuses,
                filings_pb2.ListChildFilingStatusesRequest(
                    parent_department=department_name(parent), page_size=page_size, page_token=token
                ),
            ),
            lambda page: page.child_filing_statuses,
        )
