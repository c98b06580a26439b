"""Which departments' inspection history a draw reads or adds to, and whether it reads it at all."""

from __future__ import annotations

from dualdraw.domain.inspection_history import history_scope, reads_history
from dualdraw.domain.policy import TaskPolicy

SUBTREE = frozenset({"c-hz", "d-sc", "d-xh"})


def test_a_draw_is_scoped_by_its_department_and_the_departments_whose_inspectors_it_may_assign() -> None:
    assert history_scope("c-hz", TaskPolicy(), SUBTREE) == {"c-hz"}
    assert history_scope("c-hz", TaskPolicy(enabled=True), SUBTREE) == {"c-hz"}
    assert history_scope("c-hz", TaskPolicy(enabled=True, central=True), SUBTREE) == SUBTREE
    joint = TaskPolicy(enabled=True, cooperating_department_ids=("p-health",))
    assert history_scope("c-hz", joint, SUBTREE) == {"c-hz", "p-health"}


def test_only_a_cap_or_the_recent_inspections_rule_reads_the_history() -> None:
    assert not reads_history(TaskPolicy())  # dualdraw-draw/1: no cap
    assert reads_history(TaskPolicy(enabled=True).for_item(None))  # the default cap of 1
    assert not reads_history(TaskPolicy(enabled=True, frequency_cap=0))
    assert not reads_history(TaskPolicy(enabled=True).for_item(0))
    assert reads_history(TaskPolicy(enabled=True, frequency_cap=0, recent_cycles=2))
