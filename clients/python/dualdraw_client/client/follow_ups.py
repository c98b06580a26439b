"""After the draw: follow-ups to closure (FollowUpService), objections (ObjectionService) and what the public
sees of both (PublicFollowUpService)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from dualdraw.v1 import follow_ups_pb2 as pb
from dualdraw.v1 import follow_ups_pb2_grpc as pb_grpc

from ..dates import Day, date_pb
from .base import ClientBase, new_request_id


def result_name(draw_id: str, position: int) -> str:
    """The resource name of the result of assignment ``position`` of ``draw_id``."""
    return f"draws/{draw_id}/assignments/{position}/result"


def follow_up_name(follow_up: str) -> str:
    """``followUps/{id}`` for an id or a name."""
    return follow_up if follow_up.startswith("followUps/") else f"followUps/{follow_up}"


def objection_name(objection: str) -> str:
    """``objections/{id}`` for an id or a name."""
    return objection if objection.startswith("objections/") else f"objections/{objection}"


def evidence(items: Iterable[tuple[str, int]]) -> list[pb.CitedEvidence]:
    """Evidence messages of ``(sha256, size_bytes)`` pairs."""
    return [pb.CitedEvidence(sha256=sha, size_bytes=size) for sha, size in items]


class FollowUpCalls(ClientBase):
    """Follow-ups of results, objections to published results, and their public view."""

    @property
    def _follow_ups(self) -> pb_grpc.FollowUpServiceStub:
        return pb_grpc.FollowUpServiceStub(self._channel)

    @property
    def _objections(self) -> pb_grpc.ObjectionServiceStub:
        return pb_grpc.ObjectionServiceStub(self._channel)

    @property
    def _public_follow_ups(self) -> pb_grpc.PublicFollowUpServiceStub:
        return pb_grpc.PublicFollowUpServiceStub(self._channel)

    # -- follow-ups ------------------------------------------------------------------------------------

    def open_follow_up(
        self,
        draw_id: str,
        position: int,
        kind: pb.FollowUpKind.ValueType,
        *,
        department: str = "",
        note: str = "",
        evidence_files: Iterable[tuple[str, int]] = (),
        due_in_working_days: int = 0,
        request_id: str | None = None,
    ) -> pb.FollowUp:
        """Opens a follow-up of a recorded result (``department``: for a lead, the receiving one)."""
        follow_up = pb.FollowUp(
            result=result_name(draw_id, position),
            kind=kind,
            department=department,
            note=note,
            evidence=evidence(evidence_files),
            due_in_working_days=due_in_working_days,
        )
        request = pb.CreateFollowUpRequest(follow_up=follow_up, request_id=request_id or new_request_id())
        return self._call(self._follow_ups.CreateFollowUp, request)

    def get_follow_up(self, follow_up: str) -> pb.FollowUp:
        """One follow-up, by id or name."""
        return self._call(self._follow_ups.GetFollowUp, pb.GetFollowUpRequest(name=follow_up_name(follow_up)))

    def list_follow_ups(
        self,
        *,
        department: str = "",
        draw: str = "",
        open_only: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> pb.ListFollowUpsResponse:
        """One page of follow-ups of a department's subtree (default: the caller's)."""
        request = pb.ListFollowUpsRequest(
            department=department, draw=draw, open_only=open_only, page_size=page_size, page_token=page_token
        )
        return self._call(self._follow_ups.ListFollowUps, request)

    def iter_follow_ups(
        self, *, department: str = "", draw: str = "", open_only: bool = False
    ) -> Iterator[pb.FollowUp]:
        """Every follow-up of a department's subtree, following page tokens."""
        return self._follow(
            lambda token: self.list_follow_ups(
                department=department, draw=draw, open_only=open_only, page_token=token
            ),
            lambda page: page.follow_ups,
        )

    def overdue_follow_ups(
        self, *, department: str = "", as_of: Day | None = None
    ) -> list[pb.DepartmentOverdueFollowUps]:
        """Overdue follow-ups per department (the server records ``follow_up.overdue`` for new ones)."""
        request = pb.ListOverdueFollowUpsRequest(department=department, as_of_date=date_pb(as_of))
        return list(self._call(self._follow_ups.ListOverdueFollowUps, request).departments)

    def add_follow_up_evidence(
        self,
        follow_up: str,
        evidence_files: Iterable[tuple[str, int]] = (),
        *,
        note: str = "",
        request_id: str | None = None,
    ) -> pb.FollowUp:
        """Adds evidence files (and replaces the note when given)."""
        request = pb.AddFollowUpEvidenceRequest(
            name=follow_up_name(follow_up),
            evidence=evidence(evidence_files),
            note=note,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._follow_ups.AddFollowUpEvidence, request)

    def report_rectification(self, follow_up: str, *, request_id: str | None = None) -> pb.FollowUp:
        """A rectification order's enterprise reports it rectified: the order awaits its re-inspection."""
        request = pb.ReportRectificationRequest(
            name=follow_up_name(follow_up), request_id=request_id or new_request_id()
        )
        return self._call(self._follow_ups.ReportRectification, request)

    def record_reinspection(
        self,
        follow_up: str,
        inspected_on: Day,
        badge_numbers: Iterable[str],
        *,
        rectified: bool,
        note: str = "",
        request_id: str | None = None,
    ) -> pb.FollowUp:
        """Records the re-inspection of a rectification order by members of the team that inspected."""
        reinspection = pb.Reinspection(
            inspect_date=date_pb(inspected_on),
            badge_numbers=list(badge_numbers),
            rectified=rectified,
            note=note,
        )
        request = pb.RecordReinspectionRequest(
            name=follow_up_name(follow_up),
            reinspection=reinspection,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._follow_ups.RecordReinspection, request)

    def close_follow_up(
        self,
        follow_up: str,
        outcome: pb.FollowUpOutcome.ValueType,
        text: str,
        *,
        decision_number: str = "",
        closed_on: Day | None = None,
        request_id: str | None = None,
    ) -> pb.FollowUp:
        """Closes a follow-up with its outcome (a case filing: with the decision number)."""
        closing = pb.FollowUpClosing(
            outcome=outcome, text=text, decision_number=decision_number, close_date=date_pb(closed_on)
        )
        request = pb.CloseFollowUpRequest(
            name=follow_up_name(follow_up), closing=closing, request_id=request_id or new_request_id()
        )
        return self._call(self._follow_ups.CloseFollowUp, request)

    # -- objections ------------------------------------------------------------------------------------

    def file_objection(
        self,
        draw_id: str,
        position: int,
        received_on: Day,
        grounds: str,
        *,
        evidence_files: Iterable[tuple[str, int]] = (),
        request_id: str | None = None,
    ) -> pb.Objection:
        """Files an enterprise's objection to a published result, received on ``received_on``."""
        objection = pb.Objection(
            result=result_name(draw_id, position),
            receive_date=date_pb(received_on),
            grounds=grounds,
            evidence=evidence(evidence_files),
        )
        request = pb.CreateObjectionRequest(objection=objection, request_id=request_id or new_request_id())
        return self._call(self._objections.CreateObjection, request)

    def get_objection(self, objection: str) -> pb.Objection:
        """One objection, by id or name."""
        return self._call(
            self._objections.GetObjection, pb.GetObjectionRequest(name=objection_name(objection))
        )

    def list_objections(
        self, *, department: str = "", draw: str = "", page_size: int = 0, page_token: str = ""
    ) -> pb.ListObjectionsResponse:
        """One page of objections to results of a department's subtree (default: the caller's)."""
        request = pb.ListObjectionsRequest(
            department=department, draw=draw, page_size=page_size, page_token=page_token
        )
        return self._call(self._objections.ListObjections, request)

    def iter_objections(self, *, department: str = "", draw: str = "") -> Iterator[pb.Objection]:
        """Every objection of a department's subtree, following page tokens."""
        return self._follow(
            lambda token: self.list_objections(department=department, draw=draw, page_token=token),
            lambda page: page.objections,
        )

    def decide_objection(
        self,
        objection: str,
        *,
        upheld: bool,
        reason: str,
        corrected_version: int = 0,
        request_id: str | None = None,
    ) -> pb.Objection:
        """Decides a pending objection: upheld with the corrected result version, or rejected."""
        request = pb.DecideObjectionRequest(
            name=objection_name(objection),
            upheld=upheld,
            reason=reason,
            corrected_version=corrected_version,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._objections.DecideObjection, request)

    # -- the public view -------------------------------------------------------------------------------

    def public_follow_ups(self, draw: str = "") -> list[pb.PublicFollowUp]:
        """What the public sees of the follow-ups of published results (of one draw)."""
        request = pb.ListPublicFollowUpsRequest(draw=draw)
        return list(self._call(self._public_follow_ups.ListPublicFollowUps, request).follow_ups)

    def public_objections(self, draw: str = "") -> list[pb.PublicObjection]:
        """The objections to published results (of one draw), with their decisions."""
        request = pb.ListPublicObjectionsRequest(draw=draw)
        return list(self._call(self._public_follow_ups.ListPublicObjections, request).objections)
