"""The least work any Python implementation of a ``dualdraw-draw/4`` draw must do, timed beside the SQL floor.

The one-query SQL draw (``bench.sql_floor``) is the floor of a draw without commitments. A draw that commits
to its sets the way DRAW-ALGORITHM.md §5, §6.1 and §14.8 specify cannot do less than:

- **fetch**: bring the in-scope objects' rule-relevant columns into Python (one query over the same subtree,
  plain tuples through psycopg, nothing converted);
- **hash**: the SHA-256 calls the specification requires, each in the tightest standard-library loop (one
  list comprehension a pass, no JSON writer): per eligible object its eligible salt and leaf, its plan salt
  and leaf, and its ticket; the two sorted Merkle trees over the eligible and plan leaves (one node hash per
  leaf, less one); per excluded object its exclusion leaf, and that tree; the tickets sorted. Leaf data has
  the length the real leaves have (codes of the fetched objects, fixed-width stand-ins for the rest), since
  SHA-256's cost depends on the length only.

Nothing here decides an exclusion, forms a team or stores anything, so the figure is a floor: a draw in
CPython on one core cannot take less than ``fetch_s + hash_s``. Two processes could at best halve the hash
part. ``python_floor`` returns the seconds of each part; ``bench.run`` reports them beside the SQL floor.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import psycopg
import sqlalchemy as sa

from dualdraw.domain.audit.merkle import root

FETCH_SQL = """
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM departments WHERE id = %(department)s
    UNION ALL
    SELECT d.id FROM departments d JOIN subtree s ON d.parent_id = s.id
)
SELECT o.credit_code, o.registering_department_id, o.office, o.region_code, o.industry,
       o.business_lines_json, o.risk_class
FROM objects o
WHERE o.registering_department_id IN (SELECT id FROM subtree) AND o.status = 'active'
"""

SALT_KEY = bytes(32)
SALT_HEX = b"0" * 64
SEED = bytes(32)
# Every stand-in is at most the real length: risk classes and strata are one letter or longer, rule ids
# longer than one letter, and a plan row lists its conflicts and recent inspectors ([] when none).
HEAD = b'\x00{"code":"'
ELIGIBLE_TAIL = b'","risk_class":"A","salt":"' + SALT_HEX + b'","stratum":"A"}'
PLAN_DEPARTMENT = b'","conflicts":[],"department_id":"'
PLAN_OFFICE = b'","office":"'
PLAN_TAIL = b'","recent":[],"salt":"' + SALT_HEX + b'"}'
EXCLUSION_HEAD = b'\x00["'
EXCLUSION_TAIL = b'","r"]'


def eligible_leaf(code: bytes) -> bytes:
    """Leaf hash input of an eligible object (§6.1) as the floor writes it, no longer than the real one."""
    return HEAD + code + ELIGIBLE_TAIL


def plan_leaf(code: bytes, department_id: bytes, office: bytes) -> bytes:
    """Leaf hash input of a plan row (§14.8) as the floor writes it, no longer than the real one."""
    return HEAD + code + PLAN_DEPARTMENT + department_id + PLAN_OFFICE + office + PLAN_TAIL


def exclusion_leaf(code: bytes) -> bytes:
    """Leaf hash input of an exclusion (§6.1) as the floor writes it, no longer than the real one."""
    return EXCLUSION_HEAD + code + EXCLUSION_TAIL


@dataclass(frozen=True)
class PythonFloor:
    fetch_s: float
    hash_s: float
    in_scope: int

    @property
    def seconds(self) -> float:
        return self.fetch_s + self.hash_s


def python_floor(url: str, *, department: str, eligible: int) -> PythonFloor:
    """Times the fetch of ``department``'s in-scope objects on ``url`` (PostgreSQL) and the hashing a draw
    with ``eligible`` of them eligible (the rest excluded) requires."""
    with psycopg.connect(sa.make_url(url).set(drivername="postgresql").render_as_string(False)) as conn:
        conn.execute("SELECT 1")
        start = time.perf_counter()
        rows = conn.execute(FETCH_SQL, {"department": department}).fetchall()
        fetch_s = time.perf_counter() - start
    places = [(r[0].encode("ascii"), r[1].encode("utf-8"), r[2].encode("utf-8")) for r in rows]
    eligible = min(eligible, len(places))
    return PythonFloor(fetch_s, hash_seconds(places[:eligible], places[eligible:]), len(rows))


def hash_seconds(
    eligible: list[tuple[bytes, bytes, bytes]], excluded: list[tuple[bytes, bytes, bytes]]
) -> float:
    """Seconds of the SHA-256 work the specification requires for these eligible and excluded objects
    (credit code, department id, office; UTF-8)."""
    sha256 = hashlib.sha256
    start = time.perf_counter()
    salted = b"dualdraw/salt/v1\x00" + SALT_KEY
    planned = b"dualdraw/plan-salt/v1\x00" + SALT_KEY
    salts = [sha256(salted + code).hexdigest() for code, _, _ in eligible]
    leaves = [sha256(HEAD + code + ELIGIBLE_TAIL).digest() for code, _, _ in eligible]  # eligible_leaf
    leaves.sort()
    root(leaves)
    salts = [sha256(planned + code).hexdigest() for code, _, _ in eligible]
    leaves = [  # plan_leaf, written out: a call per object would add to the floor
        sha256(HEAD + code + PLAN_DEPARTMENT + department + PLAN_OFFICE + office + PLAN_TAIL).digest()
        for code, department, office in eligible
    ]
    leaves.sort()
    root(leaves)
    ticket_head = SEED + b"obj\x00A\x00"
    tickets = [sha256(ticket_head + code).digest() for code, _, _ in eligible]
    tickets.sort()
    excluded_leaves = [sha256(EXCLUSION_HEAD + code + EXCLUSION_TAIL).digest() for code, _, _ in excluded]
    excluded_leaves.sort()
    root(excluded_leaves)
    del salts
    return time.perf_counter() - start
