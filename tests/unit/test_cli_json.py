"""``--json`` on the commands that lacked it: ``rules check``, ``rules test``, ``verify``; stable keys."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli.main import main

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def test_rules_check_json_of_the_shipped_rules(rules_copy: Path) -> None:
    code, out = run("rules", "check", str(rules_copy), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"ok", "rules", "files", "version", "problems", "seconds"}
    assert data["ok"] is True
    assert data["problems"] == []
    assert data["rules"] > 0
    assert data["files"] > 0


def test_rules_check_json_lists_each_problem_with_its_place(rules_copy: Path) -> None:
    path = rules_copy / "complaint-handling.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{attr: received_on,", "{attr: recieved_on,", 1))
    code, out = run("rules", "check", str(rules_copy), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["rules"] is None
    [problem] = data["problems"]
    assert set(problem) == {"file", "line", "column", "message"}
    assert problem["file"].endswith("complaint-handling.yaml")
    assert "recieved_on" in problem["message"]


def test_rules_test_json_reports_cases_and_coverage(rules_copy: Path) -> None:
    code, out = run("rules", "test", str(rules_copy), "--json", "--min-coverage", "100")
    assert code == 0, out
    data = json.loads(out)
    assert data["ok"] is True
    assert data["failed"] == 0
    assert data["passed"] == len(data["cases"]) > 0
    assert data["rule_coverage"] == 100.0
    assert set(data["cases"][0]) == {"file", "line", "column", "name", "passed", "failures"}


def test_rules_test_json_reports_a_failing_case(rules_copy: Path) -> None:
    cases = rules_copy / "tests" / "risk-unsuitable.yaml"
    text = cases.read_text(encoding="utf-8")
    line = "- {credit_code: LAST-DAY, rule: risk-unsuitable.assessment-in-force}\n"
    assert text.count(line) == 1
    cases.write_text(text.replace(line, ""), encoding="utf-8")
    code, out = run("rules", "test", str(rules_copy), "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["failed"] == 1
    [failed] = [c for c in data["cases"] if not c["passed"]]
    assert "LAST-DAY" in failed["failures"][0]


def test_verify_json_of_a_bundle_that_is_not_one(tmp_path: Path) -> None:
    bundle = tmp_path / "draw.json"
    bundle.write_bytes(b"\xff not json")
    for argv in (["verify", str(bundle), "--json"], ["-v", "verify", str(bundle), "--json"]):
        code, out = run(*argv)  # the fast path, and the full parser
        assert code == 1
        data = json.loads(out)
        assert set(data) == {"bundle", "ok", "problem", "notes", "seconds"}
        assert data["ok"] is False
        assert data["problem"].startswith("bundle: not valid UTF-8 JSON")


def test_local_database_commands_print_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    code, out = run("db", "upgrade", "--database-url", url, "--json")
    assert code == 0
    upgraded = json.loads(out)
    assert upgraded["database_url"] == url
    assert upgraded["revision"]
    code, out = run("db", "current", "--database-url", url, "--json")
    assert (code, json.loads(out)) == (0, upgraded)
    backup = tmp_path / "copy.db"
    code, out = run("db", "backup", str(backup), "--database-url", url, "--json")
    assert (code, json.loads(out)) == (0, {"database_url": url, "file": str(backup)})
    code, out = run("db", "current", "--database-url", url)
    assert out == f"{upgraded['revision']}\n"  # people still read the plain line


def test_keygen_prints_json(tmp_path: Path) -> None:
    key = tmp_path / "audit.pem"
    code, out = run("keygen", str(key), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["path"] == str(key)
    assert len(data["public_key"]) >= 32
    assert key.exists()
