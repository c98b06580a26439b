"""Verifiable draws end to end: commit → reveal/beacon → execute, one live draw per task, substitution,
bundles verified offline, and each attack (SQL edits, tampered bundle, replayed reveal, re-commit after a
result, substitution without its event) detected. Real server on port 0, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from google.protobuf import timestamp_pb2

from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.beacon import DRAND_QUICKNET
from dualdraw.domain.draw.entropy import party_commitment
from dualdraw.service_layer.demo_directory import DEMO_AS_OF
from dualdraw.v1 import draws_pb2, verification_pb2
from dualdraw.verifier.bundle import ObjectCheck, verify_bundle
from dualdraw_client import AlreadyExistsError, DualdrawClient, FailedPreconditionError
from dualdraw_client.cli import main as cli_main

from ..integration.test_checkpoint_note import open_note, parse_checkpoint, parse_vkey
from .conftest import Served
from .test_draw_e2e import demo_task

ROOT = Path(__file__).resolve().parents[2]
# A drand quicknet round produced a day from now: committing to it is allowed, its value unknown to anyone.
FUTURE_ROUND = DRAND_QUICKNET.first_round_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))


def commit_reveal_source(deadline: dt.datetime, secrets: dict[str, bytes]) -> verification_pb2.EntropySource:
    return verification_pb2.EntropySource(
        kind=verification_pb2.ENTROPY_SOURCE_KIND_COMMIT_REVEAL,
        parties=[
            verification_pb2.PartyCommitment(name=name, commitment=party_commitment(name, secret))
            for name, secret in secrets.items()
        ],
        reveal_deadline=timestamp_pb2.Timestamp(
            seconds=int(deadline.timestamp()), nanos=deadline.microsecond * 1000
        ),
        beacon="drand-quicknet",
        beacon_round=FUTURE_ROUND,
    )


def sql(database_url: str, statement: str, **params: object) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(statement), params)
    finally:
        engine.dispose()


def test_commit_reveal_draw_is_verified_offline_and_a_replayed_reveal_is_refused(
    demo_served: Served, client: DualdrawClient
) -> None:
    secrets = {"bureau": b"bureau secret 1", "discipline-office": b"discipline secret 1"}
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    task = demo_task(client)
    draw = client.commit_draw(task.id, commit_reveal_source(later, secrets), as_of=DEMO_AS_OF)
    assert draw.state == draws_pb2.DRAW_STATE_COMMITTED
    assert draw.seed == ""
    with pytest.raises(FailedPreconditionError) as waiting:
        client.execute_draw(draw.id)
    assert waiting.value.reason == "AWAITING_REVEALS"
    with pytest.raises(FailedPreconditionError) as wrong:
        client.reveal_entropy(draw.id, "bureau", b"a guess".hex())
    assert wrong.value.reason == "REVEAL_MISMATCH"
    revealed = client.reveal_entropy(draw.id, "bureau", secrets["bureau"].hex())
    assert revealed.state == draws_pb2.DRAW_STATE_COMMITTED
    with pytest.raises(FailedPreconditionError) as replay:
        client.reveal_entropy(draw.id, "bureau", secrets["bureau"].hex())
    assert replay.value.reason == "ALREADY_REVEALED"
    done = client.reveal_entropy(draw.id, "discipline-office", secrets["discipline-office"].hex())
    assert done.state == draws_pb2.DRAW_STATE_EXECUTED
    assert done.entropy_source == "commit-reveal:2/2"
    with pytest.raises(FailedPreconditionError):  # a late replay into an executed draw
        client.reveal_entropy(draw.id, "bureau", secrets["bureau"].hex())

    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert report.ok, report.problem

    # The same commitments (hence the same, now public, secrets) cannot be used for another draw.
    other = demo_task(client)
    with pytest.raises(AlreadyExistsError) as reused:
        client.commit_draw(other.id, commit_reveal_source(later, secrets), as_of=DEMO_AS_OF)
    assert reused.value.reason == "COMMITMENT_REUSED"


def test_fallback_beacon_stands_in_for_a_party_that_does_not_reveal_by_the_deadline(
    demo_served: Served, client: DualdrawClient
) -> None:
    secrets = {"bureau": b"s-a", "party-b": b"s-b"}
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    task = demo_task(client)
    draw = client.commit_draw(task.id, commit_reveal_source(deadline, secrets), as_of=DEMO_AS_OF)
    client.reveal_entropy(draw.id, "bureau", secrets["bureau"].hex())
    while dt.datetime.now(dt.UTC) <= deadline:
        pass
    with pytest.raises(FailedPreconditionError) as needs:
        client.execute_draw(draw.id)
    assert needs.value.reason == "AWAITING_ENTROPY"
    # The fallback round is a day away: any value given now is not its signature, and is refused.
    with pytest.raises(FailedPreconditionError) as invented:
        client.execute_draw(draw.id, "a5" * 48)
    assert invented.value.reason == "BEACON_SIGNATURE_INVALID"
    assert client.get_draw(draw.id).state == draws_pb2.DRAW_STATE_COMMITTED
    assert verify_bundle(client.export_draw_bundle(draw.id)).ok


def test_one_live_draw_per_task_and_abandoned_draws_stay_visible_and_counted(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client)
    first = client.draw(task.id, as_of=DEMO_AS_OF)
    # Seeing the result, an operator tries to draw again: refused while the first is live.
    with pytest.raises(AlreadyExistsError) as again:
        client.commit_draw(task.id, as_of=DEMO_AS_OF)
    assert again.value.reason == "DRAW_EXISTS"
    with pytest.raises(AlreadyExistsError):
        client.draw(task.id, as_of=DEMO_AS_OF)
    abandoned = client.abandon_draw(first.id, "DATA_ERROR", "directory import was incomplete")
    assert abandoned.state == draws_pb2.DRAW_STATE_ABANDONED
    assert abandoned.state_reason == draws_pb2.ABANDON_REASON_DATA_ERROR
    beacon = verification_pb2.EntropySource(
        kind=verification_pb2.ENTROPY_SOURCE_KIND_BEACON, beacon="drand-quicknet", beacon_round=FUTURE_ROUND
    )
    second = client.commit_draw(task.id, beacon, as_of=DEMO_AS_OF)
    with pytest.raises(FailedPreconditionError) as needs:
        client.execute_draw(second.id)
    assert needs.value.reason == "AWAITING_ENTROPY"
    states = {d.id: d.state for d in client.iter_draws(task_id=task.id)}
    assert states == {first.id: draws_pb2.DRAW_STATE_ABANDONED, second.id: draws_pb2.DRAW_STATE_COMMITTED}
    assert client.get_task(task.id).draw_id == second.id
    stats = client.draw_statistics()
    assert stats.abandoned == 1
    assert stats.abandoned_by_reason["DATA_ERROR"] == 1
    # the abandoned draw's own bundle says so, and verifies
    report = verify_bundle(client.export_draw_bundle(first.id))
    assert report.ok, report.problem
    assert verify_bundle(client.export_draw_bundle(second.id)).ok


def test_substitution_is_logged_first_counted_and_a_silent_team_edit_is_detected(
    demo_served: Served, client: DualdrawClient, database_url: str
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    first = next(client.iter_assignments(draw.id))
    removed = first.team[1].badge_number
    sub = client.request_substitution(draw.id, 1, removed, "LEAVE", "ab" * 32)
    assert sub.state == verification_pb2.SUBSTITUTION_STATE_REQUESTED
    assert sub.event_leaf_hash
    events = [e.action for e in client.iter_audit_events(resource=f"draws/{draw.id}")]
    assert events[-1] == "draw.substitution.request"  # logged before any entropy for it exists
    sub = client.execute_substitution(sub.id)
    assert sub.state == verification_pb2.SUBSTITUTION_STATE_EXECUTED
    assert sub.replacement_badge not in (removed, "")
    team = [m.badge_number for m in next(client.iter_assignments(draw.id)).team]
    assert removed not in team
    assert sub.replacement_badge in team
    stats = client.draw_statistics()
    assert stats.substitutions_by_department[task.department_id] == 1
    assert stats.substitutions_by_inspector[removed] == 1
    assert verify_bundle(client.export_draw_bundle(draw.id)).ok

    # A substitution made directly in the database, without its event:
    position2 = list(client.iter_assignments(draw.id))[1]
    other_team_member = next(
        b
        for b in (m.badge_number for a in client.iter_assignments(draw.id) for m in a.team)
        if b not in {m.badge_number for m in position2.team}
    )
    sql(
        database_url,
        "UPDATE assignment_members SET badge_number = :b WHERE draw_id = :d AND position = 2"
        " AND member_order = 1",
        b=other_team_member,
        d=draw.id,
    )
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert not report.ok
    assert "assignments[1].team" in report.problem
    assert "without its substitution event" in report.problem


def test_substitution_row_inserted_without_its_event_is_detected(
    demo_served: Served, client: DualdrawClient, database_url: str
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    a = next(client.iter_assignments(draw.id))
    sql(
        database_url,
        "INSERT INTO substitutions (id, draw_id, position, removed_badge, reason_code, evidence_hash,"
        " entropy_source, local_secret, event_leaf_hash, replacement_badge, entropy, state, requested_at,"
        " actor) VALUES ('s-forged', :d, 1, :b, 'LEAVE', :e, '{}', '', '', 'X', '00', 'executed', :t, 'x')",
        d=draw.id,
        b=a.team[0].badge_number,
        e="cd" * 32,
        t=dt.datetime(2026, 12, 1),
    )
    report = verify_bundle(client.export_draw_bundle(draw.id))
    assert not report.ok
    assert "s-forged has no request event" in report.problem


def test_flipping_any_byte_of_a_bundle_fails_verification_with_a_named_problem(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    sub = client.request_substitution(
        draw.id, 1, next(client.iter_assignments(draw.id)).team[0].badge_number, "AVOIDANCE", "ee" * 32
    )
    client.execute_substitution(sub.id)
    raw = client.export_draw_bundle(draw.id)
    assert verify_bundle(raw).ok
    positions = sorted({0, len(raw) - 1, *range(0, len(raw), max(1, len(raw) // 400))})
    for i in positions:
        for bit in (0x01, 0x20):
            tampered = bytearray(raw)
            tampered[i] ^= bit
            report = verify_bundle(bytes(tampered))
            assert not report.ok, f"byte {i} flipped with {bit:#x} went unnoticed"
            assert report.problem


def test_well_formed_edits_of_a_bundle_are_named_by_row_and_field(
    demo_served: Served, client: DualdrawClient
) -> None:
    """The verifier checks eligible rows column by column and, when anything is off, row by row: the
    problem names the first bad row and field. Its fast canonical-form check never accepts what
    canonical JSON would not write."""
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    raw = client.export_draw_bundle(draw.id)
    assert verify_bundle(raw).ok

    def edited(change: Callable[[dict[str, Any]], None]) -> str:
        bundle = json.loads(raw)
        change(bundle)
        return verify_bundle(canonical_json(bundle) + b"\n").problem

    def set_row(n: int, name: str, value: object) -> Callable[[dict[str, Any]], None]:
        return lambda b: b["eligible"][n].__setitem__(name, value)

    assert edited(set_row(3, "salt", "AB" * 32)) == "eligible[3].salt: not 64 lower-case hex digits"
    assert edited(set_row(3, "salt", "ab" * 31)) == "eligible[3].salt: not 64 lower-case hex digits"
    assert edited(set_row(2, "code", 91)) == "eligible[2].code: expected a string"
    assert edited(set_row(1, "stratum", None)) == "eligible[1].stratum: expected a string"
    assert edited(lambda b: b["eligible"][4].pop("risk_class")).startswith(
        "eligible[4]: fields ['risk_class'] are unexpected or missing"
    )
    assert edited(lambda b: b["eligible"].__setitem__(0, "x")) == "eligible[0]: expected an object"
    assert edited(set_row(0, "risk_class", "Z")).startswith("eligible[0]: stratum ")  # not its class
    assert (
        edited(set_row(5, "salt", "0" * 64))
        == "eligible: the set does not match the manifest's eligible_root"
    )
    text = raw.decode()
    assert verify_bundle(text.replace('"position":1,', '"position":1.0,', 1).encode()).problem.startswith(
        "bundle: holds values canonical JSON does not allow"
    )
    assert verify_bundle(text.replace('"position":1,', '"position": 1,', 1).encode()).problem.startswith(
        "bundle: not in canonical form"
    )
    assert verify_bundle(raw.removesuffix(b"\n")).problem.startswith("bundle: not in canonical form")


def test_public_bundle_hides_confidential_fields_and_each_object_can_check_its_ticket(
    demo_served: Served, client: DualdrawClient
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    full = json.loads(client.export_draw_bundle(draw.id))
    public_raw = client.export_draw_bundle(draw.id, public=True)
    public = json.loads(public_raw)
    assert public["variant"] == "public"
    assert public["exclusions"] == []
    assert all(set(e) == {"commitment", "stratum", "ticket"} for e in public["eligible"])
    assert b'"risk_class"' not in public_raw
    # No salt that opens an eligible commitment: the public plan rows carry the selected objects' plan
    # salts, other values under another tag (docs/DRAW-ALGORITHM.md §14.8).
    for row in full["eligible"]:
        assert row["salt"].encode() not in public_raw
    selected = {a["code"] for a in full["assignments"]}
    unselected = next(e for e in full["eligible"] if e["code"] not in selected)
    mine = ObjectCheck(unselected["code"], unselected["risk_class"], unselected["salt"])
    report = verify_bundle(public_raw, own_object=mine)
    assert report.ok, report.problem
    assert any("ticket checked; not selected" in n for n in report.notes)
    wrong = ObjectCheck(
        unselected["code"], "D" if unselected["risk_class"] != "D" else "A", unselected["salt"]
    )
    assert not verify_bundle(public_raw, own_object=wrong).ok


def test_verify_log_rpc_and_cli_name_the_first_bad_entry_after_a_sql_edit(
    demo_served: Served, client: DualdrawClient, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task = demo_task(client)
    client.draw(task.id, as_of=DEMO_AS_OF)
    verdict = client.verify_log()
    assert verdict.ok, verdict.problem
    held = client.get_checkpoint()
    proof = client.get_consistency_proof(1)
    assert proof.new_checkpoint.tree_size == held.tree_size
    assert cli_main(["audit", "verify", "--server", demo_served.target]) == 0
    assert "OK:" in capsys.readouterr().out
    sql(database_url, "UPDATE audit_events SET actor = 'nobody' WHERE sequence = 2")
    verdict = client.verify_log()
    assert not verdict.ok
    assert verdict.first_bad_sequence == 2
    assert cli_main(["audit", "verify", "--server", demo_served.target]) == 1
    assert "TAMPERED: first bad entry 2" in capsys.readouterr().out


_BLOCK_SERVER_SIDE = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("sqlalchemy", "grpc", "psycopg", "alembic", "durable_rules"):
            raise ImportError("the offline verifier must not need " + name)
sys.meta_path.insert(0, Block())
from dualdraw.entrypoints.cli.verify import main
sys.exit(main(sys.argv[1:]))
"""
_BLOCK_SERVER_SIDE_CLI = _BLOCK_SERVER_SIDE.replace(
    "from dualdraw.entrypoints.cli.verify import main\nsys.exit(main(sys.argv[1:]))",
    # `dualdraw verify FILE`
    "from dualdraw.entrypoints.cli.main import main\nsys.exit(main(['verify', *sys.argv[1:]]))",
)


