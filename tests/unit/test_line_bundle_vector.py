"""The committed line-bundle vector (docs/DRAW-ALGORITHM.md §12.1): ``tests/vectors/bundle-v1.lines`` is the
line form of the committed ``bundle-v1.json``, written with the standard library alone as the spec states,
and the bounded-memory verifier accepts it and refuses it with one row changed. Outsiders re-implementing
the line form compare their bytes with it."""

from __future__ import annotations

import json
from pathlib import Path

from dualdraw.verifier.bundle import verify_path
from tests.e2e.test_line_bundles_e2e import lines_of

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def test_the_vector_is_the_spec_line_form_of_the_committed_bundle() -> None:
    document = json.loads((VECTORS / "bundle-v1.json").read_bytes())
    assert lines_of(document) == (VECTORS / "bundle-v1.lines").read_bytes()


def test_the_vector_verifies_and_a_changed_row_is_refused(tmp_path: Path) -> None:
    vector = VECTORS / "bundle-v1.lines"
    assert verify_path(vector).ok
    lines = vector.read_bytes().split(b"\n")
    first = lines.index(b'"eligible"') + 1
    lines[first], lines[first + 1] = lines[first + 1], lines[first]  # two rows out of order
    changed = tmp_path / "changed.lines"
    changed.write_bytes(b"\n".join(lines))
    report = verify_path(changed)
    assert not report.ok
    assert report.problem.startswith("eligible")
