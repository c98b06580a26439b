"""``ExpertService``: experts, testing institutions, items' requirements and expert draws (§8.2); proto in,
use case, proto out."""

from __future__ import annotations

import json

import grpc

from dualdraw.domain.draw.expert_draw import (
    EXPERT,
    INSTITUTION,
    Expert,
    ExpertDraw,
    Qualification,
    Requirement,
    TestingInstitution,
)
from dualdraw.domain.errors import Violations
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of
from dualdraw.service_layer import expert_draws
from dualdraw.v1 import experts_pb2, experts_pb2_grpc

_KIND_FROM_PB: dict[int, str] = {
    int(experts_pb2.EXPERT_KIND_EXPERT): EXPERT,
    int(experts_pb2.EXPERT_KIND_INSTITUTION): INSTITUTION,
}
_KIND_TO_PB = {v: experts_pb2.ExpertKind.ValueType(k) for k, v in _KIND_FROM_PB.items()}
_STATE_TO_PB = {
    expert_draws.COMMITTED: experts_pb2.EXPERT_DRAW_STATE_COMMITTED,
    "executed": experts_pb2.EXPERT_DRAW_STATE_EXECUTED,
}


def _id(name: str, collection: str) -> str:
    """The id in resource name ``collection/{id}`` (a bare id is taken as is)."""
    return name.strip().removeprefix(f"{collection}/")


def _qualifications(
    items: list[experts_pb2.Qualification], path: str, v: Violations
) -> tuple[Qualification, ...]:
    return tuple(
        Qualification(
            q.code.strip(), convert.date_from_pb(q.expires_on, f"{path}[{i}].expires_on", v, required=False)
        )
        for i, q in enumerate(items)
    )


def _qualifications_to_pb(items: tuple[Qualification, ...]) -> list[experts_pb2.Qualification]:
    return [
        experts_pb2.Qualification(code=q.code, expires_on=convert.date_to_pb(q.expires_on)) for q in items
    ]


def expert_to_pb(e: Expert) -> experts_pb2.Expert:
    return experts_pb2.Expert(
        name=f"experts/{e.id}",
        display_name=e.display_name,
        department=f"departments/{e.department_id}",
        specialities=_qualifications_to_pb(e.qualifications),
        employer_credit_code=e.employer_credit_code,
        conflict_credit_codes=sorted(e.conflicts),
    )


def institution_to_pb(i: TestingInstitution) -> experts_pb2.TestingInstitution:
    return experts_pb2.TestingInstitution(
        name=f"testingInstitutions/{i.id}",
        display_name=i.display_name,
        department=f"departments/{i.department_id}",
        scopes=_qualifications_to_pb(i.qualifications),
        credit_code=i.credit_code,
        conflict_credit_codes=sorted(i.conflicts),
    )


def requirement_to_pb(r: Requirement) -> experts_pb2.ExpertRequirement:
    return experts_pb2.ExpertRequirement(
        name=f"items/{r.item_code}/expertRequirements/{r.kind}",
        item=f"items/{r.item_code}",
        kind=_KIND_TO_PB[r.kind],
        qualification=r.qualification,
        count=r.count,
    )


def expert_draw_to_pb(xd: ExpertDraw) -> experts_pb2.ExpertDraw:
    selections = []
    if xd.result_json:
        for s in json.loads(xd.result_json)["selections"]:
            selections.append(
                experts_pb2.ExpertSelection(
                    position=s["position"],
                    credit_code=s["credit_code"],
                    member_ids=[c["id"] for c in s["selected"]],
                    tickets=[c["ticket"] for c in s["selected"]],
                )
            )
    pb = experts_pb2.ExpertDraw(
        name=f"expertDraws/{xd.id}",
        draw=f"draws/{xd.draw_id}",
        kind=_KIND_TO_PB[xd.kind],
        state=_STATE_TO_PB.get(xd.state, experts_pb2.EXPERT_DRAW_STATE_UNSPECIFIED),
        inputs_json=xd.inputs_json,
        inputs_hash=xd.inputs_hash,
        entropy_source=xd.entropy_source,
        entropy=xd.entropy,
        seed=xd.seed,
        result_json=xd.result_json,
        result_hash=xd.result_hash,
        selections=selections,
        create_time=convert.timestamp(xd.requested_at),
        entropy_note=expert_draws.entropy_note_of(xd),
        beacon_value=xd.beacon_value,
    )
    if xd.executed_at is not None:
        pb.execute_time.CopyFrom(convert.timestamp(xd.executed_at))
    return pb


def _kind(value: int, path: str) -> str:
    v = Violations()
    kind = convert.parse_enum(value, _KIND_FROM_PB, path, v)
    v.raise_if_any()
    return kind


