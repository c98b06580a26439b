"""``StreamDrawBundle`` is ``ExportDrawBundle`` in chunks: the same policy, the same refusals (tokens on)."""

from __future__ import annotations

import pytest

from dualdraw.entrypoints.grpc.security.policy import POLICIES
from dualdraw.entrypoints.grpc.security.tokens import Role
from dualdraw_client import DualdrawClient, PermissionDeniedError
from tests.security.conftest import Secured

STREAM = "/dualdraw.v1.VerifiableDrawService/StreamDrawBundle"
UNARY = "/dualdraw.v1.VerifiableDrawService/ExportDrawBundle"


def test_the_stream_has_the_policy_of_the_unary_export() -> None:
    assert POLICIES[STREAM] == POLICIES[UNARY]
    assert POLICIES[STREAM].roles == {Role.DRAW_OPERATOR, Role.AUDITOR}
    assert not POLICIES[STREAM].writes


def test_a_caller_without_the_role_or_outside_the_subtree_is_refused_and_audited(secured: Secured) -> None:
    inside, outside = secured.inside, secured.outside
    auditor = secured.token(Role.AUDITOR, department=inside.department_id)
    with DualdrawClient(secured.target, token=auditor, timeout=60) as client:
        bundle = client.export_draw_bundle(inside.draw_id)
        assert bundle == client.export_draw_bundle_unary(inside.draw_id).content
        before = secured.denials()
        with pytest.raises(PermissionDeniedError):
            client.export_draw_bundle(outside.draw_id)  # another branch's draw
        assert secured.denials() == before + 1
    for role in (Role.INSPECTOR, Role.POLICY_EDITOR, Role.PUBLIC):
        token = secured.token(role, department=inside.department_id, subject=inside.badge_number)
        with DualdrawClient(secured.target, token=token, timeout=60) as client:
            before = secured.denials()
            with pytest.raises(PermissionDeniedError):
                client.export_draw_bundle(inside.draw_id)
            assert secured.denials() == before + 1, role
