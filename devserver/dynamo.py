"""An embedded DynamoDB (moto) on its own port, with requests served one at a time.

moto's backend is not safe under concurrent requests (it can lose writes), so a lock around the
WSGI app serializes them; the API server in front stays multi-threaded.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server


class SerializedApp:
    """A WSGI wrapper that runs one request at a time, reading the whole response in the lock."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
        return [body]


class EmbeddedDynamo:
    """moto's DynamoDB served on host:port in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="embedded-dynamodb")

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EmbeddedDynamo":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
