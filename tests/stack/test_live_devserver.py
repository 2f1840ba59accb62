"""The local stack's HTTP server itself (`python -m devserver`, what `make dev` runs)."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.live


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PUT"])
def test_any_method_reaches_the_app_and_gets_a_json_405(live_stack, method):
    # Given a route that only serves GET, and a method http.server has no handler for
    url = urlsplit(live_stack.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        # When it is requested with that method
        connection.request(method, "/api/v1/billing/plans")
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    # Then the app refuses it in its error shape, saying what is allowed
    assert response.status == 405
    assert response.getheader("Content-Type").startswith("application/json")
    assert response.getheader("Allow") == "GET"
    assert body["error"]["code"] == "method_not_allowed"
