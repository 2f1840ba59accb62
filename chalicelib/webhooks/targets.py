"""Where a webhook may be sent (SSRF safety): the URL check at creation and one delivery attempt.

`check_url` vets an endpoint's URL when it is created: https, no user name or password, and the
host (an IP literal, or every address its name resolves to) public: `addresses` says which are.
In local development (`allow_local`) http:// and https:// to 127.0.0.1, localhost and [::1] are
allowed too, and nothing else private.

`resolve` is looked up on each call, so that tests can make a name resolve to any address, without
the network.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.core.errors import Invalid
from chalicelib.webhooks.addresses import Address, shown, why_not_public

MAX_URL_LENGTH = 2000

# The resolver, `socket.getaddrinfo` or one with its signature (tests replace it).
resolve = socket.getaddrinfo

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
# What quote() leaves as it is in a path or a query: the reserved characters and escapes.
_URL_SAFE = "/%!$&'()*+,;=:@-._~"


class _Refused(Exception):
    """The URL may not receive webhooks; `why` says so in a phrase."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII, lower case, no trailing dot; an IPv6 literal without its brackets
    port: int
    request_target: str  # the path and query, as sent in the request line
    url: str  # the normalized URL
    literal: Address | None  # the host when it is an IP address
    host_header: str


def check_url(url: str, *, allow_local: bool) -> str:
    """The normalized `url` if webhooks may be sent to it, else `Invalid` saying why.

    Resolves the host's name (through `resolve`): every address must be allowed, and a name that
    does not resolve is refused. `allow_local` (local development only) also allows http:// and
    https:// to 127.0.0.1, localhost and [::1].
    """
    try:
        target, _ = _vet(url, allow_local)
    except _Refused as refused:
        raise Invalid(f"This URL cannot receive webhooks: {refused.why}.",
                      code="webhook_url_not_allowed",
                      details={"fields": {"url": refused.why}}) from None
    return target.url


# The URL and its addresses ------------------------------------------------------------------------

def _vet(url: str, allow_local: bool) -> tuple[_Target, list[tuple[int, tuple[Any, ...]]]]:
    """The URL's target and its addresses (family, socket address) if all of them are allowed."""
    target = _parse(url)
    local = allow_local and target.host in _LOCAL_HOSTS
    if target.literal is not None and not local:  # the address says more than the scheme
        why = why_not_public(target.literal)
        if why is not None:
            raise _Refused(f"{shown(target.literal)} is {why}")
    if target.scheme != "https" and not local:
        raise _Refused("it must use https://" + (
            " (http:// only to 127.0.0.1, localhost or [::1])" if allow_local else ""))
    if target.literal is None and not local:
        if target.host == "localhost" or target.host.endswith(".localhost"):
            raise _Refused(f"{target.host} is a loopback name")
        if "." not in target.host:
            raise _Refused(f"{target.host} is not a fully qualified domain name")
    return target, _addresses(target, local)


def _parse(url: str) -> _Target:
    if not isinstance(url, str):
        raise _Refused("it must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise _Refused(f"it is longer than {MAX_URL_LENGTH} characters")
    if any(char <= " " or char == "\x7f" for char in url):
        raise _Refused("it contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _Refused(f"it is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _Refused("it must use https://")
    if "@" in parts.netloc:
        raise _Refused("it must not contain a user name or password")
    if not parts.hostname:
        raise _Refused("it has no host")
    if port == 0:
        raise _Refused("port 0 is not a port")
    host, literal = _host(parts.hostname)
    port = port or _DEFAULT_PORTS[scheme]
    netloc = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    request_target = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        request_target += "?" + quote(parts.query, safe=_URL_SAFE + "?")
    return _Target(scheme=scheme, host=host, port=port, request_target=request_target,
                   url=f"{scheme}://{netloc}{request_target}", literal=literal,
                   host_header=netloc)


def _host(hostname: str) -> tuple[str, Address | None]:
    """The host as an ASCII name or an IP address (urlsplit has lowered it, removed brackets)."""
    if "%" in hostname:
        raise _Refused("the host must not contain a percent sign or an IPv6 zone")
    try:
        literal = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return str(literal), literal
    try:
        name = hostname.removesuffix(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _Refused(f"{hostname} is not a valid host name") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _Refused(f"{hostname} is not a valid host name")
    if labels[-1].isdigit() or _inet_aton(name):
        raise _Refused(f"{hostname} is an IP address in a non-standard form")
    return name, None


def _inet_aton(name: str) -> bool:
    """Whether the C library reads `name` as an IPv4 address (127.1, 0x7f000001, 2130706433)."""
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


def _addresses(target: _Target, local: bool) -> list[tuple[int, tuple[Any, ...]]]:
    """Every address of the target, each (family, socket address), once all are allowed."""
    if target.literal is not None:
        found: list[tuple[int, tuple[Any, ...]]] = [
            (socket.AF_INET, (target.host, target.port)) if target.literal.version == 4
            else (socket.AF_INET6, (target.host, target.port, 0, 0))]
    else:
        try:
            infos = resolve(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            infos = []
        found = [(family, sockaddr) for family, _type, _proto, _name, sockaddr in infos
                 if family in (socket.AF_INET, socket.AF_INET6)]
        if not found:
            raise _Refused(f"{target.host} does not resolve to an address")
    vetted: list[tuple[int, tuple[Any, ...]]] = []
    for family, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        if local:
            why = None if address.is_loopback else "not a loopback address"
        else:
            why = why_not_public(address)
        if why is not None:
            named = f" ({target.host} resolves to it)" if target.literal is None else ""
            raise _Refused(f"{shown(address)} is {why}{named}")
        if (family, sockaddr) not in vetted:
            vetted.append((family, sockaddr))
    return vetted
