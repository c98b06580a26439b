"""Numbers in arrays: where each first occurs, without sorting them."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def first_places(numbers: npt.NDArray[np.intp], bound: int) -> npt.NDArray[np.intp]:
    """For each number below ``bound``, the position of its first occurrence in ``numbers`` (all in
    ``range(bound)``), or ``len(numbers)`` when it does not occur: one pass, where ``np.unique`` sorts
    (0.1 s for a million numbers)."""
    first = np.full(bound, len(numbers), dtype=np.intp)
    np.minimum.at(first, numbers, np.arange(len(numbers), dtype=np.intp))
    return first
