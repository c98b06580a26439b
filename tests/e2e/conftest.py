"""End-to-end fixtures: the real server, started in-process on port 0 over a real database, with the demo."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import timestamp_pb2

from dualdraw.domain.draw.beacon import DRAND_QUICKNET
from dualdraw.domain.draw.entropy import party_commitment
from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.settings import Settings
from dualdraw.v1 import draws_pb2, verification_pb2
from dualdraw_client import DualdrawClient

RULES = Path(__file__).resolve().parents[2] / "rules"


def publishable_draw(
    client: DualdrawClient, task_id: str, as_of: str | dt.date | None = None, request_id: str | None = None
) -> draws_pb2.Draw:
    """An executed draw that may be published (a local secret never is): commit-reveal by one named party
    with a fresh secret, revealed at once; its fallback round lies a day ahead."""
    secret = secrets.token_bytes(16)
    now = dt.datetime.now(dt.UTC)
    party = verification_pb2.PartyCommitment(name="bureau", commitment=party_commitment("bureau", secret))
    source = verification_pb2.EntropySource(
        kind=verification_pb2.ENTROPY_SOURCE_KIND_COMMIT_REVEAL,
        parties=[party],
        reveal_deadline=timestamp_pb2.Timestamp(seconds=int((now + dt.timedelta(hours=1)).timestamp())),
        beacon=DRAND_QUICKNET.name,
        beacon_round=DRAND_QUICKNET.first_round_after(now + dt.timedelta(days=1)),
    )
    committed = client.commit_draw(task_id, source, as_of=as_of, request_id=request_id)
    if committed.state != draws_pb2.DRAW_STATE_COMMITTED:  # a repeated request: the draw it made
        return committed
    return client.reveal_entropy(committed.id, "bureau", secret.hex())


@dataclass
class Served:
    running: RunningServer
    target: str


@pytest.fixture
def served(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """The server; it draws in its draw process unless the test is marked ``draws_in_process``. Its
    evidence store is a fresh directory."""
    in_process = request.node.get_closest_marker("draws_in_process") is not None
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        allow_local_entropy=True,  # development mode: the one-step draw uses a local secret
        draw_process="off" if in_process else "on",
        evidence_dir=tmp_path / "evidence",
    )
    running = create_server(settings)
    try:
        yield Served(running, f"127.0.0.1:{running.port}")
    finally:
        running.stop(grace=1)


@pytest.fixture
def demo_served(served: Served) -> Served:
    counts = load_demo(served.running.services.unit_of_work)
    assert counts is not None
    assert counts["objects"] > 0
    return served


@pytest.fixture
def client(served: Served) -> Iterator[DualdrawClient]:
    with DualdrawClient(served.target, actor="e2e-tester", timeout=60) as c:
        yield c
