"""Which IP addresses are public, and what the others are ("a private address"), for webhooks.

An IPv6 address that stands for an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4) is what
that IPv4 address is. The named ranges come first, for their message; Python's `is_global` then
catches the rest (documentation, benchmarking, protocol assignments).
"""
from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_PRIVATE_V4 = tuple(ipaddress.IPv4Network(net)
                    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_CARRIER_NAT = ipaddress.IPv4Network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def why_not_public(address: Address) -> str | None:
    """None if `address` is public, else what it is ("a private address")."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        if embedded is not None:
            form, v4 = embedded
            why = why_not_public(v4)
            return None if why is None else f"{form} of {v4}, {why}"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address):
        if any(address in network for network in _PRIVATE_V4):
            return "a private address"
        if address in _CARRIER_NAT:
            return "a carrier-grade NAT address"
        if address in _THIS_NETWORK:
            return "a reserved address"
    else:
        if address in _UNIQUE_LOCAL:
            return "a unique local address"
        if address.is_site_local:
            return "a site-local address"
        if address in _TEREDO:
            return "a Teredo tunnel address"
        if address in _NAT64_LOCAL:
            return "a local-use NAT64 address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:  # documentation, benchmarking, protocol assignments...
        return "not a public address"
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, -compatible, NAT64, 6to4)."""
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped address", address.ipv4_mapped
    if address in _NAT64:
        return "a NAT64 address", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "a 6to4 address", address.sixtofour
    if address in _V4_COMPATIBLE and int(address) > 1:  # not :: nor ::1
        return "an IPv4-compatible address", ipaddress.IPv4Address(int(address))
    return None


def shown(address: Address) -> str:
    """The address as written in a message (an IPv4-mapped one with its IPv4 part dotted)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)
