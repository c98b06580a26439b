"""The expert draw's domain rules (docs/DRAW-ALGORITHM.md §8.2) beyond the vectors: the inputs do not depend
on the order the directory was read in, the latest certificate is frozen, and the load spreads the work."""

from __future__ import annotations

import datetime as dt
import random

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.credit_code import make_credit_code
from dualdraw.domain.draw.expert_draw import (
    Expert,
    Qualification,
    Requirement,
    build_inputs,
    candidate_line,
    select,
)

CODES = [make_credit_code("9", "1", "130200", f"{n:08d}") for n in range(1, 7)]
AT = dt.datetime(2026, 5, 1, 2, 0, tzinfo=dt.UTC)


def _inputs(experts: list[Expert], objects: list[tuple[int, str]], count: int = 1) -> dict[str, object]:
    return build_inputs(
        expert_draw_id="x-1",
        draw_id="d-1",
        draw_seed="11" * 32,
        as_of=dt.date(2026, 5, 1),
        requested_at=AT,
        requirement=Requirement("ITEM", "expert", "se", count),
        objects=objects,
        candidates=[candidate_line(e, "se", CODES, ()) for e in experts],
        entropy_source={"kind": "local-secret", "commitment": "22" * 32},
    )


def _experts(n: int) -> list[Expert]:
    return [Expert(f"E-{i:02d}", f"专家{i}", "d", (Qualification("se", None),)) for i in range(n)]


def test_the_inputs_do_not_depend_on_the_order_the_directory_and_draw_were_read_in() -> None:
    experts, objects = _experts(5), list(enumerate(CODES, start=1))
    first = canonical_json(_inputs(experts, objects))
    shuffled_experts, shuffled_objects = experts[:], objects[:]
    random.Random(7).shuffle(shuffled_experts)
    random.Random(8).shuffle(shuffled_objects)
    assert canonical_json(_inputs(shuffled_experts, shuffled_objects)) == first
    assert select(_inputs(experts, objects), b"\x01") == select(
        _inputs(shuffled_experts, shuffled_objects), b"\x01"
    )


def test_the_latest_certificate_is_frozen_and_no_expiry_wins() -> None:
    held = (Qualification("se", dt.date(2025, 1, 1)), Qualification("se", dt.date(2027, 1, 1)))
    line = candidate_line(Expert("E", "x", "d", held), "se", CODES, ())
    assert line["certificate"] == {"code": "se", "expires_on": "2027-01-01"}
    line = candidate_line(Expert("E", "x", "d", (*held, Qualification("se", None))), "se", CODES, ())
    assert line["certificate"] == {"code": "se", "expires_on": None}
    assert candidate_line(Expert("E", "x", "d", held), "other", CODES, ())["certificate"] is None


def test_the_load_spreads_the_work_before_anyone_serves_twice() -> None:
    result = select(_inputs(_experts(3), list(enumerate(CODES, start=1))), b"\x02")
    drawn = [s["selected"][0]["id"] for s in result["selections"]]
    assert sorted(drawn[:3]) == ["E-00", "E-01", "E-02"]
    assert sorted(drawn[3:]) == ["E-00", "E-01", "E-02"]


def test_a_fixed_seed_gives_one_result_and_other_entropy_another() -> None:
    inputs = _inputs(_experts(6), list(enumerate(CODES, start=1)), count=2)
    assert select(inputs, b"\x03") == select(inputs, b"\x03")
    assert select(inputs, b"\x03")["selections"] != select(inputs, b"\x04")["selections"]
