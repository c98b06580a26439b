"""Thin servicers of verifiable draws and the audit log: ``VerifiableDrawService``, ``AuditLogService``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from typing import Any

import grpc
from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from dualdraw.domain.audit.checkpoints import Checkpoint, note_verifier_key
from dualdraw.domain.draw.substitution import Substitution
from dualdraw.domain.errors import FailedPrecondition, Violations, invalid
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.pagination import next_page_token, page_of, page_request
from dualdraw.entrypoints.grpc.servicers import Services, caller_of
from dualdraw.service_layer import audit_log, bundles, draw_lifecycle
from dualdraw.v1 import draws_pb2, verification_pb2, verification_pb2_grpc

SUBSTITUTION_STATE_PB: dict[str, verification_pb2.SubstitutionState.ValueType] = {
    "requested": verification_pb2.SUBSTITUTION_STATE_REQUESTED,
    "executed": verification_pb2.SUBSTITUTION_STATE_EXECUTED,
}
ENTROPY_KIND: dict[int, str] = {
    verification_pb2.ENTROPY_SOURCE_KIND_UNSPECIFIED: "local-secret",
    verification_pb2.ENTROPY_SOURCE_KIND_LOCAL_SECRET: "local-secret",
    verification_pb2.ENTROPY_SOURCE_KIND_BEACON: "beacon",
    verification_pb2.ENTROPY_SOURCE_KIND_COMMIT_REVEAL: "commit-reveal",
}
BUNDLE_VARIANT_PB: dict[str, verification_pb2.BundleVariant.ValueType] = {
    bundles.FULL: verification_pb2.BUNDLE_VARIANT_FULL,
    bundles.PUBLIC: verification_pb2.BUNDLE_VARIANT_PUBLIC,
}
BUNDLE_FORMAT_PB: dict[str, verification_pb2.BundleFormat.ValueType] = {
    bundles.BUNDLE_FORMAT: verification_pb2.BUNDLE_FORMAT_DOCUMENT,
    bundles.LINES_FORMAT: verification_pb2.BUNDLE_FORMAT_LINES,
    bundles.PLAN_FORMATS[bundles.BUNDLE_FORMAT]: verification_pb2.BUNDLE_FORMAT_DOCUMENT,
    bundles.PLAN_FORMATS[bundles.LINES_FORMAT]: verification_pb2.BUNDLE_FORMAT_LINES,
}
ABANDON_REASON_PREFIX = "ABANDON_REASON_"


def _variant(value: verification_pb2.BundleVariant.ValueType) -> str:
    """The bundle variant a request asks for: public, or full (unspecified too)."""
    return bundles.PUBLIC if value == verification_pb2.BUNDLE_VARIANT_PUBLIC else bundles.FULL


SUBSTITUTION_REASON_PREFIX = "SUBSTITUTION_REASON_"


def reason_code(enum: EnumDescriptor, value: int, prefix: str) -> str:
    """The domain's reason code of a proto reason (``ABANDON_REASON_DATA_ERROR`` -> ``DATA_ERROR``).

    UNSPECIFIED is "" and a number the server does not know its digits, so that the use case's check of its
    closed list refuses both (``ENUM_VALUE_UNKNOWN`` at ``reason``)."""
    if value == 0:
        return ""
    known = enum.values_by_number.get(value)
    return known.name.removeprefix(prefix) if known is not None else str(value)


def substitution_reason_pb(code: str) -> verification_pb2.SubstitutionReason.ValueType:
    """The proto value of a stored substitution reason code."""
    return verification_pb2.SubstitutionReason.Value(SUBSTITUTION_REASON_PREFIX + code)


def _declaration(source: verification_pb2.EntropySource, v: Violations) -> dict[str, Any]:
    kind = ENTROPY_KIND.get(source.kind)
    if kind == "local-secret":
        return {"kind": kind}
    if kind == "beacon":
        return {"kind": kind, "beacon": source.beacon, "round": source.beacon_round}
    if kind == "commit-reveal":
        return {
            "kind": kind,
            "parties": [{"name": p.name, "commitment": p.commitment} for p in source.parties],
            "reveal_deadline": _utc_text(source.reveal_deadline)
            if source.HasField("reveal_deadline")
            else "",
            "fallback": {"beacon": source.beacon, "round": source.beacon_round},
        }
    v.add("entropy_source.kind", f"unknown value {source.kind}", reason="ENUM_VALUE_UNKNOWN")
    return {}


def _utc_text(moment: Timestamp) -> str:
    """A timestamp as the RFC 3339 text the manifest records, in UTC (``2026-12-05T01:00:00+00:00``)."""
    return moment.ToDatetime(tzinfo=dt.UTC).isoformat()


def substitution_to_pb(s: Substitution) -> verification_pb2.Substitution:
    return verification_pb2.Substitution(
        name=names.SUBSTITUTIONS.format(s.id),
        id=s.id,
        draw_id=s.draw_id,
        position=s.position,
        removed_badge=s.removed_badge,
        replacement_badge=s.replacement_badge,
        reason=substitution_reason_pb(s.reason_code),
        evidence_hash=s.evidence_hash,
        state=SUBSTITUTION_STATE_PB[s.state],
        entropy_source=s.entropy_source,
        event_leaf_hash=s.event_leaf_hash,
    )


def checkpoint_to_pb(cp: Checkpoint) -> verification_pb2.Checkpoint:
    return verification_pb2.Checkpoint(
        name=names.CHECKPOINTS.format(cp.tree_size),
        tree_size=cp.tree_size,
        root_hash=cp.root_hash,
        public_key=cp.public_key,
        signature=cp.signature,
        key_id=cp.key_id,
        note=cp.note,
        note_verifier_key=note_verifier_key(cp.public_key),
    )


class VerifiableDrawServicer(verification_pb2_grpc.VerifiableDrawServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def CommitDraw(self, request: verification_pb2.CommitDrawRequest, context: grpc.ServicerContext) -> Any:
        v = Violations()
        as_of = convert.date_from_pb(request.as_of, "as_of", v, required=False)
        if not request.task_id:
            v.add("task_id", "is required", reason="FIELD_REQUIRED")
        declaration = _declaration(request.entropy_source, v)
        v.raise_if_any()
        draw = self._s.draws().commit_draw(
            self._s.rule_book.current(),
            task_id=request.task_id,
            as_of=as_of,
            caller=caller_of(context, request.request_id),
            declaration=declaration,
        )
        return convert.draw_to_pb(draw)

    def RevealEntropy(
        self, request: verification_pb2.RevealEntropyRequest, context: grpc.ServicerContext
    ) -> Any:
        draw = draw_lifecycle.reveal_entropy(
            self._s.unit_of_work(),
            draw_id=request.draw_id,
            party=request.party,
            secret_hex=request.secret,
            caller=caller_of(context, request.request_id),
        )
        return convert.draw_to_pb(draw)

    def ExecuteDraw(self, request: verification_pb2.ExecuteDrawRequest, context: grpc.ServicerContext) -> Any:
        outcome = draw_lifecycle.execute_draw(
            self._s.unit_of_work(),
            draw_id=request.draw_id,
            beacon_value=request.beacon_value,
            caller=caller_of(context, request.request_id),
        )
        return convert.draw_to_pb(outcome.draw)

    def AbandonDraw(self, request: verification_pb2.AbandonDrawRequest, context: grpc.ServicerContext) -> Any:
        draw = draw_lifecycle.abandon_draw(
            self._s.unit_of_work(),
            draw_id=request.draw_id,
            reason=reason_code(draws_pb2.AbandonReason.DESCRIPTOR, request.reason, ABANDON_REASON_PREFIX),
            note=request.note,
            caller=caller_of(context, request.request_id),
            max_abandons=self._s.max_abandons_per_task,
        )
        return convert.draw_to_pb(draw)

    def RequestSubstitution(
        self, request: verification_pb2.RequestSubstitutionRequest, context: grpc.ServicerContext
    ) -> verification_pb2.Substitution:
        sub = draw_lifecycle.request_substitution(
            self._s.unit_of_work(),
            draw_lifecycle.SubstitutionRequest(
                request.draw_id,
                request.position,
                request.badge_number,
                reason_code(
                    verification_pb2.SubstitutionReason.DESCRIPTOR, request.reason, SUBSTITUTION_REASON_PREFIX
                ),
                request.evidence_hash,
                request.beacon,
                request.beacon_round,
            ),
            caller_of(context, request.request_id),
            entropy=self._s.entropy_policy,
        )
        return substitution_to_pb(sub)

    def ExecuteSubstitution(
        self, request: verification_pb2.ExecuteSubstitutionRequest, context: grpc.ServicerContext
    ) -> verification_pb2.Substitution:
        sub = draw_lifecycle.execute_substitution(
            self._s.unit_of_work(),
            substitution_id=request.substitution_id,
            beacon_value=request.beacon_value,
            caller=caller_of(context, request.request_id),
        )
        return substitution_to_pb(sub)

    def ListSubstitutions(
        self, request: verification_pb2.ListSubstitutionsRequest, context: grpc.ServicerContext
    ) -> verification_pb2.ListSubstitutionsResponse:
        if not request.draw_id:
            raise invalid("draw_id", "is required", reason="FIELD_REQUIRED")
        page_req = page_request(request.page_size, request.page_token, request.draw_id)
        with self._s.unit_of_work() as uow:
            subs = uow.lifecycle.substitutions(request.draw_id)
        page = page_of(subs, page_req)
        return verification_pb2.ListSubstitutionsResponse(
            substitutions=[substitution_to_pb(s) for s in page.items],
            next_page_token=next_page_token(page.next_after, request.draw_id),
        )

    def GetDrawStatistics(
        self, request: verification_pb2.GetDrawStatisticsRequest, context: grpc.ServicerContext
    ) -> verification_pb2.GetDrawStatisticsResponse:
        with self._s.unit_of_work() as uow:
            abandoned = uow.lifecycle.abandoned_counts()
            per_department, per_inspector = uow.lifecycle.substitution_counts()
        return verification_pb2.GetDrawStatisticsResponse(
            abandoned=sum(abandoned.values()),
            abandoned_by_reason=abandoned,
            substitutions_by_department=per_department,
            substitutions_by_inspector=per_inspector,
        )

    def ExportDrawBundle(
        self, request: verification_pb2.ExportDrawBundleRequest, context: grpc.ServicerContext
    ) -> verification_pb2.DrawBundle:
        variant = _variant(request.variant)
        built = self._s.draws().build_bundle(
            request.draw_id, variant=variant, chunk_bytes=bundles.CHUNK_BYTES
        )
        try:
            header = verification_pb2.DrawBundle(draw_id=request.draw_id, variant=BUNDLE_VARIANT_PB[variant])
            # the message's size: the header fields, then field 3 (one tag byte, the varint length, the bytes)
            size = header.ByteSize() + 1 + _varint_size(built.size) + built.size
            limit = self._s.max_message_bytes
            if size > limit:
                raise FailedPrecondition(
                    f"the {variant} bundle of draw {request.draw_id} is {built.size} bytes, more than one"
                    f" message of this server carries ({limit} bytes, DUALDRAW_MAX_MESSAGE_BYTES): export it"
                    " with StreamDrawBundle, in chunks (dualdraw draw export does)",
                    reason="BUNDLE_TOO_LARGE",
                    metadata={
                        "size_bytes": str(built.size),
                        "max_message_bytes": str(limit),
                        "use_method": STREAM_DRAW_BUNDLE,
                    },
                )
            header.content = built.content()
            return header
        finally:
            built.discard()

    def StreamDrawBundle(
        self, request: verification_pb2.StreamDrawBundleRequest, context: grpc.ServicerContext
    ) -> Iterator[verification_pb2.DrawBundleChunk]:
        variant = _variant(request.variant)
        form = (
            bundles.LINES_FORMAT
            if request.format == verification_pb2.BUNDLE_FORMAT_LINES
            else bundles.BUNDLE_FORMAT
        )
        built = self._s.draws().build_bundle(  # in the draw process: seconds of Python at 1M objects
            request.draw_id,
            variant=variant,
            chunk_bytes=stream_chunk_bytes(self._s.max_message_bytes),
            form=form,
        )
        try:  # read from the spool file a chunk ahead, so that the last chunk can carry the hash
            offset, chunks = 0, built.chunks()
            data = next(chunks, b"")
            first = True
            while True:
                following = next(chunks, None)
                chunk = verification_pb2.DrawBundleChunk(offset=offset, data=data)
                if first:
                    chunk.draw_id, chunk.total_size_bytes = built.draw_id, built.size
                    # the form written (its version, /2 for a dualdraw-draw/4 draw, is in the content)
                    chunk.variant, chunk.format = BUNDLE_VARIANT_PB[variant], BUNDLE_FORMAT_PB[built.form]
                    first = False
                if following is None:
                    chunk.content_sha256 = built.sha256
                offset += len(data)
                yield chunk
                if following is None:
                    return
                data = following
        finally:
            built.discard()


STREAM_DRAW_BUNDLE = "dualdraw.v1.VerifiableDrawService.StreamDrawBundle"
CHUNK_HEADROOM_BYTES = 4096
"""Room in a ``DrawBundleChunk`` for its fields other than ``data`` (draw id, variant, sizes, hash)."""


def stream_chunk_bytes(max_message_bytes: int) -> int:
    """``data`` bytes per chunk: 1 MiB, or less when the server's message limit is below 1 MiB + headroom."""
    return max(1, min(bundles.CHUNK_BYTES, max_message_bytes - CHUNK_HEADROOM_BYTES))


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


