"""`--bind-address` forms of mesos/kafka, resolved on this host (loopback only)."""

from __future__ import annotations

import pytest

from kafka_mesos.runtime.bind_address import BindAddressError, resolve_bind_address


def test_plain_address_is_kept() -> None:
    assert resolve_bind_address("127.0.0.1") == "127.0.0.1"


def test_interface_name() -> None:
    assert resolve_bind_address("if:lo") == "127.0.0.1"


def test_prefix_mask() -> None:
    assert resolve_bind_address("127.0.*") == "127.0.0.1"


@pytest.mark.parametrize("text", ["if:no-such-interface0", "203.0.113.*", "ip:127.0.0.1"])
def test_bad_forms(text: str) -> None:
    with pytest.raises(BindAddressError, match="Invalid bind-address"):
        resolve_bind_address(text)
