"""What a rule change does, and why one object is excluded: impact previews and explanations.

Both read a *directory snapshot* — departments, objects and side facts — from the database or from a JSON
Lines export (the client's import format). Decisions always come from durable_rules (``ExclusionEngine``);
the plain-Python oracle only adds the "why": conditions that failed, facts that matched, and when a date
window ends.

Impact: every object in scope is evaluated under the base and the changed rule set with the context of the
department that would draw it — the one given, or else the object's registering department — and the two
sets of (object, rule) pairs are compared.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

from dualdraw.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from dualdraw.domain.exclusions import oracle
from dualdraw.domain.exclusions.loader import RULE_FILE_SUFFIX
from dualdraw.domain.exclusions.model import EvaluationContext, RuleSet
from dualdraw.domain.exclusions.schema import ATTRIBUTES, FactKind
from dualdraw.domain.jurisdiction import DepartmentTree, ObjectFilter
from dualdraw.domain.model import Department, Exclusion, InspectionObject, SideFacts
from dualdraw.service_layer.ports import ExclusionMatcher, Page, PageRequest, UnitOfWork


@dataclass(frozen=True)
class DirectorySnapshot:
    departments: list[Department]
    objects: list[InspectionObject]
    side_facts: SideFacts

    def side_facts_of(self, codes: set[str]) -> SideFacts:
        s = self.side_facts
        return SideFacts(
            complaints=[c for c in s.complaints if c.credit_code in codes],
            campaigns=list(s.campaigns),
            risk_assessments=[r for r in s.risk_assessments if r.credit_code in codes],
            statutory_designations=[d for d in s.statutory_designations if d.credit_code in codes],
        )


def side_facts_of_object(uow: UnitOfWork, obj: InspectionObject) -> SideFacts:
    """The side facts of ``obj`` alone (and all campaigns), as ``snapshot_from_uow(uow).side_facts_of``
    gives them, without loading the whole directory: keyed reads by credit code, in id order."""
    code = obj.credit_code
    return SideFacts(
        complaints=_every(lambda page: uow.directory.list_complaints(page, code)),
        campaigns=_every(uow.directory.list_campaigns),
        risk_assessments=_every(lambda page: uow.directory.list_risk_assessments(page, code)),
        statutory_designations=_every(lambda page: uow.directory.list_statutory_designations(page, code)),
    )


def _every(fetch: Callable[[PageRequest], Page[T]]) -> list[T]:
    items: list[T] = []
    after: str | None = None
    while True:
        page = fetch(PageRequest(size=_PAGE, after=after))
        items.extend(page.items)
        if page.next_after is None:
            return items
        after = page.next_after


_PAGE = 1000
T = TypeVar("T")


def snapshot_from_uow(uow: UnitOfWork) -> DirectorySnapshot:
    """The whole directory as stored (call inside ``with uow:``)."""
    departments = uow.directory.all_departments()
    everything = ObjectFilter(department_ids=frozenset(d.id for d in departments))
    return DirectorySnapshot(
        departments,
        uow.directory.objects_matching(everything),
        uow.directory.side_facts_matching(everything),
    )


def department_path(tree: DepartmentTree, department_id: str) -> tuple[str, ...]:
    """``department_id`` followed by its ancestors' ids, up to the root."""
    path: list[str] = []
    current: Department | None = tree.get(department_id)
    while current is not None and current.id not in path:
        path.append(current.id)
        current = tree.get(current.parent_id) if current.parent_id else None
    return tuple(path)


def context_for(
    tree: DepartmentTree,
    department_id: str,
    *,
    as_of: dt.date,
    business_line: str,
    item_code: str = "",
    organizer_levels: Mapping[str, int] | None = None,
) -> EvaluationContext:
    """The evaluation context of a task of ``department_id`` (raises ``NotFound`` for an unknown one)."""
    department = tree.get(department_id)
    if department is None:
        raise NotFound("department", department_id)
    return EvaluationContext(
        as_of=as_of,
        business_line=business_line,
        item_code=item_code,
        department_id=department.id,
        department_level=int(department.level),
        organizer_levels=dict(organizer_levels or {}),
        department_path=department_path(tree, department.id),
        department_region=department.region_code,
    )


