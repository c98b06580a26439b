"""Object profiles named by their content: the key of the ``object_profiles`` row an object points to.

An object's profile is its seven attributes besides the credit code and the name, as stored
(``PROFILE_NAMES``). Objects with equal attributes share one profile row, so a draw reads a million objects
as a credit code and a key each, and every distinct profile once: reading the seven attribute columns of
every object was most of a draw's load (1.1 s against 0.4 s at a million objects on PostgreSQL).

The key is computed from the values alone, so any writer on either backend names a profile the same way
without looking it up first: a row once written never changes, and concurrent writers of one profile write
the same row.
"""

from __future__ import annotations

import functools
import hashlib

PROFILE_NAMES = (
    "region_code",
    "registering_department_id",
    "industry",
    "business_lines_json",
    "risk_class",
    "status",
    "office",
)
"""The columns of a profile, in the order ``profile_key`` reads them (the same names in ``objects``)."""


def profile_key(values: tuple[str, ...]) -> str:
    """The key of the profile whose stored values (``PROFILE_NAMES``, in order) are ``values``: the first 128
    bits of SHA-256, in hex, over each value preceded by its length in code points and a colon (no two value
    lists give the same text). 128 bits keep an accidental collision out of reach among billions of
    profiles; an importer able to craft one could as well import the attributes it wanted."""
    text = "".join(map(_framed, values))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@functools.lru_cache(maxsize=65_536)
def _framed(value: str) -> str:
    """``value`` preceded by its length and a colon: cached, as regions, departments, industries and offices
    repeat across the profiles of an import (a third of ``profile_key``'s time otherwise)."""
    return f"{len(value)}:{value}"


class ProfileKeys(dict[tuple[str, ...], str]):
    """Profile values → key, each key computed once (``profile_key``) however many objects share it; what
    it holds afterwards are the profiles a write must store (``rows``)."""

    def __missing__(self, values: tuple[str, ...]) -> str:
        key = self[values] = profile_key(values)
        return key

    def rows(self) -> list[tuple[str, ...]]:
        """The ``object_profiles`` rows of the profiles met: the key, then the values."""
        return [(key, *values) for values, key in self.items()]
