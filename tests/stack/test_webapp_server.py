"""The dev server's static web app: files, the generated config.js, and the SPA fallback."""
from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from devserver.webapp import WEB_DIR, WebApp


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    app = WebApp("127.0.0.1", 0).start("http://127.0.0.1:9999/api/v1/")
    try:
        yield app.url
    finally:
        app.stop()


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def test_config_js_carries_the_api_base_url(web):
    status, content_type, body = _get(f"{web}/config.js")
    assert status == 200 and content_type.startswith("text/javascript")
    assert '"apiBaseUrl": "http://127.0.0.1:9999/api/v1"' in body
    assert body.rstrip().endswith("};")


@pytest.mark.parametrize("path", ["/", "/dashboard", "/billing", "/billing/invoices/inv_123",
                                  "/admin/payments/pay_123", "/signup?plan=starter"])
def test_app_paths_and_email_links_get_the_app_shell(web, path):
    status, content_type, body = _get(f"{web}{path}")
    assert status == 200 and content_type.startswith("text/html")
    assert body == (WEB_DIR / "index.html").read_text()


def test_assets_are_served_with_their_types(web):
    status, content_type, body = _get(f"{web}/js/app.js")
    assert status == 200 and content_type.startswith("text/javascript") and "import" in body
    status, content_type, _ = _get(f"{web}/styles.css")
    assert status == 200 and content_type.startswith("text/css")


def test_a_missing_asset_is_a_404_not_the_app(web):
    status, _, body = _get(f"{web}/js/missing.js")
    assert status == 404 and "<html" not in body


def test_nothing_outside_the_web_folder_is_served(web):
    for path in ("/../app.py", "/%2e%2e/app.py", "/js/../../app.py"):
        status, _, body = _get(f"{web}{path}")
        assert "Chalice" not in body, path


def test_another_host_name_is_sent_to_the_one_origin_the_api_allows(web):
    port = web.rsplit(":", 1)[1]
    request = urllib.request.Request(f"{web}/billing?x=1", headers={"Host": f"localhost:{port}"})

    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(_NoRedirect).open(request, timeout=5)
    assert redirect.value.code == 307
    assert redirect.value.headers["Location"] == f"{web}/billing?x=1"


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    """A web app that knows its API's and its proofs bucket's origins."""
    app = WebApp("127.0.0.1", 0).start("http://127.0.0.1:9999/api/v1/",
                                       bucket_origin="http://127.0.0.1:9998")
    try:
        yield app.url
    finally:
        app.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _headers(url: str, **sent: str) -> Any:
    """The headers of a HEAD request's response (a redirect's own, not followed)."""
    request = urllib.request.Request(url, method="HEAD", headers=sent)
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=5) as response:
            return response.headers
    except urllib.error.HTTPError as error:
        return error.headers


def _csp(headers: Any) -> dict[str, list[str]]:
    directives = [d.split() for d in headers["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("path", ["/", "/billing/invoices/inv_1", "/config.js", "/js/app.js",
                                  "/styles.css", "/js/missing.js"])
def test_every_response_carries_the_security_headers(guarded, path):
    headers = _headers(f"{guarded}{path}")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["Strict-Transport-Security"] is None  # plain HTTP
    csp = _csp(headers)
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:9999", "http://127.0.0.1:9998"]
    assert csp["img-src"] == ["'self'", "data:", "blob:", "http://127.0.0.1:9998"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert not any("unsafe" in source for sources in csp.values() for source in sources)


def test_without_a_bucket_the_page_talks_only_to_itself_and_the_api(web):
    csp = _csp(_headers(f"{web}/"))
    assert csp["connect-src"] == ["'self'", "http://127.0.0.1:9999"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]


def test_hsts_only_when_the_request_came_over_https(guarded):
    assert _headers(f"{guarded}/", **{"X-Forwarded-Proto": "https"})[
        "Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert _headers(f"{guarded}/", **{"X-Forwarded-Proto": "http"})["Strict-Transport-Security"] is None


def test_the_redirect_to_the_canonical_host_carries_them_too(guarded):
    port = guarded.rsplit(":", 1)[1]
    headers = _headers(f"{guarded}/billing", Host=f"localhost:{port}")
    assert headers["Location"] == f"{guarded}/billing"
    assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers[
        "Content-Security-Policy"]


def test_the_page_has_no_inline_script_or_style():
    # The CSP allows neither; the app sets styles through the CSSOM (web/js/dom.js)
    html = (WEB_DIR / "index.html").read_text()
    assert "<style" not in html and " style=" not in html
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