# -- impact -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectChange:
    credit_code: str
    department_id: str
    risk_class: str
    change: str
    """``excluded`` (newly), ``included`` (newly) or ``rules_changed`` (excluded before and after)."""
    base_rules: tuple[str, ...]
    head_rules: tuple[str, ...]


@dataclass
class DepartmentImpact:
    department_id: str
    in_scope: int = 0
    eligible_before: int = 0
    newly_excluded: int = 0
    newly_included: int = 0

    @property
    def excluded_fraction(self) -> Fraction:
        """Newly excluded objects as an exact share of the objects eligible before (0 with none)."""
        return Fraction(self.newly_excluded, self.eligible_before) if self.eligible_before else Fraction(0)

    @property
    def excluded_share(self) -> float:
        """``excluded_fraction`` as a float, for printing."""
        return float(self.excluded_fraction)


@dataclass
class ImpactReport:
    base_version: str
    head_version: str
    changes: list[ObjectChange] = field(default_factory=list)
    departments: dict[str, DepartmentImpact] = field(default_factory=dict)
    risk_classes: dict[str, dict[str, int]] = field(default_factory=dict)

    def over_share(self, max_share: Fraction | float) -> list[DepartmentImpact]:
        """Departments where the change newly excludes more than ``max_share`` of the eligible objects
        (compared exactly)."""
        return [d for d in self.departments.values() if d.excluded_fraction > max_share]


