"""``RuleService``: the rule set in force, reload, previews, explanations, draw re-evaluation.

Thin like the other servicers: convert, call ``service_layer.rule_book`` / ``rule_preview``, convert back.
Errors are mapped by ``dualdraw.entrypoints.grpc.errors``; roles are checked before by
``dualdraw.entrypoints.grpc.security``.
"""

from __future__ import annotations

import datetime as dt

import grpc
from google.type import date_pb2, decimal_pb2

from dualdraw.domain.errors import FieldViolation, InvalidArgument, Violations
from dualdraw.domain.exclusions.check import semantic_problems
from dualdraw.domain.exclusions.loader import RULE_FILE_SUFFIX, load_rule_texts
from dualdraw.domain.exclusions.model import RuleSet
from dualdraw.domain.exclusions.plain_yaml import RuleFileError
from dualdraw.domain.exclusions.schema import FactKind
from dualdraw.domain.jurisdiction import DepartmentTree
from dualdraw.entrypoints.grpc import convert
from dualdraw.entrypoints.grpc import resource_names as names
from dualdraw.entrypoints.grpc.convert import (
    EXCLUSION_CATEGORY_PB,
    date_from_pb,
    date_to_pb,
    risk_class_pb,
    share_text,
)
from dualdraw.entrypoints.grpc.servicers import Services
from dualdraw.service_layer import rule_preview
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.directory import require
from dualdraw.v1 import rules_pb2, rules_pb2_grpc

CHANGE_KIND_PB: dict[str, rules_pb2.ObjectChangeKind.ValueType] = {
    "excluded": rules_pb2.OBJECT_CHANGE_KIND_EXCLUDED,
    "included": rules_pb2.OBJECT_CHANGE_KIND_INCLUDED,
    "rules_changed": rules_pb2.OBJECT_CHANGE_KIND_RULES_CHANGED,
}
FACT_KIND_PB: dict[str, rules_pb2.FactKind.ValueType] = {
    FactKind.OBJECT: rules_pb2.FACT_KIND_OBJECT,
    FactKind.COMPLAINT: rules_pb2.FACT_KIND_COMPLAINT,
    FactKind.CAMPAIGN: rules_pb2.FACT_KIND_CAMPAIGN,
    FactKind.RISK_ASSESSMENT: rules_pb2.FACT_KIND_RISK_ASSESSMENT,
    FactKind.STATUTORY_DESIGNATION: rules_pb2.FACT_KIND_STATUTORY_DESIGNATION,
}
VERDICT_STATUS_PB: dict[str, rules_pb2.RuleVerdictStatus.ValueType] = {
    "matched": rules_pb2.RULE_VERDICT_STATUS_MATCHED,
    "nearly_matched": rules_pb2.RULE_VERDICT_STATUS_NEARLY_MATCHED,
    "not_matched": rules_pb2.RULE_VERDICT_STATUS_NOT_MATCHED,
    "not_in_force": rules_pb2.RULE_VERDICT_STATUS_NOT_IN_FORCE,
    "outside_jurisdiction": rules_pb2.RULE_VERDICT_STATUS_OUTSIDE_JURISDICTION,
}


def _day(value: date_pb2.Date, field: str) -> dt.date:
    """The day a request's optional ``google.type.Date`` holds; unset: today (UTC+8)."""
    v = Violations()
    day = date_from_pb(value, field, v, required=False)
    v.raise_if_any()
    return day or Caller(actor="").today()


def rule_set_to_pb(rule_set: RuleSet) -> rules_pb2.RuleSet:
    return rules_pb2.RuleSet(
        name=names.RULE_SETS.format(rule_set.hash),
        hash=rule_set.hash,
        version=rule_set.version,
        files=list(rule_set.sources),
        rules=[
            rules_pb2.RuleSummary(
                id=r.id,
                title=r.title,
                category=EXCLUSION_CATEGORY_PB[r.category],
                legal_basis=r.legal_basis.citation,
                reason=r.reason,
                effective_from=date_to_pb(r.effective_from),
                effective_to=date_to_pb(r.effective_to),
                jurisdictions=list(r.jurisdictions),
                source=str(r.source),
            )
            for r in rule_set.rules
        ],
    )


