"""Fact ids that durable_rules cannot confuse.

durable_rules indexes the facts of a session by a 32-bit hash of their ``id`` only (``storeMessage`` in
``src/rules/state.c``): a second fact whose id hashes like one already stored is reported as "observed"
(code 2, which a later "not handled" in the same batch masks) and silently dropped. The hash is
``fnv1Hash32``: FNV-1a over the bytes of the id *as it appears between the quotes of the JSON text* (escapes
included, UTF-8 for what ``json.dumps(..., ensure_ascii=False)`` leaves unescaped), each byte taken as a
signed ``char`` (x86-64), so bytes >= 0x80 are sign-extended before the XOR. ``durable_hash`` reproduces it;
``SessionFactIds`` hands out ids whose hashes are distinct within one session, re-keying a colliding id by
appending ``~1``, ``~2``, ... (measured: ``o579599`` and ``o762382`` both hash to 3835111554).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

_FNV_OFFSET_BASIS = 0x811C9DC5
_FNV_PRIME = 16777619
_MASK = 0xFFFFFFFF


def durable_hash(fact_id: str) -> int:
    """The 32-bit hash durable_rules files the fact with id ``fact_id`` under."""
    value = _FNV_OFFSET_BASIS
    if fact_id.isascii() and fact_id.isprintable() and '"' not in fact_id and "\\" not in fact_id:
        for byte in fact_id.encode("ascii"):  # the JSON text is the id itself; no byte is negative
            value = ((value ^ byte) * _FNV_PRIME) & _MASK
        return value
    for byte in json.dumps(fact_id, ensure_ascii=False)[1:-1].encode("utf-8"):
        value = ((value ^ (byte | 0xFFFFFF00 if byte >= 0x80 else byte)) * _FNV_PRIME) & _MASK
    return value


class SessionFactIds:
    """Ids for the facts of one durable session, distinct under ``durable_hash``.

    ``reserved`` are ids durable or the engine store in the session themselves (the state fact
    ``sid-<sid>``, the sentinel).
    """

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken: set[int] = {durable_hash(r) for r in reserved}
        self.rekeyed = 0

    def claim(self, natural_id: str) -> str:
        """``natural_id`` if its hash is free in this session, else ``natural_id~n`` (smallest free n)."""
        candidate = natural_id
        attempt = 0
        while (hashed := durable_hash(candidate)) in self._taken:
            attempt += 1
            candidate = f"{natural_id}~{attempt}"
        if attempt:
            self.rekeyed += 1
        self._taken.add(hashed)
        return candidate
