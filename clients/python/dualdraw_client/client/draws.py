"""Draws, their assignments, exclusions and raises; the audit trail."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from dualdraw.v1 import audit_pb2, draws_pb2

from ..dates import date_pb
from .base import ClientBase, new_request_id


class DrawCalls(ClientBase):
    """Draws and what they produced; the audit events."""

    # -- draws -------------------------------------------------------------------------------------------

    def draw(
        self,
        task_id: str,
        as_of: str | datetime.date | None = None,
        request_id: str | None = None,
        *,
        beacon_round: int = 0,
        timeout: float | None = None,
    ) -> draws_pb2.Draw:
        """Runs the draw of a task, evaluating the exclusion rules at ``as_of`` (default: the server's today).

        Its entropy is the signature of ``beacon_round`` of the server's pinned beacon (0: the first round a
        minute after the commit): the draw comes back committed, ``execute_draw`` with that signature
        executes it. Only a development server (``DUALDRAW_ALLOW_LOCAL_ENTROPY=1``) draws at once with a
        local secret when ``beacon_round`` is 0; such a draw has ``entropy_note`` set.

        A task is drawn once: a second draw fails with AlreadyExistsError (reason ``DRAW_EXISTS``) unless it
        repeats the first one's ``request_id``.
        While another committed draw that shares its inspection history (caps, recent inspections) has not
        executed yet, it fails with FailedPreconditionError (``PENDING_DRAW_IN_SCOPE``;
        ``metadata["draw_id"]`` names that draw).
        """
        request = draws_pb2.DrawRequest(
            task_id=task_id,
            as_of=date_pb(as_of),
            request_id=request_id or new_request_id(),
            beacon_round=beacon_round,
        )
        response: draws_pb2.DrawResponse = self._call(self._draws.Draw, request, timeout)
        return response.draw

    def get_draw(self, draw_id: str) -> draws_pb2.Draw:
        """The draw with this id (the call names it ``draws/{draw_id}``)."""
        return self._call(self._draws.GetDraw, draws_pb2.GetDrawRequest(name=f"draws/{draw_id}"))

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
        merged = draws_pb2.ListJointInspectionsResponse()
        merged.joint_inspections.extend(
            self._follow(
                lambda token: self._call(
                    self._draws.ListJointInspections,
                    draws_pb2.ListJointInspectionsRequest(
                        year=year, department_id=department_id, page_token=token
                    ),
                ),
                lambda page: page.joint_inspections,
            )
        )
        return merged

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