class RuleServicer(rules_pb2_grpc.RuleServiceServicer):
    def __init__(self, services: Services):
        self._s = services

    def GetRuleSet(
        self, request: rules_pb2.GetRuleSetRequest, context: grpc.ServicerContext
    ) -> rules_pb2.RuleSet:
        key = names.RULE_SETS.parse(request.name)
        current = self._s.rule_book.current()
        if key in (names.CURRENT_RULE_SET, current.hash):
            return rule_set_to_pb(current)
        with self._s.unit_of_work() as uow:
            return rule_set_to_pb(rule_preview.stored_rule_set(uow, key))

    def ReloadRules(
        self, request: rules_pb2.ReloadRulesRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ReloadRulesResponse:
        reload = self._s.rule_book.reload(self._s.engine)
        return rules_pb2.ReloadRulesResponse(
            rule_set=rule_set_to_pb(reload.rule_set), changed=reload.changed, test_cases=reload.test_cases
        )

    def PreviewRuleChange(
        self, request: rules_pb2.PreviewRuleChangeRequest, context: grpc.ServicerContext
    ) -> rules_pb2.PreviewRuleChangeResponse:
        v = Violations()
        max_share = (
            convert.parse_ratio_field(request.max_share.value, "max_share", v)
            if request.HasField("max_share")
            else None
        )
        v.raise_if_any()
        base = self._s.rule_book.current()
        head = self._candidate(dict(request.files))
        with self._s.unit_of_work() as uow:
            snapshot = rule_preview.snapshot_from_uow(uow)
        report = rule_preview.impact(
            base,
            head,
            snapshot,
            self._s.engine,
            as_of=_day(request.as_of, "as_of"),
            business_line=request.business_line,
            department_id=request.department_id or None,
        )
        over = report.over_share(max_share) if max_share is not None else []
        return rules_pb2.PreviewRuleChangeResponse(
            base_version=report.base_version,
            head_version=report.head_version,
            changes=[
                rules_pb2.ObjectChange(
                    credit_code=c.credit_code,
                    department_id=c.department_id,
                    risk_class=risk_class_pb(c.risk_class),
                    change=CHANGE_KIND_PB[c.change],
                    base_rules=list(c.base_rules),
                    head_rules=list(c.head_rules),
                )
                for c in report.changes
            ],
            departments=[
                rules_pb2.DepartmentImpact(
                    department_id=d.department_id,
                    in_scope=d.in_scope,
                    eligible_before=d.eligible_before,
                    newly_excluded=d.newly_excluded,
                    newly_included=d.newly_included,
                    excluded_share=decimal_pb2.Decimal(value=share_text(d.excluded_fraction)),
                )
                for d in report.departments.values()
            ],
            risk_classes=[
                rules_pb2.RiskClassImpact(
                    risk_class=risk_class_pb(risk),
                    newly_excluded=counts.get("excluded", 0),
                    newly_included=counts.get("included", 0),
                    rules_changed=counts.get("rules_changed", 0),
                )
                for risk, counts in report.risk_classes.items()
            ],
            over_max_share=[d.department_id for d in over],
        )

    def _candidate(self, changed: dict[str, str]) -> RuleSet:
        """The current files with ``changed`` applied, loaded and checked (``InvalidArgument`` otherwise)."""
        texts: dict[str, str] = {}
        for root in self._s.rule_book.paths:
            files = sorted(root.glob(f"*{RULE_FILE_SUFFIX}")) if root.is_dir() else [root]
            for f in files:
                texts[f.name] = f.read_text(encoding="utf-8")
        for name, text in changed.items():
            if "/" in name or "\\" in name or not name.endswith(RULE_FILE_SUFFIX):
                raise InvalidArgument(
                    [
                        FieldViolation(
                            f"files[{name}]", "a rule file name like 'x.yaml'", reason="FORMAT_INVALID"
                        )
                    ]
                )
            if text:
                texts[name] = text
            else:
                texts.pop(name, None)
        named = {f"rules/{name}": text for name, text in sorted(texts.items())}
        try:
            candidate = load_rule_texts(named)
        except RuleFileError as exc:
            problems = exc.problems
        else:
            problems = semantic_problems(candidate)
            if not problems:
                return candidate
        raise InvalidArgument(
            [
                FieldViolation(f"{p.file}:{p.line}:{p.column}", p.message, reason="RULE_FILE_INVALID")
                for p in problems
            ]
        )

    def ExplainExclusion(
        self, request: rules_pb2.ExplainExclusionRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ExplainExclusionResponse:
        as_of = _day(request.as_of, "as_of")
        with self._s.reader() as uow:  # reads only: on SQLite it must not wait for a draw's write lock
            obj = require(uow.directory.get_object(request.credit_code), "object", request.credit_code)
            department_id = request.department_id
            item_code = request.item_code
            if request.task_id:
                task = require(uow.tasks.get(request.task_id), "task", request.task_id)
                department_id = department_id or task.department_id
                item_code = task.item_code
            business_line = ""
            if item_code:
                business_line = require(uow.items.get(item_code), "inspection item", item_code).business_line
            departments = uow.directory.all_departments()
            side_facts = rule_preview.side_facts_of_object(uow, obj)
        tree = DepartmentTree(departments)
        ctx = rule_preview.context_for(
            tree,
            department_id or obj.registering_department_id,
            as_of=as_of,
            business_line=business_line,
            item_code=item_code,
            organizer_levels={d.id: int(d.level) for d in departments},
        )
        explanation = rule_preview.explain(self._s.rule_book.current(), obj, side_facts, ctx, self._s.engine)
        return rules_pb2.ExplainExclusionResponse(
            credit_code=explanation.credit_code,
            as_of=date_to_pb(explanation.as_of),
            rule_set_version=explanation.rule_set_version,
            excluded_by=list(explanation.excluded_by),
            eligible_again=date_to_pb(explanation.eligible_again),
            rules=[
                rules_pb2.RuleVerdict(
                    rule_id=r.rule_id,
                    title=r.title,
                    status=VERDICT_STATUS_PB[r.status],
                    failures=list(r.failures),
                    facts=[
                        rules_pb2.MatchedFact(kind=FACT_KIND_PB[f.kind], ref=f.ref, values=f.values)
                        for f in r.facts
                    ],
                    eligible_again=date_to_pb(r.eligible_again),
                )
                for r in explanation.rules
            ],
        )

    def ReevaluateDraw(
        self, request: rules_pb2.ReevaluateDrawRequest, context: grpc.ServicerContext
    ) -> rules_pb2.ReevaluateDrawResponse:
        result = rule_preview.reevaluate_draw(self._s.unit_of_work(), self._s.engine, request.draw_id)
        return rules_pb2.ReevaluateDrawResponse(
            draw_id=result.draw_id,
            rule_set_hash=result.rule_set_hash,
            matches=result.matches,
            missing=list(result.missing),
            unexpected=list(result.unexpected),
        )
