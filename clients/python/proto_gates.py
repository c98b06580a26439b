"""The gates on protos/: ``buf lint`` held to a list of known exceptions, and ``buf breaking`` against an
earlier commit.

``python clients/python/proto_gates.py lint`` fails on any violation of buf.yaml's rule set that
protos/lint-exceptions.yaml does not list, and on a listed one that is gone (``--prune`` removes those, so
the list only shrinks; nothing adds to it). ``python clients/python/proto_gates.py breaking [--against REF]``
compares protos/ with the same folder at REF (default ``HEAD~1``, the previous commit on main); its findings
are advisory while the API is pre-release and fail once the release marker protos/RELEASED exists.

Runs the ``buf`` that clients/node pins (``npm ci --prefix clients/node`` installs it); ``BUF`` overrides.
Needs PyYAML; not part of the ``dualdraw-client`` distribution.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MODULE = "protos"  # the buf module's folder, as buf.yaml names it
EXCEPTIONS = Path(MODULE) / "lint-exceptions.yaml"
GOOGLE_PROTOS = Path("third_party") / "googleapis"  # buf.yaml's module of Google's common protos
RELEASE_MARKER = Path(MODULE) / "RELEASED"
DEFAULT_AGAINST = "HEAD~1"

# buf's exit codes: 0 clean, 100 findings; anything else is a failure to run.
_FINDINGS = 100

Key = tuple[str, str, str]
"""(file inside the module, rule, message): a violation, independent of line numbers that edits shift."""


class GateError(RuntimeError):
    """buf or git could not run, or the exceptions file is malformed."""


@dataclass(frozen=True)
class Finding:
    """One violation buf reported: where, which rule, its message."""

    path: str
    line: int
    column: int
    rule: str
    message: str

    @property
    def key(self) -> Key:
        return (self.path, self.rule, self.message)

    def __str__(self) -> str:
        return f"{MODULE}/{self.path}:{self.line}:{self.column}: {self.rule} {self.message}"


def buf_binary() -> str:
    """The pinned buf of clients/node (``BUF`` overrides); ``GateError`` when it is not installed."""
    if override := os.environ.get("BUF"):
        return override
    pinned = ROOT / "clients" / "node" / "node_modules" / ".bin" / "buf"
    if not pinned.exists():
        raise GateError("buf is not installed: run `npm ci --prefix clients/node`")
    return str(pinned)


def _buf(root: Path, *args: str) -> list[Finding]:
    """Runs buf in ``root`` with JSON errors; returns what it found."""
    done = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [buf_binary(), *args, "--error-format=json"], cwd=root, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, _FINDINGS):
        raise GateError(
            f"buf {args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
        )
    findings = []
    for line in done.stdout.splitlines():
        if line.strip():
            raw = json.loads(line)
            path = str(raw.get("path", ""))
            findings.append(
                Finding(
                    path=path.removeprefix(f"{MODULE}/"),
                    line=int(raw.get("start_line", 0)),
                    column=int(raw.get("start_column", 0)),
                    rule=str(raw["type"]),
                    message=str(raw["message"]),
                )
            )
    if done.returncode == _FINDINGS and not findings:
        raise GateError(f"buf {args[0]} reported failure without findings: {done.stderr.strip()}")
    return findings


def lint(root: Path = ROOT) -> list[Finding]:
    """Every violation of buf.yaml's lint rules in ``root``'s protos."""
    return _buf(root, "lint")


def load_exceptions(path: Path) -> dict[str, Any]:
    """The exceptions file: ``{rule: {"count", "reason", "violations": {file: [message, ...]}}}``."""
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = loaded.get("exceptions") or {}
    if not isinstance(rules, dict):
        raise GateError(f"{path}: `exceptions` must map rule names to their entries")
    for rule, entry in rules.items():
        listed = sum(len(messages) for messages in (entry.get("violations") or {}).values())
        if entry.get("count") != listed:
            raise GateError(f"{path}: {rule} says count {entry.get('count')} but lists {listed} violations")
        if not str(entry.get("reason", "")).strip():
            raise GateError(f"{path}: {rule} gives no reason")
    return rules


def _allowed(rules: dict[str, Any]) -> Counter[Key]:
    return Counter(
        (file, rule, message)
        for rule, entry in rules.items()
        for file, messages in (entry.get("violations") or {}).items()
        for message in messages
    )


@dataclass(frozen=True)
class LintVerdict:
    """What a lint run found beyond the exceptions list (``new``) and what the list holds that is gone."""

    new: list[Finding]
    gone: Counter[Key]

    @property
    def passed(self) -> bool:
        return not self.new and not self.gone


def judge(findings: Iterable[Finding], rules: dict[str, Any]) -> LintVerdict:
    """Compares findings with the exceptions as multisets of (file, rule, message): a message found more
    often than listed is new (e.g. a second uncommented field of the same name in a file)."""
    allowed = _allowed(rules)
    remaining = Counter(allowed)
    new = []
    for finding in findings:
        if remaining[finding.key] > 0:
            remaining[finding.key] -= 1
        else:
            new.append(finding)
    return LintVerdict(new=new, gone=+remaining)


def prune(path: Path, rules: dict[str, Any], gone: Counter[Key]) -> None:
    """Rewrites the exceptions file without the violations in ``gone`` (rules left empty disappear)."""
    for (file, rule, message), times in gone.items():
        messages: list[str] = rules[rule]["violations"][file]
        for _ in range(times):
            messages.remove(message)
        if not messages:
            del rules[rule]["violations"][file]
        rules[rule]["count"] -= times
        if not rules[rule]["count"]:
            del rules[rule]
    header = "".join(
        line for line in path.read_text(encoding="utf-8").splitlines(True) if line.startswith("#")
    )
    body = yaml.safe_dump({"exceptions": rules}, allow_unicode=True, sort_keys=False, width=200)
    path.write_text(header + body, encoding="utf-8")


def lint_gate(root: Path = ROOT, *, write_pruned: bool = False) -> int:
    """Runs the lint gate in ``root``; prints its verdict; 0 when it passes."""
    exceptions = root / EXCEPTIONS
    rules = load_exceptions(exceptions)
    verdict = judge(lint(root), rules)
    for finding in verdict.new:
        print(f"new lint violation: {finding}", file=sys.stderr)
    if verdict.new:
        print(f"fix them; {EXCEPTIONS} only shrinks (buf.yaml says why each rule is on)", file=sys.stderr)
    if verdict.gone and write_pruned:
        prune(exceptions, rules, verdict.gone)
        print(f"removed {verdict.gone.total()} fixed violations from {EXCEPTIONS}")
        return 1 if verdict.new else 0
    for (file, rule, message), times in verdict.gone.items():
        print(f"fixed, still listed: {MODULE}/{file}: {rule} {message} (x{times})", file=sys.stderr)
    if verdict.gone:
        print(
            f"remove them from {EXCEPTIONS}: `python clients/python/proto_gates.py lint --prune`",
            file=sys.stderr,
        )
    if verdict.passed:
        listed = sum(entry["count"] for entry in rules.values())
        print(f"buf lint: no violation beyond the {listed} listed in {EXCEPTIONS}")
    return 0 if verdict.passed else 1


def _extract(root: Path, ref: str, into: Path) -> bool:
    """Writes protos/ as of ``ref`` into ``into``; False when ``ref`` does not exist or has no protos/."""
    done = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        ["git", "-C", str(root), "archive", "--format=tar", ref, MODULE],  # noqa: S607 - git from the PATH
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        return False
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
    return True


def breaking(root: Path, ref: str) -> list[Finding] | None:
    """The breaking changes of ``root``'s protos since ``ref`` under buf.yaml's breaking rules (today's
    rules on both sides); ``None`` when ``ref`` cannot be read (a shallow clone, a first commit)."""
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp)
        if not _extract(root, ref, before):
            return None
        shutil.copyfile(root / "buf.yaml", before / "buf.yaml")
        # buf.yaml's second module; Google's protos are never checked for breaking, so today's copy serves
        shutil.copytree(root / GOOGLE_PROTOS, before / GOOGLE_PROTOS)
        return _buf(root, "breaking", "--against", str(before))


def breaking_gate(root: Path = ROOT, ref: str = DEFAULT_AGAINST) -> int:
    """Runs the breaking-change gate; prints its findings; fails only once the release marker exists."""
    released = (root / RELEASE_MARKER).exists()
    found = breaking(root, ref)
    if found is None:
        print(f"buf breaking: cannot read {MODULE}/ at {ref}", file=sys.stderr)
        return 1 if released else 0
    mode = "" if released else f" (advisory: no {RELEASE_MARKER} yet)"
    for finding in found:
        print(f"breaking change since {ref}{mode}: {finding}", file=sys.stderr)
    if not found:
        print(f"buf breaking: no breaking change since {ref}")
    elif released:
        print(f"{RELEASE_MARKER} exists: change compatibly, or in a new package", file=sys.stderr)
    return 1 if found and released else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    gates = parser.add_subparsers(dest="gate", required=True)
    lint_parser = gates.add_parser("lint", help="buf lint, held to protos/lint-exceptions.yaml")
    lint_parser.add_argument("--prune", action="store_true", help="remove fixed violations from the list")
    breaking_parser = gates.add_parser("breaking", help="buf breaking against an earlier commit")
    breaking_parser.add_argument("--against", default=DEFAULT_AGAINST, help="git ref (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.gate == "lint":
            return lint_gate(ROOT, write_pruned=args.prune)
        return breaking_gate(ROOT, args.against)
    except GateError as exc:
        print(f"proto gate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
