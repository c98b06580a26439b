"""The exclusion rules: the rule set in force, reload, preview, explanation, re-evaluation."""

from __future__ import annotations

import datetime
import decimal

from google.type import decimal_pb2

from dualdraw.v1 import rules_pb2, rules_pb2_grpc

from ..dates import date_pb
from ..decimals import Number, decimal_pb
from ..names import named
from .base import ClientBase


class RuleCalls(ClientBase):
    """The exclusion rule set and what-if questions about it."""

    # -- rules -----------------------------------------------------------------------------------------

    @property
    def _rules(self) -> rules_pb2_grpc.RuleServiceStub:
        return rules_pb2_grpc.RuleServiceStub(self._channel)

    def get_rule_set(self, rule_set_hash: str = "") -> rules_pb2.RuleSet:
        """The rule set in force, or a stored one (one that some draw used) by its hash."""
        request = rules_pb2.GetRuleSetRequest(name=named("ruleSets", rule_set_hash or "current"))
        return self._call(self._rules.GetRuleSet, request)

    def reload_rules(self, *, timeout: float | None = None) -> rules_pb2.ReloadRulesResponse:
        """Re-reads the server's rule files; InvalidArgumentError (one violation per problem) if refused."""
        return self._call(self._rules.ReloadRules, rules_pb2.ReloadRulesRequest(), timeout)

    def preview_rule_change(
        self,
        files: dict[str, str],
        *,
        as_of: str | datetime.date | None = None,
        department_id: str = "",
        business_line: str = "",
        max_share: float | Number | None = None,
        timeout: float | None = None,
    ) -> rules_pb2.PreviewRuleChangeResponse:
        """Which objects the changed rule ``files`` (name → YAML; empty text removes) exclude or include."""
        request = rules_pb2.PreviewRuleChangeRequest(
            files=files,
            as_of=date_pb(as_of),
            department_id=department_id,
            business_line=business_line,
            max_share=_share(max_share),
        )
        return self._call(self._rules.PreviewRuleChange, request, timeout)

    def explain_exclusion(
        self,
        credit_code: str,
        *,
        as_of: str | datetime.date | None = None,
        task_id: str = "",
        item_code: str = "",
        department_id: str = "",
    ) -> rules_pb2.ExplainExclusionResponse:
        """Every rule's verdict for one object, with matched facts and when it becomes eligible again."""
        request = rules_pb2.ExplainExclusionRequest(
            credit_code=credit_code,
            as_of=date_pb(as_of),
            task_id=task_id,
            item_code=item_code,
            department_id=department_id,
        )
        return self._call(self._rules.ExplainExclusion, request)

    def reevaluate_draw(self, draw_id: str) -> rules_pb2.ReevaluateDrawResponse:
        """Recomputes an old draw's exclusions with its own stored rule set and compares."""
        return self._call(self._rules.ReevaluateDraw, rules_pb2.ReevaluateDrawRequest(draw_id=draw_id))


def _share(value: float | Number | None) -> decimal_pb2.Decimal | None:
    """``max_share`` as a ``google.type.Decimal``; a float is written by its shortest repr, without exponent;
    ``None`` or 0: report none."""
    if value is None or value == 0:
        return None
    if isinstance(value, float):
        return decimal_pb(decimal.Decimal(repr(value)))
    return decimal_pb(value)
