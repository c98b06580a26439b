"""A relay's lease outlasts one attempt of its sender and no more than that by much: a message leased by a
server that died is sent again seconds after a restart, not after the five-minute default."""

from __future__ import annotations

import datetime as dt

from dualdraw.service_layer.outbox_delivery import LEASE, lease_for


def test_a_lease_outlasts_an_attempt_and_ends_within_seconds_of_it() -> None:
    for timeout_s in (1.0, 6.0, 10.0):
        lease = lease_for(timeout_s)
        assert dt.timedelta(seconds=timeout_s) < lease <= dt.timedelta(seconds=3 * timeout_s + 5)
        assert lease < LEASE
