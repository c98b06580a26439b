"""Peer addresses without their port, and the per-caller refusal budget (``security.denials``)."""

from __future__ import annotations

import pytest

from dualdraw.entrypoints.grpc.security.denials import DenialThrottle, peer_host


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:127.0.0.1:53122", "ipv4:127.0.0.1"),
        ("ipv6:[::1]:53122", "ipv6:[::1]"),
        ("unix:/run/dualdraw.sock", "unix:/run/dualdraw.sock"),
        ("", ""),
    ],
)
def test_the_peer_address_loses_its_port(peer: str, host: str) -> None:
    assert peer_host(peer) == host


def test_a_caller_has_its_burst_then_its_rate_and_others_are_not_affected() -> None:
    now = [0.0]
    throttle = DenialThrottle(2.0, 3, clock=lambda: now[0])
    assert [throttle.take("a") for _ in range(3)] == [None, None, None]
    assert throttle.take("a") == pytest.approx(0.5)
    assert throttle.take("b") is None
    now[0] = 0.5
    assert throttle.take("a") is None
    assert throttle.take("a") == pytest.approx(0.5)


def test_a_rate_of_zero_never_throttles() -> None:
    throttle = DenialThrottle(0, 1)
    assert all(throttle.take("a") is None for _ in range(1000))
