"""Bundles of any size through the API: ``StreamDrawBundle`` in chunks, ``ExportDrawBundle`` refusing what
does not fit in one message with a clear status, and the incremental writer byte-identical to the former
one-structure ``canonical_json`` on real draws (each test runs on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dualdraw.domain.audit.entries import leaf_data
from dualdraw.domain.audit.merkle import inclusion_proof, leaf_hash
from dualdraw.domain.canonical_json import canonical_json
from dualdraw.domain.draw.commitments import object_commitment, salt_for
from dualdraw.domain.draw.object_plan import ObjectPlan, plan_leaf, plan_salt, raise_salt, raised_leaf
from dualdraw.domain.draw.selection import object_ticket, ticket_hex
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer import bundles
from dualdraw.service_layer.demo_directory import DEMO_AS_OF
from dualdraw.service_layer.directory import require
from dualdraw.service_layer.ports import UnitOfWork
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, verification_pb2
from dualdraw.verifier.bundle import verify_bundle
from dualdraw_client import DualdrawClient, FailedPreconditionError, NotFoundError
from dualdraw_client.cli import main as cli_main

from .conftest import RULES, Served
from .test_draw_e2e import demo_task
from .test_verifiable_draws_e2e import commit_reveal_source

SMALL_LIMIT = 8 * 1024  # a demo draw's full bundle is ~14 KB


def former_export_bundle(uow: UnitOfWork, draw_id: str, *, variant: str) -> bytes:
    """``bundles.export_bundle`` as it was before the incremental writer (commit 73e9a3a), verbatim but for
    names: the whole bundle as one structure through ``canonical_json``; with a ``dualdraw-draw/4`` draw's
    ``plan`` and ``raised`` members (§12.2) written the same way, each public proof by the audit log's
    one-leaf ``inclusion_proof``."""
    with uow:
        record = require(uow.draws.get_record(draw_id), "draw", draw_id)
        salt_key_hex, entries = require(uow.lifecycle.commitments(draw_id), "draw commitments", draw_id)
        inputs = uow.lifecycle.entropy_inputs(draw_id)
        substitutions = uow.lifecycle.substitutions(draw_id)
        events = uow.audit.events_of(f"draws/{draw_id}")
        checkpoint = uow.audit.checkpoint()
        assert checkpoint is not None
        assert events
        leaves = [bytes.fromhex(h) for h in uow.audit.leaf_hashes(checkpoint.tree_size)]
        object_plan = uow.lifecycle.object_plan(draw_id)
    draw = record.draw
    executed = draw.state == "executed" or bool(draw.seed)
    salt_key = bytes.fromhex(salt_key_hex)
    seed = bytes.fromhex(draw.seed) if draw.seed else b""
    if variant == bundles.FULL:
        eligible: list[dict[str, Any]] = [
            {
                "code": e.code,
                "stratum": e.stratum,
                "risk_class": e.risk_class,
                "salt": salt_for(salt_key, e.code),
            }
            for e in sorted(entries, key=lambda e: e.code)
        ]
        exclusions = [[e.credit_code, e.rule_id] for e in record.exclusions]
    else:
        eligible = sorted(
            (
                {
                    "commitment": object_commitment(e, salt_for(salt_key, e.code)),
                    "stratum": e.stratum,
                    "ticket": ticket_hex(object_ticket(seed, e.stratum, e.code)) if seed else "",
                }
                for e in entries
            ),
            key=lambda x: x["commitment"],
        )
        exclusions = []
    bundle = {
        "format": bundles.BUNDLE_FORMAT,
        "variant": variant,
        "draw": {
            "id": draw.id,
            "task_id": draw.task_id,
            "state": draw.state,
            "state_reason": draw.state_reason,
            "manifest_json": draw.manifest_json,
            "manifest_hash": draw.manifest_hash,
            "entropy_source": draw.entropy_source if executed else "",
            "entropy": draw.entropy,
            "seed": draw.seed,
        },
        "entropy_inputs": [
            {
                "role": i.role,
                "name": i.name,
                "commitment": i.commitment,
                "value": i.value if executed or i.role != "local-secret" else "",
            }
            for i in sorted(inputs, key=lambda i: (i.role, i.name))
        ],
        "eligible": eligible,
        "exclusions": exclusions,
        "pool": list(record.inspector_pool),
        "assignments": [
            {
                "position": a.position,
                "code": a.credit_code,
                "stratum": a.stratum,
                "ticket": a.ticket,
                "team": [m.badge_number for m in a.team],
            }
            for a in sorted(record.assignments, key=lambda a: a.position)
        ],
        "substitutions": [
            {
                "id": s.id,
                "position": s.position,
                "removed_badge": s.removed_badge,
                "replacement_badge": s.replacement_badge,
                "reason_code": s.reason_code,
                "evidence_hash": s.evidence_hash,
                "entropy_source": json.loads(s.entropy_source),
                "entropy": s.entropy,
                "event_leaf_hash": s.event_leaf_hash,
                "state": s.state,
            }
            for s in substitutions
        ],
        "log": {
            "events": [
                {
                    "sequence": e.sequence,
                    "leaf_data": leaf_data(e).decode("utf-8"),
                    "proof": [p.hex() for p in inclusion_proof(e.sequence - 1, leaves)],
                }
                for e in events
                if e.sequence <= checkpoint.tree_size
            ],
            "checkpoint": {
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash,
                "public_key": checkpoint.public_key,
                "signature": checkpoint.signature,
            },
        },
    }
    if object_plan is not None:
        bundle |= {"format": "dualdraw-bundle/2"} | _plan_members(object_plan, salt_key, variant, record)
    return canonical_json(bundle) + b"\n"


def _plan_members(plan: ObjectPlan, salt_key: bytes, variant: str, record: Any) -> dict[str, Any]:
    rows = sorted(plan.rows.values())
    leaves = {r.code: plan_leaf(r, plan_salt(salt_key, r.code)) for r in rows}
    if variant == bundles.FULL:
        raised = sorted((plan.raised or {}).values())
        return {
            "plan": [leaves[r.code] for r in rows],
            "raised": [raised_leaf(r, raise_salt(salt_key, r.code)) for r in raised],
        }
    level0 = sorted(leaf_hash(canonical_json(leaf)) for leaf in leaves.values())
    public = []
    for code in sorted(a.credit_code for a in record.assignments):
        index = level0.index(leaf_hash(canonical_json(leaves[code])))
        proof = [p.hex() for p in inclusion_proof(index, level0)]
        public.append({"index": index, "leaf": leaves[code], "proof": proof})
    return {"plan": public, "raised": []}


@pytest.fixture
def small(database_url: str, demo_served: Served) -> Iterator[str]:
    """A second server on the same database whose messages are at most 8 KiB; yields its target."""
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        auth="off",
        allow_local_entropy=True,  # development: one-step draws use a local secret
        draw_process="off",
        max_message_bytes=SMALL_LIMIT,
    )
    running: RunningServer = create_server(settings)
    try:
        yield f"127.0.0.1:{running.port}"
    finally:
        running.stop(grace=1)


def test_incremental_bundle_is_byte_identical_to_the_former_writer_on_real_draws(
    demo_served: Served, client: DualdrawClient
) -> None:
    executed = client.draw(demo_task(client).id, as_of=DEMO_AS_OF)
    first = next(client.iter_assignments(executed.id))
    sub = client.request_substitution(executed.id, 1, first.team[1].badge_number, "LEAVE", "ab" * 32)
    client.execute_substitution(sub.id)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    secrets = {"bureau": b"identical bytes 1", "discipline-office": b"identical bytes 2"}
    source = commit_reveal_source(later, secrets)
    committed = client.commit_draw(demo_task(client).id, source, as_of=DEMO_AS_OF)
    assert committed.state == draws_pb2.DRAW_STATE_COMMITTED  # no seed yet: tickets empty, secrets hidden
    uow = demo_served.running.services.unit_of_work
    for draw_id in (executed.id, committed.id):
        for variant in (bundles.FULL, bundles.PUBLIC):
            new = bundles.export_bundle(uow(), draw_id, variant=variant)
            assert new == former_export_bundle(uow(), draw_id, variant=variant), (draw_id, variant)
            built = bundles.build_bundle(uow(), draw_id, variant=variant, chunk_bytes=4096)
            chunks = list(built.chunks())
            assert len(chunks) > 1
            assert {len(c) for c in chunks[:-1]} == {4096}
            assert b"".join(chunks) == built.content() == new
            built.discard()
            assert not Path(built.path).exists()
            assert client.export_draw_bundle(draw_id, public=variant == bundles.PUBLIC) == new
    with pytest.raises(ValueError, match="variant"):
        bundles.export_bundle(uow(), executed.id, variant="partial")


def test_a_bundle_over_the_message_limit_streams_in_chunks_identical_to_the_unary_export(
    demo_served: Served, client: DualdrawClient, small: str
) -> None:
    draw = client.draw(demo_task(client).id, as_of=DEMO_AS_OF)
    unary = client.export_draw_bundle_unary(draw.id)  # the 16 MiB default carries it in one message
    assert (unary.draw_id, unary.variant) == (draw.id, verification_pb2.BUNDLE_VARIANT_FULL)
    assert len(unary.content) > SMALL_LIMIT
    with DualdrawClient(small, actor="e2e-tester", timeout=60) as limited:
        request = verification_pb2.StreamDrawBundleRequest(draw_id=draw.id)
        chunks = list(limited._verifiable.StreamDrawBundle(request, metadata=limited._metadata(), timeout=60))
        assert len(chunks) >= 3
        assert all(c.ByteSize() <= SMALL_LIMIT for c in chunks)
        assert (chunks[0].draw_id, chunks[0].variant) == (draw.id, verification_pb2.BUNDLE_VARIANT_FULL)
        assert chunks[0].total_size_bytes == len(unary.content)
        assert chunks[0].format == verification_pb2.BUNDLE_FORMAT_DOCUMENT
        assert [c.content_sha256 != "" for c in chunks] == [False] * (len(chunks) - 1) + [True]
        streamed = limited.export_draw_bundle(draw.id)
        public = limited.export_draw_bundle(draw.id, public=True)
    assert streamed == unary.content
    assert b"".join(c.data for c in chunks) == unary.content
    report = verify_bundle(streamed)
    assert report.ok, report.problem
    assert public == client.export_draw_bundle_unary(draw.id, public=True).content
    assert verify_bundle(public).ok


def test_unary_export_over_the_limit_fails_with_a_clear_status_naming_the_stream(
    demo_served: Served, client: DualdrawClient, small: str
) -> None:
    draw = client.draw(demo_task(client).id, as_of=DEMO_AS_OF)
    size = len(client.export_draw_bundle(draw.id))
    with DualdrawClient(small, actor="e2e-tester", timeout=60) as limited:
        with pytest.raises(FailedPreconditionError) as refused:
            limited.export_draw_bundle_unary(draw.id)
        with pytest.raises(NotFoundError):
            limited.export_draw_bundle("no-such-draw")
    error = refused.value
    assert error.reason == "BUNDLE_TOO_LARGE"
    assert "StreamDrawBundle" in error.message
    assert "message larger than max" not in error.message
    assert error.metadata == {
        "size_bytes": str(size),
        "max_message_bytes": str(SMALL_LIMIT),
        "use_method": "dualdraw.v1.VerifiableDrawService.StreamDrawBundle",
    }


def test_dualdraw_draw_export_writes_a_bundle_over_the_limit_that_verifies(
    demo_served: Served, client: DualdrawClient, small: str, tmp_path: Path
) -> None:
    draw = client.draw(demo_task(client).id, as_of=DEMO_AS_OF)
    out = tmp_path / "exports" / "draw.json"
    out.parent.mkdir()
    assert cli_main(["draw", "export", draw.id, "-o", str(out), "--server", small]) == 0
    assert sorted(out.parent.iterdir()) == [out]  # no FILE.part left behind
    content = out.read_bytes()
    assert content == client.export_draw_bundle_unary(draw.id).content
    assert verify_bundle(content).ok
