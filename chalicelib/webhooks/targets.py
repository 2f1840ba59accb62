"""Where a webhook may be sent (SSRF safety): the URL check at creation and one delivery attempt.

`check_url` vets an endpoint's URL when it is created: https, no user name or password, and the
host (an IP literal, or every address its name resolves to) public: `addresses` says which are.
In local development (`allow_local`) http:// and https:// to 127.0.0.1, localhost and [::1] are
allowed too, and nothing else private.

`post` makes one attempt. It vets the URL again, resolving the name anew (what it resolves to may
have changed since creation) and refusing without connecting if any address is not allowed. It then
connects to a vetted address itself, so that nothing resolves the name a second time (DNS
rebinding), and speaks HTTP over that socket with the URL's host in the Host header and, for
https, as the TLS server name: the certificate is verified against the host name, not the IP.
Redirects are never followed, the whole attempt has one deadline, and at most `BODY_LIMIT` bytes of
the answer are read. Network failures are an `Outcome`, never an exception.

`resolve` and `tls_context` are looked up on each call, so that tests can make a name resolve to any
address and trust a test certificate authority, without the network.
"""
from __future__ import annotations

import http.client
import io
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.core.errors import Invalid
from chalicelib.webhooks.addresses import Address, shown, why_not_public

MAX_URL_LENGTH = 2000
BODY_LIMIT = 1024  # bytes of the answer's body that are read and kept
DEFAULT_TIMEOUT = 10.0  # seconds for the whole attempt: resolving, connecting, sending, reading
# Headers the attempt itself writes (the framing and the host); a caller may not set them.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

# The resolver, `socket.getaddrinfo` or one with its signature (tests replace it).
resolve = socket.getaddrinfo

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_READ_BUFFER = 4096  # what is read from the socket at a time
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
# What quote() leaves as it is in a path or a query: the reserved characters and escapes.
_URL_SAFE = "/%!$&'()*+,;=:@-._~"


@cache
def _default_tls_context() -> ssl.SSLContext:
    """The system's trusted authorities, certificates and host names verified, TLS 1.2 at least."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# The TLS context of https attempts (tests replace it with one that trusts their own authority).
tls_context = _default_tls_context


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to.

    `delivered` is a 2xx answer; then `error` is None. Otherwise `error` says why: refused before
    connecting, a network failure, or the status of a non-2xx answer (a 3xx is not followed).
    `body` is the start of the answer's body (at most BODY_LIMIT bytes, decoded as UTF-8 with
    replacement characters), `duration_ms` the time the attempt took.
    """

    delivered: bool
    status: int | None
    body: str
    error: str | None
    duration_ms: int


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


def post(url: str, body: bytes, headers: Mapping[str, str], *, allow_local: bool,
         timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """One attempt to POST `body` with `headers` to `url`, within `timeout` seconds in all.

    The URL is vetted again as by `check_url`, its name resolved anew; the connection goes to a
    vetted address. Raises only for a programming error (`headers` setting one of
    RESERVED_HEADERS, an invalid header, a body that is not bytes, a timeout that is not positive).
    """
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"the body must be bytes, not {type(body).__name__}")
    if not timeout > 0:
        raise ValueError(f"the timeout must be positive, not {timeout!r}")
    reserved = sorted(name for name in headers if name.lower() in RESERVED_HEADERS)
    if reserved:
        raise ValueError(f"post() writes these headers itself: {', '.join(reserved)}")
    started = time.monotonic()
    deadline = started + timeout

    def outcome(status: int | None = None, answer: bytes = b"",
                error: str | None = None) -> Outcome:
        delivered = status is not None and 200 <= status < 300
        if status is not None and not delivered:
            error = f"answered {status}" + (" (a redirect, not followed)"
                                            if 300 <= status < 400 else "")
        return Outcome(delivered=delivered, status=status,
                       body=answer[:BODY_LIMIT].decode("utf-8", errors="replace"), error=error,
                       duration_ms=round((time.monotonic() - started) * 1000))

    try:
        target, addresses = _vet(url, allow_local)
    except _Refused as refused:
        return outcome(error=f"refused: {refused.why}")
    try:
        status, answer = _exchange(target, addresses, body, headers, deadline)
    except (TimeoutError, _DeadlinePassed):
        return outcome(error=f"timed out after {timeout:g} s")
    except OSError as failure:
        return outcome(error=_network_error(failure))
    except http.client.HTTPException as failure:
        return outcome(error=f"not an HTTP answer ({type(failure).__name__})")
    return outcome(status, answer)


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


