"""CORS: browsers may call the API from the configured web origin only."""
from __future__ import annotations

import pytest

from chalicelib.core.config import get_settings
from tests.conftest import Api, LiveStack, http

ORIGIN = get_settings().web_origin


def test_the_web_origin_is_the_origin_of_web_app_url() -> None:
    assert ORIGIN == "http://127.0.0.1:8012"


def test_responses_allow_only_the_configured_origin(aws: None) -> None:
    api = Api()
    reply = api.get("/api/v1/billing/plans", headers={"origin": "https://evil.example"})
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert reply.headers["access-control-expose-headers"] == "Retry-After,Idempotent-Replayed"


def test_error_responses_carry_cors_headers_so_the_browser_can_read_them(aws: None) -> None:
    api = Api()
    reply = api.get("/api/v1/auth/me")
    assert reply.status == 401
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    reply = api.request("POST", "/api/v1/auth/login", raw=b"x", headers={"content-type": "text/plain"})
    assert reply.status == 415 and reply.body["error"]["code"] == "unsupported_media_type"
    assert reply.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.live
def test_preflight_names_the_origin_methods_and_headers(live_stack: LiveStack) -> None:
    # Over real HTTP: Chalice's test client cannot carry a preflight's empty body. The live stack
    # serves its web app on a free port and sets WEB_APP_URL to it, so that is the allowed origin.
    origin = live_stack.web_url
    reply = http("OPTIONS", f"{live_stack.base_url}/api/v1/billing/admin/payments/confirm", headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,idempotency-key"})
    assert reply.status == 200
    assert reply.headers["access-control-allow-origin"] == origin
    assert "POST" in reply.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in reply.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