class AuditLogServicer(verification_pb2_grpc.AuditLogServiceServicer):
    def __init__(
        self, services: Services, trusted_keys: Collection[str] | None = None, development: bool = False
    ):
        self._s = services
        self._trusted = trusted_keys
        self._development = development

    def VerifyLog(
        self, request: verification_pb2.VerifyLogRequest, context: grpc.ServicerContext
    ) -> verification_pb2.VerifyLogResponse:
        verdict, draws = audit_log.verify_log_and_draws(
            self._s.unit_of_work(), self._trusted, request.known_tree_size, request.known_root_hash
        )
        # Inspection records are checked against the hashes the log committed; a mismatch is reported as
        # the log's problem when the log itself verifies.
        records = audit_log.record_problem(self._s.unit_of_work())
        return verification_pb2.VerifyLogResponse(
            ok=verdict.ok and draws.difference is None and not records,
            draws_checked=draws.draws_checked,
            first_bad_draw_id=draws.draw_id,
            draw_problem=str(draws.difference or ""),
            tree_size=verdict.tree_size,
            root_hash=verdict.root_hash,
            first_bad_sequence=verdict.first_bad_sequence,
            problem=verdict.problem or records,
            checkpoints_checked=verdict.checkpoints_checked,
            key_ids=verdict.key_ids,
            development_key=self._development,
        )

    def GetCheckpoint(
        self, request: verification_pb2.GetCheckpointRequest, context: grpc.ServicerContext
    ) -> verification_pb2.Checkpoint:
        size = names.checkpoint_size(request.name)
        return checkpoint_to_pb(audit_log.get_checkpoint(self._s.unit_of_work(), size))

    def GetInclusionProof(
        self, request: verification_pb2.GetInclusionProofRequest, context: grpc.ServicerContext
    ) -> verification_pb2.InclusionProof:
        proof = audit_log.get_inclusion_proof(self._s.unit_of_work(), request.sequence, request.tree_size)
        return verification_pb2.InclusionProof(
            sequence=proof.sequence,
            leaf_data=proof.leaf_data,
            leaf_hash=proof.leaf_hash,
            hashes=proof.hashes,
            checkpoint=checkpoint_to_pb(proof.checkpoint),
        )

    def GetConsistencyProof(
        self, request: verification_pb2.GetConsistencyProofRequest, context: grpc.ServicerContext
    ) -> verification_pb2.ConsistencyProof:
        hashes, old, new = audit_log.get_consistency_proof(
            self._s.unit_of_work(), request.old_size, request.new_size
        )
        return verification_pb2.ConsistencyProof(
            hashes=hashes, old_checkpoint=checkpoint_to_pb(old), new_checkpoint=checkpoint_to_pb(new)
        )
