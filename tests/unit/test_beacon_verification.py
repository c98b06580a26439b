"""drand quicknet beacon values are verified against the pinned chain key, with published rounds as vectors.

Where each vector comes from (all rounds of the League of Entropy mainnet quicknet chain
52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971, as its relays serve them at
/<chain hash>/public/<round>):

- rounds 2 and 3: github.com/ChainSafe/forest, src/beacon/signatures/tests.rs (commit 734b117c), which
  cites the relay URL of each signature; the same rounds, with their randomness, are in drand's own Go
  client tests (quicknetBeacons) and in Forest's recorded test chain;
- round 30662982 (produced 2026-07-23 07:38:30 UTC): github.com/ChainSafe/forest, the recorded quicknet
  rounds its fake drand server serves in tests (``FakeDrandChain::quicknet``), signature and randomness.

The randomness published with each round is SHA256(signature), which the tests check as well.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dualdraw.domain.draw.beacon import DRAND_QUICKNET, BeaconProblem, chain, verify_round
from dualdraw.domain.draw.entropy import EntropyProblem, check_rounds_after

# (round, signature, randomness) as published.
PUBLISHED = [
    (
        2,
        "b6b6a585449b66eb12e875b64fcbab3799861a00e4dbf092d99e969a5eac57dd3f798acf61e705fe4f093db926626807",
        "5782d6987841c654515a0e72b2d1ebb4e741234042c37cb19608ae50d93fb60c",
    ),
    (
        3,
        "b3fab6df720b68cc47175f2c777e86d84187caab5770906f515ff1099cb01e4deaa027075d860823e49477b93c72bd64",
        "7ef4621ace1c6da4eb2eee7cd901f81385bca5b189771ec0f08d0d2566dd1a21",
    ),
    (
        30662982,
        "8b3edd0d42a2fa36ac15641a2dea2e4f4895acec2ef72ef39e5b6138f0346fb6b046dde1b4b3d09ff5fe8a6a7acd674a",
        "ae76da5137c6d0a0d3b50d325948b26cc3ff1f804cd7bbca29b9250c2bfe8d67",
    ),
]


@pytest.mark.parametrize(("round_", "signature", "randomness"), PUBLISHED)
def test_a_published_round_verifies_and_its_randomness_is_the_hash_of_its_signature(
    round_: int, signature: str, randomness: str
) -> None:
    assert verify_round(DRAND_QUICKNET, round_, bytes.fromhex(signature)).hex() == randomness


def test_a_signature_of_another_round_or_an_invented_value_is_refused() -> None:
    round_, signature, _ = PUBLISHED[1]
    for wrong_round, value in [
        (round_ + 1, signature),  # the right signature, for another round
        (round_, PUBLISHED[0][1]),  # another round's signature
        (round_, "00" * 48),  # not a point
        (round_, "a5" * 48),  # an invented value
        (round_, signature[:-2]),  # truncated
    ]:
        with pytest.raises(BeaconProblem) as refused:
            verify_round(DRAND_QUICKNET, wrong_round, bytes.fromhex(value))
        assert refused.value.reason == "BEACON_SIGNATURE_INVALID", (wrong_round, value)


def test_round_times_follow_genesis_and_period() -> None:
    assert DRAND_QUICKNET.round_time(1) == dt.datetime.fromtimestamp(1692803367, dt.UTC)
    assert DRAND_QUICKNET.round_time(30662982) == dt.datetime(2026, 7, 23, 7, 38, 30, tzinfo=dt.UTC)
    produced = DRAND_QUICKNET.round_time(1000)
    assert DRAND_QUICKNET.first_round_after(produced) == 1001
    assert DRAND_QUICKNET.first_round_after(produced - dt.timedelta(seconds=1)) == 1000


def test_a_round_not_produced_after_the_commit_is_refused() -> None:
    produced = DRAND_QUICKNET.round_time(30662982)
    declaration = {"kind": "beacon", "beacon": "drand-quicknet", "round": 30662982}
    check_rounds_after(declaration, produced - dt.timedelta(seconds=1))
    for committed_at in (produced, produced + dt.timedelta(days=1)):
        with pytest.raises(EntropyProblem) as late:
            check_rounds_after(declaration, committed_at)
        assert late.value.reason == "BEACON_ROUND_NOT_AFTER_COMMIT"


def test_only_pinned_chains_are_known() -> None:
    assert chain("drand-quicknet") is DRAND_QUICKNET
    with pytest.raises(BeaconProblem) as unknown:
        chain("my-beacon")
    assert unknown.value.reason == "UNKNOWN_BEACON"
