"""mesos/kafka's `--bind-address` forms: an address or host, `if:<interface>`, or a prefix `192.168.50.*`."""

from __future__ import annotations

import fcntl
import socket
import struct

_SIOCGIFADDR = 0x8915


class BindAddressError(ValueError):
    pass


def interface_ipv4(name: str) -> str | None:
    """The IPv4 address of a network interface (Linux), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            packed = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def local_ipv4_addresses() -> list[str]:
    found = []
    for _, name in socket.if_nameindex():
        address = interface_ipv4(name)
        if address is not None:
            found.append(address)
    return found


def resolve_bind_address(text: str) -> str:
    """The address to listen on for `--bind-address` (resolved on this host)."""
    if text.startswith("if:"):
        name = text[3:]
        address = interface_ipv4(name)
        if address is None:
            raise BindAddressError(f"Invalid bind-address: interface {name!r} has no IPv4 address")
        return address
    if text.endswith("*"):
        prefix = text[:-1]
        for address in local_ipv4_addresses():
            if address.startswith(prefix):
                return address
        raise BindAddressError(f"Invalid bind-address: no local address matches {text!r}")
    if text.count(":") == 1:  # `x:...` other than `if:` is reserved by mesos/kafka (IPv6 has several)
        raise BindAddressError(
            f"Invalid bind-address: {text!r} (use an address, if:NAME or a prefix like 10.0.*)"
        )
    return text
