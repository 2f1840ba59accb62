"""The dev server's static web app: files, the generated config.js, and the SPA fallback."""
from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

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

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(NoRedirect).open(request, timeout=5)
    assert redirect.value.code == 307
    assert redirect.value.headers["Location"] == f"{web}/billing?x=1"
