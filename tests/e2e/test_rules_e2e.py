"""RuleService end to end: reload keeping the last good set, preview, explain, re-evaluation."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer.demo_directory import DEMO_AS_OF
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.settings import Settings
from dualdraw.v1 import rules_pb2
from dualdraw_client import DualdrawClient, InvalidArgumentError

from .conftest import RULES, Served
from .test_draw_e2e import demo_task

SUSPENDED_RULE = """\
version: 1
rules:
  - id: suspended.objects
    title: 停业 / Suspended
    category: risk_unsuitable
    legal_basis: {article: 第十六条 / Art. 16, text: 测试}
    reason: 测试 / test
    when:
      object:
        - {attr: status, op: eq, value: suspended}
"""


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


@pytest.fixture
def own_server(database_url: str, rules_copy: Path) -> Iterator[Served]:
    settings = Settings(
        database_url=database_url,
        rules_path=rules_copy,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        rules_watch_s=0.2,
        auth="off",  # this test is about rule reloads; access control is tested in tests/security
        allow_local_entropy=True,  # development: one-step draws use a local secret
    )
    running = create_server(settings)
    load_demo(running.services.unit_of_work)
    try:
        yield Served(running, f"127.0.0.1:{running.port}")
    finally:
        running.stop(grace=1)


def test_a_broken_reload_is_refused_and_the_running_set_stays(own_server: Served, rules_copy: Path) -> None:
    with DualdrawClient(own_server.target, timeout=60) as client:
        before = client.get_rule_set()
        assert len(before.rules) == 4
        path = rules_copy / "complaint-handling.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("attr: received_on", "attr: recieved_on"))
        with pytest.raises(InvalidArgumentError) as caught:
            client.reload_rules()
        (violation,) = caught.value.field_violations
        assert violation.field == "rules/complaint-handling.yaml:20:22"
        assert "did you mean 'received_on'" in violation.description
        assert client.get_rule_set().hash == before.hash

        # A set whose own tests fail is refused too.
        path.write_text(path.read_text(encoding="utf-8").replace("attr: recieved_on", "attr: received_on"))
        test_file = rules_copy / "tests" / "risk-unsuitable.yaml"
        test_file.write_text(
            test_file.read_text(encoding="utf-8").replace(
                "credit_code: LAST-DAY, rule", "credit_code: X, rule"
            )
        )
        with pytest.raises(InvalidArgumentError) as caught:
            client.reload_rules()
        assert all(
            v.field.startswith("rules/tests/risk-unsuitable.yaml:") for v in caught.value.field_violations
        )
        assert client.get_rule_set().hash == before.hash

        # A good change is taken: by the file watcher, or on request.
        test_file.write_text(
            test_file.read_text(encoding="utf-8").replace(
                "credit_code: X, rule", "credit_code: LAST-DAY, rule"
            )
        )
        (rules_copy / "suspended.yaml").write_text(SUSPENDED_RULE, encoding="utf-8")
        deadline = time.monotonic() + 10
        while client.get_rule_set().hash == before.hash and time.monotonic() < deadline:
            time.sleep(0.1)
        after = client.get_rule_set()
        assert "suspended.objects" in {r.id for r in after.rules}
        assert client.reload_rules().changed is False


def test_preview_explain_and_reevaluate_over_the_demo(demo_served: Served, client: DualdrawClient) -> None:
    preview = client.preview_rule_change({"suspended.yaml": SUSPENDED_RULE}, as_of=DEMO_AS_OF, max_share=0.5)
    excluded = [c for c in preview.changes if c.change == rules_pb2.OBJECT_CHANGE_KIND_EXCLUDED]
    assert excluded
    assert all(list(c.head_rules) == ["suspended.objects"] for c in excluded)
    for code in (c.credit_code for c in excluded):
        assert client.get_object(code).status == 2  # OBJECT_STATUS_SUSPENDED
    assert sum(d.newly_excluded for d in preview.departments) == len(excluded)
    assert sum(r.newly_excluded for r in preview.risk_classes) == len(excluded)
    for d in preview.departments:  # the share travels as decimal text, rounded to 6 decimals
        exact = Fraction(d.newly_excluded, d.eligible_before) if d.eligible_before else Fraction(0)
        assert abs(Fraction(d.excluded_share.value) - exact) <= Fraction(1, 2_000_000)
        assert (d.department_id in preview.over_max_share) == (exact > Fraction(1, 2))
    with pytest.raises(InvalidArgumentError) as caught:
        client.preview_rule_change({"suspended.yaml": SUSPENDED_RULE}, max_share="1.5")
    assert [(f.field, f.reason) for f in caught.value.field_violations] == [
        ("max_share", "RATIO_OUT_OF_RANGE")
    ]
    with pytest.raises(InvalidArgumentError) as caught:
        client.preview_rule_change({"bad.yaml": "version: 1\nrules: [1]\n"})
    assert caught.value.field_violations[0].field == "rules/bad.yaml:2:9"

    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    exclusion = next(iter(client.iter_exclusions(draw.id)))
    explanation = client.explain_exclusion(exclusion.credit_code, as_of=DEMO_AS_OF, task_id=task.id)
    assert exclusion.rule_id in explanation.excluded_by
    (verdict,) = [r for r in explanation.rules if r.rule_id == exclusion.rule_id]
    assert verdict.status == rules_pb2.RULE_VERDICT_STATUS_MATCHED
    assert {f.ref for f in verdict.facts} == set(exclusion.evidence)

    result = client.reevaluate_draw(draw.id)
    assert result.matches, (list(result.missing), list(result.unexpected))
    assert result.rule_set_hash == draw.rule_set_hash
    stored = client.get_rule_set(draw.rule_set_hash)
    assert stored.hash == draw.rule_set_hash
