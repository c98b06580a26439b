"""The annual plan over gRPC: ``PlanService`` for staff and the published plans of ``PublicService``
(``PublishedPlans``, mixed into the public servicer). Thin: convert, call one use case, convert back."""

from __future__ import annotations

import grpc

from dualdraw.domain.errors import Violations
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc import plans_convert as pc
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of, subtree_ids
from dualdraw.service_layer import plan_estimates, plans, published_plan_progress
from dualdraw.v1 import plans_pb2, plans_pb2_grpc, public_pb2


def _version(value: int, v: Violations) -> int:
    if value < 0:
        v.add("version", "must not be negative (0: the latest)", reason="VALUE_OUT_OF_RANGE")
    return value


class PlanServicer(plans_pb2_grpc.PlanServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def CreatePlan(
        self, request: plans_pb2.CreatePlanRequest, context: grpc.ServicerContext
    ) -> plans_pb2.Plan:
        pb = request.plan
        created = plans.create_plan(
            self._s.unit_of_work(),
            department_id=pb.department_id.strip(),
            year=pb.year,
            title=pb.title,
            inspector_days_per_month=pb.inspector_days_per_month,
            caller=caller_of(context, request.request_id),
        )
        return pc.plan_to_pb(created)

    def AddPlanEntry(
        self, request: plans_pb2.AddPlanEntryRequest, context: grpc.ServicerContext
    ) -> plans_pb2.Plan:
        v = Violations()
        entry = pc.entry_from_pb(request.entry, "entry", v)
        v.raise_if_any()
        changed = plans.add_entry(
            self._s.unit_of_work(), request.plan_id, entry, caller_of(context, request.request_id)
        )
        return pc.plan_to_pb(changed)

    def UpdatePlanEntry(
        self, request: plans_pb2.UpdatePlanEntryRequest, context: grpc.ServicerContext
    ) -> plans_pb2.Plan:
        v = Violations()
        entry = pc.entry_from_pb(request.entry, "entry", v)
        if not entry.id:
            v.add("entry.id", "is required: the id of the draft's entry to replace", reason="FIELD_REQUIRED")
        v.raise_if_any()
        changed = plans.update_entry(
            self._s.unit_of_work(), request.plan_id, entry, caller_of(context, request.request_id)
        )
        return pc.plan_to_pb(changed)

    def ApprovePlan(
        self, request: plans_pb2.ApprovePlanRequest, context: grpc.ServicerContext
    ) -> plans_pb2.Plan:
        caller = caller_of(context, request.request_id)
        return pc.plan_to_pb(plans.approve_plan(self._s.unit_of_work(), request.plan_id, caller))

    def PublishPlan(
        self, request: plans_pb2.PublishPlanRequest, context: grpc.ServicerContext
    ) -> plans_pb2.Plan:
        caller = caller_of(context, request.request_id)
        return pc.plan_to_pb(plans.publish_plan(self._s.unit_of_work(), request.plan_id, caller))

    def AmendPlan(self, request: plans_pb2.AmendPlanRequest, context: grpc.ServicerContext) -> plans_pb2.Plan:
        v = Violations()
        upserts = [pc.entry_from_pb(e, f"entries[{i}]", v) for i, e in enumerate(request.entries)]
        v.raise_if_any()
        changed = plans.amend_plan(
            self._s.unit_of_work(),
            request.plan_id,
            reason=request.reason,
            upserts=upserts,
            removed_entry_ids=[e.strip() for e in request.removed_entry_ids],
            caller=caller_of(context, request.request_id),
        )
        return pc.plan_to_pb(changed)

    def GetPlan(self, request: plans_pb2.GetPlanRequest, context: grpc.ServicerContext) -> plans_pb2.Plan:
        v = Violations()
        version = _version(request.version, v)
        v.raise_if_any()
        plan_id = names.parse_plan(request.name)
        return pc.plan_to_pb(plans.get_plan(self._s.reader(), plan_id, version))

    def ListPlans(
        self, request: plans_pb2.ListPlansRequest, context: grpc.ServicerContext
    ) -> plans_pb2.ListPlansResponse:
        ids = subtree_ids(self._s, request.department_id, "department_id")
        page_req = page_request(request.page_size, request.page_token, request.department_id)
        page = plans.list_plans(self._s.reader(), page_req, ids)
        return plans_pb2.ListPlansResponse(
            plans=[pc.plan_to_pb(p) for p in page.items],
            next_page_token=next_page_token(page.next_after, request.department_id),
        )

    def EstimatePlan(
        self, request: plans_pb2.EstimatePlanRequest, context: grpc.ServicerContext
    ) -> plans_pb2.PlanEstimate:
        plan_id = names.parse_plan(request.name)
        v = Violations()
        version = _version(request.version, v)
        day = convert.date_from_pb(request.as_of, "as_of", v, required=False) or caller_of(context).today()
        v.raise_if_any()
        plan = plans.get_plan(self._s.reader(), plan_id, version)
        estimate = plan_estimates.estimate_plan(
            self._s.reader(), self._s.engine, self._s.rule_book.current(), plan, day
        )
        return pc.estimate_to_pb(estimate)

    def GetPlanProgress(
        self, request: plans_pb2.GetPlanProgressRequest, context: grpc.ServicerContext
    ) -> plans_pb2.PlanProgress:
        today = caller_of(context).today()
        plan = plans.get_plan(self._s.reader(), names.parse_plan(request.name))
        rows = plan_estimates.plan_progress(self._s.reader(), plan, today)
        return pc.progress_to_pb(plan, rows, today)


class PublishedPlans:
    """``PublicService``'s plan methods: published versions in force only; anything else is NOT_FOUND."""

    _s: Services

    def GetPublishedPlan(
        self, request: public_pb2.GetPublishedPlanRequest, context: grpc.ServicerContext
    ) -> plans_pb2.Plan:
        v = Violations()
        version = _version(request.version, v)
        v.raise_if_any()
        now = caller_of(context).now
        return pc.plan_to_pb(
            plans.published_plan(self._s.reader(), names.parse_plan(request.name), version, now),
            public=True,
        )

    def GetPublishedPlanEstimate(
        self, request: public_pb2.GetPublishedPlanEstimateRequest, context: grpc.ServicerContext
    ) -> plans_pb2.PlanEstimate:
        v = Violations()
        version = _version(request.version, v)
        v.raise_if_any()
        plan_id = names.parse_plan(request.name)
        plan = plans.published_plan(self._s.reader(), plan_id, version, caller_of(context).now)
        estimate = plan_estimates.estimate_plan(
            self._s.reader(), self._s.engine, self._s.rule_book.current(), plan, plans.plan_date(plan)
        )
        return pc.estimate_to_pb(estimate)

    def GetPublishedPlanProgress(
        self, request: public_pb2.GetPublishedPlanProgressRequest, context: grpc.ServicerContext
    ) -> public_pb2.PublishedPlanProgress:
        v = Violations()
        version = _version(request.version, v)
        v.raise_if_any()
        caller = caller_of(context)
        plan = plans.published_plan(self._s.reader(), names.parse_plan(request.name), version, caller.now)
        today = caller.today()
        rows = published_plan_progress.published_plan_progress(self._s.reader(), plan, today)
        return pc.published_progress_to_pb(plan, rows, today)

    def ListPublishedPlans(
        self, request: public_pb2.ListPublishedPlansRequest, context: grpc.ServicerContext
    ) -> public_pb2.ListPublishedPlansResponse:
        page_req = page_request(request.page_size, request.page_token, "published-plans")
        page = plans.list_published_plans(self._s.reader(), page_req, caller_of(context).now)
        return public_pb2.ListPublishedPlansResponse(
            plans=[pc.plan_to_pb(p, public=True) for p in page.items],
            next_page_token=next_page_token(page.next_after, "published-plans"),
        )
