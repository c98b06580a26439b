"""What a ``dualdraw serve`` log says about the draws it ran: the stages' seconds, as the draw process logs
them (``draw_progress.StageLog``: "draw of task T: <stage> done (n) in s s")."""

from __future__ import annotations

import re
from pathlib import Path

_STAGE_DONE = re.compile(r"draw of task \S+: (\w+) done \(\d+\) in ([0-9.]+) s")


def draw_stages(log: str | Path) -> dict[str, float]:
    """Each stage's seconds in the last draw the log reports (a stage logged again replaces the earlier)."""
    stages: dict[str, float] = {}
    for line in Path(log).read_text(encoding="utf-8", errors="replace").splitlines():
        found = _STAGE_DONE.search(line)
        if found:
            if found[1] == "load":  # a draw starts with its load: the figures of the last one are kept
                stages.clear()
            stages[found[1]] = float(found[2])
    return stages
