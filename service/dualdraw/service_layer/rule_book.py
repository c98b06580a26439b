"""The rule set in force: loaded from the rule files at start-up (live reload arrives with issue #3)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from dualdraw.rules.loader import load_rule_set
from dualdraw.rules.model import RuleSet


class RuleBook:
    """Holds the current ``RuleSet``; loading raises ``RuleFileError`` with file:line:column problems."""

    def __init__(self, paths: Sequence[Path]):
        self._paths = list(paths)
        self._lock = threading.Lock()
        self._current = load_rule_set(self._paths)

    @property
    def paths(self) -> list[Path]:
        return list(self._paths)

    def current(self) -> RuleSet:
        with self._lock:
            return self._current
