"""Use cases of the Merkle audit log: verify it, and hand out checkpoints and proofs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from dualdraw.domain.audit.checkpoints import Checkpoint
from dualdraw.domain.audit.entries import LogVerdict, leaf_data, verify_entries
from dualdraw.domain.audit.merkle import consistency_proof, inclusion_proof, root
from dualdraw.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from dualdraw.service_layer.draw_integrity import DrawVerdict, check_all_draws
from dualdraw.service_layer.inspection_records import check_record_hashes
from dualdraw.service_layer.ports import PageRequest, UnitOfWork


def verify_log_and_draws(
    uow: UnitOfWork,
    trusted_keys: Collection[str] | None,
    known_size: int = 0,
    known_root: str = "",
) -> tuple[LogVerdict, DrawVerdict]:
    """``verify_log``, then every stored draw re-derived from its rows (``check_all_draws``): an edited
    assignment, team member or exclusion row is named by its draw even though the log itself is intact."""
    return verify_log(uow, trusted_keys, known_size, known_root), check_all_draws(uow)


def record_problem(uow: UnitOfWork) -> str:
    """The first stored inspection record version whose canonical hash no longer matches its stored hash or
    the one the log committed (``inspection_records.check_record_hashes``), in words; "" when all match."""
    mismatches = check_record_hashes(uow)
    if not mismatches:
        return ""
    first = mismatches[0]
    more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
    return f"inspection record {first.record_id} version {first.version}: {first.what}{more}"


def verify_log(
    uow: UnitOfWork,
    trusted_keys: Collection[str] | None,
    known_size: int = 0,
    known_root: str = "",
) -> LogVerdict:
    """Recomputes the whole log; with a checkpoint held outside (``known_size``, ``known_root``), also
    checks that today's log still extends it (a truncated or rewritten tail is caught even when its
    checkpoints were re-signed or deleted)."""
    with uow:
        verdict = verify_entries(uow.audit.entries(), uow.audit.checkpoints(), trusted_keys)
        if verdict.ok and known_size:
            leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes(known_size)]
            if len(leaves) < known_size:
                verdict = LogVerdict(
                    False,
                    verdict.tree_size,
                    verdict.root_hash,
                    len(leaves) + 1,
                    f"the log has {verdict.tree_size} entries, fewer than the known checkpoint's "
                    f"{known_size} (deleted?)",
                    verdict.checkpoints_checked,
                    verdict.key_ids,
                )
            elif root(leaves).hex() != known_root:
                verdict = LogVerdict(
                    False,
                    verdict.tree_size,
                    verdict.root_hash,
                    0,
                    f"the first {known_size} entries no longer match the known checkpoint",
                    verdict.checkpoints_checked,
                    verdict.key_ids,
                )
    return verdict


def get_checkpoint(uow: UnitOfWork, tree_size: int = 0) -> Checkpoint:
    with uow:
        cp = uow.audit.checkpoint(tree_size or None)
    if cp is None:
        raise NotFound("checkpoint", str(tree_size or "newest"))
    return cp


@dataclass(frozen=True)
class Inclusion:
    sequence: int
    leaf_data: str
    leaf_hash: str
    hashes: list[str]
    checkpoint: Checkpoint


def get_inclusion_proof(uow: UnitOfWork, sequence: int, tree_size: int = 0) -> Inclusion:
    with uow:
        cp = uow.audit.checkpoint(tree_size or None)
        if cp is None:
            raise NotFound("checkpoint", str(tree_size or "newest"))
        if not 1 <= sequence <= cp.tree_size:
            raise InvalidArgument(
                [FieldViolation("sequence", f"must be in 1..{cp.tree_size}", reason="VALUE_OUT_OF_RANGE")]
            )
        leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes(cp.tree_size)]
        page = uow.audit.list(PageRequest(size=1, after=str(sequence - 1)))
    if len(leaves) != cp.tree_size or not page.items or page.items[0].sequence != sequence:
        raise FailedPrecondition(
            "the log rows do not match the checkpoint; run VerifyLog", reason="LOG_INCONSISTENT"
        )
    event = page.items[0]
    proof = inclusion_proof(sequence - 1, leaves)
    return Inclusion(
        sequence, leaf_data(event).decode("utf-8"), leaves[sequence - 1].hex(), [p.hex() for p in proof], cp
    )


def get_consistency_proof(
    uow: UnitOfWork, old_size: int, new_size: int = 0
) -> tuple[list[str], Checkpoint, Checkpoint]:
    with uow:
        new = uow.audit.checkpoint(new_size or None)
        old = uow.audit.checkpoint(old_size)
        if new is None or old is None:
            raise NotFound("checkpoint", str(old_size if old is None else new_size))
        if old.tree_size > new.tree_size:
            raise InvalidArgument(
                [FieldViolation("old_size", "must not exceed new_size", reason="VALUE_OUT_OF_RANGE")]
            )
        leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes(new.tree_size)]
    return [p.hex() for p in consistency_proof(old.tree_size, leaves)], old, new
