"""``ReloadRules`` changes the rule set of the whole server: a root policy editor only (tokens on)."""

from __future__ import annotations

import grpc
import pytest

from dualdraw.entrypoints.grpc.security.tokens import Role
from dualdraw.service_layer.demo_directory import CITY, LUNAN, PROVINCE
from dualdraw.v1 import rules_pb2, rules_pb2_grpc
from tests.security.conftest import Secured, bearer


def _reload(secured: Secured, department: str) -> grpc.StatusCode:
    token = secured.token(Role.POLICY_EDITOR, department=department, subject=f"editor-{department}")
    with secured.channel() as channel:
        try:
            rules_pb2_grpc.RuleServiceStub(channel).ReloadRules(
                rules_pb2.ReloadRulesRequest(), metadata=bearer(token), timeout=60
            )
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


@pytest.mark.parametrize("department", [LUNAN, CITY])  # a district branch, a city bureau below the root
def test_a_policy_editor_below_the_root_may_not_reload_the_rules(secured: Secured, department: str) -> None:
    before = secured.denials()
    assert _reload(secured, department) == grpc.StatusCode.PERMISSION_DENIED
    assert secured.denials() == before + 1


def test_a_root_policy_editor_reloads_the_rules(secured: Secured) -> None:
    before = secured.denials()
    assert _reload(secured, PROVINCE) == grpc.StatusCode.OK
    assert secured.denials() == before
