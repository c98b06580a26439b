"""Receiving a draw bundle from ``StreamDrawBundle``: chunks checked in order, passed on as they arrive.

The first chunk names the draw, the variant and the content's total length; each chunk says where its data
starts; the last one carries the SHA-256 of the whole content. :func:`receive_bundle` checks all of it, so
a stream that was cut short (no hash, fewer bytes), reordered or altered raises
:class:`~dualdraw_client.errors.BundleIntegrityError` instead of yielding a partial bundle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dualdraw.v1 import verification_pb2

from .errors import BundleIntegrityError

__all__ = ["BundleReceipt", "receive_bundle"]


def _variant_word(value: int) -> str:
    """``"full"`` or ``"public"`` for a ``BundleVariant``; "" when unspecified or unknown."""
    known = verification_pb2.BundleVariant.DESCRIPTOR.values_by_number.get(value)
    return known.name.removeprefix("BUNDLE_VARIANT_").lower() if value and known is not None else ""


@dataclass(frozen=True)
class BundleReceipt:
    """What arrived: the draw, the variant ("full" or "public"), the number of bytes, their hex SHA-256 and
    the chunk count."""

    draw_id: str
    variant: str
    size: int
    sha256: str
    chunks: int


def receive_bundle(
    chunks: Iterable[verification_pb2.DrawBundleChunk],
    write: Callable[[bytes], object],
    *,
    draw_id: str = "",
) -> BundleReceipt:
    """Passes each chunk's data to ``write`` in order and checks the stream: the first chunk's header (and
    ``draw_id`` when given), contiguous offsets, no data past the announced length, nothing after the chunk
    with the hash, and at the end the length and SHA-256. Raises ``BundleIntegrityError`` on any fault;
    ``write`` may then have received part of the bundle (callers writing a file discard it)."""
    digest = hashlib.sha256()
    received = count = 0
    total = -1
    name = variant = expected_sha = ""
    for chunk in chunks:
        if expected_sha:
            raise BundleIntegrityError(f"bundle stream: chunk {count + 1} arrived after the final chunk")
        if count == 0:
            name, variant, total = chunk.draw_id, _variant_word(chunk.variant), chunk.total_size_bytes
            if not name or not variant or total <= 0:
                raise BundleIntegrityError("bundle stream: the first chunk lacks the draw, variant or length")
            if draw_id and name != draw_id:
                raise BundleIntegrityError(f"bundle stream: asked for draw {draw_id}, got draw {name}")
        elif chunk.total_size_bytes and chunk.total_size_bytes != total:
            raise BundleIntegrityError(f"bundle stream: chunk {count + 1} announces a different length")
        if chunk.offset != received:
            raise BundleIntegrityError(
                f"bundle stream: chunk {count + 1} starts at byte {chunk.offset}, expected {received}"
            )
        data = chunk.data
        received += len(data)
        if received > total:
            raise BundleIntegrityError(f"bundle stream: more than the announced {total} bytes")
        digest.update(data)
        write(data)
        count += 1
        expected_sha = chunk.content_sha256
    if count == 0:
        raise BundleIntegrityError("bundle stream: no chunk arrived")
    if not expected_sha or received != total:
        raise BundleIntegrityError(
            f"bundle stream cut short: {received} of {total} bytes"
            + ("" if expected_sha else ", and no final chunk with the SHA-256")
        )
    actual = digest.hexdigest()
    if actual != expected_sha.lower():
        raise BundleIntegrityError(
            f"bundle stream: SHA-256 of the {received} bytes received is {actual},"
            f" the server sent {expected_sha}"
        )
    return BundleReceipt(name, variant, received, actual, count)
