"""End-to-end fixtures: the real server, started in-process on port 0 over a real database, with the demo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dualdraw.entrypoints.grpc.server import RunningServer, create_server
from dualdraw.service_layer.demo_loader import load_demo
from dualdraw.settings import Settings
from dualdraw_client import DualdrawClient

RULES = Path(__file__).resolve().parents[2] / "rules"


@dataclass
class Served:
    running: RunningServer
    target: str


@pytest.fixture
def served(database_url: str, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The server; it draws in its draw process unless the test is marked ``draws_in_process``."""
    in_process = request.node.get_closest_marker("draws_in_process") is not None
    settings = Settings(
        database_url=database_url,
        rules_path=RULES,
        address="127.0.0.1:0",
        rule_timeout_s=60,
        auth="off",
        allow_local_entropy=True,  # development mode: the one-step draw uses a local secret
        draw_process="off" if in_process else "on",
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
