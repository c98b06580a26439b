"""The directory evidence store and the evidence domain: a file appears under its hash only whole and
checked, a read is checked before and while it runs, and the declared limits refuse an upload up front."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualdraw.adapters.evidence_store import DirectoryEvidenceStore
from dualdraw.domain.errors import DataLoss, InvalidArgument
from dualdraw.domain.evidence import EvidenceDeclaration, EvidenceLimits, sha256_of_name


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


def test_a_file_is_stored_under_its_hash_and_read_back_in_chunks(tmp_path: Path) -> None:
    store = DirectoryEvidenceStore(tmp_path / "ev")
    data = b"photo" * 1000
    sha256 = hashlib.sha256(data).hexdigest()
    blob = store.put(sha256, len(data), chunks(data))
    assert (blob.sha256, blob.size_bytes) == (sha256, len(data))
    assert files(store.root) == [f"sha256/{sha256[:2]}/{sha256}"]
    assert store.location(sha256) == f"sha256/{sha256[:2]}/{sha256}"
    assert b"".join(store.read(sha256, len(data), 4096)) == data
    assert store.check(sha256, len(data)) is None
    assert store.put(sha256, len(data), chunks(data)) == blob  # again: the same file, nothing new
    assert files(store.root) == [f"sha256/{sha256[:2]}/{sha256}"]


def test_an_empty_file_is_evidence_too(tmp_path: Path) -> None:
    store = DirectoryEvidenceStore(tmp_path)
    sha256 = hashlib.sha256(b"").hexdigest()
    store.put(sha256, 0, iter(()))
    assert list(store.read(sha256, 0, 10)) == []


@pytest.mark.parametrize(
    ("declared_size", "declared_sha", "reason"),
    [
        (5000, hashlib.sha256(b"else").hexdigest(), "EVIDENCE_HASH_MISMATCH"),
        (4999, None, "EVIDENCE_SIZE_MISMATCH"),
        (5001, None, "EVIDENCE_SIZE_MISMATCH"),
    ],
)
def test_bytes_other_than_declared_leave_nothing(
    tmp_path: Path, declared_size: int, declared_sha: str | None, reason: str
) -> None:
    store = DirectoryEvidenceStore(tmp_path)
    data = b"x" * 5000
    sha256 = declared_sha or hashlib.sha256(data).hexdigest()
    with pytest.raises(InvalidArgument) as refused:
        store.put(sha256, declared_size, chunks(data))
    assert refused.value.reason == reason
    assert files(tmp_path) == []


def test_an_upload_running_past_its_size_stops_at_once(tmp_path: Path) -> None:
    store = DirectoryEvidenceStore(tmp_path)
    taken: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            taken.append(1)
            yield b"y" * 100

    with pytest.raises(InvalidArgument):
        store.put("a" * 64, 250, endless())
    assert len(taken) == 3
    assert files(tmp_path) == []


def test_a_failing_source_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = DirectoryEvidenceStore(tmp_path)

    def broken() -> Iterator[bytes]:
        yield b"z" * 10
        raise ConnectionError("the caller went away")

    with pytest.raises(ConnectionError):
        store.put("b" * 64, 20, broken())
    assert files(tmp_path) == []


def test_a_file_changed_while_it_is_read_fails_the_read(tmp_path: Path) -> None:
    store = DirectoryEvidenceStore(tmp_path)
    data = bytes(range(256)) * 100
    sha256 = hashlib.sha256(data).hexdigest()
    store.put(sha256, len(data), chunks(data))
    reading = store.read(sha256, len(data), 1000)  # checked whole here
    first = next(reading)
    path = store.path(sha256)
    path.write_bytes(data[:-1] + b"\x00")  # altered after the check, before the rest is read
    with pytest.raises(DataLoss) as lost:
        b"".join([first, *reading])
    assert lost.value.reason == "EVIDENCE_ALTERED"
    assert lost.value.metadata["name"] == f"evidence/{sha256}"


def test_missing_and_altered_files_are_named(tmp_path: Path) -> None:
    store = DirectoryEvidenceStore(tmp_path)
    data = b"report"
    sha256 = hashlib.sha256(data).hexdigest()
    store.put(sha256, len(data), iter([data]))
    store.path(sha256).write_bytes(b"r3port")
    altered = store.check(sha256, len(data))
    assert altered is not None
    assert (altered.kind, altered.found_sha256) == ("altered", hashlib.sha256(b"r3port").hexdigest())
    with pytest.raises(DataLoss) as lost:
        store.read(sha256, len(data), 10)
    assert lost.value.reason == "EVIDENCE_ALTERED"
    store.path(sha256).unlink()
    missing = store.check(sha256, len(data))
    assert missing is not None
    assert missing.describe() == f"evidence/{sha256}: the file sha256/{sha256[:2]}/{sha256} is missing"
    with pytest.raises(DataLoss) as lost:
        store.read(sha256, len(data), 10)
    assert lost.value.reason == "EVIDENCE_MISSING"
    store.put(sha256, len(data), iter([data]))  # a good upload restores it
    assert store.check(sha256, len(data)) is None


def test_declarations_are_checked_against_the_limits() -> None:
    limits = EvidenceLimits.parse(1000, " Application/PDF, image/jpeg ")
    assert limits.content_types == frozenset({"application/pdf", "image/jpeg"})
    ok = EvidenceDeclaration("A" * 64, 1000, "application/PDF; charset=binary", " lab.pdf ").check(limits)
    assert ok == EvidenceDeclaration("a" * 64, 1000, "application/pdf", "lab.pdf")
    with pytest.raises(InvalidArgument) as refused:
        EvidenceDeclaration("xyz", 1001, "text/plain", "../etc/passwd").check(limits)
    assert [(v.field, v.reason) for v in refused.value.violations] == [
        ("metadata.sha256", "SHA256_INVALID"),
        ("metadata.size_bytes", "EVIDENCE_TOO_LARGE"),
        ("metadata.content_type", "EVIDENCE_TYPE_NOT_ALLOWED"),
        ("metadata.file_name", "FORMAT_INVALID"),
    ]


@pytest.mark.parametrize(("max_bytes", "types"), [(0, "image/png"), (10, ""), (10, "png")])
def test_bad_limits_stop_the_server(max_bytes: int, types: str) -> None:
    with pytest.raises(ValueError, match="DUALDRAW_EVIDENCE"):
        EvidenceLimits.parse(max_bytes, types)


def test_evidence_names_are_hashes() -> None:
    sha256 = "ab" * 32
    assert sha256_of_name(f"evidence/{sha256.upper()}") == sha256
    assert sha256_of_name(sha256) == sha256
    for bad in ("evidence/xyz", "photos/" + sha256, ""):
        with pytest.raises(InvalidArgument) as refused:
            sha256_of_name(bad)
        assert refused.value.reason == "EVIDENCE_NAME_INVALID"
