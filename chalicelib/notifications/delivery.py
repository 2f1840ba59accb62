"""Delivery of queued emails: rendered from the templates, claimed, sent through SES, retried with
backoff, parked when given up.

Delivery happens after the commit: the outbox stream's handler and a scheduled `drain()` in AWS,
a background worker in `make dev`. It renders the templates in `notifications/templates/`; a failed
send is retried with backoff and never touches the payment. jinja2 and the SES client are loaded
on first delivery, not at `import app` (cold start).
"""
from __future__ import annotations

import json

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from chalicelib.catalog.views import detail_rows
from chalicelib.core import aws_clients
from chalicelib.core.clock import now as clock_now
from chalicelib.core.clock import stamp
from chalicelib.core.config import get_settings
from chalicelib.notifications import holding
from chalicelib.notifications.lifecycle_messages import RENEWAL_INVOICE
from chalicelib.notifications.messages import PASSWORD_RESET, SIGNUP_INVOICE, TEMPLATES_DIR, VERIFY_EMAIL
from chalicelib.storage import outbox, store
from chalicelib.storage.models.platform import OutboxModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    """A rendered email, as sent."""

    message_id: str
    template: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False,
                                            default=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["detail_rows"] = detail_rows
    return env


def render(template: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of a template; HTML escapes every value, text shows it as is."""
    values = {**context, "web_app_url": get_settings().web_app_url}
    env = _environment()
    module = env.get_template(f"{template}.txt").make_module(values)
    subject = " ".join(str(module.subject).split())  # type: ignore[attr-defined]
    text = str(module).strip() + "\n"
    html = env.get_template(f"{template}.html").render({**values, "subject": subject})
    return subject, text, html


def compose(message: OutboxModel) -> Email:
    """Render an outbox message (a signup or renewal invoice also lists the country's payment
    methods)."""
    context: dict[str, Any] = dict(message.context.as_dict() if hasattr(message.context, "as_dict")
                                   else message.context or {})
    if context.get("quotes"):
        context["quotes"] = json.loads(context["quotes"])
    if message.template in (SIGNUP_INVOICE, RENEWAL_INVOICE):
        context["methods"] = _payment_methods(context.get("country"), context.get("preferred_method"))
    if message.template in _LINKS:  # the link's token is made now, never kept in the outbox
        from chalicelib.accounts import links

        context["token"] = links.mint(_LINKS[message.template], message.recipient)
    subject, text, html = render(message.template, context)
    return Email(message.message_id, message.template, get_settings().mail_from, message.recipient,
                 subject, text, html)


_LINKS = {PASSWORD_RESET: "reset", VERIFY_EMAIL: "verify"}  # template -> link purpose


def _payment_methods(country: str | None, preferred: str | None) -> list[dict[str, Any]]:
    from chalicelib.catalog.plans import methods_for_country

    methods = methods_for_country(country)
    return sorted(methods, key=lambda m: (m["payment_method"] != preferred,
                                         m["country"] is None))  # stable: display order kept


def ses_client() -> Any:
    """The SES client of this container, made on first use (SES_ENDPOINT_URL points it at moto)."""
    return aws_clients.client("ses", get_settings().ses_endpoint_url, connect_timeout=5,
                              read_timeout=15, retries={"max_attempts": 2, "mode": "standard"})


def send(email: Email) -> str:
    """Send through SES with text and HTML parts; SES's message id."""
    utf8 = "UTF-8"
    response = ses_client().send_email(
        Source=email.sender, Destination={"ToAddresses": [email.recipient]},
        Message={"Subject": {"Data": email.subject, "Charset": utf8},
                 "Body": {"Text": {"Data": email.text, "Charset": utf8},
                          "Html": {"Data": email.html, "Charset": utf8}}})
    return str(response["MessageId"])


@dataclass(frozen=True)
class Delivery:
    """What one delivery attempt did: sent, retry, parked, held (for an address not verified),
    skipped, not_due, lost or error."""

    message_id: str
    outcome: str
    email: Email | None = None
    error: str | None = None


def _describe(exc: BaseException) -> str:
    error = getattr(exc, "response", None)
    if isinstance(error, dict) and "Error" in error:
        return f"{error['Error'].get('Code', type(exc).__name__)}: {error['Error'].get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"


def deliver(message_id: str, now: datetime | None = None) -> Delivery:
    """Send one outbox message at most once: claim it, send, mark it sent (or record the failure)."""
    moment = now or clock_now()
    settings = get_settings()
    message = store.get(OutboxModel, message_id, consistent=True)
    if message is None or message.status != outbox.PENDING:
        return Delivery(message_id, "skipped")
    if message.next_attempt_at > stamp(moment):
        return Delivery(message_id, "not_due")
    if message.attempts >= settings.mail_max_attempts:
        parked = outbox.park_abandoned(message, moment)
        return Delivery(message_id, "parked" if parked else "skipped", error=message.last_error)
    if holding.must_hold(message):  # to an address not yet verified: sent once it is
        held = holding.hold(message, moment)
        if held != "verified":
            return Delivery(message_id, "held" if held == "held" else "skipped")
    token = outbox.claim(message, moment)
    if token is None:
        return Delivery(message_id, "skipped")
    try:
        email = compose(message)
        provider_id = send(email)
    except Exception as exc:  # any failure (SES, template) is recorded, retried, then parked
        error = _describe(exc)
        outcome = outbox.record_failure(message, token, moment, error, settings.mail_max_attempts,
                                        settings.mail_retry_base_seconds)
        log.warning("email %s attempt %d failed (%s): %s", message_id, message.attempts, outcome, error)
        return Delivery(message_id, outcome, error=error)
    if not outbox.mark_sent(message, token, moment, provider_id):
        log.warning("email %s was sent but its claim had expired", message_id)
    return Delivery(message_id, "sent", email=email)


def deliver_many(message_ids: Iterable[str], now: datetime | None = None) -> list[Delivery]:
    """Deliver each message; one that raises (e.g. DynamoDB unavailable) is logged and left queued."""
    results = []
    for message_id in message_ids:
        try:
            results.append(deliver(message_id, now))
        except Exception as exc:  # the message stays pending; the next drain retries it
            log.exception("delivering email %s failed", message_id)
            results.append(Delivery(message_id, "error", error=_describe(exc)))
    return results


def drain(now: datetime | None = None, batch: int = 25, max_messages: int = 500) -> list[Delivery]:
    """Deliver every due message (a query of the sparse `due` index, never a scan)."""
    moment = now or clock_now()
    seen: set[str] = set()
    results: list[Delivery] = []
    while len(results) < max_messages:
        fresh = [mid for mid in outbox.due(moment, batch) if mid not in seen]
        if not fresh:
            break
        seen.update(fresh)
        results += deliver_many(fresh, moment)
    return results
