"""The verifiable draw lifecycle: commit → (reveal | beacon) → execute; abandon; substitute.

Each step is a use case of its own module: ``draw_commit`` (``commit_draw``), ``draw_execute``
(``reveal_entropy``, ``execute_draw``), ``draw_abandon`` (``abandon_draw``) and ``substitutions``
(``request_substitution``, ``execute_substitution``); this module names them together for the callers that
drive the whole lifecycle (the gRPC servicers, the draw process).
"""

from __future__ import annotations

from dualdraw.service_layer.draw_abandon import ABANDON_REASONS, abandon_draw
from dualdraw.service_layer.draw_commit import claim_history_scope, commit_draw
from dualdraw.service_layer.draw_execute import execute_draw, reveal_entropy
from dualdraw.service_layer.draw_state import ABANDONED, COMMITTED, EXECUTED
from dualdraw.service_layer.substitutions import (
    SubstitutionRequest,
    execute_substitution,
    request_substitution,
)

__all__ = [
    "ABANDONED",
    "ABANDON_REASONS",
    "COMMITTED",
    "EXECUTED",
    "SubstitutionRequest",
    "abandon_draw",
    "claim_history_scope",
    "commit_draw",
    "execute_draw",
    "execute_substitution",
    "request_substitution",
    "reveal_entropy",
]
