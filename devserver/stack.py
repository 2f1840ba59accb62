"""Start the local stack: embedded (or external) DynamoDB, tables, reference data, admin, API."""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.cli.factory import CLIFactory
from chalice.local import CustomLocalChalice, LocalChalice, LocalDevServer, ThreadedHTTPServer

from devserver import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from devserver.dynamo import EmbeddedDynamo
from devserver.gateway import DEPLOYED_ONLY, RequestHandler
from devserver.mailbox import MailWorker
from devserver.webapp import WebApp

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_DIR / ".data"


class Server(ThreadedHTTPServer):
    """chalice local's threaded server with a listen backlog for bursts of connections (the
    default of 5 resets connections when dozens of clients connect at once)."""

    request_queue_size = 128


@dataclass
class Stack:
    """A running local stack."""

    api_url: str
    dynamodb_endpoint: str
    admin_email: str | None
    admin_password: str | None
    server: LocalDevServer
    dynamo: EmbeddedDynamo | None
    mail_worker: MailWorker | None = None
    webhook_worker: Any = None
    mail_server: EmbeddedDynamo | None = None
    ses_endpoint: str | None = None
    data_dir: Path | None = None
    web_app: WebApp | None = None

    @property
    def web_url(self) -> str | None:
        """Where the web app is served."""
        return self.web_app.url if self.web_app else None

    @property
    def mailbox(self) -> Path | None:
        """Where the dev mailbox keeps a copy of each sent email."""
        return self.mail_worker.folder if self.mail_worker else None

    def stop(self, served: bool = True) -> None:
        """Stop everything; `served`: the API's `serve_forever` ran (its `shutdown` waits for
        that loop to end, so for ever if it never began)."""
        if self.mail_worker:
            self.mail_worker.stop()
        if self.webhook_worker:
            self.webhook_worker.stop()
        if served:
            self.server.server.shutdown()
        self.server.server.server_close()
        if self.web_app:
            self.web_app.stop()
        for embedded in (self.mail_server, self.dynamo):
            if embedded:
                embedded.stop()


def _dev_secret(data_dir: Path) -> str:
    """A random token secret kept in the data folder, so tokens outlive a restart of `make dev`."""
    path = data_dir / "jwt-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _apply_environment(stage: str, endpoint: str, data_dir: Path) -> Any:
    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage)
    for name, value in config.environment_variables.items():
        if name not in DEPLOYED_ONLY:  # this server keeps a token secret of its own
            os.environ.setdefault(name, value)
    os.environ["DYNAMODB_ENDPOINT_URL"] = endpoint
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    os.environ.setdefault("WEBHOOK_ALLOW_LOCAL", "1")  # webhooks to a receiver on this machine
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    if not os.environ.get("JWT_SECRET"):
        os.environ["JWT_SECRET"] = _dev_secret(data_dir)
    return config


def start(host: str = "127.0.0.1", port: int = 8011, dynamodb_port: int = 8000,
          stage: str = "dev", web_port: int = 8012) -> Stack:
    """Start the store, the mail worker, the web app and the API server; the caller runs
    `server.serve_forever()`."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    web_app = WebApp(host, web_port)  # its URL is the base of the links in emails
    os.environ.setdefault("WEB_APP_URL", web_app.url)
    external = os.environ.get("DYNAMODB_ENDPOINT_URL")
    data_dir = Path(os.environ.get("DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    dynamo = None if external else EmbeddedDynamo(
        host, dynamodb_port, journal=data_dir / "dynamodb.journal").start()
    endpoint = external or dynamo.endpoint  # type: ignore[union-attr]
    # moto serves every service on one port: SES goes to the embedded server too (or to one of its
    # own when DynamoDB is external), unless SES_ENDPOINT_URL says otherwise.
    mail_server = None
    ses_endpoint = os.environ.get("SES_ENDPOINT_URL")
    if not ses_endpoint:
        if dynamo is None:
            mail_server = EmbeddedDynamo(host, 0).start()
        ses_endpoint = (dynamo or mail_server).endpoint  # type: ignore[union-attr]
        os.environ["SES_ENDPOINT_URL"] = ses_endpoint
        verify_sender = True
    else:
        verify_sender = False
    # Proofs of payment go to moto's S3 on the same server as SES, unless S3_ENDPOINT_URL is set.
    os.environ.setdefault("S3_ENDPOINT_URL", ses_endpoint)
    config = _apply_environment(stage, endpoint, data_dir)

    from chalicelib.accounts.admins import create_admin
    from chalicelib.billing import fx, proofs
    from chalicelib.catalog.reference_data import DEV_FX_RATES, seed
    from chalicelib.core.config import get_settings, reset_settings
    from chalicelib.notifications import delivery
    from chalicelib.storage import models, store
    from ops.migrate import migrate

    reset_settings()
    store.init()
    models.create_missing_tables()
    seed()
    fx.seed_rates(DEV_FX_RATES)  # a deployed stage's rates are set by an admin, never made up
    migrated = migrate().counts  # a store kept from before the lifecycle (make dev's .data)
    if migrated:
        print("migrated:", ", ".join(f"{name} {count}" for name, count in sorted(migrated.items())))
    settings = get_settings()
    if verify_sender:  # moto's SES, like SES's sandbox, only sends from a verified identity
        delivery.ses_client().verify_email_identity(EmailAddress=settings.mail_from)
    proofs.ensure_bucket(settings.web_origin)
    mailbox = Path(settings.mailbox_dir).resolve() if settings.mailbox_dir else data_dir / "mailbox"
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
    server = LocalDevServer(chalice_app, config, host, port, handler_cls=RequestHandler,
                            server_cls=Server)
    api_url = f"http://{host}:{server.server.server_address[1]}"
    stack = Stack(api_url=api_url,
                  dynamodb_endpoint=endpoint, admin_email=admin_email,
                  admin_password=admin_password, server=server, dynamo=dynamo,
                  mail_server=mail_server, ses_endpoint=ses_endpoint,
                  data_dir=None if external else data_dir,
                  web_app=web_app.start(f"{api_url}/api/v1",
                                        bucket_origin=proofs.s3_client().meta.endpoint_url))
    stack.mail_worker = MailWorker(mailbox).start()
    if os.environ.get("WEBHOOK_WORKER", "1") != "0":  # 0: only explicit delivery runs (tests)
        from devserver.webhooks import WebhookWorker

        stack.webhook_worker = WebhookWorker().start()
    return stack
