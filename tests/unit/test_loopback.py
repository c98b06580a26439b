"""Which serving addresses count as loopback (plaintext and DUALDRAW_AUTH=off are allowed only there)."""

from __future__ import annotations

import pytest

from dualdraw.entrypoints.grpc.server import is_loopback, token_keys
from dualdraw.settings import Settings


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1:50051", "127.1.2.3:0", "localhost:50051", "LOCALHOST:1", "[::1]:50051", "::1:50051"],
)
def test_loopback_addresses(address: str) -> None:
    assert is_loopback(address)


@pytest.mark.parametrize(
    "address",
    [
        "127.evil.example:50051",
        "127.0.0.1.evil.example:50051",
        "127.example:1",
        "localhost.evil.example:50051",
        "0.0.0.0:50051",
        "[::]:50051",
        "10.0.0.1:50051",
        "example.org:443",
        "[::ffff:10.0.0.1]:1",
        ":50051",
    ],
)
def test_other_addresses_are_not_loopback(address: str) -> None:
    assert not is_loopback(address)


def test_auth_off_is_refused_on_a_host_name_that_only_looks_like_loopback() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        token_keys(Settings(address="127.evil.example:50051", auth="off"))
