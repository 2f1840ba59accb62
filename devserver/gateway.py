"""chalice local's API Gateway stand-in, with the API's error shape for unknown routes."""
from __future__ import annotations

import json
from typing import Any

from chalice.local import ChaliceRequestHandler, LocalGateway

# The deployed stages' variables that local runs leave out: they keep a token secret of their own
# (JWT_SECRET) where a deployed stage reads its SSM parameter.
DEPLOYED_ONLY = ("JWT_SECRET_PARAMETER",)
NOT_FOUND_BODY = json.dumps({"error": {"code": "route_not_found",
                                       "message": "No such route; see /api/v1/openapi.json.",
                                       "details": {}}})


class _NoRoute(Exception):
    pass


class Gateway(LocalGateway):
    """Answers an unknown path with 404 in the error shape instead of API Gateway's 403."""

    def _generate_lambda_event(self, method: str, path: str, headers: Any,
                               body: bytes | None) -> Any:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # no route matches the path (the one match a request makes)
            raise _NoRoute from None

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super().handle_request(method, path, headers, body)
        except _NoRoute:
            return {"statusCode": 404, "headers": {"Content-Type": "application/json"},
                    "multiValueHeaders": {}, "body": NOT_FOUND_BODY}


class RequestHandler(ChaliceRequestHandler):
    """chalice local's HTTP handler using `Gateway`."""

    # The response goes out in several small writes (status and headers, then the body): with
    # Nagle's algorithm a keep-alive client (a browser, requests.Session) waited ~40 ms for the
    # delayed ACK on every response.
    disable_nagle_algorithm = True

    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any,
                 config: Any) -> None:
        self.local_gateway = Gateway(app_object, config)
        super(ChaliceRequestHandler, self).__init__(request, client_address, server)

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method without a `do_<METHOD>` handler with an HTML 501, and
        # chalice local has handlers for the usual seven only: any other method (TRACE, QUERY,
        # ...) goes to the app too, which refuses it in its JSON error shape (405 with `Allow`).
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)


def local_test_client(app: Any, project_dir: str) -> Any:
    """Chalice's test client of `app` with the stage's variables but DEPLOYED_ONLY (what the tests
    and the benchmarks run the app with, as `make dev` does)."""
    from chalice.test import Client

    client = Client(app, project_dir=project_dir)
    config = client._chalice_config
    stage = config._config_from_disk.get("stages", {}).get(config.chalice_stage, {})
    for name in DEPLOYED_ONLY:
        stage.get("environment_variables", {}).pop(name, None)
    return client
