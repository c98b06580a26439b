"""The Python floor (bench/python_floor.py) hashes no more than a real draw: each leaf it hashes is at most
as long as the real leaf of the same object, and it makes the specified number of SHA-256 calls."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from bench import python_floor
from bench.python_floor import eligible_leaf, exclusion_leaf, hash_seconds, plan_leaf

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import EligibleEntry, object_leaf_data, salt_for
from dualdraw.domain.draw.object_plan import PlanRow, leaf_bytes, plan_salt
from dualdraw.domain.draw.object_plan import plan_leaf as real_plan_leaf

KEY = bytes(range(32))
CODE = "91130273MA07EQDNG7"


@pytest.mark.parametrize(
    ("department", "office"), [("130273-GXQ", "高新区所"), ("d", "o"), ("130000-SJ", "")]
)
def test_every_leaf_is_at_most_as_long_as_the_real_one(department: str, office: str) -> None:
    real_eligible = b"\x00" + object_leaf_data(EligibleEntry(CODE, "A", "A"), salt_for(KEY, CODE))
    assert len(eligible_leaf(CODE.encode())) <= len(real_eligible)
    real_plan = b"\x00" + leaf_bytes(real_plan_leaf(PlanRow(CODE, department, office), plan_salt(KEY, CODE)))
    floor_plan = plan_leaf(CODE.encode(), department.encode(), office.encode())
    assert len(floor_plan) == len(real_plan)  # the same row with no conflicts: the same bytes but the salt
    shortest_rule = "complaint-handling.open-complaint"
    assert len(exclusion_leaf(CODE.encode())) <= len(b"\x00" + canonical_json([CODE, shortest_rule]))


def test_the_floor_makes_the_specified_sha256_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = hashlib.sha256

    def counting(data: bytes = b"") -> Any:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(python_floor.hashlib, "sha256", counting)  # the module the Merkle tree uses too
    place = (CODE.encode(), b"130273-GXQ", "高新区所".encode())
    eligible, excluded = [place] * 10, [place] * 3
    assert hash_seconds(eligible, excluded) > 0
    # per eligible object: two salts, two leaves, a ticket; two trees of 10 leaves (9 nodes each);
    # per excluded object a leaf, and a tree of 3 leaves (2 nodes)
    assert calls == 10 * 5 + 9 * 2 + 3 + 2
