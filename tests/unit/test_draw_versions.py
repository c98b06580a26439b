"""The one versioned entry point of the draw: each version's algorithm, and a clear error for any other."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import pytest

from dualdraw.domain.draw.selection import select_objects
from dualdraw.domain.draw.strata import DEFAULT_STRATUM
from dualdraw.domain.draw.versions import (
    COMMITTED_PLAN_DRAW,
    PLAIN_DRAW,
    POLICY_DRAW,
    QUALIFIED_DRAW,
    UnknownDrawAlgorithm,
    algorithm_for,
    algorithm_for_new_draw,
)
from dualdraw.domain.errors import FailedPrecondition

SEED = hashlib.sha256(b"versions").digest()


def test_the_wire_ids_stay() -> None:
    assert (PLAIN_DRAW, POLICY_DRAW, QUALIFIED_DRAW, COMMITTED_PLAN_DRAW) == (
        "dualdraw-draw/1",
        "dualdraw-draw/2",
        "dualdraw-draw/3",
        "dualdraw-draw/4",
    )
    assert algorithm_for(PLAIN_DRAW).manifest_version == "dualdraw-manifest/2"
    assert algorithm_for(POLICY_DRAW).manifest_version == "dualdraw-manifest/3"
    assert algorithm_for(QUALIFIED_DRAW).manifest_version == "dualdraw-manifest/4"
    assert algorithm_for(COMMITTED_PLAN_DRAW).manifest_version == "dualdraw-manifest/5"


def test_every_new_draw_commits_its_plan_by_root_and_older_versions_only_verify_old_draws() -> None:
    assert algorithm_for_new_draw().version == COMMITTED_PLAN_DRAW
    assert algorithm_for_new_draw().stratified
    assert not algorithm_for_new_draw().plan_in_manifest
    assert all(algorithm_for(v).plan_in_manifest for v in (PLAIN_DRAW, POLICY_DRAW, QUALIFIED_DRAW))
    assert algorithm_for(PLAIN_DRAW).version == PLAIN_DRAW
    assert algorithm_for(POLICY_DRAW).version == POLICY_DRAW


def test_an_unknown_version_is_refused_by_name() -> None:
    with pytest.raises(UnknownDrawAlgorithm) as caught:
        algorithm_for("dualdraw-draw/9")
    assert isinstance(caught.value, FailedPrecondition)
    assert caught.value.reason == "UNKNOWN_DRAW_ALGORITHM"
    assert "dualdraw-draw/9" in str(caught.value)
    assert PLAIN_DRAW in str(caught.value)


def test_a_plain_draw_selects_at_the_tasks_ratio_in_one_stratum() -> None:
    manifest = {"task": {"ratio": "1/3"}, "objects": {"strata": {"all": {"count": 9, "ratio": "1/3"}}}}
    codes = [f"C{n}" for n in range(9)]
    plain = algorithm_for(PLAIN_DRAW)
    assert plain.select(SEED, {DEFAULT_STRATUM: codes}, manifest) == select_objects(
        SEED, codes, Fraction(1, 3)
    )
    with pytest.raises(ValueError, match="one stratum"):
        plain.select(SEED, {"A": codes}, manifest)
    bad = {"task": {"ratio": "1/3"}, "objects": {"strata": {"A": {"count": 9, "ratio": "1/3"}}}}
    assert plain.manifest_problem(bad) == "manifest: a dualdraw-draw/1 draw has the one stratum 'all'"
    assert plain.manifest_problem(manifest) is None


def test_a_policy_draw_selects_per_stratum_of_its_manifest() -> None:
    manifest = {"objects": {"strata": {"A": {"count": 4, "ratio": "1/2"}, "B": {"count": 2, "ratio": "1/1"}}}}
    policy = algorithm_for(POLICY_DRAW)
    selected = policy.select(SEED, {"A": ["a1", "a2", "a3", "a4"], "B": ["b1", "b2"]}, manifest)
    assert [s.stratum for s in selected] == ["A", "A", "B", "B"]
    with pytest.raises(ValueError, match="does not list: C"):
        policy.select(SEED, {"C": ["c1"]}, manifest)
