"""Evidence (photos, PDFs, lab reports of an inspection record), kept content-addressed.

An evidence item is named by the SHA-256 of its bytes (``evidence/{sha256}``): the record that cites it
holds the hash and the size, so the file can be checked at any time and never silently replaced. The
limits (largest file, content types taken) are the bureau's settings, given to the use cases as values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dualdraw.domain.errors import FieldViolation, InvalidArgument, Violations

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
MAX_FILE_NAME = 255
CHUNK_BYTES = 1024 * 1024
"""Most bytes one upload or download chunk carries."""
COLLECTION = "evidence"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/tiff")


def resource_name(sha256: str) -> str:
    """``evidence/{sha256}``."""
    return f"{COLLECTION}/{sha256}"


def sha256_of_name(name: str, field: str = "name") -> str:
    """The hash an ``evidence/{sha256}`` name (or a bare hash) names; ``InvalidArgument`` otherwise.
    Upper-case hex is taken and written in lower case."""
    value = name.strip()
    value = value.removeprefix(f"{COLLECTION}/").lower()
    if not SHA256_HEX.fullmatch(value):
        raise InvalidArgument(
            [
                FieldViolation(
                    field,
                    f"must be {COLLECTION}/ followed by 64 hex digits (a SHA-256), got {name[:80]!r}",
                    reason="EVIDENCE_NAME_INVALID",
                )
            ]
        )
    return value


@dataclass(frozen=True)
class EvidenceLimits:
    """What the server takes: files of at most ``max_bytes`` and of the ``content_types`` listed."""

    max_bytes: int = DEFAULT_MAX_BYTES
    content_types: frozenset[str] = frozenset(DEFAULT_CONTENT_TYPES)

    @classmethod
    def parse(cls, max_bytes: int, content_types: str) -> EvidenceLimits:
        """Limits from settings text (comma-separated content types); ``ValueError`` naming the bad one."""
        if max_bytes < 1:
            raise ValueError(f"DUALDRAW_EVIDENCE_MAX_BYTES must be at least 1, got {max_bytes}")
        types = frozenset(t.strip().lower() for t in content_types.split(",") if t.strip())
        if not types:
            raise ValueError("DUALDRAW_EVIDENCE_CONTENT_TYPES names no content type")
        for t in sorted(types):
            if not CONTENT_TYPE.fullmatch(t):
                raise ValueError(f"DUALDRAW_EVIDENCE_CONTENT_TYPES: {t!r} is not a type/subtype")
        return cls(max_bytes, types)


@dataclass(frozen=True)
class EvidenceDeclaration:
    """What an uploader says of a file before sending it: its hash, size, content type and file name."""

    sha256: str
    size_bytes: int
    content_type: str
    file_name: str

    def check(self, limits: EvidenceLimits, prefix: str = "metadata") -> EvidenceDeclaration:
        """The declaration in canonical form (lower-case hash and type, trimmed name); ``InvalidArgument``
        naming each field at fault, with ``EVIDENCE_TOO_LARGE`` / ``EVIDENCE_TYPE_NOT_ALLOWED`` for the
        limits."""
        v = Violations()
        sha256 = self.sha256.strip().lower()
        if not SHA256_HEX.fullmatch(sha256):
            v.add(
                f"{prefix}.sha256", "must be 64 hex digits (the SHA-256 of the file)", reason="SHA256_INVALID"
            )
        if self.size_bytes < 0:
            v.add(f"{prefix}.size_bytes", "must not be negative", reason="VALUE_OUT_OF_RANGE")
        elif self.size_bytes > limits.max_bytes:
            v.add(
                f"{prefix}.size_bytes",
                f"{self.size_bytes} bytes is more than the {limits.max_bytes} this server takes",
                reason="EVIDENCE_TOO_LARGE",
            )
        content_type = self.content_type.split(";", 1)[0].strip().lower()
        if not content_type:
            v.add(f"{prefix}.content_type", "is required", reason="FIELD_REQUIRED")
        elif content_type not in limits.content_types:
            allowed = ", ".join(sorted(limits.content_types))
            v.add(
                f"{prefix}.content_type",
                f"{content_type[:80]!r} is not taken; allowed: {allowed}"[:160],
                reason="EVIDENCE_TYPE_NOT_ALLOWED",
            )
        file_name = self.file_name.strip()
        if len(file_name) > MAX_FILE_NAME:
            v.add(f"{prefix}.file_name", f"at most {MAX_FILE_NAME} characters", reason="VALUE_TOO_LONG")
        elif any(ord(c) < 32 or c in "/\\" for c in file_name):
            v.add(
                f"{prefix}.file_name",
                "a bare file name: no folders, no control characters",
                reason="FORMAT_INVALID",
            )
        v.raise_if_any()
        return EvidenceDeclaration(sha256, self.size_bytes, content_type, file_name)


@dataclass(frozen=True)
class Evidence:
    """A stored evidence file: its SHA-256 (hex) and size, the content type and original file name given
    at its first upload, who uploaded it first and when."""

    sha256: str
    size_bytes: int
    content_type: str
    file_name: str
    uploaded_by: str
    uploaded_at: dt.datetime

    @property
    def name(self) -> str:
        return resource_name(self.sha256)


@dataclass(frozen=True)
class EvidenceProblem:
    """A stored evidence row whose file is not what the row says: ``kind`` is ``missing`` (no file) or
    ``altered`` (other bytes: ``found_sha256`` and ``found_size`` say what is there); ``location`` names the
    file in the store."""

    sha256: str
    kind: str
    location: str
    found_sha256: str = ""
    found_size: int = -1

    @property
    def name(self) -> str:
        return resource_name(self.sha256)

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.name}: the file {self.location} is missing"
        return (
            f"{self.name}: the file {self.location} was altered"
            f" ({self.found_size} bytes with SHA-256 {self.found_sha256})"
        )


@dataclass(frozen=True)
class Citation:
    """A record's reference to an evidence file: ``at`` is the path of the cited element in the request
    (``inspection_record.attachments[2]``), then the hash, the size and, when the citation carries one, the
    content type (empty: not cited); ``size_field`` names the size's field in the request."""

    at: str
    sha256: str
    size_bytes: int
    content_type: str = ""
    size_field: str = "size"