class ExpertServicer(experts_pb2_grpc.ExpertServiceServicer):
    def __init__(self, services: Services) -> None:
        self._s = services

    def ImportExperts(
        self, request: experts_pb2.ImportExpertsRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ImportExpertsResponse:
        v = Violations()
        department_id = _id(request.parent, "departments")
        experts = [
            Expert(
                id=_id(e.name, "experts"),
                display_name=e.display_name,
                department_id=_id(e.department, "departments"),
                qualifications=_qualifications(list(e.specialities), f"experts[{i}].specialities", v),
                employer_credit_code=e.employer_credit_code.strip(),
                conflicts=frozenset(c.strip() for c in e.conflict_credit_codes),
            )
            for i, e in enumerate(request.experts)
        ]
        institutions = [
            TestingInstitution(
                id=_id(t.name, "testingInstitutions"),
                display_name=t.display_name,
                department_id=_id(t.department, "departments"),
                credit_code=t.credit_code.strip(),
                qualifications=_qualifications(list(t.scopes), f"testing_institutions[{i}].scopes", v),
                conflicts=frozenset(c.strip() for c in t.conflict_credit_codes),
            )
            for i, t in enumerate(request.testing_institutions)
        ]
        v.raise_if_any()
        counts = expert_draws.import_experts(
            self._s.unit_of_work(),
            department_id,
            experts,
            institutions,
            caller_of(context, request.request_id),
        )
        return experts_pb2.ImportExpertsResponse(
            expert_count=counts["experts"], testing_institution_count=counts["institutions"]
        )

    def ListExperts(
        self, request: experts_pb2.ListExpertsRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ListExpertsResponse:
        department_id = _id(request.parent, "departments")
        page = expert_draws.list_experts(
            self._s.reader(),
            page_request(request.page_size, request.page_token, department_id),
            department_id,
        )
        return experts_pb2.ListExpertsResponse(
            experts=[expert_to_pb(e) for e in page.items],
            next_page_token=next_page_token(page.next_after, department_id),
        )

    def ListTestingInstitutions(
        self, request: experts_pb2.ListTestingInstitutionsRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ListTestingInstitutionsResponse:
        department_id = _id(request.parent, "departments")
        page = expert_draws.list_institutions(
            self._s.reader(),
            page_request(request.page_size, request.page_token, department_id),
            department_id,
        )
        return experts_pb2.ListTestingInstitutionsResponse(
            testing_institutions=[institution_to_pb(i) for i in page.items],
            next_page_token=next_page_token(page.next_after, department_id),
        )

    def SetExpertRequirement(
        self, request: experts_pb2.SetExpertRequirementRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ExpertRequirement:
        pb = request.requirement
        requirement = Requirement(
            item_code=_id(pb.item, "items"),
            kind=_kind(pb.kind, "requirement.kind"),
            qualification=pb.qualification.strip(),
            count=pb.count,
        )
        done = expert_draws.set_requirement(
            self._s.unit_of_work(), requirement, caller_of(context, request.request_id)
        )
        return requirement_to_pb(done)

    def ListExpertRequirements(
        self, request: experts_pb2.ListExpertRequirementsRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ListExpertRequirementsResponse:
        found = expert_draws.requirements_of(self._s.reader(), _id(request.parent, "items"))
        return experts_pb2.ListExpertRequirementsResponse(
            expert_requirements=[requirement_to_pb(r) for r in found]
        )

    def CreateExpertDraw(
        self, request: experts_pb2.CreateExpertDrawRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ExpertDraw:
        xd = expert_draws.commit_expert_draw(
            self._s.unit_of_work(),
            expert_draws.ExpertDrawRequest(
                draw_id=_id(request.draw, "draws"),
                kind=_kind(request.kind, "kind"),
                beacon=request.beacon.strip(),
                beacon_round=request.beacon_round,
            ),
            caller_of(context, request.request_id),
            entropy=self._s.entropy_policy,
        )
        return expert_draw_to_pb(xd)

    def ExecuteExpertDraw(
        self, request: experts_pb2.ExecuteExpertDrawRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ExpertDraw:
        xd = expert_draws.execute_expert_draw(
            self._s.unit_of_work(),
            expert_draw_id=_id(request.name, "expertDraws"),
            beacon_value=request.beacon_value.strip(),
            caller=caller_of(context, request.request_id),
        )
        return expert_draw_to_pb(xd)

    def GetExpertDraw(
        self, request: experts_pb2.GetExpertDrawRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ExpertDraw:
        return expert_draw_to_pb(
            expert_draws.get_expert_draw(self._s.reader(), _id(request.name, "expertDraws"))
        )

    def ListExpertDraws(
        self, request: experts_pb2.ListExpertDrawsRequest, context: grpc.ServicerContext
    ) -> experts_pb2.ListExpertDrawsResponse:
        draw_id = _id(request.parent, "draws")
        page = page_request(request.page_size, request.page_token, draw_id)
        found = expert_draws.expert_draws_of(self._s.reader(), draw_id)
        start = int(page.after) if page.after and page.after.isdigit() else 0
        shown = found[start : start + page.size]
        more = start + page.size < len(found)
        return experts_pb2.ListExpertDrawsResponse(
            expert_draws=[expert_draw_to_pb(x) for x in shown],
            next_page_token=next_page_token(str(start + page.size) if more else None, draw_id),
        )

    def VerifyExpertDraw(
        self, request: experts_pb2.VerifyExpertDrawRequest, context: grpc.ServicerContext
    ) -> experts_pb2.VerifyExpertDrawResponse:
        problem = expert_draws.verify_expert_draw(self._s.reader(), _id(request.name, "expertDraws"))
        return experts_pb2.VerifyExpertDrawResponse(match=not problem, problem=problem)
