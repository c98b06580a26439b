"""``dualdraw rules check|test``: seeded mistakes in a copy of rules/ each give one precise error; timings."""

from __future__ import annotations

import contextlib
import io
import shutil
import time
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli.main import main

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["rules", *argv])
    return code, out.getvalue()


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def seed(path: Path, old: str, new: str) -> tuple[int, int]:
    """Replaces ``old`` by ``new`` once; returns the 1-based (line, column) where ``new`` starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    at = text.index(old)
    path.write_text(text.replace(old, new), encoding="utf-8")
    before = text[:at]
    return before.count("\n") + 1, at - before.rfind("\n")


def test_the_shipped_rules_pass_check_and_test_with_full_coverage_in_under_two_seconds(
    tmp_path: Path,
) -> None:
    started = time.perf_counter()
    code, out = run("check", str(RULES))
    assert code == 0, out
    junit = tmp_path / "rules.xml"
    code, out = run("test", str(RULES), "--min-coverage", "100", "--junit", str(junit))
    elapsed = time.perf_counter() - started
    assert code == 0, out
    assert "coverage: rules 100.0 %, conditions 100.0 %" in out
    assert "not covered" not in out
    assert '<testsuite name="dualdraw-rules"' in junit.read_text(encoding="utf-8")
    assert 'failures="0"' in junit.read_text(encoding="utf-8")
    assert elapsed < 2.0, elapsed


COMPLAINT = "complaint-handling.yaml"
RISK = "risk-unsuitable.yaml"


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            COMPLAINT,
            "{attr: received_on,",
            "{attr: recieved_on,",
            "unknown attribute 'recieved_on' of complaint facts; did you mean 'received_on'?",
        ),
        (RISK, "value: unsuitable}", "value: 3}", "conclusion holds strings"),
        (
            RISK,
            "id: risk-unsuitable.assessment-in-force",
            "id: complaint-handling.open-complaint",
            "duplicate rule id 'complaint-handling.open-complaint'",
        ),
        (
            COMPLAINT,
            "op: in, value: [received, handling]}",
            "op: in, value: [received, handling}",
            "YAML syntax error",
        ),
        (
            RISK,
            "- {attr: assessed_on, op: lte, value: {context: as_of}}",
            "- {attr: assessed_on, op: lte, value: {context: as_of}}\n            "
            "- {attr: conclusion, op: eq, value: suitable}",
            "contradictory condition",
        ),
        (
            RISK,
            "- {attr: assessed_on, op: lte, value: {context: as_of}}",
            "- {attr: assessed_on, op: gt, value: 2026-05-01}\n            "
            "- {attr: assessed_on, op: lt, value: 2026-03-01}",
            "contradictory condition",
        ),
        (
            RISK,
            "    when:\n",
            "    effective_from: 2027-01-01\n    effective_to: 2026-01-01\n    when:\n",
            "effective_to 2026-01-01 is before effective_from 2027-01-01",
        ),
        (RISK, "value: unsuitable}", "value: !!python/object/apply:os.system [id]}", "YAML tags"),
        (RISK, "value: unsuitable}", "value: &x unsuitable}", "YAML anchors (&x)"),
    ],
    ids=[
        "typo",
        "wrong-type",
        "duplicate-id",
        "broken-yaml",
        "eq-a-eq-b",
        "gt-lt",
        "effective",
        "tag",
        "anchor",
    ],
)
def test_a_seeded_mistake_gives_exactly_one_precise_error_and_a_non_zero_exit(
    rules_copy: Path, file: str, old: str, new: str, message: str
) -> None:
    path = rules_copy / file
    line, column = seed(path, old, new)
    code, out = run("check", str(rules_copy))
    problems = [p for p in out.splitlines() if p.startswith(str(rules_copy))]
    assert code == 1
    assert len(problems) == 1, out
    (problem,) = problems
    assert message in problem
    where = problem.split(": ", 1)[0]
    file_part, line_part, column_part = where.rsplit(":", 2)
    assert file_part == str(path)
    # The error points into the seeded text (its line, at or after where the seed starts).
    seeded_lines = range(line, line + new.count("\n") + 1)
    assert int(line_part) in seeded_lines, (problem, line)
    assert int(column_part) >= (column if int(line_part) == line else 1)


def test_github_format_prints_annotations(rules_copy: Path) -> None:
    line, _ = seed(rules_copy / COMPLAINT, "{attr: received_on,", "{attr: recieved_on,")
    code, out = run("check", "--format", "github", str(rules_copy))
    assert code == 1
    (annotation,) = out.splitlines()
    assert annotation.startswith(f"::error file={rules_copy / COMPLAINT},line={line},col=")
    assert "::unknown attribute 'recieved_on'" in annotation


def test_a_wrong_expectation_fails_the_rule_tests(rules_copy: Path, tmp_path: Path) -> None:
    seed(
        rules_copy / "tests" / RISK,
        "- {credit_code: LAST-DAY, rule: risk-unsuitable.assessment-in-force}\n",
        "",
    )
    junit = tmp_path / "j.xml"
    code, out = run("test", str(rules_copy), "--junit", str(junit))
    assert code == 1
    assert (
        "LAST-DAY was excluded by risk-unsuitable.assessment-in-force, which the case does not expect" in out
    )
    assert 'failures="1"' in junit.read_text(encoding="utf-8")


def test_coverage_counts_conditions_that_decide_both_ways(rules_copy: Path) -> None:
    # Without the "expired" object no case makes valid_until decide a non-match on its own.
    seed(
        rules_copy / "tests" / RISK,
        "      - {id: r6, credit_code: EXPIRED, conclusion: unsuitable, assessed_on: 2025-06-01, "
        "valid_until: 2026-11-30}\n",
        "",
    )
    code, out = run("test", str(rules_copy), "--min-coverage", "100")
    assert code == 1
    assert (
        "condition valid_until gte as_of of rule 'risk-unsuitable.assessment-in-force' never decided" in out
    )
    assert "conditions 90.9 %" in out
    code, _ = run("test", str(rules_copy), "--min-coverage", "90")
    assert code == 0


def test_a_rule_no_case_matches_is_uncovered(rules_copy: Path) -> None:
    (rules_copy / "tests" / "complaint-handling.yaml").unlink()
    code, out = run("test", str(rules_copy), "--min-coverage", "100")
    assert code == 1
    assert "rule 'complaint-handling.open-complaint' never matched in a test case" in out
    assert "rules 75.0 %" in out
