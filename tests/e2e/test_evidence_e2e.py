"""Evidence files over real gRPC on both databases: streamed round trips, refused uploads that leave nothing
visible (no file, no row), size and type limits, idempotent re-uploads, and missing or altered files found
by a download and by ``dualdraw audit verify --evidence``."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from dualdraw.entrypoints.cli.main import main
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.settings import Settings
from dualdraw.v1 import evidence_pb2, evidence_pb2_grpc
from dualdraw_client import DualdrawClient
from dualdraw_client.errors import DataLossError, InvalidArgumentError, NotFoundError
from tests.e2e.conftest import RULES

MIB = 1024 * 1024


@dataclass
class EvidenceServer:
    running: RunningServer
    target: str
    root: Path

    def client(self) -> DualdrawClient:
        return DualdrawClient(self.target, actor="inspector-7", timeout=60)

    def visible(self) -> list[str]:
        """Every file in the store (names relative to its root), temporary ones included."""
        if not self.root.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def path(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256


@pytest.fixture
def evidence_server(database_url: str, tmp_path: Path) -> Iterator[EvidenceServer]:
    root = tmp_path / "evidence"
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        draw_process="off",
        evidence_dir=root,
        evidence_max_bytes=4 * MIB,
        evidence_content_types="application/pdf,image/jpeg",
    )
    running = create_server(settings)
    try:
        yield EvidenceServer(running, f"127.0.0.1:{running.port}", root)
    finally:
        running.stop(grace=1)


def write_file(folder: Path, name: str, size: int, seed: bytes = b"evidence") -> tuple[Path, str]:
    """A file of ``size`` bytes, different for each ``seed``; returns it and its SHA-256."""
    block = hashlib.sha256(seed).digest() * 4096
    data = (block * (size // len(block) + 1))[:size]
    path = folder / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def raw_upload(server: EvidenceServer, messages: list[evidence_pb2.UploadEvidenceRequest]) -> grpc.RpcError:
    """Sends ``messages`` as they are, which the server must refuse; returns its error."""
    with grpc.insecure_channel(server.target) as channel:
        stub = evidence_pb2_grpc.EvidenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.UploadEvidence(iter(messages), timeout=30, metadata=(("x-dualdraw-actor", "inspector-7"),))
    return caught.value


def nothing_recorded(server: EvidenceServer, client: DualdrawClient, sha256: str) -> None:
    assert list(client.iter_evidence()) == []
    with pytest.raises(NotFoundError):
        client.get_evidence(sha256)
    assert server.visible() == []


def test_a_multi_chunk_file_round_trips_by_its_hash(evidence_server: EvidenceServer, tmp_path: Path) -> None:
    path, sha256 = write_file(tmp_path, "site-photo.jpg", 2 * MIB + 12345)
    sent: list[int] = []
    with evidence_server.client() as client:
        stored = client.upload_evidence(path, sent=sent.append)
        assert sent == [MIB, MIB, 12345]
        assert stored.name == f"evidence/{sha256}"
        assert (stored.sha256, stored.size_bytes) == (sha256, path.stat().st_size)
        assert (stored.content_type, stored.file_name, stored.uploader) == (
            "image/jpeg",
            "site-photo.jpg",
            "inspector-7",
        )
        assert evidence_server.visible() == [f"sha256/{sha256[:2]}/{sha256}"]
        assert list(client.iter_evidence()) == [stored]
        assert client.get_evidence(sha256.upper()) == stored

        parts: list[bytes] = []
        receipt = client.download_evidence(stored.name, parts.append)
    assert [len(p) for p in parts] == [MIB, MIB, 12345]
    assert b"".join(parts) == path.read_bytes()
    assert (receipt.sha256, receipt.size_bytes, receipt.content_type) == (
        sha256,
        stored.size_bytes,
        "image/jpeg",
    )


def test_uploading_the_same_bytes_again_answers_the_first_record(
    evidence_server: EvidenceServer, tmp_path: Path
) -> None:
    path, sha256 = write_file(tmp_path, "report.pdf", 300_000)
    with evidence_server.client() as client:
        first = client.upload_evidence(path)
        again = client.upload_evidence(path, file_name="renamed.pdf")  # a new request id
        with DualdrawClient(evidence_server.target, actor="inspector-8") as other:
            by_other = other.upload_evidence(path)
        events = list(client.iter_audit_events(resource=f"evidence/{sha256}"))
    assert first == again == by_other  # the first upload's name, uploader and time
    assert first.file_name == "report.pdf"
    assert [e.action for e in events] == ["evidence.upload"]
    assert evidence_server.visible() == [f"sha256/{sha256[:2]}/{sha256}"]


def test_a_repeated_request_id_is_answered_from_the_ledger(
    evidence_server: EvidenceServer, tmp_path: Path
) -> None:
    path, _ = write_file(tmp_path, "report.pdf", 1000)
    with evidence_server.client() as client:
        first = client.upload_evidence(path, request_id="upload-1")
        assert client.upload_evidence(path, request_id="upload-1") == first


def test_bytes_other_than_declared_are_refused_and_nothing_is_visible(
    evidence_server: EvidenceServer, tmp_path: Path
) -> None:
    data = b"%PDF-1.7 a lab report" * 100_000  # two chunks
    declared = hashlib.sha256(b"another file").hexdigest()
    metadata = evidence_pb2.EvidenceUpload(
        sha256=declared, size_bytes=len(data), content_type="application/pdf", file_name="lab.pdf"
    )
    chunks = [evidence_pb2.UploadEvidenceRequest(chunk=data[i : i + MIB]) for i in range(0, len(data), MIB)]
    error = raw_upload(evidence_server, [evidence_pb2.UploadEvidenceRequest(metadata=metadata), *chunks])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "EVIDENCE_HASH_MISMATCH" in str(error.trailing_metadata())
    with evidence_server.client() as client:
        nothing_recorded(evidence_server, client, declared)


@pytest.mark.parametrize(("sent_bytes", "declared_bytes"), [(1000, 2000), (2000, 1000)])
def test_an_upload_cut_short_or_running_long_is_refused_and_nothing_is_visible(
    evidence_server: EvidenceServer, sent_bytes: int, declared_bytes: int
) -> None:
    data = os.urandom(sent_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    metadata = evidence_pb2.EvidenceUpload(
        sha256=sha256, size_bytes=declared_bytes, content_type="image/jpeg"
    )
    error = raw_upload(
        evidence_server,
        [
            evidence_pb2.UploadEvidenceRequest(metadata=metadata),
            evidence_pb2.UploadEvidenceRequest(chunk=data),
        ],
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "EVIDENCE_SIZE_MISMATCH" in str(error.trailing_metadata())
    with evidence_server.client() as client:
        nothing_recorded(evidence_server, client, sha256)


def test_size_and_type_limits_refuse_before_any_byte_is_stored(
    evidence_server: EvidenceServer, tmp_path: Path
) -> None:
    big, big_sha = write_file(tmp_path, "scan.pdf", 4 * MIB + 1)
    text, text_sha = write_file(tmp_path, "notes.txt", 100)
    with evidence_server.client() as client:
        with pytest.raises(InvalidArgumentError) as too_large:
            client.upload_evidence(big)
        assert too_large.value.reason == "EVIDENCE_TOO_LARGE"
        assert [v.field for v in too_large.value.field_violations] == ["metadata.size_bytes"]
        with pytest.raises(InvalidArgumentError) as wrong_type:
            client.upload_evidence(text)
        assert wrong_type.value.reason == "EVIDENCE_TYPE_NOT_ALLOWED"
        assert "application/pdf, image/jpeg" in wrong_type.value.field_violations[0].description
        nothing_recorded(evidence_server, client, big_sha)
        with pytest.raises(NotFoundError):
            client.get_evidence(text_sha)
        exact, _ = write_file(tmp_path, "exact.pdf", 4 * MIB)  # the limit itself is taken
        assert client.upload_evidence(exact).size_bytes == 4 * MIB


def test_an_upload_must_start_with_its_metadata(evidence_server: EvidenceServer) -> None:
    error = raw_upload(evidence_server, [evidence_pb2.UploadEvidenceRequest(chunk=b"x")])
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "EVIDENCE_STREAM_INVALID" in str(error.trailing_metadata())


def test_a_failure_between_writing_and_renaming_leaves_nothing_visible(
    evidence_server: EvidenceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, sha256 = write_file(tmp_path, "photo.jpg", MIB + 5)

    def failing_replace(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("dualdraw.adapters.evidence_store.os.replace", failing_replace)
    with evidence_server.client() as client:
        with pytest.raises(Exception, match="internal"):
            client.upload_evidence(path)
        assert evidence_server.visible() == []  # the temporary file went too
        monkeypatch.undo()
        nothing_recorded(evidence_server, client, sha256)
        assert client.upload_evidence(path).sha256 == sha256


def test_an_altered_file_fails_its_download_and_the_audit_check(
    evidence_server: EvidenceServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, sha256 = write_file(tmp_path, "photo.jpg", 3000)
    good, good_sha = write_file(tmp_path, "other.jpg", 2000, seed=b"other")
    with evidence_server.client() as client:
        client.upload_evidence(path)
        client.upload_evidence(good)
        stored = evidence_server.path(sha256)
        stored.write_bytes(stored.read_bytes()[:-1] + b"!")  # one byte changed
        with pytest.raises(DataLossError) as lost:
            client.download_evidence(sha256, lambda _: None)
        assert lost.value.reason == "EVIDENCE_ALTERED"
        assert lost.value.metadata["name"] == f"evidence/{sha256}"
        assert lost.value.metadata["location"] == f"sha256/{sha256[:2]}/{sha256}"
        check = client.verify_evidence()
    assert (check.ok, check.evidence_checked, check.problem_count) == (False, 2, 1)
    (problem,) = check.problems
    assert (problem.evidence, problem.kind) == (
        f"evidence/{sha256}",
        evidence_pb2.EvidenceProblem.KIND_ALTERED,
    )
    assert problem.found_sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()

    monkeypatch.setenv("DUALDRAW_SERVER", evidence_server.target)
    capsys.readouterr()
    assert main(["audit", "verify", "--evidence"]) == 1
    out = capsys.readouterr().out
    assert f"ALTERED: evidence/{sha256}: sha256/{sha256[:2]}/{sha256} holds 3000 bytes" in out
    assert good_sha not in out

    # a good upload of the original bytes repairs the store
    with evidence_server.client() as client:
        client.upload_evidence(path)
        assert client.verify_evidence().ok
    assert main(["audit", "verify", "--evidence"]) == 0
    assert "OK: 2 evidence files exist with their recorded SHA-256" in capsys.readouterr().out


def test_a_missing_file_fails_its_download_and_the_audit_check(
    evidence_server: EvidenceServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, sha256 = write_file(tmp_path, "report.pdf", 5000)
    with evidence_server.client() as client:
        client.upload_evidence(path)
        evidence_server.path(sha256).unlink()
        with pytest.raises(DataLossError) as lost:
            client.download_evidence(sha256, lambda _: None)
        assert lost.value.reason == "EVIDENCE_MISSING"
        assert lost.value.metadata["name"] == f"evidence/{sha256}"
    monkeypatch.setenv("DUALDRAW_SERVER", evidence_server.target)
    capsys.readouterr()
    assert main(["audit", "verify", "--evidence", "--json"]) == 1
    assert main(["audit", "verify", "--evidence"]) == 1
    out = capsys.readouterr().out
    assert f"MISSING: evidence/{sha256}: no file at sha256/{sha256[:2]}/{sha256}" in out
    assert "1 of 1 evidence files are missing or altered" in out


def test_the_cli_uploads_lists_and_downloads(
    evidence_server: EvidenceServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, sha256 = write_file(tmp_path, "scan.bin", MIB + 1)
    monkeypatch.setenv("DUALDRAW_SERVER", evidence_server.target)
    capsys.readouterr()
    assert main(["evidence", "upload", str(path), "--content-type", "application/pdf"]) == 0
    assert capsys.readouterr().out.strip() == sha256
    assert main(["evidence", "list", "--json"]) == 0
    assert f'"sha256": "{sha256}"' in capsys.readouterr().out
    out = tmp_path / "copy.pdf"
    assert main(["evidence", "download", sha256, str(out)]) == 0
    assert out.read_bytes() == path.read_bytes()
    evidence_server.path(sha256).write_bytes(b"tampered")
    assert main(["evidence", "download", sha256, str(tmp_path / "bad.pdf")]) == 1
    assert not (tmp_path / "bad.pdf").exists()
    assert not (tmp_path / "bad.pdf.part").exists()
    assert "EVIDENCE_ALTERED" in capsys.readouterr().err


def test_the_http_gateway_streams_uploads_and_downloads(database_url: str, tmp_path: Path) -> None:
    from tests.e2e.http_calls import frames, post_stream
    from tests.e2e.server_processes import free_port

    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        draw_process="off",
        evidence_dir=tmp_path / "evidence",
        http_address=f"127.0.0.1:{free_port()}",
    )
    running = create_server(settings)
    try:
        base = f"http://{settings.http_address}"
        data = os.urandom(MIB + 10)
        sha256 = hashlib.sha256(data).hexdigest()
        metadata = {"sha256": sha256, "sizeBytes": str(len(data)), "contentType": "image/png"}
        chunks = [{"chunk": base64.b64encode(data[i : i + MIB]).decode()} for i in range(0, len(data), MIB)]
        reply = post_stream(
            base, "dualdraw.v1.EvidenceService/UploadEvidence", [{"metadata": metadata}, *chunks]
        )
        assert reply.status == 200
        (flags, uploaded), (end, trailer) = frames(reply.body)
        assert (flags, end) == (0, 2)
        assert "error" not in trailer
        assert uploaded["name"] == f"evidence/{sha256}"
        reply = post_stream(
            base, "dualdraw.v1.EvidenceService/DownloadEvidence", [{"name": uploaded["name"]}]
        )
        *messages, (end, trailer) = frames(reply.body)
        assert end == 2
        assert "error" not in trailer
        assert b"".join(base64.b64decode(m.get("data", "")) for _, m in messages) == data
    finally:
        running.stop(grace=1)
