"""SQLAlchemy implementations of the repository ports in ``dualdraw.service_layer.ports``, one module per
aggregate: ``directory`` (departments, objects, inspectors, side facts), ``items`` (the item list and its
published versions), ``tasks``,
``plans`` (annual plan versions),
``directory_filings`` (filings of the directories with the parent),
``draws`` (draw records and the inspection history),
``draw_lifecycle`` (commitments, entropy, execution, substitutions, history locks), ``results``,
``publications``, ``inspection_records`` (checklists and inspection records), ``follow_ups`` (follow-ups and
objections), ``audit``, ``rule_sets``, ``outbox`` (messages for other systems), ``evidence`` (the record of
stored evidence files), ``directory_filings`` and ``experts`` (experts, testing institutions and their
draws); ``base`` holds what they share.

Each repository works inside the session of its unit of work and never commits. Rows are mapped to and from
the domain's frozen dataclasses (``dualdraw.adapters.store.rows``); no ORM object leaves this package. Writes
go through ``dualdraw.adapters.store.bulk`` (batched Core statements, ``COPY`` on PostgreSQL), never one ORM
object per row:
- ``upsert_*`` replaces whole records by key; child rows (specialities, conflicts) are deleted and
  re-inserted with their parent. Within one call the last item with a key wins.
- ``list_*`` pages by keyset: ``WHERE key > after ORDER BY key LIMIT size + 1``.
"""

from __future__ import annotations

from dualdraw.adapters.store.repositories.audit import SqlAuditRepository
from dualdraw.adapters.store.repositories.directory import SqlDirectoryRepository
from dualdraw.adapters.store.repositories.directory_filings import SqlDirectoryFilingRepository
from dualdraw.adapters.store.repositories.draw_lifecycle import SqlDrawLifecycleRepository, history_lock_key
from dualdraw.adapters.store.repositories.draws import SqlDrawRepository
from dualdraw.adapters.store.repositories.evidence import SqlEvidenceRepository
from dualdraw.adapters.store.repositories.experts import SqlExpertRepository
from dualdraw.adapters.store.repositories.follow_ups import SqlFollowUpRepository, SqlObjectionRepository
from dualdraw.adapters.store.repositories.inspection_records import (
    SqlChecklistRepository,
    SqlInspectionRecordRepository,
)
from dualdraw.adapters.store.repositories.items import SqlItemRepository, SqlItemVersionRepository
from dualdraw.adapters.store.repositories.outbox import SqlOutboxRepository
from dualdraw.adapters.store.repositories.plans import SqlPlanRepository
from dualdraw.adapters.store.repositories.publications import SqlPublicationRepository
from dualdraw.adapters.store.repositories.results import SqlResultRepository
from dualdraw.adapters.store.repositories.rule_sets import SqlRuleSetRepository
from dualdraw.adapters.store.repositories.tasks import SqlTaskRepository

__all__ = [
    "SqlAuditRepository",
    "SqlChecklistRepository",
    "SqlDirectoryFilingRepository",
    "SqlDirectoryRepository",
    "SqlDrawLifecycleRepository",
    "SqlDrawRepository",
    "SqlEvidenceRepository",
    "SqlExpertRepository",
    "SqlFollowUpRepository",
    "SqlInspectionRecordRepository",
    "SqlItemRepository",
    "SqlItemVersionRepository",
    "SqlObjectionRepository",
    "SqlOutboxRepository",
    "SqlPlanRepository",
    "SqlPublicationRepository",
    "SqlResultRepository",
    "SqlRuleSetRepository",
    "SqlTaskRepository",
    "history_lock_key",
]
