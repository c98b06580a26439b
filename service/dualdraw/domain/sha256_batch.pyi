"""SHA-256 over many short messages a call, in C with OpenSSL (``sha256_batch.c``): the loops of a draw's
commitments and tickets. Each function but ``ascending_digest`` releases the GIL while it hashes."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from typing_extensions import Buffer

def framed_leaves(
    salt_prefix: bytes,
    codes: Sequence[str],
    frame_of: Buffer | np.ndarray[Any, Any],
    middles: Sequence[bytes],
    ends: Sequence[bytes],
    head: bytes,
) -> bytes:
    """For each ASCII code with ``f = frame_of[i]``: ``salt = SHA256(salt_prefix ‖ code).hexdigest()`` and
    ``SHA256(head ‖ code ‖ middles[f] ‖ salt ‖ ends[f])``, the digests laid end to end in order. Raises
    ``ValueError`` for a code beyond ASCII or a frame number without a frame."""

def prefixed_digests(prefix: bytes, codes: Sequence[str]) -> bytes:
    """``SHA256(prefix ‖ code)`` of each ASCII code, the digests laid end to end in order."""

def merkle_root(leaves: Buffer) -> bytes:
    """The RFC 6962 root of the 32-byte leaf hashes laid end to end in ``leaves`` (``SHA256(b"")`` for
    none). Raises ``ValueError`` when the length is not a multiple of 32."""

def ascending_digest(texts: Sequence[str]) -> bytes | None:
    """``SHA256`` of ``texts`` joined by ``b"\\n"`` when they are non-empty ASCII without a line feed and
    strictly ascending (a set digest of keys given sorted); ``None`` when any of that fails. Raises
    ``TypeError`` for an item that is not ``str``."""
