"""The composition root: the Chalice app, its middleware, every capability's routes, and the
functions that run on events (the outbox stream, the schedules), which import their own code when
they first run, so an API cold start does not load it."""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Chalice, Rate, Response

from chalicelib.accounts.routes import routes as accounts_routes
from chalicelib.accounts.team_routes import routes as team_routes
from chalicelib.admin.routes import routes as admin_routes
from chalicelib.api.routes import routes as api_routes
from chalicelib.api.routing import compose, error_shape
from chalicelib.billing.routes import routes as billing_routes
from chalicelib.catalog.routes import routes as catalog_routes
from chalicelib.credits.admin_routes import routes as credits_admin_routes
from chalicelib.credits.routes import routes as credits_routes
from chalicelib.reports.routes import routes as reports_routes
from chalicelib.statements.routes import routes as statements_routes
from chalicelib.webhooks.routes import routes as webhooks_routes
from chalicelib.core import telemetry
from chalicelib.core.config import outbox_stream_arn
from chalicelib.storage import store

app = Chalice(app_name="billing")
app.log.setLevel(logging.INFO)
telemetry.configure(app.log)  # JSON lines on stdout, with the request id
app.register_middleware(error_shape, "http")  # Chalice's own 405, 415, 500 in the error shape


@app.middleware("http")
def _observe(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Give every log line of a request its request id; log the request; count server errors."""
    context = event.context or {}
    lambda_context = getattr(app, "lambda_context", None)
    request_id = (context.get("requestId") or getattr(lambda_context, "aws_request_id", None)
                  or uuid.uuid4().hex)
    started, status = time.perf_counter(), 500
    with telemetry.scope(request_id=request_id):
        try:
            response = get_response(event)
            status = response.status_code
            return response
        finally:
            telemetry.request_done(method=event.method, route=context.get("resourcePath", ""),
                                   path=context.get("path", ""), status=status,
                                   duration_ms=(time.perf_counter() - started) * 1000)


ROUTES = (accounts_routes, team_routes, catalog_routes, billing_routes, credits_routes, admin_routes,
          credits_admin_routes, statements_routes, webhooks_routes, reports_routes, api_routes)
compose(app, *ROUTES)


# Email delivery: after the commit, from the outbox table's stream; a schedule retries. ------------

_OUTBOX_STREAM_ARN = outbox_stream_arn()  # set in .chalice/config.json once the table exists

if _OUTBOX_STREAM_ARN:
    @app.on_dynamodb_record(stream_arn=_OUTBOX_STREAM_ARN, batch_size=10)
    def deliver_new_emails(event: Any) -> None:
        """Send the emails just written to the outbox (the stream's INSERTs)."""
        from chalicelib.notifications import delivery  # the event functions' own code: loaded there

        store.ready()
        ids = [record.keys["message_id"]["S"] for record in event if record.event_name == "INSERT"]
        delivery.deliver_many(ids)


@app.schedule(Rate(1, unit=Rate.HOURS))
def billing_jobs(event: Any) -> None:
    """Reminders before the due date, voiding after the grace period, overdue-review alerts."""
    from chalicelib.billing import jobs

    store.ready()
    app.log.info("billing jobs: %s", jobs.run().counts())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def deliver_webhooks(event: Any) -> None:
    """Hand new events to the webhook endpoints, and make the attempts that are due."""
    from chalicelib.webhooks import delivery

    store.ready()
    report = delivery.run()
    if any(report.counts().values()):
        app.log.info("webhooks: %s", report.counts())


@app.schedule(Rate(5, unit=Rate.MINUTES))
def drain_outbox(event: Any) -> None:
    """Retry the emails that are due again (failed sends back off) and any the stream missed."""
    from chalicelib.notifications import delivery

    store.ready()
    deliveries = delivery.drain()
    if deliveries:
        outcomes: dict[str, int] = {}
        for sent in deliveries:
            outcomes[sent.outcome] = outcomes.get(sent.outcome, 0) + 1
        app.log.info("outbox drained: %s", outcomes)