def test_dualdraw_draw_export_then_verify_offline_prints_match(
    demo_served: Served, client: DualdrawClient, tmp_path: Path
) -> None:
    task = demo_task(client)
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    bundle = tmp_path / "draw.bundle.json"
    assert cli_main(["draw", "export", draw.id, "-o", str(bundle), "--server", demo_served.target]) == 0
    assert _BLOCK_SERVER_SIDE_CLI != _BLOCK_SERVER_SIDE
    for script in (_BLOCK_SERVER_SIDE, _BLOCK_SERVER_SIDE_CLI):  # the module, and `dualdraw verify` itself
        ok = subprocess.run(
            [sys.executable, "-c", script, str(bundle)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "MATCH" in ok.stdout
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0x01
    bundle.write_bytes(bytes(data))
    bad = subprocess.run(
        [sys.executable, "-c", _BLOCK_SERVER_SIDE, str(bundle)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "MISMATCH:" in bad.stdout


def test_get_checkpoint_and_the_cli_give_the_signed_note(
    demo_served: Served, client: DualdrawClient, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_task(client)  # an audited write, so the log has a checkpoint
    held = client.get_checkpoint()
    key = parse_vkey(held.note_verifier_key)
    assert key.public_key.hex() == held.public_key
    origin, size, root = parse_checkpoint(open_note(held.note, key))
    assert (origin, size, root.hex()) == ("dualdraw/audit/v1", held.tree_size, held.root_hash)
    capsys.readouterr()
    assert cli_main(["audit", "checkpoint", "--note", "--server", demo_served.target]) == 0
    assert capsys.readouterr().out == held.note
    assert cli_main(["audit", "checkpoint", "--server", demo_served.target]) == 0
    shown = capsys.readouterr().out
    assert held.note_verifier_key in shown
    assert held.note.split("\n")[-2] in shown


def test_a_draw_with_nothing_eligible_is_verified_offline(
    demo_served: Served, client: DualdrawClient
) -> None:
    """A draw with nothing eligible (none in scope, or every object excluded) lists no strata in a policy
    draw's manifest (a ``dualdraw-draw/1`` manifest kept ``all`` with count 0): the bundle matches."""
    task = demo_task(client, scope={"industries": ["Z99"]})
    draw = client.draw(task.id, as_of=DEMO_AS_OF)
    assert (draw.eligible_count, draw.selected_count) == (0, 0)
    bundle = client.export_draw_bundle(draw.id)
    manifest = json.loads(json.loads(bundle)["draw"]["manifest_json"])
    assert manifest["objects"]["strata"] == {}
    report = verify_bundle(bundle)
    assert report.ok, report.problem