def impact(
    base: RuleSet,
    head: RuleSet,
    snapshot: DirectorySnapshot,
    engine: ExclusionMatcher,
    *,
    as_of: dt.date,
    business_line: str = "",
    department_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImpactReport:
    """Which objects ``head`` excludes or includes compared with ``base``, by rule, department, risk class.

    ``progress(done, total)`` counts object evaluations (each object twice: base, then head) as they go.
    """
    tree = DepartmentTree(snapshot.departments)
    levels = {d.id: int(d.level) for d in snapshot.departments}
    groups: defaultdict[str, list[InspectionObject]] = defaultdict(list)
    if department_id is not None:
        if tree.get(department_id) is None:
            raise NotFound("department", department_id)
        subtree = tree.subtree_ids(department_id)
        groups[department_id] = [o for o in snapshot.objects if o.registering_department_id in subtree]
    else:
        for o in snapshot.objects:
            groups[o.registering_department_id].append(o)
    report = ImpactReport(base.version, head.version)
    total = 2 * sum(len(objects) for dep_id, objects in groups.items() if tree.get(dep_id) is not None)
    done = 0

    def told(offset: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda evaluated, _of: progress(offset + evaluated, total)

    for dep_id in sorted(groups):
        objects = sorted(groups[dep_id], key=lambda o: o.credit_code)
        if tree.get(dep_id) is None:
            continue
        context = context_for(tree, dep_id, as_of=as_of, business_line=business_line, organizer_levels=levels)
        side = snapshot.side_facts_of({o.credit_code for o in objects})
        before = _rules_by_object(engine.evaluate(base, context, objects, side, progress=told(done)))
        done += len(objects)
        after = _rules_by_object(engine.evaluate(head, context, objects, side, progress=told(done)))
        done += len(objects)
        if progress is not None:
            progress(done, total)
        summary = report.departments.setdefault(dep_id, DepartmentImpact(dep_id))
        summary.in_scope += len(objects)
        summary.eligible_before += sum(1 for o in objects if o.credit_code not in before)
        for o in objects:
            old, new = before.get(o.credit_code, ()), after.get(o.credit_code, ())
            if old == new:
                continue
            change = "excluded" if not old else "included" if not new else "rules_changed"
            report.changes.append(ObjectChange(o.credit_code, dep_id, o.risk_class.value, change, old, new))
            if change == "excluded":
                summary.newly_excluded += 1
            elif change == "included":
                summary.newly_included += 1
            counts = report.risk_classes.setdefault(o.risk_class.value, defaultdict(int))
            counts[change] += 1
    report.risk_classes = {k: dict(v) for k, v in sorted(report.risk_classes.items())}
    return report


def _rules_by_object(exclusions: Iterable[Exclusion]) -> dict[str, tuple[str, ...]]:
    found: defaultdict[str, list[str]] = defaultdict(list)
    for e in exclusions:
        found[e.credit_code].append(e.rule_id)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def rule_texts_at_revision(rules_dir: Path, revision: str) -> dict[str, str]:
    """The rule files (``*.yaml`` directly in ``rules_dir``) as they were at git ``revision``.

    Raises ``InvalidArgument`` when git cannot read them (unknown revision, not a repository).
    """

    def git(*args: str) -> str:
        try:
            done = subprocess.run(  # noqa: S603 - fixed git command, revision passed as one argument
                ["git", "-C", str(rules_dir), *args],  # noqa: S607 - git from the PATH, as a developer runs it
                check=True,
                capture_output=True,
                text=True,
                encoding="utf-8",
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise InvalidArgument(
                [
                    FieldViolation(
                        "base",
                        f"git cannot read {rules_dir} at {revision!r}: {detail.strip()}",
                        reason="GIT_REVISION_INVALID",
                    )
                ]
            ) from exc
        return done.stdout

    if revision.startswith("-"):
        raise InvalidArgument(
            [FieldViolation("base", f"not a git revision: {revision!r}", reason="GIT_REVISION_INVALID")]
        )
    names = [
        n for n in git("ls-tree", "--name-only", revision, "./").splitlines() if n.endswith(RULE_FILE_SUFFIX)
    ]
    return {str(rules_dir / name): git("show", f"{revision}:./{name}") for name in sorted(names)}


# -- explain ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchedFact:
    kind: str
    ref: str
    values: dict[str, str]


@dataclass(frozen=True)
class RuleExplanation:
    rule_id: str
    title: str
    status: str
    """``matched``, ``nearly_matched`` (all but one condition held), ``not_matched``, ``not_in_force`` or
    ``outside_jurisdiction``."""
    failures: tuple[str, ...]
    facts: tuple[MatchedFact, ...]
    eligible_again: dt.date | None


@dataclass(frozen=True)
class Explanation:
    credit_code: str
    as_of: dt.date
    rule_set_version: str
    excluded_by: tuple[str, ...]
    """The rules durable_rules matched (the decision)."""
    rules: tuple[RuleExplanation, ...]
    eligible_again: dt.date | None
    """When every matching rule stops matching by date (``None``: not by date alone, or not excluded)."""


def explain(
    rule_set: RuleSet,
    obj: InspectionObject,
    side_facts: SideFacts,
    context: EvaluationContext,
    engine: ExclusionMatcher,
) -> Explanation:
    """Every rule's verdict for ``obj``: matched (with its facts), nearly matched (with what failed)."""
    decided = tuple(e.rule_id for e in engine.evaluate(rule_set, context, [obj], side_facts))
    needs_campaigns = any(r.fact_kinds for r in rule_set.rules)
    directory = oracle.Directory.of(context, [obj], side_facts, needs_campaigns)
    fact = directory.objects[obj.credit_code]
    explained: list[RuleExplanation] = []
    for rule in rule_set.rules:
        if not rule.in_force(context.as_of):
            window = f"{rule.effective_from or '…'} to {rule.effective_to or '…'}"
            explained.append(
                RuleExplanation(rule.id, rule.title, "not_in_force", (f"in force {window}",), (), None)
            )
            continue
        if not rule.applies_to(context):
            explained.append(
                RuleExplanation(
                    rule.id,
                    rule.title,
                    "outside_jurisdiction",
                    (f"applies to {', '.join(rule.jurisdictions)} only",),
                    (),
                    None,
                )
            )
            continue
        outcome = oracle.evaluate_rule(rule, fact, directory)
        status = (
            "matched"
            if outcome.matched
            else "nearly_matched"
            if len(outcome.failures) == 1
            else "not_matched"
        )
        matched_facts = tuple(
            MatchedFact(p.pattern.kind.value, str(f["ref"]), _values(p.pattern.kind.value, f))
            for p in outcome.patterns
            if not p.pattern.absent
            for f in p.matching
            if str(f["ref"]) in outcome.evidence
        )
        explained.append(
            RuleExplanation(
                rule.id,
                rule.title,
                status,
                outcome.failures,
                matched_facts,
                oracle.eligible_again(outcome, context),
            )
        )
    matched = [r for r in explained if r.rule_id in decided]
    again: dt.date | None = None
    if matched and all(r.eligible_again for r in matched):
        again = max(r.eligible_again for r in matched if r.eligible_again)
    return Explanation(obj.credit_code, context.as_of, rule_set.version, decided, tuple(explained), again)


def _values(kind: str, fact: Mapping[str, object]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name in ATTRIBUTES[FactKind(kind)]:
        if name in fact:
            shown[name] = oracle._shown(fact[name], FactKind(kind), name)
    return shown


def objects_by_code(objects: Sequence[InspectionObject]) -> dict[str, InspectionObject]:
    return {o.credit_code: o for o in objects}


# -- re-evaluating an old draw -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reevaluation:
    draw_id: str
    rule_set_hash: str
    missing: tuple[str, ...]
    """``credit_code/rule_id`` stored with the draw but not found now."""
    unexpected: tuple[str, ...]
    """Found now but not stored with the draw."""

    @property
    def matches(self) -> bool:
        return not self.missing and not self.unexpected


def stored_rule_set(uow: UnitOfWork, rule_set_hash: str) -> RuleSet:
    """The stored rule set with ``rule_set_hash`` (``NotFound`` when no draw stored it)."""
    text = uow.rule_sets.get(rule_set_hash)
    if text is None:
        raise NotFound("rule set", rule_set_hash)
    rule_set = RuleSet.from_canonical_json(text)
    if rule_set.hash != rule_set_hash:
        raise FailedPrecondition(
            f"stored rule set {rule_set_hash} hashes to {rule_set.hash}: the store is corrupt",
            reason="RULE_SET_CORRUPT",
        )
    return rule_set


def reevaluate_draw(uow: UnitOfWork, engine: ExclusionMatcher, draw_id: str) -> Reevaluation:
    """Recomputes a draw's exclusions with the rule set it used, over today's directory, and compares.

    The directory is not snapshotted per draw, so a difference can also mean the directory changed since.
    """
    from dualdraw.domain.jurisdiction import task_object_filter
    from dualdraw.service_layer.directory import require

    with uow:
        record = require(uow.draws.get_record(draw_id), "draw", draw_id)
        draw = record.draw
        rule_set = stored_rule_set(uow, draw.rule_set_hash)
        task = require(uow.tasks.get(draw.task_id), "task", draw.task_id)
        item = require(uow.items.get(task.item_code), "inspection item", task.item_code)
        departments = uow.directory.all_departments()
        tree = DepartmentTree(departments)
        object_filter = task_object_filter(tree, task)
        objects = uow.directory.objects_matching(object_filter)
        side_facts = uow.directory.side_facts_matching(object_filter)
    context = context_for(
        tree,
        task.department_id,
        as_of=draw.as_of,
        business_line=item.business_line,
        item_code=item.code,
        organizer_levels={d.id: int(d.level) for d in departments},
    )
    now = {f"{e.credit_code}/{e.rule_id}" for e in engine.evaluate(rule_set, context, objects, side_facts)}
    stored = {f"{e.credit_code}/{e.rule_id}" for e in record.exclusions}
    return Reevaluation(draw_id, draw.rule_set_hash, tuple(sorted(stored - now)), tuple(sorted(now - stored)))
