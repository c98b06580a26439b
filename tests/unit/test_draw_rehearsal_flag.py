"""``Draw.rehearsal`` reads the committed manifest's top-level ``"rehearsal": true``, and only that: the
text is searched before the manifest is parsed, so a string that spells the key, or the key nested
elsewhere or false, is not taken for it."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.model import Draw


def draw_with(manifest: dict[str, Any] | None) -> Draw:
    return Draw(
        id="d-1",
        task_id="t-1",
        created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        actor="a",
        algorithm_version="dualdraw-draw/3",
        seed="",
        entropy_source="local-secret",
        entropy="",
        manifest_hash="",
        manifest_json="" if manifest is None else canonical_json(manifest).decode("utf-8"),
        rule_set_hash="",
        rule_set_version="",
        as_of=dt.date(2026, 12, 1),
        in_scope_count=0,
        excluded_count=0,
        eligible_count=0,
        selected_count=0,
        team_size=2,
        ratio=Fraction(1, 20),
        eligible_digest="",
        inspector_pool_digest="",
    )


@pytest.mark.parametrize(
    ("manifest", "rehearsal"),
    [
        ({"draw_id": "d-1", "rehearsal": True, "task": {"id": "t-1"}}, True),
        ({"draw_id": "d-1", "task": {"id": "t-1"}}, False),
        ({"draw_id": "d-1", "rehearsal": False}, False),
        ({"task": {"rehearsal": True}}, False),  # nested: not the manifest's own
        ({"task": {"title": '"rehearsal":true'}}, False),  # a string spelling it is escaped
        ({"objects": {"plan": [["c", "d", "o"]] * 1000}, "rehearsal": True}, True),
        (None, False),  # no manifest (a draw read without it)
    ],
)
def test_rehearsal_is_the_manifests_own_top_level_flag(
    manifest: dict[str, Any] | None, rehearsal: bool
) -> None:
    assert draw_with(manifest).rehearsal is rehearsal
