"""Verifiable draws (commit, reveal, execute, abandon, substitute), bundles and the audit log."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import EnumDescriptor

from dualdraw.v1 import draws_pb2, verification_pb2, verification_pb2_grpc

from ..bundles import BundleReceipt, receive_bundle
from ..dates import date_pb
from .base import ClientBase, new_request_id, rpc_errors_mapped


def enum_value(enum: EnumDescriptor, prefix: str, word: str | int) -> Any:
    """The number of an enum value given by its number, its name or the name without ``prefix`` (any case,
    ``-`` for ``_``); 0 (unspecified, which the server refuses where a value is required) for any other."""
    if isinstance(word, int):
        return word
    name = word.strip().upper().replace("-", "_")
    known = enum.values_by_name.get(name) or enum.values_by_name.get(prefix + name)
    return known.number if known is not None else 0


class VerificationCalls(ClientBase):
    """Commit-reveal draws, substitutions, verification bundles and the signed audit log."""

    # -- verification ------------------------------------------------------------------------------------

    @property
    def _verifiable(self) -> verification_pb2_grpc.VerifiableDrawServiceStub:
        return verification_pb2_grpc.VerifiableDrawServiceStub(self._channel)

    @property
    def _audit_log(self) -> verification_pb2_grpc.AuditLogServiceStub:
        return verification_pb2_grpc.AuditLogServiceStub(self._channel)

    def commit_draw(
        self,
        task_id: str,
        entropy_source: verification_pb2.EntropySource | None = None,
        *,
        as_of: str | datetime.date | None = None,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> draws_pb2.Draw:
        """Freezes a draw's manifest with its declared entropy source (default: a local secret, demos only).

        Fails with AlreadyExistsError (``DRAW_EXISTS``) while the task has a live draw, and with
        FailedPreconditionError (``PENDING_DRAW_IN_SCOPE``) while another committed draw sharing its
        inspection history has not executed yet (``metadata["draw_id"]`` names it).
        """
        request = verification_pb2.CommitDrawRequest(
            task_id=task_id,
            as_of=date_pb(as_of),
            entropy_source=entropy_source
            or verification_pb2.EntropySource(kind=verification_pb2.ENTROPY_SOURCE_KIND_LOCAL_SECRET),
            request_id=request_id or new_request_id(),
        )
        return self._call(self._verifiable.CommitDraw, request, timeout)

    def reveal_entropy(self, draw_id: str, party: str, secret_hex: str) -> draws_pb2.Draw:
        """A commit-reveal party reveals its secret; the draw runs once every party has revealed."""
        request = verification_pb2.RevealEntropyRequest(
            draw_id=draw_id, party=party, secret=secret_hex, request_id=new_request_id()
        )
        return self._call(self._verifiable.RevealEntropy, request)

    def execute_draw(
        self, draw_id: str, beacon_value: str = "", *, timeout: float | None = None
    ) -> draws_pb2.Draw:
        """Executes a committed draw; ``beacon_value`` is the beacon round's value (hex) when needed."""
        request = verification_pb2.ExecuteDrawRequest(
            draw_id=draw_id, beacon_value=beacon_value, request_id=new_request_id()
        )
        return self._call(self._verifiable.ExecuteDraw, request, timeout)

    def abandon_draw(self, draw_id: str, reason: str | int, note: str) -> draws_pb2.Draw:
        """Abandons a live draw with a reason code (``"DATA_ERROR"`` or an ``AbandonReason`` value); it stays
        visible and counted. A code not in the list is refused by the server (``ENUM_VALUE_UNKNOWN``)."""
        request = verification_pb2.AbandonDrawRequest(
            draw_id=draw_id,
            reason=enum_value(draws_pb2.AbandonReason.DESCRIPTOR, "ABANDON_REASON_", reason),
            note=note,
            request_id=new_request_id(),
        )
        return self._call(self._verifiable.AbandonDraw, request)

    def request_substitution(
        self,
        draw_id: str,
        position: int,
        badge_number: str,
        reason: str | int,
        evidence_hash: str,
        *,
        beacon: str = "",
        beacon_round: int = 0,
    ) -> verification_pb2.Substitution:
        """Logs a substitution (reason code such as ``"LEAVE"`` or a ``SubstitutionReason`` value, and the
        evidence hash) before its entropy exists."""
        request = verification_pb2.RequestSubstitutionRequest(
            draw_id=draw_id,
            position=position,
            badge_number=badge_number,
            reason=enum_value(verification_pb2.SubstitutionReason.DESCRIPTOR, "SUBSTITUTION_REASON_", reason),
            evidence_hash=evidence_hash,
            beacon=beacon,
            beacon_round=beacon_round,
            request_id=new_request_id(),
        )
        return self._call(self._verifiable.RequestSubstitution, request)

    def execute_substitution(
        self, substitution_id: str, beacon_value: str = ""
    ) -> verification_pb2.Substitution:
        """Takes the substitution's entropy and swaps the replacement into the team."""
        request = verification_pb2.ExecuteSubstitutionRequest(
            substitution_id=substitution_id, beacon_value=beacon_value, request_id=new_request_id()
        )
        return self._call(self._verifiable.ExecuteSubstitution, request)

    def list_substitutions(self, draw_id: str) -> verification_pb2.ListSubstitutionsResponse:
        merged = verification_pb2.ListSubstitutionsResponse()
        merged.substitutions.extend(
            self._follow(
                lambda token: self._call(
                    self._verifiable.ListSubstitutions,
                    verification_pb2.ListSubstitutionsRequest(draw_id=draw_id, page_token=token),
                ),
                lambda page: page.substitutions,
            )
        )
        return merged

    def draw_statistics(self) -> verification_pb2.GetDrawStatisticsResponse:
        """Abandoned draws by reason; substitutions per department and per inspector."""
        return self._call(self._verifiable.GetDrawStatistics, verification_pb2.GetDrawStatisticsRequest())

    def export_draw_bundle(
        self, draw_id: str, *, public: bool = False, lines: bool = False, timeout: float | None = None
    ) -> bytes:
        """The verification bundle of a draw (canonical JSON bytes; with ``lines`` the line-oriented form
        ``dualdraw-bundle-lines/1``); check it with ``dualdraw verify``.

        Streamed (``StreamDrawBundle``), so bundles of any size arrive; the length and SHA-256 the server
        announced are checked (``BundleIntegrityError`` otherwise). ``timeout`` covers the whole stream.
        """
        parts: list[bytes] = []
        self.write_draw_bundle(draw_id, parts.append, public=public, lines=lines, timeout=timeout)
        return b"".join(parts)

    def write_draw_bundle(
        self,
        draw_id: str,
        write: Callable[[bytes], object],
        *,
        public: bool = False,
        lines: bool = False,
        timeout: float | None = None,
    ) -> BundleReceipt:
        """Streams a draw's bundle into ``write`` (e.g. a binary file's ``write``) chunk by chunk, holding
        none of it, and checks it whole (:func:`.bundles.receive_bundle`). On ``BundleIntegrityError``
        ``write`` has had part of a bundle: discard what it wrote. ``lines``: the line-oriented form, which
        ``dualdraw verify`` checks in bounded memory at any size."""
        request = verification_pb2.StreamDrawBundleRequest(
            draw_id=draw_id,
            variant=_variant(public),
            format=verification_pb2.BUNDLE_FORMAT_LINES if lines else verification_pb2.BUNDLE_FORMAT_DOCUMENT,
        )
        call = self._verifiable.StreamDrawBundle(
            request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata()
        )
        try:
            return receive_bundle(rpc_errors_mapped(call), write, draw_id=draw_id)
        finally:
            call.cancel()  # stops a stream abandoned on a fault; nothing once it has ended

    def export_draw_bundle_unary(self, draw_id: str, *, public: bool = False) -> verification_pb2.DrawBundle:
        """The bundle in one message (``ExportDrawBundle``): only for bundles below the server's message
        limit (``FailedPreconditionError`` with reason ``BUNDLE_TOO_LARGE`` otherwise)."""
        request = verification_pb2.ExportDrawBundleRequest(draw_id=draw_id, variant=_variant(public))
        return self._call(self._verifiable.ExportDrawBundle, request)

    def verify_log(
        self, known_tree_size: int = 0, known_root_hash: str = ""
    ) -> verification_pb2.VerifyLogResponse:
        """Has the server recompute the Merkle log and check every signed checkpoint."""
        request = verification_pb2.VerifyLogRequest(
            known_tree_size=known_tree_size, known_root_hash=known_root_hash
        )
        return self._call(self._audit_log.VerifyLog, request)

    def get_checkpoint(self, tree_size: int = 0) -> verification_pb2.Checkpoint:
        """The checkpoint of ``tree_size`` entries; 0: the newest."""
        request = verification_pb2.GetCheckpointRequest(name=f"checkpoints/{tree_size or 'latest'}")
        return self._call(self._audit_log.GetCheckpoint, request)

    def get_inclusion_proof(self, sequence: int, tree_size: int = 0) -> verification_pb2.InclusionProof:
        request = verification_pb2.GetInclusionProofRequest(sequence=sequence, tree_size=tree_size)
        return self._call(self._audit_log.GetInclusionProof, request)

    def get_consistency_proof(self, old_size: int, new_size: int = 0) -> verification_pb2.ConsistencyProof:
        request = verification_pb2.GetConsistencyProofRequest(old_size=old_size, new_size=new_size)
        return self._call(self._audit_log.GetConsistencyProof, request)


def _variant(public: bool) -> verification_pb2.BundleVariant.ValueType:
    return verification_pb2.BUNDLE_VARIANT_PUBLIC if public else verification_pb2.BUNDLE_VARIANT_FULL