# One attempt over a pinned connection -------------------------------------------------------------

class _DeadlinePassed(Exception):
    """The attempt's deadline passed before an operation could start."""


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _DeadlinePassed
    return left


def _exchange(target: _Target, addresses: list[tuple[int, tuple[Any, ...]]], body: bytes,
              headers: Mapping[str, str], deadline: float) -> tuple[int, bytes]:
    """Send the request over a connection to a vetted address; the status and the body's start."""
    # http.client writes and checks the request (before connecting), then is handed the socket.
    connection = http.client.HTTPConnection(target.host, target.port)
    connection.auto_open = 0
    connection.putrequest("POST", target.request_target, skip_host=True,
                          skip_accept_encoding=True)
    connection.putheader("Host", target.host_header)
    connection.putheader("Accept-Encoding", "identity")
    connection.putheader("Connection", "close")
    connection.putheader("Content-Length", str(len(body)))
    for name, value in headers.items():
        connection.putheader(name, value)
    sock = _connect(addresses, deadline)
    response: http.client.HTTPResponse | None = None
    try:
        if target.scheme == "https":
            sock.settimeout(_remaining(deadline))
            # The name is the TLS server name (SNI) and what the certificate must be valid for.
            sock = tls_context().wrap_socket(sock, server_hostname=target.host)
        connection.sock = sock
        sock.settimeout(_remaining(deadline))
        connection.endheaders(body)
        response = http.client.HTTPResponse(_DeadlineSocket(sock, deadline), method="POST")
        response.begin()
        return response.status, _read_start(response)
    finally:
        if response is not None:
            response.close()
        sock.close()


def _connect(addresses: list[tuple[int, tuple[Any, ...]]], deadline: float) -> socket.socket:
    """A TCP connection to the first vetted address that accepts one (no name is resolved)."""
    failure: OSError | None = None
    for family, sockaddr in addresses:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as error:  # no IPv6 on this machine, say
            failure = error
            continue
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(sockaddr)
        except BaseException as error:
            sock.close()
            if isinstance(error, TimeoutError) or not isinstance(error, OSError):
                raise  # the time is up, or not a network failure
            failure = error
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    assert failure is not None
    raise failure


def _read_start(response: http.client.HTTPResponse) -> bytes:
    """Up to BODY_LIMIT bytes of the body, the rest unread; a failure keeps what was read."""
    read = b""
    try:
        while len(read) < BODY_LIMIT:
            chunk = response.read1(BODY_LIMIT - len(read))
            if not chunk:
                break
            read += chunk
    except (OSError, http.client.HTTPException, _DeadlinePassed):
        pass
    return read


class _DeadlineSocket:
    """What HTTPResponse reads from: a socket whose every receive waits until the deadline at the
    latest, so that a receiver sending its answer slowly cannot stretch the attempt."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline), _READ_BUFFER)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)


def _network_error(failure: OSError) -> str:
    """A network failure in a few words."""
    if isinstance(failure, ssl.SSLCertVerificationError):
        return f"TLS certificate not valid: {failure.verify_message}"
    if isinstance(failure, ssl.SSLError):
        return f"TLS failed: {failure.reason or failure}"
    if isinstance(failure, http.client.RemoteDisconnected):
        return "the receiver closed the connection without answering"
    if isinstance(failure, ConnectionRefusedError):
        return "connection refused"
    if isinstance(failure, (ConnectionResetError, BrokenPipeError)):
        return "connection reset"
    return f"network error: {failure.strerror or failure}"
