"""Lines framed around ASCII codes, many a call, in C (``framed_text.c``): the text of a draw's stored
entries and plan rows (written with the GIL released), and whether texts are plain for canonical JSON."""

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from typing_extensions import Buffer

def framed_lines(
    head: bytes, codes: Sequence[str], frame_of: Buffer | np.ndarray[Any, Any], ends: Sequence[bytes]
) -> bytes:
    """``head ‖ code ‖ ends[frame_of[i]]`` for each ASCII code, the lines joined by ``b"\\n"`` (none after
    the last). Raises ``ValueError`` for a code beyond ASCII or a frame number without an end."""

def plain(texts: Iterable[str]) -> bool:
    """Whether every one of ``texts`` is printable ASCII other than ``"`` and ``\\``: what canonical JSON
    writes unchanged. Raises ``TypeError`` for an item that is not ``str``."""
