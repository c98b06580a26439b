"""Experts, testing institutions, what items need of them, and expert draws (DRAW-ALGORITHM.md §8.2)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from dualdraw.v1 import experts_pb2, experts_pb2_grpc

from .base import ClientBase, new_request_id

KINDS = {"expert": experts_pb2.EXPERT_KIND_EXPERT, "institution": experts_pb2.EXPERT_KIND_INSTITUTION}
"""The kind names of the command line and their enum values."""


class ExpertCalls(ClientBase):
    """The expert and testing-institution directories and the draws that pick from them."""

    @property
    def _experts(self) -> experts_pb2_grpc.ExpertServiceStub:
        return experts_pb2_grpc.ExpertServiceStub(self._channel)

    def import_experts(
        self,
        department_id: str,
        experts: Sequence[experts_pb2.Expert] = (),
        institutions: Sequence[experts_pb2.TestingInstitution] = (),
        *,
        request_id: str | None = None,
    ) -> experts_pb2.ImportExpertsResponse:
        """Creates or replaces experts and institutions of ``department_id`` (its own records only)."""
        request = experts_pb2.ImportExpertsRequest(
            parent=f"departments/{department_id}",
            experts=experts,
            testing_institutions=institutions,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._experts.ImportExperts, request)

    def list_experts(
        self, *, department_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> experts_pb2.ListExpertsResponse:
        """One page of a department's experts (default: the caller's department)."""
        parent = f"departments/{department_id}" if department_id else ""
        request = experts_pb2.ListExpertsRequest(parent=parent, page_size=page_size, page_token=page_token)
        return self._call(self._experts.ListExperts, request)

    def iter_experts(self, *, department_id: str = "") -> Iterator[experts_pb2.Expert]:
        """Every expert of the department, following page tokens."""
        return self._follow(
            lambda token: self.list_experts(department_id=department_id, page_token=token),
            lambda page: page.experts,
        )

    def list_institutions(
        self, *, department_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> experts_pb2.ListTestingInstitutionsResponse:
        """One page of a department's testing institutions (default: the caller's department)."""
        parent = f"departments/{department_id}" if department_id else ""
        request = experts_pb2.ListTestingInstitutionsRequest(
            parent=parent, page_size=page_size, page_token=page_token
        )
        return self._call(self._experts.ListTestingInstitutions, request)

    def iter_institutions(self, *, department_id: str = "") -> Iterator[experts_pb2.TestingInstitution]:
        """Every testing institution of the department, following page tokens."""
        return self._follow(
            lambda token: self.list_institutions(department_id=department_id, page_token=token),
            lambda page: page.testing_institutions,
        )

    def set_expert_requirement(
        self, item_code: str, kind: str, qualification: str, count: int, *, request_id: str | None = None
    ) -> experts_pb2.ExpertRequirement:
        """Sets (``count`` >= 1) or clears (0) what item ``item_code`` needs of ``kind`` per object."""
        request = experts_pb2.SetExpertRequirementRequest(
            requirement=experts_pb2.ExpertRequirement(
                item=f"items/{item_code}", kind=KINDS[kind], qualification=qualification, count=count
            ),
            request_id=request_id or new_request_id(),
        )
        return self._call(self._experts.SetExpertRequirement, request)

    def list_expert_requirements(self, item_code: str) -> experts_pb2.ListExpertRequirementsResponse:
        """The item's requirements."""
        request = experts_pb2.ListExpertRequirementsRequest(parent=f"items/{item_code}")
        return self._call(self._experts.ListExpertRequirements, request)

    def create_expert_draw(
        self,
        draw_id: str,
        kind: str = "expert",
        *,
        beacon: str = "",
        beacon_round: int = 0,
        request_id: str | None = None,
    ) -> experts_pb2.ExpertDraw:
        """Commits an expert draw for executed draw ``draw_id`` (executed at once on a development server)."""
        request = experts_pb2.CreateExpertDrawRequest(
            draw=f"draws/{draw_id}",
            kind=KINDS[kind],
            beacon=beacon,
            beacon_round=beacon_round,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._experts.CreateExpertDraw, request)

    def execute_expert_draw(
        self, expert_draw_id: str, beacon_value: str, *, request_id: str | None = None
    ) -> experts_pb2.ExpertDraw:
        """Executes a committed expert draw with its beacon round's signature."""
        request = experts_pb2.ExecuteExpertDrawRequest(
            name=f"expertDraws/{expert_draw_id}",
            beacon_value=beacon_value,
            request_id=request_id or new_request_id(),
        )
        return self._call(self._experts.ExecuteExpertDraw, request)

    def get_expert_draw(self, expert_draw_id: str) -> experts_pb2.ExpertDraw:
        """One expert draw."""
        request = experts_pb2.GetExpertDrawRequest(name=f"expertDraws/{expert_draw_id}")
        return self._call(self._experts.GetExpertDraw, request)

    def list_expert_draws(
        self, draw_id: str, *, page_size: int = 0, page_token: str = ""
    ) -> experts_pb2.ListExpertDrawsResponse:
        """One page of a draw's expert draws, oldest first."""
        request = experts_pb2.ListExpertDrawsRequest(
            parent=f"draws/{draw_id}", page_size=page_size, page_token=page_token
        )
        return self._call(self._experts.ListExpertDraws, request)

    def iter_expert_draws(self, draw_id: str) -> Iterator[experts_pb2.ExpertDraw]:
        """Every expert draw of ``draw_id``, following page tokens."""
        return self._follow(
            lambda token: self.list_expert_draws(draw_id, page_token=token), lambda page: page.expert_draws
        )

    def verify_expert_draw(self, expert_draw_id: str) -> experts_pb2.VerifyExpertDrawResponse:
        """Has the server re-derive a stored expert draw from its inputs, entropy and audit events."""
        request = experts_pb2.VerifyExpertDrawRequest(name=f"expertDraws/{expert_draw_id}")
        return self._call(self._experts.VerifyExpertDraw, request)
