"""The floor dualdraw is timed against: the draw a bureau platform would write instead, as ONE SQL query.

Over the same PostgreSQL database dualdraw's own draw used: the task's scope (the department's subtree,
active objects), the four Art. 16 exclusions of the shipped rules as ``NOT EXISTS`` sub-queries with the
same conditions (rules/*.yaml), then ``ORDER BY sha256(seed ‖ credit code) LIMIT ceil(ratio × eligible)``.
It has none of what dualdraw adds — rule files policy staff edit, durable_rules, Merkle commitments of every
set, a manifest fixed before the entropy, teams, an audit log — so the ratio dualdraw / floor says what
those cost. ``eligible`` is returned too: the benchmark checks it equals the draw's eligible count, so the
floor is the same draw, not a cheaper one.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

FLOOR_SQL = sa.text(
    """
WITH RECURSIVE subtree(id) AS (
    SELECT id FROM departments WHERE id = :department
    UNION ALL
    SELECT d.id FROM departments d JOIN subtree s ON d.parent_id = s.id
),
task_level AS (SELECT level FROM departments WHERE id = :department),
eligible AS (
    SELECT o.credit_code
    FROM objects o
    WHERE o.registering_department_id IN (SELECT id FROM subtree)
      AND o.status = 'active'
      -- complaint-handling.open-complaint (Art. 16(2))
      AND NOT EXISTS (
          SELECT 1 FROM complaints c
          WHERE c.credit_code = o.credit_code
            AND c.status IN ('received', 'handling')
            AND c.received_on <= :as_of)
      -- risk-unsuitable.assessment-in-force (Art. 16(3))
      AND NOT EXISTS (
          SELECT 1 FROM risk_assessments r
          WHERE r.credit_code = o.credit_code
            AND r.conclusion = 'unsuitable'
            AND r.assessed_on <= :as_of
            AND (r.valid_until IS NULL OR r.valid_until >= :as_of))
      -- statutory-method.designated-for-line (Art. 16(1))
      AND NOT EXISTS (
          SELECT 1 FROM statutory_designations t
          WHERE t.credit_code = o.credit_code
            AND t.business_line = :line
            AND t.valid_from <= :as_of
            AND (t.valid_to IS NULL OR t.valid_to >= :as_of))
      -- higher-level-campaign.covers-object (Art. 16(4))
      AND NOT EXISTS (
          SELECT 1 FROM campaigns g JOIN departments organizer ON organizer.id = g.organizer_department_id
          WHERE organizer.level < (SELECT level FROM task_level)
            AND g.starts_on <= :as_of AND g.ends_on >= :as_of
            AND g.region_code IN (
                substr(rpad(o.region_code, 6, '0'), 1, 2) || '0000',
                substr(rpad(o.region_code, 6, '0'), 1, 4) || '00',
                substr(rpad(o.region_code, 6, '0'), 1, 6))
            AND (g.industry = '' OR g.industry = o.industry)
            AND (g.business_line = '' OR g.business_line = :line))
)
SELECT credit_code, (SELECT count(*) FROM eligible) AS eligible
FROM eligible
ORDER BY sha256(:seed || convert_to(credit_code, 'UTF8'))
LIMIT (SELECT ceil(count(*) * CAST(:ratio_num AS numeric) / :ratio_den) FROM eligible)
"""
)


@dataclass(frozen=True)
class FloorDraw:
    seconds: float
    eligible: int
    selected: list[str]


def floor_draw(
    url: str, *, department: str, as_of: dt.date, line: str, ratio: str, seed: bytes = b"floor"
) -> FloorDraw:
    """Runs the one-query draw once on ``url`` (PostgreSQL) and times it (connection set up beforehand)."""
    fraction = Fraction(ratio)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            start = time.perf_counter()
            rows = conn.execute(
                FLOOR_SQL,
                {
                    "department": department,
                    "as_of": as_of,
                    "line": line,
                    "seed": seed,
                    "ratio_num": fraction.numerator,
                    "ratio_den": fraction.denominator,
                },
            ).all()
            seconds = time.perf_counter() - start
    finally:
        engine.dispose()
    eligible = int(rows[0].eligible) if rows else 0
    selected = [str(r.credit_code) for r in rows]
    assert len(selected) == math.ceil(fraction * eligible), "LIMIT must be ceil(ratio × eligible)"
    return FloorDraw(seconds, eligible, selected)
