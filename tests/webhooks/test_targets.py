"""Where webhooks may go: every private, loopback, link-local and embedded-IPv4 form is refused at
creation and again at delivery (the name resolved anew), and one attempt goes to the address that
was vetted, with the URL's host as Host and TLS server name, no redirect followed, one deadline and
at most 1 KB of the answer read.

No test reaches the internet: names resolve through a fake resolver (`dns`), and the receivers are
http.server threads on 127.0.0.1.
"""
from __future__ import annotations

import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.core.errors import Invalid
from chalicelib.webhooks import targets
from chalicelib.webhooks.targets import BODY_LIMIT, check_url, post

PUBLIC = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


# A resolver without the network ----------------------------------------------------------------

class FakeDns:
    """What each name resolves to (a name not set does not resolve), and the names looked up."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def set(self, name: str, *addresses: str) -> None:
        self.answers[name] = list(addresses)

    def __call__(self, host: str, port: int, family: int = 0, type: int = 0, proto: int = 0,
                 flags: int = 0) -> list[tuple[Any, ...]]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
                if ":" in address else
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in self.answers[host]]


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(targets, "resolve", fake)
    return fake


# Receivers: http.server threads on 127.0.0.1 -----------------------------------------------------

@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver and what it got. `behaviour` is how it answers ("answer", "hold",
    "drip", "endless"); `release` ends a held or dripping answer."""

    behaviour: str = "answer"
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    port: int = 0
    connections: int = 0  # connections accepted, whether a request came or not
    requests: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        receiver.requests.append(Received(self.path, dict(self.headers), body))
        if receiver.behaviour == "hold":
            receiver.release.wait(5)
        if receiver.behaviour == "drip":  # a byte of the status line at a time, never finishing
            for char in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
                self.wfile.write(bytes([char]))
                self.wfile.flush()
                if receiver.release.wait(0.05):
                    return
            return
        self.send_response(receiver.status)
        for name, value in receiver.headers.items():
            self.send_header(name, value)
        if receiver.behaviour == "endless":  # no length: the body ends when the connection does
            self.send_header("Connection", "close")
            self.end_headers()
            while not receiver.release.is_set():
                self.wfile.write(b"y" * 65536)
            return
        self.send_header("Content-Length", str(len(receiver.body)))
        self.end_headers()
        self.wfile.write(receiver.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    receiver: Receiver

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.receiver.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client gone before the answer (a timeout, a body left unread)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Start a receiver: receiver(status=500), receiver(behaviour="hold"), receiver(tls=context)."""
    started: list[tuple[_Server, Receiver]] = []

    def start(tls: ssl.SSLContext | None = None, **behaviour: Any) -> Receiver:
        served = Receiver(**behaviour)
        server = _Server(("127.0.0.1", 0), _Handler)
        server.receiver = served
        if tls is not None:
            tls.sni_callback = lambda sock, name, context: served.server_names.append(name)
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        served.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        started.append((server, served))
        return served

    yield start
    for server, served in started:
        served.release.set()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refusal(url: str, *, allow_local: bool = False) -> str:
    """Why check_url refuses `url` (the test fails if it does not)."""
    with pytest.raises(Invalid) as refused:
        check_url(url, allow_local=allow_local)
    assert refused.value.code == "webhook_url_not_allowed"
    assert refused.value.status == 422
    why = refused.value.details["fields"]["url"]
    assert why in refused.value.message
    return why


# At creation ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "answers", "why"), [
    ("https://10.0.0.1/hook", (), "10.0.0.1 is a private address"),
    ("https://172.16.5.4/hook", (), "172.16.5.4 is a private address"),
    ("https://192.168.1.1/hook", (), "192.168.1.1 is a private address"),
    ("https://127.0.0.1/hook", (), "127.0.0.1 is a loopback address"),
    ("https://169.254.169.254/latest/meta-data/", (), "169.254.169.254 is a link-local address"),
    ("https://[::1]/hook", (), "::1 is a loopback address"),
    ("https://[fe80::1]/hook", (), "fe80::1 is a link-local address"),
    ("https://[fc00::1]/hook", (), "fc00::1 is a unique local address"),
    ("https://[::ffff:127.0.0.1]/hook", (), "IPv4-mapped address of 127.0.0.1, a loopback"),
    ("https://[::ffff:10.0.0.1]/hook", (), "IPv4-mapped address of 10.0.0.1, a private"),
    ("https://[64:ff9b::a00:1]/hook", (), "NAT64 address of 10.0.0.1, a private address"),
    ("https://[2002:a00:1::]/hook", (), "6to4 address of 10.0.0.1, a private address"),
    ("https://[::a00:1]/hook", (), "IPv4-compatible address of 10.0.0.1, a private address"),
    ("https://0.0.0.0/hook", (), "0.0.0.0 is an unspecified address"),
    ("https://[::]/hook", (), ":: is an unspecified address"),
    ("https://100.64.0.1/hook", (), "100.64.0.1 is a carrier-grade NAT address"),
    ("https://224.0.0.1/hook", (), "224.0.0.1 is a multicast address"),
    ("https://240.0.0.1/hook", (), "240.0.0.1 is a reserved address"),
    ("https://192.0.2.1/hook", (), "192.0.2.1 is not a public address"),
    ("https://127.1/hook", (), "127.1 is an IP address in a non-standard form"),
    ("https://2130706433/hook", (), "is an IP address in a non-standard form"),
    ("https://0x7f.0.0.1/hook", (), "is an IP address in a non-standard form"),
    ("https://localhost/hook", (), "localhost is a loopback name"),
    ("https://LocalHost./hook", (), "localhost is a loopback name"),
    ("https://hooks.localhost/hook", (), "hooks.localhost is a loopback name"),
    ("https://intranet/hook", (("intranet", PUBLIC),), "not a fully qualified domain name"),
    ("https://hooks.example.com/x", (("hooks.example.com", "10.0.0.7"),),
     "10.0.0.7 is a private address (hooks.example.com resolves to it)"),
    ("https://hooks.example.com/x", (("hooks.example.com", PUBLIC, "10.0.0.8"),),
     "10.0.0.8 is a private address (hooks.example.com resolves to it)"),
    ("https://hooks.example.com/x", (("hooks.example.com", PUBLIC_V6, "::ffff:169.254.169.254"),),
     "::ffff:169.254.169.254 is an IPv4-mapped address of 169.254.169.254, a link-local"),
    ("https://hooks.example.com/x", (("hooks.example.com", "fd12:3456::1"),),
     "fd12:3456::1 is a unique local address"),
])
def test_a_host_that_is_or_resolves_to_a_non_public_address_is_refused(
        dns: FakeDns, url: str, answers: tuple[tuple[str, ...], ...], why: str) -> None:
    for name, *addresses in answers:
        dns.set(name, *addresses)
    assert why in refusal(url)


@pytest.mark.parametrize(("url", "why"), [
    ("http://hooks.example.com/hook", "it must use https://"),
    ("ftp://hooks.example.com/hook", "it must use https://"),
    ("https://user:secret@hooks.example.com/hook", "must not contain a user name or password"),
    ("https://hooks.example.com@10.0.0.1/hook", "must not contain a user name or password"),
    ("https:///hook", "it has no host"),
    ("hooks.example.com/hook", "it must use https://"),
    ("https://hooks.example.com:0/hook", "port 0 is not a port"),
    ("https://hooks.example.com:99999/hook", "it is not a valid URL"),
    ("https://hooks.example.com/a b", "spaces or control characters"),
    ("https://hooks.example.com/\r\nX-Injected: 1", "spaces or control characters"),
    ("https://[fe80::1%25eth0]/hook", "IPv6 zone"),
    ("https://hooks..example.com/hook", "not a valid host name"),
    ("https://-hooks.example.com/hook", "not a valid host name"),
    ("https://hooks.example.com/" + "a" * 2000, "longer than 2000 characters"),
])
def test_a_url_that_is_not_https_to_a_plain_host_is_refused(dns: FakeDns, url: str,
                                                             why: str) -> None:
    dns.set("hooks.example.com", PUBLIC)
    assert why in refusal(url)


def test_a_name_that_does_not_resolve_is_refused(dns: FakeDns) -> None:
    assert refusal("https://nowhere.example.com/hook") == (
        "nowhere.example.com does not resolve to an address")
    assert dns.lookups == ["nowhere.example.com"]


@pytest.mark.parametrize(("url", "normalized"), [
    ("https://hooks.example.com/hook", "https://hooks.example.com/hook"),
    ("HTTPS://Hooks.Example.COM:443/hook?a=1&b=%20#part",
     "https://hooks.example.com/hook?a=1&b=%20"),
    ("https://hooks.example.com.", "https://hooks.example.com/"),
    ("https://hooks.example.com:8443/in/ü", "https://hooks.example.com:8443/in/%C3%BC"),
    ("https://bücher.example.com/", "https://xn--bcher-kva.example.com/"),
    (f"https://{PUBLIC}/hook", f"https://{PUBLIC}/hook"),
    (f"https://[{PUBLIC_V6.upper()}]:8443/hook", f"https://[{PUBLIC_V6}]:8443/hook"),
])
def test_a_public_https_url_is_accepted_normalized(dns: FakeDns, url: str, normalized: str) -> None:
    dns.set("hooks.example.com", PUBLIC, PUBLIC_V6)
    dns.set("xn--bcher-kva.example.com", PUBLIC)
    assert check_url(url, allow_local=False) == normalized
    assert check_url(normalized, allow_local=False) == normalized


def test_local_development_also_accepts_loopback_and_nothing_else_private(dns: FakeDns) -> None:
    dns.set("localhost", "127.0.0.1", "::1")
    dns.set("hooks.example.com", PUBLIC)
    dns.set("dev.example.com", "127.0.0.1")
    for url in ("http://127.0.0.1:8001/hook", "https://127.0.0.1:8001/hook",
                "http://localhost:8001/hook", "http://[::1]:8001/hook",
                "https://hooks.example.com/hook"):
        assert check_url(url, allow_local=True) == url
    assert refusal("http://169.254.169.254/latest/meta-data/", allow_local=True) == (
        "169.254.169.254 is a link-local address")
    assert refusal("https://169.254.169.254/", allow_local=True) == (
        "169.254.169.254 is a link-local address")
    assert refusal("http://10.0.0.1/hook", allow_local=True) == "10.0.0.1 is a private address"
    assert refusal("http://127.0.0.2/hook", allow_local=True) == "127.0.0.2 is a loopback address"
    assert refusal("http://[::ffff:127.0.0.1]/hook", allow_local=True).startswith(
        "::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1")
    assert refusal("http://hooks.example.com/hook", allow_local=True) == (
        "it must use https:// (http:// only to 127.0.0.1, localhost or [::1])")
    assert refusal("https://dev.example.com/hook", allow_local=True) == (
        "127.0.0.1 is a loopback address (dev.example.com resolves to it)")
    dns.set("localhost", "127.0.0.1", "10.0.0.3")
    assert refusal("http://localhost:8001/hook", allow_local=True) == (
        "10.0.0.3 is not a loopback address (localhost resolves to it)")
    # and the deployed stage refuses loopback itself
    assert refusal("http://127.0.0.1:8001/hook") == "127.0.0.1 is a loopback address"


# One delivery attempt ----------------------------------------------------------------------------

def test_a_2xx_answer_is_delivered_with_the_request_as_sent(
        receiver: Callable[..., Receiver]) -> None:
    hook = receiver(status=202, body=b'{"ok": true}')
    outcome = post(hook.url + "/in/hook?x=1", b'{"event": "invoice.paid"}',
                   {"Content-Type": "application/json", "X-Signature": "v1=abc"},
                   allow_local=True)
    assert outcome.delivered and outcome.status == 202 and outcome.error is None
    assert outcome.body == '{"ok": true}'
    assert 0 <= outcome.duration_ms < 2000
    [request] = hook.requests
    assert request.path == "/in/hook?x=1"
    assert request.body == b'{"event": "invoice.paid"}'
    assert request.headers["Host"] == f"127.0.0.1:{hook.port}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Signature"] == "v1=abc"
    assert request.headers["Connection"] == "close"


def test_the_host_header_is_the_urls_host_and_the_name_is_resolved_once(
        dns: FakeDns, receiver: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch) -> None:
    hook = receiver()
    dns.set("localhost", "127.0.0.1")
    resolved_elsewhere: list[Any] = []
    original = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *args, **kwargs: resolved_elsewhere.append(args) or original(
                            *args, **kwargs))
    outcome = post(f"http://localhost:{hook.port}/hook", b"{}", {}, allow_local=True)
    assert outcome.delivered, outcome
    assert hook.requests[0].headers["Host"] == f"localhost:{hook.port}"
    # resolved once, by the check; the connection went to that address, nothing resolved again
    assert dns.lookups == ["localhost"]
    assert resolved_elsewhere == []


def test_a_5xx_answer_is_not_delivered(receiver: Callable[..., Receiver]) -> None:
    hook = receiver(status=500, body=b"boom")
    outcome = post(hook.url + "/hook", b"{}", {}, allow_local=True)
    assert (outcome.delivered, outcome.status, outcome.body) == (False, 500, "boom")
    assert outcome.error == "answered 500"


def test_a_redirect_is_not_followed(receiver: Callable[..., Receiver]) -> None:
    elsewhere = receiver()
    hook = receiver(status=302, headers={"Location": elsewhere.url + "/stolen"}, body=b"")
    outcome = post(hook.url + "/hook", b"{}", {}, allow_local=True)
    assert (outcome.delivered, outcome.status) == (False, 302)
    assert outcome.error == "answered 302 (a redirect, not followed)"
    assert len(hook.requests) == 1
    assert elsewhere.connections == 0 and elsewhere.requests == []


def test_a_receiver_slower_than_the_timeout_times_out(receiver: Callable[..., Receiver]) -> None:
    hook = receiver(behaviour="hold")
    started = time.monotonic()
    outcome = post(hook.url + "/hook", b"{}", {}, allow_local=True, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert not outcome.delivered and outcome.status is None
    assert outcome.error == "timed out after 0.5 s"
    assert 450 <= outcome.duration_ms < 1500
    assert len(hook.requests) == 1


def test_the_timeout_bounds_the_whole_attempt_not_each_read(
        receiver: Callable[..., Receiver]) -> None:
    """A byte every 50 ms never trips a per-read timeout; the attempt's deadline ends it."""
    hook = receiver(behaviour="drip")
    started = time.monotonic()
    outcome = post(hook.url + "/hook", b"{}", {}, allow_local=True, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert outcome.error == "timed out after 0.5 s"


@pytest.mark.parametrize("behaviour", ["answer", "endless"])
def test_at_most_1_kb_of_the_answer_is_read(receiver: Callable[..., Receiver],
                                            behaviour: str) -> None:
    hook = receiver(behaviour=behaviour, body="é".encode() * 2560)  # 5 KB, or without end
    started = time.monotonic()
    outcome = post(hook.url + "/hook", b"{}", {}, allow_local=True)
    assert time.monotonic() - started < 2
    assert outcome.delivered and outcome.error is None
    assert 0 < len(outcome.body) <= BODY_LIMIT
    assert set(outcome.body) == ({"é"} if behaviour == "answer" else {"y"})


def test_a_closed_port_is_connection_refused() -> None:
    outcome = post(f"http://127.0.0.1:{closed_port()}/hook", b"{}", {}, allow_local=True)
    assert (outcome.delivered, outcome.status, outcome.error) == (False, None, "connection refused")


@pytest.mark.parametrize("now", [["127.0.0.1"], [PUBLIC, "127.0.0.1"], ["10.0.0.5"]])
def test_a_name_resolving_elsewhere_at_delivery_is_refused_without_connecting(
        dns: FakeDns, receiver: Callable[..., Receiver], now: list[str]) -> None:
    hook = receiver()
    url = f"https://hooks.example.com:{hook.port}/hook"
    dns.set("hooks.example.com", PUBLIC)
    assert check_url(url, allow_local=False) == url
    dns.set("hooks.example.com", *now)  # DNS changed since the endpoint was created
    outcome = post(url, b"{}", {}, allow_local=False)
    assert not outcome.delivered and outcome.status is None
    assert outcome.error == (f"refused: {now[-1]} is a "
                             f"{'private' if now[-1] == '10.0.0.5' else 'loopback'} address "
                             "(hooks.example.com resolves to it)")
    assert hook.connections == 0 and hook.requests == []


def test_a_url_refused_at_delivery_is_an_outcome_not_an_exception(dns: FakeDns) -> None:
    assert post("http://10.0.0.5/hook", b"{}", {}, allow_local=True).error == (
        "refused: 10.0.0.5 is a private address")
    assert post("https://169.254.169.254/", b"{}", {}, allow_local=False).error == (
        "refused: 169.254.169.254 is a link-local address")
    assert post("https://gone.example.com/", b"{}", {}, allow_local=False).error == (
        "refused: gone.example.com does not resolve to an address")


def test_programming_errors_raise() -> None:
    with pytest.raises(ValueError, match="Host"):
        post("http://127.0.0.1:9/hook", b"{}", {"Host": "elsewhere.example.com"}, allow_local=True)
    with pytest.raises(ValueError):
        post("http://127.0.0.1:9/hook", b"{}", {"X-Bad": "a\r\nInjected: 1"}, allow_local=True)
    with pytest.raises(TypeError):
        post("http://127.0.0.1:9/hook", "{}", {}, allow_local=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        post("http://127.0.0.1:9/hook", b"{}", {}, allow_local=True, timeout=0)


# https to the vetted address: the certificate is checked against the host name ------------------

@dataclass(frozen=True)
class Authority:
    """A test certificate authority and the client context that trusts it."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    directory: Path

    def client(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.cert.public_bytes(
            serialization.Encoding.PEM).decode())

    def server(self, *names: x509.GeneralName) -> ssl.SSLContext:
        """A server context whose certificate is valid for `names` only."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (_builder("receiver", key.public_key(), self.cert.subject)
                .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))
        chain = self.directory / f"receiver-{cert.serial_number}.pem"
        chain.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
                          + cert.public_bytes(serialization.Encoding.PEM))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context