def citation_problems(citations: Iterable[Citation], stored: Mapping[str, Evidence]) -> list[FieldViolation]:
    """One violation per citation that does not name a stored file as it is recorded in ``stored`` (the
    rows of the cited hashes): ``EVIDENCE_NOT_UPLOADED`` (on ``<at>.sha256``), else
    ``EVIDENCE_SIZE_MISMATCH`` (``<at>.<size_field>``), else ``EVIDENCE_TYPE_MISMATCH``
    (``<at>.content_type``)."""
    out: list[FieldViolation] = []
    for c in citations:
        found = stored.get(c.sha256)
        if found is None:
            out.append(
                FieldViolation(
                    f"{c.at}.sha256",
                    f"no evidence {resource_name(c.sha256)[:80]} was uploaded: upload the file first",
                    reason="EVIDENCE_NOT_UPLOADED",
                )
            )
        elif found.size_bytes != c.size_bytes:
            out.append(
                FieldViolation(
                    f"{c.at}.{c.size_field}",
                    f"{found.name} has {found.size_bytes} bytes, not {c.size_bytes}",
                    reason="EVIDENCE_SIZE_MISMATCH",
                )
            )
        elif c.content_type and c.content_type.split(";", 1)[0].strip().lower() != found.content_type:
            out.append(
                FieldViolation(
                    f"{c.at}.content_type",
                    f"{found.name} was uploaded as {found.content_type}, not {c.content_type[:80]!r}",
                    reason="EVIDENCE_TYPE_MISMATCH",
                )
            )
    return out
