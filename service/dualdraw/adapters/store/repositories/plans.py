"""Annual plan versions (``PlanRepository``)."""

from __future__ import annotations

import builtins
import json

import sqlalchemy as sa

from dualdraw.adapters.store.repositories.base import SqlRepository, check_page_size
from dualdraw.adapters.store.rows import PLAN_VERSIONS, TASKS, Row, to_task
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.errors import AlreadyExists
from dualdraw.domain.model import Task
from dualdraw.domain.plan.model import PlanEntry, PlanState, PlanVersion
from dualdraw.service_layer.ports import Page, PageRequest


def _values(v: PlanVersion) -> dict[str, object]:
    content = v.content()
    content["created_by"] = v.created_by
    return {
        "plan_id": v.plan_id,
        "version": v.version,
        "department_id": v.department_id,
        "year": v.year,
        "state": v.state.value,
        "content_json": canonical_json(content).decode("utf-8"),
        "content_hash": v.content_hash(),
        "created_at": v.created_at,
        "created_by": v.created_by,
        "approved_at": v.approved_at,
        "published_at": v.published_at,
    }


def _to_version(r: Row) -> PlanVersion:
    content = json.loads(r.content_json)
    return PlanVersion(
        plan_id=r.plan_id,
        version=r.version,
        department_id=r.department_id,
        year=r.year,
        title=content["title"],
        state=PlanState(r.state),
        entries=tuple(PlanEntry.from_json(e) for e in content["entries"]),
        created_at=r.created_at,
        created_by=r.created_by,
        inspector_days_per_month=int(content["inspector_days_per_month"]),
        amendment_reason=content["amendment_reason"],
        approved_at=r.approved_at,
        published_at=r.published_at,
    )


class SqlPlanRepository(SqlRepository):
    """Plan versions, one row each; a version's content is its canonical JSON."""

    def add(self, version: PlanVersion) -> None:
        """Raises ``AlreadyExists`` (``PLAN_VERSION_EXISTS``) when that version is stored already."""
        self._insert_new(
            PLAN_VERSIONS,
            _values(version),
            AlreadyExists(
                f"plan {version.plan_id} version {version.version} exists already",
                reason="PLAN_VERSION_EXISTS",
                metadata={"plan_id": version.plan_id},
            ),
        )

    def replace(self, version: PlanVersion) -> None:
        """Stores a changed draft or a state change of an existing version."""
        self._connection.execute(
            sa.update(PLAN_VERSIONS)
            .where(PLAN_VERSIONS.c.plan_id == version.plan_id, PLAN_VERSIONS.c.version == version.version)
            .values(_values(version))
        )

    def versions(self, plan_id: str) -> builtins.list[PlanVersion]:
        """Every version of a plan, oldest first (empty for an unknown plan)."""
        rows = self._connection.execute(
            sa.select(PLAN_VERSIONS)
            .where(PLAN_VERSIONS.c.plan_id == plan_id)
            .order_by(PLAN_VERSIONS.c.version)
        ).all()
        return [_to_version(r) for r in rows]

    def list(
        self,
        page: PageRequest,
        department_ids: builtins.list[str] | None = None,
        published_only: bool = False,
    ) -> Page[PlanVersion]:
        """The latest version of each plan (the latest published one with ``published_only``), by plan id."""
        check_page_size(page)
        latest = sa.select(PLAN_VERSIONS.c.plan_id, sa.func.max(PLAN_VERSIONS.c.version).label("version"))
        if published_only:
            latest = latest.where(PLAN_VERSIONS.c.state == PlanState.PUBLISHED.value)
        if department_ids is not None:
            latest = latest.where(PLAN_VERSIONS.c.department_id.in_(sorted(department_ids)))
        if page.after is not None:
            latest = latest.where(PLAN_VERSIONS.c.plan_id > page.after)
        sub = latest.group_by(PLAN_VERSIONS.c.plan_id).subquery()
        stmt = (
            sa.select(PLAN_VERSIONS)
            .join(
                sub,
                sa.and_(PLAN_VERSIONS.c.plan_id == sub.c.plan_id, PLAN_VERSIONS.c.version == sub.c.version),
            )
            .order_by(PLAN_VERSIONS.c.plan_id)
            .limit(page.size + 1)
        )
        rows = self._connection.execute(stmt).all()
        shown = [_to_version(r) for r in rows[: page.size]]
        return Page(shown, shown[-1].plan_id if len(rows) > page.size else None)

    def tasks_of(self, plan_id: str) -> builtins.list[Task]:
        """Every task created for an entry of the plan, rehearsals included."""
        rows = self._connection.execute(
            sa.select(TASKS).where(TASKS.c.plan_id == plan_id).order_by(TASKS.c.id)
        ).all()
        return [to_task(r) for r in rows]

    def task_in_slot(self, slot: str) -> Task | None:
        row = self._connection.execute(sa.select(TASKS).where(TASKS.c.plan_slot == slot)).first()
        return None if row is None else to_task(row)
