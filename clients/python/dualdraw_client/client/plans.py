"""The annual plan (PlanService) and its published versions (PublicService)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator

from dualdraw.v1 import plans_pb2, plans_pb2_grpc, public_pb2

from ..dates import date_pb
from .base import ClientBase, new_request_id


class PlanCalls(ClientBase):
    """Drafting, approving, publishing and amending a department's annual plan; its estimate and progress."""

    @property
    def _plans(self) -> plans_pb2_grpc.PlanServiceStub:
        return plans_pb2_grpc.PlanServiceStub(self._channel)

    def create_plan(
        self,
        department_id: str,
        year: int,
        *,
        title: str = "",
        inspector_days_per_month: int = 0,
        request_id: str | None = None,
    ) -> plans_pb2.Plan:
        """A new plan: version 1, a draft without entries."""
        plan = plans_pb2.Plan(
            department_id=department_id,
            year=year,
            title=title,
            inspector_days_per_month=inspector_days_per_month,
        )
        request = plans_pb2.CreatePlanRequest(plan=plan, request_id=request_id or new_request_id())
        return self._call(self._plans.CreatePlan, request)

    def add_plan_entry(
        self, plan_id: str, entry: plans_pb2.PlanEntry, *, request_id: str | None = None
    ) -> plans_pb2.Plan:
        """Adds an entry to the draft (its id is assigned); returns the draft."""
        request = plans_pb2.AddPlanEntryRequest(
            plan_id=plan_id, entry=entry, request_id=request_id or new_request_id()
        )
        return self._call(self._plans.AddPlanEntry, request)

    def update_plan_entry(
        self, plan_id: str, entry: plans_pb2.PlanEntry, *, request_id: str | None = None
    ) -> plans_pb2.Plan:
        """Replaces the draft's entry of ``entry.id``."""
        request = plans_pb2.UpdatePlanEntryRequest(
            plan_id=plan_id, entry=entry, request_id=request_id or new_request_id()
        )
        return self._call(self._plans.UpdatePlanEntry, request)

    def approve_plan(self, plan_id: str, *, request_id: str | None = None) -> plans_pb2.Plan:
        request = plans_pb2.ApprovePlanRequest(plan_id=plan_id, request_id=request_id or new_request_id())
        return self._call(self._plans.ApprovePlan, request)

    def publish_plan(self, plan_id: str, *, request_id: str | None = None) -> plans_pb2.Plan:
        """Publishes the approved version: in force from now."""
        request = plans_pb2.PublishPlanRequest(plan_id=plan_id, request_id=request_id or new_request_id())
        return self._call(self._plans.PublishPlan, request)

    def amend_plan(
        self,
        plan_id: str,
        reason: str,
        *,
        entries: Iterable[plans_pb2.PlanEntry] = (),
        removed_entry_ids: Iterable[str] = (),
        request_id: str | None = None,
    ) -> plans_pb2.Plan:
        """A published amendment: entries added (empty id) or replaced, others removed; in force from now."""
        request = plans_pb2.AmendPlanRequest(
            plan_id=plan_id,
            reason=reason,
            entries=list(entries),
            removed_entry_ids=list(removed_entry_ids),
            request_id=request_id or new_request_id(),
        )
        return self._call(self._plans.AmendPlan, request)

    def get_plan(self, plan_id: str, *, version: int = 0) -> plans_pb2.Plan:
        """A version of the plan (0: the latest)."""
        request = plans_pb2.GetPlanRequest(name=f"plans/{plan_id}", version=version)
        return self._call(self._plans.GetPlan, request)

    def list_plans(
        self, *, department_id: str = "", page_size: int = 0, page_token: str = ""
    ) -> plans_pb2.ListPlansResponse:
        """One page of plans (their latest versions) of ``department_id``'s subtree."""
        request = plans_pb2.ListPlansRequest(
            department_id=department_id, page_size=page_size, page_token=page_token
        )
        return self._call(self._plans.ListPlans, request)

    def iter_plans(self, *, department_id: str = "", page_size: int = 0) -> Iterator[plans_pb2.Plan]:
        return self._follow(
            lambda token: self.list_plans(department_id=department_id, page_size=page_size, page_token=token),
            lambda page: page.plans,
        )

    def estimate_plan(
        self, plan_id: str, *, version: int = 0, as_of: str | datetime.date | None = None
    ) -> plans_pb2.PlanEstimate:
        """Draws, inspector-days and cost per entry and period, with the named shortfalls."""
        request = plans_pb2.EstimatePlanRequest(
            name=f"plans/{plan_id}", version=version, as_of=date_pb(as_of)
        )
        return self._call(self._plans.EstimatePlan, request)

    def plan_progress(self, plan_id: str) -> plans_pb2.PlanProgress:
        """Per entry and period: drawn, inspected, published, overdue."""
        request = plans_pb2.GetPlanProgressRequest(name=f"plans/{plan_id}")
        return self._call(self._plans.GetPlanProgress, request)

    # -- published plans (no token needed) -------------------------------------------------------------

    def get_published_plan(self, plan_id: str, *, version: int = 0) -> plans_pb2.Plan:
        request = public_pb2.GetPublishedPlanRequest(name=f"plans/{plan_id}", version=version)
        return self._call(self._public.GetPublishedPlan, request)

    def published_plan_estimate(self, plan_id: str, *, version: int = 0) -> plans_pb2.PlanEstimate:
        """A published version's estimate, as of its publication day: workload, cost and shortfalls."""
        request = public_pb2.GetPublishedPlanEstimateRequest(name=f"plans/{plan_id}", version=version)
        return self._call(self._public.GetPublishedPlanEstimate, request)

    def published_plan_progress(self, plan_id: str, *, version: int = 0) -> public_pb2.PublishedPlanProgress:
        """A published version's progress per entry and period, counted from published data only."""
        request = public_pb2.GetPublishedPlanProgressRequest(name=f"plans/{plan_id}", version=version)
        return self._call(self._public.GetPublishedPlanProgress, request)

    def iter_published_plans(self, *, page_size: int = 0) -> Iterator[plans_pb2.Plan]:
        return self._follow(
            lambda token: self._call(
                self._public.ListPublishedPlans,
                public_pb2.ListPublishedPlansRequest(page_size=page_size, page_token=token),
            ),
            lambda page: page.plans,
        )
