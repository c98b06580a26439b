"""``DualdrawClient``: typed, blocking wrappers around every dualdraw.v1 RPC.

Every method returns the protobuf message of the RPC (types from the committed ``.pyi`` stubs) and raises
a :class:`~dualdraw_client.errors.DualdrawError` subclass instead of ``grpc.RpcError``. The caller's
identity goes out as the ``x-dualdraw-actor`` metadata on every call; mutating calls get a fresh uuid4
``request_id`` unless one is given, so a caller that retries with the same id is not applied twice.

``list_*`` return one page; ``iter_*`` are generators that follow ``next_page_token`` to the end.
The calls live in one module per service area (directory, catalogue, plans, filings, draws, results,
inspections (checklists and inspection records), follow-ups, rules, verification, evidence, deliveries,
experts);
:class:`DualdrawClient` joins them over the one connection of :class:`~.base.ClientBase`.
"""

from __future__ import annotations

from .base import ACTOR_METADATA_KEY, DEFAULT_TARGET, new_request_id
from .catalogue import CatalogueCalls
from .deliveries import DeliveryCalls
from .directory import DirectoryCalls
from .draws import DrawCalls
from .evidence import EvidenceCalls
from .experts import ExpertCalls
from .filings import FilingCalls
from .follow_ups import FollowUpCalls
from .inspections import InspectionCalls
from .plans import PlanCalls
from .results import ResultCalls
from .rules import RuleCalls
from .verification import VerificationCalls

__all__ = ["ACTOR_METADATA_KEY", "DEFAULT_TARGET", "DualdrawClient", "new_request_id"]


class DualdrawClient(
    DirectoryCalls,
    CatalogueCalls,
    PlanCalls,
    FilingCalls,
    DrawCalls,
    ResultCalls,
    RuleCalls,
    VerificationCalls,
    EvidenceCalls,
    DeliveryCalls,
    FollowUpCalls,
    InspectionCalls,
    ExpertCalls,
):
    """A connection to a dualdraw server. Use as a context manager, or call :meth:`close`.

    ``target`` is ``host:port``; ``actor`` is sent as ``x-dualdraw-actor`` (omitted when None);
    ``timeout`` is the per-call deadline in seconds (None: no deadline). Pass ``channel`` to reuse an
    existing channel (it is then not closed by :meth:`close`), or ``credentials`` for TLS; ``token`` is a
    signed bearer token sent as ``authorization: Bearer ...`` (servers with authentication on require it).
    ``attempts`` bounds how often a mutating call is sent (with the same ``request_id``) when its outcome
    is unknown (``DEADLINE_EXCEEDED``, ``CANCELLED``), each attempt with ``timeout``; ``budget`` (seconds,
    None: no limit) bounds all attempts of one call together, and a deadline that ran out because the
    budget did is not retried. ``UNAVAILABLE`` is retried by gRPC (``base.SERVICE_CONFIG``).
    """
