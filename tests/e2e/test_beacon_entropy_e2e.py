"""Entropy no insider knows: local secrets only in development, beacon rounds after the commit, beacon
values verified (drand quicknet signatures) at execute and by the offline verifier. Real server on port 0,
SQLite and PostgreSQL.

The published round used is drand quicknet round 30662982 (produced 2026-07-23 07:38:30 UTC; its source is
given in tests/unit/test_beacon_verification.py). Its commit must precede that time, so those draws are
committed through the use cases with the caller's clock set before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dualdraw.domain.draw import entropy
from dualdraw.domain.draw.beacon import DRAND_QUICKNET
from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.entrypoints.grpc.server import create_server
from dualdraw.service_layer import bundles, draw_commit, draw_lifecycle
from dualdraw.service_layer.context import Caller
from dualdraw.service_layer.demo_directory import DEMO_AS_OF
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, results_pb2, verification_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient, FailedPreconditionError
from dualdraw_client.cli import main as cli_main
from dualdraw_client.dates import date_pb

from .conftest import RULES, Served, publishable_draw
from .test_draw_e2e import demo_task

ROUND = 30662982
SIGNATURE = "8b3edd0d42a2fa36ac15641a2dea2e4f4895acec2ef72ef39e5b6138f0346fb6b046dde1b4b3d09ff5fe8a6a7acd674a"
BEFORE_ROUND = DRAND_QUICKNET.round_time(ROUND) - dt.timedelta(minutes=5)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["off", "on"], ids=["in-server", "draw-process"])
def production_served(database_url: str, request: pytest.FixtureRequest) -> Iterator[Served]:
    """A server without DUALDRAW_ALLOW_LOCAL_ENTROPY (auth off only so that the test needs no tokens), its
    draws in the server process and in the draw process: the rule holds in both."""
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        draw_process=request.param,
    )
    running = create_server(settings)
    assert load_demo(running.services.unit_of_work) is not None
    try:
        yield Served(running, f"127.0.0.1:{running.port}")
    finally:
        running.stop(grace=1)


def test_local_secret_is_refused_outside_development_and_the_one_step_draw_commits_to_a_beacon_round(
    production_served: Served,
) -> None:
    with DualdrawClient(production_served.target, actor="e2e-tester", timeout=60) as client:
        task = demo_task(client)
        local = verification_pb2.EntropySource(kind=verification_pb2.ENTROPY_SOURCE_KIND_LOCAL_SECRET)
        with pytest.raises(FailedPreconditionError) as refused:
            client.commit_draw(task.id, local, as_of=DEMO_AS_OF)
        assert refused.value.reason == "LOCAL_ENTROPY_FORBIDDEN"
        assert client.get_task(task.id).draw_id == ""  # nothing written
        assert list(client.iter_draws(task_id=task.id)) == []

        before = dt.datetime.now(dt.UTC)
        draw = client.draw(task.id, as_of=DEMO_AS_OF)
        assert draw.state == draws_pb2.DRAW_STATE_COMMITTED
        assert draw.seed == ""
        assert draw.entropy_note == ""
        manifest = json.loads(client.export_draw_bundle(draw.id))["draw"]["manifest_json"]
        source = json.loads(manifest)["entropy_source"]
        assert source["beacon"] == "drand-quicknet"
        # the default round is produced a minute after the commit
        assert DRAND_QUICKNET.round_time(source["round"]) > before + dt.timedelta(seconds=59)
        with pytest.raises(FailedPreconditionError) as invented:
            client.execute_draw(draw.id, "a5" * 48)
        assert invented.value.reason == "BEACON_SIGNATURE_INVALID"
        assert client.get_draw(draw.id).state == draws_pb2.DRAW_STATE_COMMITTED

        named = demo_task(client)
        past = verification_pb2.EntropySource(
            kind=verification_pb2.ENTROPY_SOURCE_KIND_BEACON, beacon="drand-quicknet", beacon_round=ROUND
        )
        with pytest.raises(FailedPreconditionError) as late:
            client.commit_draw(named.id, past, as_of=DEMO_AS_OF)
        assert late.value.reason == "BEACON_ROUND_NOT_AFTER_COMMIT"
        with pytest.raises(FailedPreconditionError) as late_one_step:
            client.draw(named.id, as_of=DEMO_AS_OF, beacon_round=ROUND)
        assert late_one_step.value.reason == "BEACON_ROUND_NOT_AFTER_COMMIT"
        assert client.get_task(named.id).draw_id == ""


def test_local_entropy_needs_development_mode() -> None:
    with pytest.raises(ValueError, match="DUALDRAW_AUTH=off"):
        create_server(
            Settings(
                database_url="sqlite://", rules_path=RULES, address="127.0.0.1:0", allow_local_entropy=True
            )
        )


def test_a_development_draw_with_a_local_secret_is_marked_in_every_view_and_never_published(
    demo_served: Served,
    client: DualdrawClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    assert draw.state == draws_pb2.DRAW_STATE_EXECUTED
    mark = "local secret — development only, not publishable"
    assert draw.entropy_note == mark
    assert client.get_draw(draw.id).entropy_note == mark
    [listed] = client.list_draws(task_id=task.id).draws
    assert listed.entropy_note == mark
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert report.ok, report.problem
    assert any(mark in note for note in report.notes)
    capsys.readouterr()
    assert cli_main(["draws", "show", draw.id, "--server", demo_served.target]) == 0
    assert mark in capsys.readouterr().out
    assert cli_main(["draws", "list", "--task", task.id, "--server", demo_served.target]) == 0
    assert mark in capsys.readouterr().out

    today = Caller("x").today().isoformat()
    for a in client.iter_assignments(draw.id):
        client.record_result(
            results_pb2.InspectionResult(
                draw_id=draw.id,
                position=a.position,
                outcome=results_pb2.OUTCOME_NO_PROBLEM,
                inspected_on=date_pb(today),
            )
        )
    with pytest.raises(FailedPreconditionError) as refused:
        client.publish_results(draw.id)
    assert refused.value.reason == "LOCAL_ENTROPY_NOT_PUBLISHABLE"
    assert refused.value.metadata == {"draw_id": draw.id}
    assert draw.id not in {d.draw_id for d in client.iter_published_draws()}

    # Abandoned, it is public (nothing withdrawn is hidden), and marked in the public API and on the site.
    client.abandon_draw(draw.id, "OTHER", "开发环境试抽")
    shown = client.abandoned_draw(draw.id)
    assert (shown.entropy_note, shown.entropy_source) == (mark, draw.entropy_source)
    site = tmp_path / "site"
    assert dualdraw_cli.main(["publish", "site", str(site), "--server", demo_served.target]) == 0
    listing = (site / "abandoned.html").read_text(encoding="utf-8")
    row = listing[listing.index(f'id="abandoned-{draw.id}"') :]
    assert "本地密钥抽取：仅供开发，不可公示" in row[: row.index("</tr>")]


def test_a_published_round_is_accepted_and_an_invented_value_is_flagged_by_the_offline_verifier(
    demo_served: Served, client: DualdrawClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = demo_served.running.services
    task = demo_task(client)
    declaration = {"kind": "beacon", "beacon": "drand-quicknet", "round": ROUND}
    committed = draw_lifecycle.commit_draw(
        services.unit_of_work(),
        services.engine,
        services.rule_book.current(),
        task_id=task.id,
        as_of=DEMO_AS_OF,
        caller=Caller(actor="e2e-tester", now=BEFORE_ROUND),
        declaration=declaration,
        entropy=services.entropy_policy,
    )
    at_round = Caller(actor="e2e-tester", now=DRAND_QUICKNET.round_time(ROUND) + dt.timedelta(seconds=5))
    with pytest.raises(FailedPreconditionError):
        client.execute_draw(committed.id, SIGNATURE[:-2] + "00")  # one byte changed
    outcome = draw_lifecycle.execute_draw(
        services.unit_of_work(), draw_id=committed.id, beacon_value=SIGNATURE, caller=at_round
    )
    assert outcome.draw.state == "executed"
    assert outcome.draw.entropy_source == f"beacon:drand-quicknet#{ROUND}"
    assert client.get_draw(committed.id).entropy_note == ""
    bundle = bundles.export_bundle(services.unit_of_work(), committed.id)
    report = verify_bundle(bundle)
    assert report.ok, report.problem

    # A server that took an invented value (its check switched off here: an old or altered server)
    # writes a consistent log; the offline verifier checks the signature itself and reports it.
    other = draw_lifecycle.commit_draw(
        services.unit_of_work(),
        services.engine,
        services.rule_book.current(),
        task_id=demo_task(client).id,
        as_of=DEMO_AS_OF,
        caller=Caller(actor="e2e-tester", now=BEFORE_ROUND),
        declaration=declaration,
        entropy=services.entropy_policy,
    )
    with monkeypatch.context() as unchecked:
        unchecked.setattr(
            entropy, "verify_round", lambda _chain, _round, value: hashlib.sha256(value).digest()
        )
        draw_lifecycle.execute_draw(
            services.unit_of_work(), draw_id=other.id, beacon_value="a5" * 48, caller=at_round
        )
    forged = tmp_path / "forged.json"
    forged.write_bytes(bundles.export_bundle(services.unit_of_work(), other.id))
    run = subprocess.run(
        [sys.executable, "-m", "dualdraw.entrypoints.cli.verify", str(forged)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"MISMATCH: entropy: beacon drand-quicknet round {ROUND}" in run.stdout, run.stdout
    assert "the value must be the beacon's signature of that round" in run.stdout


def test_the_offline_verifier_refuses_a_round_produced_before_the_commit(
    demo_served: Served, client: DualdrawClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = demo_served.running.services
    after_round = DRAND_QUICKNET.round_time(ROUND) + dt.timedelta(minutes=5)
    declaration = {"kind": "beacon", "beacon": "drand-quicknet", "round": ROUND}
    # A server that let the commit name a round already produced (its check switched off here).
    with monkeypatch.context() as unchecked:
        unchecked.setattr(draw_commit, "check_rounds_after", lambda _declaration, _at: None)
        late = draw_lifecycle.commit_draw(
            services.unit_of_work(),
            services.engine,
            services.rule_book.current(),
            task_id=demo_task(client).id,
            as_of=DEMO_AS_OF,
            caller=Caller(actor="e2e-tester", now=after_round),
            declaration=declaration,
            entropy=services.entropy_policy,
        )
    draw_lifecycle.execute_draw(
        services.unit_of_work(), draw_id=late.id, beacon_value=SIGNATURE, caller=Caller(actor="e2e-tester")
    )
    report = verify_bundle(bundles.export_bundle(services.unit_of_work(), late.id))
    assert not report.ok
    assert f"beacon drand-quicknet round {ROUND}" in report.problem
    assert "not after the commit" in report.problem


def test_a_substitution_outside_development_takes_a_beacon_round_after_its_request(
    production_served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    services = production_served.running.services
    with DualdrawClient(production_served.target, actor="e2e-tester", timeout=60) as client:
        task = demo_task(client)
        done = _executed_beacon_draw(services, task.id)
        first = next(iter(client.iter_assignments(done.id)))
        removed = first.team[-1].badge_number

        before = dt.datetime.now(dt.UTC)
        sub = client.request_substitution(done.id, first.position, removed, "LEAVE", "ab" * 32)
        source = json.loads(sub.entropy_source)
        assert source["kind"] == "beacon"  # no local secret: the default round a minute after the request
        assert DRAND_QUICKNET.round_time(source["round"]) > before + dt.timedelta(seconds=59)
        with pytest.raises(FailedPreconditionError) as invented:
            client.execute_substitution(sub.id, "a5" * 48)
        assert invented.value.reason == "BEACON_SIGNATURE_INVALID"
        assert (
            client.list_substitutions(done.id).substitutions[0].state
            == verification_pb2.SUBSTITUTION_STATE_REQUESTED
        )
        with pytest.raises(FailedPreconditionError) as late:
            client.request_substitution(
                done.id,
                first.position,
                removed,
                "LEAVE",
                "ab" * 32,
                beacon="drand-quicknet",
                beacon_round=ROUND,
            )
        assert late.value.reason == "BEACON_ROUND_NOT_AFTER_COMMIT"
        assert len(client.list_substitutions(done.id).substitutions) == 1  # nothing written

        # from the command line: requested now, picked once the round's signature is given
        other = first.team[0].badge_number
        argv = ["draw", "substitute", done.id, "--position", str(first.position), "--badge", other]
        argv += ["--reason", "AVOIDANCE", "--evidence-hash", "ef" * 32, "--server", production_served.target]
        assert cli_main(argv) == 0
        printed = capsys.readouterr().out
        assert "dualdraw draw execute-substitution" in printed
        assert '"kind":"beacon"' in printed


def _executed_beacon_draw(services: Any, task_id: str) -> Any:
    """A draw of ``task_id`` committed before quicknet round ``ROUND`` and executed with its signature."""
    committed = draw_lifecycle.commit_draw(
        services.unit_of_work(),
        services.engine,
        services.rule_book.current(),
        task_id=task_id,
        as_of=DEMO_AS_OF,
        caller=Caller(actor="e2e-tester", now=BEFORE_ROUND - dt.timedelta(minutes=1)),
        declaration={"kind": "beacon", "beacon": "drand-quicknet", "round": ROUND},
        entropy=services.entropy_policy,
    )
    at_round = Caller(actor="e2e-tester", now=DRAND_QUICKNET.round_time(ROUND) + dt.timedelta(seconds=5))
    return draw_lifecycle.execute_draw(
        services.unit_of_work(), draw_id=committed.id, beacon_value=SIGNATURE, caller=at_round
    ).draw


def test_the_offline_verifier_checks_a_substitutions_beacon_value(
    demo_served: Served, client: DualdrawClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = demo_served.running.services
    draw = _executed_beacon_draw(services, demo_task(client).id)
    assignments = list(client.iter_assignments(draw.id))

    def request(position: int, badge: str) -> str:
        return draw_lifecycle.request_substitution(
            services.unit_of_work(),
            draw_lifecycle.SubstitutionRequest(
                draw.id, position, badge, "LEAVE", "cd" * 32, "drand-quicknet", ROUND
            ),
            Caller(actor="e2e-tester", now=BEFORE_ROUND + dt.timedelta(seconds=position)),
            entropy=services.entropy_policy,
        ).id

    good = request(assignments[0].position, assignments[0].team[-1].badge_number)
    client.execute_substitution(good, SIGNATURE)
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert report.ok, report.problem

    # A server that took an invented value for a substitution (its check switched off here) is caught offline.
    forged = request(assignments[1].position, assignments[1].team[-1].badge_number)
    with monkeypatch.context() as unchecked:
        unchecked.setattr(
            entropy, "verify_round", lambda _chain, _round, value: hashlib.sha256(value).digest()
        )
        draw_lifecycle.execute_substitution(
            services.unit_of_work(), substitution_id=forged, beacon_value="a5" * 48, caller=Caller(actor="x")
        )
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert not report.ok
    assert report.problem.startswith("substitutions[1]: entropy:"), report.problem
    assert "signature" in report.problem


def test_a_substitution_made_with_a_local_secret_blocks_publication(
    demo_served: Served, client: DualdrawClient
) -> None:
    draw = publishable_draw(client, demo_task(client).id, as_of=DEMO_AS_OF)
    first = next(iter(client.iter_assignments(draw.id)))
    sub = client.request_substitution(
        draw.id, first.position, first.team[-1].badge_number, "LEAVE", "ab" * 32
    )
    assert json.loads(sub.entropy_source)["kind"] == "local-secret"  # development: allowed, and marked
    client.execute_substitution(sub.id)
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert report.ok, report.problem
    assert any(f"substitution {sub.id}: local secret" in note for note in report.notes)
    today = Caller("x").today().isoformat()
    for a in client.iter_assignments(draw.id):
        client.record_result(
            results_pb2.InspectionResult(
                draw_id=draw.id,
                position=a.position,
                outcome=results_pb2.OUTCOME_NO_PROBLEM,
                inspected_on=date_pb(today),
            )
        )
    with pytest.raises(FailedPreconditionError) as refused:
        client.publish_results(draw.id)
    assert refused.value.reason == "LOCAL_ENTROPY_NOT_PUBLISHABLE"
    assert refused.value.metadata == {"draw_id": draw.id, "substitution_id": sub.id}
