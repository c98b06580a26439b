"""The evidence store in a directory (the ``EvidenceStore`` port): ``<root>/sha256/ab/<hash>``.

A file is written to a temporary file beside its final place (``.<hash>.<random>.part``, same directory,
so same file system), hashed while it is written, flushed to disk, and renamed to its hash only when its
SHA-256 and size are those declared: a reader never finds a partial file under a hash. A crash leaves at
most a ``.part`` file, which nobody reads and ``sweep`` removes (the server sweeps at start). Storing bytes
that are there already is a no-op; a stored file found missing or altered is replaced by a good upload.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from dualdraw.domain.errors import DataLoss, FieldViolation, InvalidArgument
from dualdraw.domain.evidence import SHA256_HEX, EvidenceProblem, resource_name
from dualdraw.runtime.crashpoints import crash_point
from dualdraw.service_layer.ports import EvidenceStore, StoredBlob

log = logging.getLogger(__name__)
PART_SUFFIX = ".part"
STALE_PART_S = 3600.0
"""A ``.part`` file older than this is left over from a crash (an upload in flight writes to it often)."""
_READ_BYTES = 1024 * 1024


class DirectoryEvidenceStore:
    """Evidence files under ``root`` (created at the first upload), addressed by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """The final place of the file with hash ``sha256``."""
        if not SHA256_HEX.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 in lower-case hex: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256

    def location(self, sha256: str) -> str:
        """The file's path relative to the store's root (``sha256/ab/<hash>``)."""
        return str(self.path(sha256).relative_to(self.root))

    def put(self, sha256: str, size_bytes: int, chunks: Iterator[bytes]) -> StoredBlob:
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.parent / f".{sha256}.{secrets.token_hex(8)}{PART_SUFFIX}"
        digest = hashlib.sha256()
        written = 0
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    written += len(chunk)
                    if written > size_bytes:
                        raise _size_mismatch(f"more than the declared {size_bytes} bytes arrived")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if written != size_bytes:
                raise _size_mismatch(f"{written} bytes arrived, {size_bytes} were declared")
            actual = digest.hexdigest()
            if actual != sha256:
                raise InvalidArgument(
                    [
                        FieldViolation(
                            "metadata.sha256",
                            f"the {written} bytes received have SHA-256 {actual}, not the declared one",
                            reason="EVIDENCE_HASH_MISMATCH",
                        )
                    ]
                )
            crash_point("evidence.before_rename")
            if self.check(sha256, size_bytes) is None:
                return StoredBlob(sha256, size_bytes)  # stored before: the temporary file goes
            os.replace(temporary, final)
            _sync_directory(final.parent)
            return StoredBlob(sha256, size_bytes)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()

    def read(self, sha256: str, size_bytes: int, chunk_bytes: int) -> Iterator[bytes]:
        problem = self.check(sha256, size_bytes)
        if problem is not None:
            raise _lost(problem)
        return self._chunks(sha256, size_bytes, chunk_bytes)

    def _chunks(self, sha256: str, size_bytes: int, chunk_bytes: int) -> Iterator[bytes]:
        digest = hashlib.sha256()
        size = 0
        try:
            with self.path(sha256).open("rb") as source:
                while chunk := source.read(chunk_bytes):
                    size += len(chunk)
                    digest.update(chunk)
                    if size > size_bytes:
                        break
                    yield chunk
        except FileNotFoundError:
            raise _lost(EvidenceProblem(sha256, "missing", self.location(sha256))) from None
        if size != size_bytes or digest.hexdigest() != sha256:  # changed while it was being sent
            raise _lost(EvidenceProblem(sha256, "altered", self.location(sha256), digest.hexdigest(), size))

    def check(self, sha256: str, size_bytes: int) -> EvidenceProblem | None:
        path = self.path(sha256)
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("rb") as source:
                while chunk := source.read(_READ_BYTES):
                    size += len(chunk)
                    digest.update(chunk)
        except FileNotFoundError:
            return EvidenceProblem(sha256, "missing", self.location(sha256))
        found = digest.hexdigest()
        if found != sha256 or size != size_bytes:
            return EvidenceProblem(sha256, "altered", self.location(sha256), found, size)
        return None

    def sweep(self, older_than_s: float = STALE_PART_S) -> int:
        """Removes ``.part`` files older than ``older_than_s`` seconds (left by a crash); returns how many."""
        folder = self.root / "sha256"
        if not folder.is_dir():
            return 0
        limit = time.time() - older_than_s
        removed = 0
        for part in folder.glob(f"*/.*{PART_SUFFIX}"):
            try:
                if part.stat().st_mtime <= limit:
                    part.unlink()
                    removed += 1
            except FileNotFoundError:  # an upload finished or another sweep took it meanwhile
                continue
        if removed:
            log.warning("removed %d unfinished evidence upload(s) left in %s", removed, folder)
        return removed


def _size_mismatch(description: str) -> InvalidArgument:
    return InvalidArgument(
        [FieldViolation("metadata.size_bytes", description, reason="EVIDENCE_SIZE_MISMATCH")]
    )


def _lost(problem: EvidenceProblem) -> DataLoss:
    metadata = {"name": resource_name(problem.sha256), "location": problem.location}
    if problem.kind == "missing":
        return DataLoss(problem.describe(), reason="EVIDENCE_MISSING", metadata=metadata)
    metadata["found_sha256"] = problem.found_sha256
    return DataLoss(problem.describe(), reason="EVIDENCE_ALTERED", metadata=metadata)


def _sync_directory(folder: Path) -> None:
    """Makes a rename in ``folder`` durable (POSIX: fsync the directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not possible on every platform (Windows): the rename is then as durable as it gets
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _conforms(store: DirectoryEvidenceStore) -> EvidenceStore:
    return store  # mypy checks here that DirectoryEvidenceStore implements the EvidenceStore port
