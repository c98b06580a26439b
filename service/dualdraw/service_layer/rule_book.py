"""The rule set in force: loaded from the rule files at start-up, reloaded on request or when files change.

A reload keeps the last good set: the new files must load, pass the semantic checks and pass their test
cases (``<rules>/tests/*.yaml``, run through the real engine) before they replace the running set;
otherwise ``InvalidArgument`` lists every problem as a field violation ``rules/<file>:line:column``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dualdraw.domain.errors import FieldViolation, InvalidArgument
from dualdraw.domain.exclusions.check import semantic_problems
from dualdraw.domain.exclusions.loader import load_rule_set
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.domain.exclusions.plain_yaml import Problem, RuleFileError
from dualdraw.service_layer.ports import ExclusionMatcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reload:
    rule_set: RuleSet
    changed: bool
    test_cases: int


class RuleBook:
    """Holds the current ``RuleSet``; loading raises ``RuleFileError`` with file:line:column problems."""

    def __init__(self, paths: Sequence[Path]):
        self._paths = list(paths)
        self._lock = threading.Lock()
        self._current = load_rule_set(self._paths)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def paths(self) -> list[Path]:
        return list(self._paths)

    def current(self) -> RuleSet:
        with self._lock:
            return self._current

    def reload(self, engine: ExclusionMatcher) -> Reload:
        """Loads, checks and tests the files; replaces the set only if all pass (else ``InvalidArgument``)."""
        from dualdraw.service_layer.rule_cases import load_cases, run_cases, test_files

        try:
            candidate = load_rule_set(self._paths)
            problems = semantic_problems(candidate)
            cases = load_cases(test_files(self._paths))
        except RuleFileError as exc:
            raise self._refusal(exc.problems) from None
        if problems:
            raise self._refusal(problems)
        report = run_cases(candidate, cases, engine)
        failed = [
            Problem(
                r.case.location.file, r.case.location.line, r.case.location.column, f"test failed: {failure}"
            )
            for r in report.failed
            for failure in r.failures
        ]
        if failed:
            raise self._refusal(failed)
        with self._lock:
            changed = candidate.hash != self._current.hash
            self._current = candidate
        if changed:
            log.info(
                "rules reloaded: version %s (%d rules, %d test cases)",
                candidate.version,
                len(candidate.rules),
                len(cases),
            )
        return Reload(candidate, changed, len(cases))

    def _refusal(self, problems: Sequence[Problem]) -> InvalidArgument:
        violations = [FieldViolation(self._field(p), p.message, reason="RULE_FILE_INVALID") for p in problems]
        return InvalidArgument(
            violations,
            f"the rule files were refused ({len(violations)} problem(s)); the running set "
            f"{self.current().version} stays in force",
        )

    def _field(self, problem: Problem) -> str:
        path = Path(problem.file)
        for root in self._paths:
            base = root if root.is_dir() else root.parent
            try:
                relative = path.resolve().relative_to(base.resolve()).as_posix()
                return f"rules/{relative}:{problem.line}:{problem.column}"
            except ValueError:
                continue
        return f"{problem.file}:{problem.line}:{problem.column}"

    # -- watching -------------------------------------------------------------------------------------

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        files: list[Path] = []
        for root in self._paths:
            if root.is_dir():
                files.extend(root.glob("*.yaml"))
                files.extend(root.glob("tests/*.yaml"))
            elif root.exists():
                files.append(root)
        stamps = []
        for f in sorted(files):
            try:
                stat = f.stat()
            except OSError:
                continue
            stamps.append((str(f), stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def watch(self, engine: ExclusionMatcher, interval_s: float) -> None:
        """Polls the files every ``interval_s`` and reloads on a change (refusals are logged, not raised)."""
        if self._watcher is not None:
            return
        seen = self._fingerprint()

        def loop() -> None:
            nonlocal seen
            while not self._stop.wait(interval_s):
                now = self._fingerprint()
                if now == seen:
                    continue
                seen = now
                try:
                    self.reload(engine)
                except InvalidArgument as exc:
                    log.warning("rule files changed but were refused: %s", exc.message)
                except Exception:
                    log.exception("rule reload failed; the running set stays")

        self._watcher = threading.Thread(target=loop, name="dualdraw-rules-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stops the watcher, if any."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5.0)
            self._watcher = None
