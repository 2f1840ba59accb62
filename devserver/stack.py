"""Start the local stack: embedded (or external) DynamoDB, tables, reference data, admin, API."""
from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer

from devserver.dynamo import EmbeddedDynamo
from devserver.gateway import RequestHandler

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEV_ADMIN_EMAIL = "admin@example.com"
DEV_ADMIN_PASSWORD = "admin-password-dev"


@dataclass
class Stack:
    """A running local stack."""

    api_url: str
    dynamodb_endpoint: str
    admin_email: str | None
    admin_password: str | None
    server: LocalDevServer
    dynamo: EmbeddedDynamo | None
    thread: threading.Thread | None = None

    def stop(self) -> None:
        self.server.server.shutdown()
        self.server.server.server_close()
        if self.dynamo:
            self.dynamo.stop()


def _apply_environment(stage: str, endpoint: str) -> Any:
    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage)
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, value)
    os.environ["DYNAMODB_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("JWT_SECRET", secrets.token_urlsafe(48))
    return config


def start(host: str = "127.0.0.1", port: int = 8011, dynamodb_port: int = 8000,
          stage: str = "dev", background: bool = False, quiet: bool = False) -> Stack:
    """Start everything; serve the API in a thread when `background`, else call `serve()`."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    external = os.environ.get("DYNAMODB_ENDPOINT_URL")
    dynamo = None if external else EmbeddedDynamo(host, dynamodb_port).start()
    endpoint = external or dynamo.endpoint  # type: ignore[union-attr]
    config = _apply_environment(stage, endpoint)

    from chalicelib import models, store
    from chalicelib.accounts import create_admin
    from chalicelib.config import reset_settings
    from chalicelib.reference_data import seed

    reset_settings()
    store.init()
    models.create_missing_tables()
    seed()
    admin_email = os.environ.get("ADMIN_EMAIL") or (None if external else DEV_ADMIN_EMAIL)
    admin_password = os.environ.get("ADMIN_PASSWORD") or (None if external else DEV_ADMIN_PASSWORD)
    if admin_email and admin_password:
        create_admin(admin_email, admin_password)

    import app as app_module

    chalice_app = app_module.app
    if not isinstance(chalice_app, LocalChalice):
        # What chalice's create_local_server does: the current request becomes thread-local.
        CustomLocalChalice.__bases__ = (LocalChalice, chalice_app.__class__)
        chalice_app.__class__ = CustomLocalChalice
    server = LocalDevServer(chalice_app, config, host, port, handler_cls=RequestHandler)
    server.server.quiet = quiet
    stack = Stack(api_url=f"http://{host}:{server.server.server_address[1]}",
                  dynamodb_endpoint=endpoint, admin_email=admin_email,
                  admin_password=admin_password, server=server, dynamo=dynamo)
    if background:
        stack.thread = threading.Thread(target=server.serve_forever, daemon=True, name="api")
        stack.thread.start()
    return stack
