"""The request fields of the webhook routes (the routes load the rest on first use)."""
from __future__ import annotations

import re

from chalicelib.core.validation import Text, TextList

EVENT_TYPES = (
    "account.created", "account.status_changed",
    "subscription.activated", "subscription.renewed", "subscription.past_due",
    "subscription.suspended", "subscription.cancelled", "subscription.plan_changed",
    "invoice.created", "invoice.paid", "invoice.voided",
    "payment.submitted", "payment.approved", "payment.rejected", "payment.reversed",
    "credits.low", "credits.exhausted",
)
_EVENT = re.compile(r"\*|[a-z]+\.[a-z_]+")
CREATE = {
    "url": Text(required=True, max_len=2000, doc="Where events are POSTed: `https` to a public "
                "address in a deployed stage (also after DNS resolution); `make dev` also takes "
                "`http://127.0.0.1`."),
    "events": TextList(Text(max_len=40, pattern=_EVENT, pattern_message="must be an event type or *"),
                       required=True, max_items=len(EVENT_TYPES) + 1,
                       doc='`["*"]` for every event, or a list of event types.'),
    "description": Text(max_len=200, doc="What the endpoint is for."),
}
