"""The proto gates (clients/python/proto_gates.py, with the buf that clients/node pins): the committed protos
pass ``buf lint`` with protos/lint-exceptions.yaml; a copy with a new violation, or with a listed one fixed,
fails; ``buf breaking`` reports a removed field against an earlier commit, advisory until the release
marker exists, then failing. Needs node and npm (tests/node_packages.py).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.node_packages import ROOT, node_packages  # noqa: F401 - the npm ci fixture

GATES = ROOT / "clients" / "python" / "proto_gates.py"
UNDOCUMENTED = "\nmessage Undocumented {\n  string badName = 1;\n}\n"


@pytest.fixture(scope="module")
def gates() -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_gates", GATES)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["proto_gates"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def copy(tmp_path: Path, node_packages: Path) -> Path:  # noqa: F811 - the fixture
    """buf.yaml, protos/ (with the exceptions list) and the Google protos they import, in a temp folder."""
    shutil.copyfile(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    shutil.copytree(ROOT / "third_party" / "googleapis", tmp_path / "third_party" / "googleapis")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_committed_protos_break_no_rule_beyond_the_listed_exceptions(
    gates: ModuleType,
    node_packages: Path,  # noqa: F811 - the fixture
) -> None:
    assert gates.lint_gate(ROOT) == 0


def test_the_committed_protos_need_no_exception(gates: ModuleType) -> None:
    """The API reshape documented every element: the list is empty and stays so."""
    assert gates.load_exceptions(ROOT / gates.EXCEPTIONS) == {}


def _list_today(gates: ModuleType, root: Path) -> None:
    """Writes root's exceptions file as the gate's introduction did: every current violation, per rule."""
    rules: dict[str, Any] = {}
    for finding in gates.lint(root):
        entry = rules.setdefault(
            finding.rule, {"count": 0, "reason": "tolerated for the test", "violations": {}}
        )
        entry["violations"].setdefault(finding.path, []).append(finding.message)
        entry["count"] += 1
    path = root / gates.EXCEPTIONS
    header = "".join(
        line for line in path.read_text(encoding="utf-8").splitlines(True) if line.startswith("#")
    )
    path.write_text(header + yaml.safe_dump({"exceptions": rules}, allow_unicode=True), encoding="utf-8")


def test_a_new_violation_fails_the_lint_gate(
    gates: ModuleType, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gates.lint_gate(copy) == 0
    with (copy / "protos/dualdraw/v1/tasks.proto").open("a", encoding="utf-8") as proto:
        proto.write(UNDOCUMENTED)
    assert gates.lint_gate(copy) == 1
    reported = capsys.readouterr().err
    assert "new lint violation: protos/dualdraw/v1/tasks.proto" in reported
    assert "FIELD_LOWER_SNAKE_CASE" in reported
    assert "COMMENT_MESSAGE" in reported


def test_a_comment_directive_cannot_silence_a_rule(gates: ModuleType, copy: Path) -> None:
    with (copy / "protos/dualdraw/v1/tasks.proto").open("a", encoding="utf-8") as proto:
        proto.write(
            "\n// buf:lint:ignore COMMENT_FIELD\n// buf:lint:ignore FIELD_LOWER_SNAKE_CASE" + UNDOCUMENTED
        )
    rules = gates.load_exceptions(copy / gates.EXCEPTIONS)
    new = {finding.rule for finding in gates.judge(gates.lint(copy), rules).new}
    assert {"FIELD_LOWER_SNAKE_CASE", "COMMENT_FIELD"} <= new


def test_one_more_violation_with_a_listed_message_is_new(gates: ModuleType, copy: Path) -> None:
    """The list counts: a second uncommented field of a name listed in a file is still new."""
    with (copy / "protos/dualdraw/v1/tasks.proto").open("a", encoding="utf-8") as proto:
        proto.write(UNDOCUMENTED)
    _list_today(gates, copy)
    rules = gates.load_exceptions(copy / gates.EXCEPTIONS)
    findings = gates.lint(copy)
    listed = next(f for f in findings if f.rule == "COMMENT_FIELD")
    assert gates.judge(findings, rules).passed
    verdict = gates.judge([*findings, listed], rules)
    assert verdict.new == [listed]


def test_a_fixed_violation_must_leave_the_list(
    gates: ModuleType, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (copy / "protos/dualdraw/v1/tasks.proto").open("a", encoding="utf-8") as proto:
        proto.write(UNDOCUMENTED)
    _list_today(gates, copy)
    assert gates.lint_gate(copy) == 0
    _edit(
        copy / "protos/dualdraw/v1/tasks.proto",
        "\nmessage Undocumented {",
        "\n// Documented.\nmessage Undocumented {",
    )
    assert gates.lint_gate(copy) == 1
    assert 'fixed, still listed: protos/dualdraw/v1/tasks.proto: COMMENT_MESSAGE Message "Undocumented"' in (
        capsys.readouterr().err
    )
    before = gates.load_exceptions(copy / gates.EXCEPTIONS)["COMMENT_MESSAGE"]["count"]
    assert gates.lint_gate(copy, write_pruned=True) == 0
    after = gates.load_exceptions(copy / gates.EXCEPTIONS).get("COMMENT_MESSAGE", {"count": 0})
    assert after["count"] == before - 1  # a rule left with nothing listed disappears
    assert gates.lint_gate(copy) == 0
    assert (copy / gates.EXCEPTIONS).read_text(encoding="utf-8").startswith("# Violations of buf.yaml")


def test_an_exceptions_count_that_disagrees_with_its_list_is_refused(gates: ModuleType, copy: Path) -> None:
    with (copy / "protos/dualdraw/v1/tasks.proto").open("a", encoding="utf-8") as proto:
        proto.write(UNDOCUMENTED)
    _list_today(gates, copy)
    _edit(copy / gates.EXCEPTIONS, "count: ", "count: 1")
    with pytest.raises(gates.GateError, match="says count"):
        gates.load_exceptions(copy / gates.EXCEPTIONS)


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=gate", "-c", "user.email=gate@example.invalid", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_a_removed_field_is_a_breaking_change_that_fails_once_released(
    gates: ModuleType, copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _git(copy, "init", "-q")
    _git(copy, "add", ".")
    _git(copy, "commit", "-q", "-m", "the API as released")
    assert gates.breaking(copy, "HEAD") == []
    _edit(
        copy / "protos/dualdraw/v1/tasks.proto",
        "  string title = 7 [(google.api.field_behavior) = OPTIONAL, "
        "(google.api.field_behavior) = IMMUTABLE];\n",
        "  reserved 7;\n",
    )
    _git(copy, "commit", "-q", "-am", "a field removed")

    found = gates.breaking(copy, "HEAD~1")
    assert [(f.path, f.rule) for f in found] == [("dualdraw/v1/tasks.proto", "FIELD_NO_DELETE")]
    assert gates.breaking_gate(copy, "HEAD~1") == 0  # pre-release: advisory
    assert "advisory" in capsys.readouterr().err

    (copy / gates.RELEASE_MARKER).write_text("dualdraw.v1 1.0.0\n", encoding="utf-8")
    assert gates.breaking_gate(copy, "HEAD~1") == 1
    assert gates.breaking_gate(copy, "HEAD") == 0  # nothing changed since the last commit


def test_an_unreadable_baseline_fails_only_once_released(gates: ModuleType, copy: Path) -> None:
    _git(copy, "init", "-q")
    assert gates.breaking(copy, "no-such-ref") is None
    assert gates.breaking_gate(copy, "no-such-ref") == 0
    (copy / gates.RELEASE_MARKER).write_text("dualdraw.v1 1.0.0\n", encoding="utf-8")
    assert gates.breaking_gate(copy, "no-such-ref") == 1
