"""Where webhooks may go: every private, loopback, link-local and embedded-IPv4 form is refused at
creation, whether the URL names the address or a name resolves to it.

No test reaches the internet: names resolve through a fake resolver (`dns`).
"""
from __future__ import annotations

import socket
from typing import Any

import pytest

from chalicelib.core.errors import Invalid
from chalicelib.webhooks import targets
from chalicelib.webhooks.targets import check_url

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
