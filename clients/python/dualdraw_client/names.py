"""Resource names (``departments/{department}``) built from the domain keys callers pass."""

from __future__ import annotations


def named(collection: str, key: str) -> str:
    """``{collection}/{key}``; a key that already is a name in ``collection`` is kept as it is."""
    return key if key.startswith(f"{collection}/") else f"{collection}/{key}"
