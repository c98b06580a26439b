"""32-byte hashes sorted in place by a radix sort in C, the GIL released (``hash_sort.c``): the sorted
Merkle sets of a draw's commitments."""

from typing import Any

import numpy as np
from typing_extensions import Buffer

def sort_hashes(hashes: Buffer, positions: Buffer | np.ndarray[Any, Any] | None = None) -> None:
    """Sorts the 32-byte records laid end to end in the writable buffer ``hashes`` in place, bytewise
    ascending (as ``sorted`` orders ``bytes``); ``positions``, a writable buffer of one 4-byte item per
    record, is reordered with them. Raises ``ValueError`` when ``hashes`` is not whole records or
    ``positions`` is not one item per record."""