def _builder(common_name: str, public_key: Any, issuer: x509.Name) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(issuer).public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook test authority")])
    cert = (_builder("webhook test authority", key.public_key(), name)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return Authority(key, cert, tmp_path_factory.mktemp("authority"))


def test_https_goes_to_the_vetted_address_with_the_name_as_tls_server_name(
        dns: FakeDns, receiver: Callable[..., Receiver], authority: Authority,
        monkeypatch: pytest.MonkeyPatch) -> None:
    hook = receiver(tls=authority.server(x509.DNSName("localhost")))
    dns.set("localhost", "127.0.0.1")
    monkeypatch.setattr(targets, "tls_context", authority.client)
    outcome = post(f"https://localhost:{hook.port}/hook", b"{}", {}, allow_local=True)
    assert outcome.delivered, outcome
    assert hook.server_names == ["localhost"]
    assert hook.requests[0].headers["Host"] == f"localhost:{hook.port}"


def test_https_checks_the_certificate_against_the_name_not_the_address(
        dns: FakeDns, receiver: Callable[..., Receiver], authority: Authority,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The certificate is valid for 127.0.0.1, the address connected to, but not for localhost."""
    hook = receiver(tls=authority.server(x509.IPAddress(ipaddress.ip_address("127.0.0.1"))))
    dns.set("localhost", "127.0.0.1")
    monkeypatch.setattr(targets, "tls_context", authority.client)
    outcome = post(f"https://localhost:{hook.port}/hook", b"{}", {}, allow_local=True)
    assert not outcome.delivered and outcome.status is None
    assert outcome.error is not None and outcome.error.startswith("TLS certificate not valid")
    assert "localhost" in outcome.error
    assert hook.requests == []


def test_https_trusts_only_the_systems_authorities_by_default(
        dns: FakeDns, receiver: Callable[..., Receiver], authority: Authority) -> None:
    hook = receiver(tls=authority.server(x509.DNSName("localhost")))
    dns.set("localhost", "127.0.0.1")
    outcome = post(f"https://localhost:{hook.port}/hook", b"{}", {}, allow_local=True)
    assert not outcome.delivered
    assert outcome.error is not None and "certificate" in outcome.error
    assert hook.requests == []
