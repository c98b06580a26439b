"""The client's assembly of a streamed draw bundle (``receive_bundle``, ``DualdrawClient.write_draw_bundle``,
``dualdraw draw export``) against fake chunks: whole streams pass, cut, reordered or altered ones raise."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from dualdraw.service_layer.bundles import BundleContent
from dualdraw.v1 import verification_pb2, verification_pb2_grpc
from dualdraw_client import BundleIntegrityError, DualdrawClient, receive_bundle
from dualdraw_client.cli import main as cli_main

CONTENT = b'{"format":"dualdraw-bundle/1","pad":"' + b"x" * 2501 + b'"}\n'
Chunk = verification_pb2.DrawBundleChunk


def chunks_of(content: bytes, size: int = 1000, draw_id: str = "d-1") -> list[Chunk]:
    """The chunks a well-behaved server sends for ``content``."""
    out = []
    for offset in range(0, len(content), size):
        out.append(Chunk(offset=offset, data=content[offset : offset + size]))
    out[0].draw_id, out[0].total_size_bytes = draw_id, len(content)
    out[0].variant = verification_pb2.BUNDLE_VARIANT_FULL
    out[-1].content_sha256 = hashlib.sha256(content).hexdigest()
    return out


def received(chunks: list[Chunk], **kwargs: str) -> bytes:
    parts: list[bytes] = []
    receive_bundle(chunks, parts.append, **kwargs)
    return b"".join(parts)


def test_a_whole_stream_is_assembled_and_described() -> None:
    chunks = chunks_of(CONTENT)
    assert len(chunks) == 3
    parts: list[bytes] = []
    receipt = receive_bundle(chunks, parts.append, draw_id="d-1")
    assert b"".join(parts) == CONTENT
    assert (receipt.draw_id, receipt.variant, receipt.chunks) == ("d-1", "full", 3)
    assert receipt.size == len(CONTENT)
    assert receipt.sha256 == hashlib.sha256(CONTENT).hexdigest()
    assert received(chunks_of(CONTENT, size=10_000)) == CONTENT  # one chunk: header and hash together


def test_a_stream_cut_before_its_last_chunk_is_detected() -> None:
    with pytest.raises(BundleIntegrityError, match=r"cut short: 2000 of 2541 bytes, and no final chunk"):
        received(chunks_of(CONTENT)[:-1])
    with pytest.raises(BundleIntegrityError, match="no chunk arrived"):
        received([])


def test_a_wrong_hash_is_detected() -> None:
    chunks = chunks_of(CONTENT)
    chunks[-1].content_sha256 = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(BundleIntegrityError, match="SHA-256 of the 2541 bytes received is"):
        received(chunks)


def test_altered_data_of_the_same_length_is_detected_by_the_hash() -> None:
    chunks = chunks_of(CONTENT)
    chunks[1].data = chunks[1].data[:-1] + b"y"
    with pytest.raises(BundleIntegrityError, match="SHA-256"):
        received(chunks)
    assert BundleIntegrityError("x").code == grpc.StatusCode.DATA_LOSS


def test_a_missing_middle_chunk_or_reordered_chunks_are_detected() -> None:
    chunks = chunks_of(CONTENT)
    with pytest.raises(BundleIntegrityError, match="chunk 2 starts at byte 2000, expected 1000"):
        received([chunks[0], chunks[2]])
    with pytest.raises(BundleIntegrityError, match="chunk 2 starts at byte 2000"):
        received([chunks[0], chunks[2], chunks[1]])


def test_header_faults_and_extra_data_are_detected() -> None:
    chunks = chunks_of(CONTENT)
    headless = [Chunk(offset=0, data=chunks[0].data), *chunks[1:]]
    with pytest.raises(BundleIntegrityError, match="first chunk lacks"):
        received(headless)
    with pytest.raises(BundleIntegrityError, match="asked for draw d-2, got draw d-1"):
        received(chunks, draw_id="d-2")
    short = chunks_of(CONTENT)
    short[0].total_size_bytes = 1500
    with pytest.raises(BundleIntegrityError, match="more than the announced 1500 bytes"):
        received(short)
    extra = [*chunks_of(CONTENT), Chunk(offset=len(CONTENT), data=b"more")]
    with pytest.raises(BundleIntegrityError, match="after the final chunk"):
        received(extra)


@pytest.mark.parametrize("size", [1, 7, 1000, 2541, 4096])
def test_the_server_cuts_its_spooled_bundle_into_chunks_of_exactly_the_size(
    size: int, tmp_path: Path
) -> None:
    spool = tmp_path / "bundle"
    spool.write_bytes(CONTENT)
    digest = hashlib.sha256(CONTENT).hexdigest()
    chunks = list(
        BundleContent("d-1", "full", "dualdraw-bundle/1", str(spool), len(CONTENT), digest, size).chunks()
    )
    assert b"".join(chunks) == CONTENT
    assert all(len(c) == size for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= size


# -- the client and the CLI against a fake server that sends what it is told ----------------------------


class FakeVerifiable(verification_pb2_grpc.VerifiableDrawServiceServicer):
    def __init__(self) -> None:
        self.chunks: list[Chunk] = []

    def StreamDrawBundle(
        self, request: verification_pb2.StreamDrawBundleRequest, context: grpc.ServicerContext
    ) -> Iterator[Chunk]:
        yield from self.chunks


@pytest.fixture
def fake_server() -> Iterator[tuple[FakeVerifiable, str]]:
    fake = FakeVerifiable()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    verification_pb2_grpc.add_VerifiableDrawServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield fake, f"127.0.0.1:{port}"
    finally:
        server.stop(None)


def test_the_client_returns_a_whole_bundle_and_refuses_a_cut_one(
    fake_server: tuple[FakeVerifiable, str],
) -> None:
    fake, target = fake_server
    with DualdrawClient(target, actor="t", timeout=10) as client:
        fake.chunks = chunks_of(CONTENT)
        assert client.export_draw_bundle("d-1") == CONTENT
        fake.chunks = chunks_of(CONTENT)[:2]
        with pytest.raises(BundleIntegrityError, match="cut short"):
            client.export_draw_bundle("d-1")


def test_dualdraw_draw_export_leaves_no_file_from_a_cut_stream(
    fake_server: tuple[FakeVerifiable, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, target = fake_server
    out = tmp_path / "draw.json"
    fake.chunks = chunks_of(CONTENT)[:2]
    assert cli_main(["draw", "export", "d-1", "-o", str(out), "--server", target]) == 1
    assert "DATA_LOSS: bundle stream cut short" in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []
    fake.chunks = chunks_of(CONTENT)
    assert cli_main(["draw", "export", "d-1", "-o", str(out), "--server", target]) == 0
    assert out.read_bytes() == CONTENT
    assert sorted(tmp_path.iterdir()) == [out]
