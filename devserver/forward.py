"""`make dev WEBHOOK_FORWARD_URL=http://127.0.0.1:9000/hooks`: every event of the local stack is
sent to a receiver of the SaaS engineer's own (what `stripe listen --forward-to` does), signed like
any endpoint's, so the receiver's signature check is exercised too."""
from __future__ import annotations

from dataclasses import dataclass

DESCRIPTION = "make dev: WEBHOOK_FORWARD_URL"


@dataclass(frozen=True)
class Forwarding:
    url: str  # as the endpoint keeps it (normalized)
    endpoint_id: str
    secret: str  # the endpoint's signing secret (whsec_...)
    created: bool  # False: an endpoint kept from an earlier start

    def banner(self) -> str:
        return (f"Webhooks: forwarding every event to {self.url}, signed with {self.secret} "
                '(README: "Verify a signature")')


def ensure(url: str, created_by: str) -> Forwarding:
    """An enabled endpoint for `url` that wants every event (`"*"`), and its secret.

    A new one is made through chalicelib.webhooks.endpoints, as an owner's request would make it
    (the same checks: a URL that could not receive webhooks raises `Invalid`, saying why, and
    nothing is written). The data outlives `make dev`, so a restart with the same URL finds the
    endpoint it made before and keeps it rather than adding a second one (which would send each
    event twice).

    The secret of a kept endpoint is derived again from its salt with the server's key
    (`endpoints.signing_secrets`, what every delivery does), not rotated: a rotation at each start
    would change the secret the receiver is configured with at every restart of `make dev`, and
    sign every event with two secrets for the next 24 hours. The API still shows a secret once;
    only this banner repeats it, on the machine whose data folder holds the key anyway.

    A disabled endpoint for the URL (it failed for 3 days) is left as it is, for its delivery log,
    and a new one is made.
    """
    from chalicelib.accounts.auth import Principal
    from chalicelib.core.clock import now
    from chalicelib.core.config import get_settings
    from chalicelib.webhooks import endpoints, targets

    checked = targets.check_url(url, allow_local=get_settings().webhook_allow_local)
    for endpoint in endpoints.enabled():
        if endpoint.url == checked and endpoint.events == [endpoints.ALL]:
            return Forwarding(checked, endpoint.endpoint_id,
                              endpoints.signing_secrets(endpoint, now())[0], created=False)
    owner = Principal(user_id="devserver", account_id="", email=created_by, role="admin",
                      admin_role="owner")
    made = endpoints.create(owner, {"url": url, "events": [endpoints.ALL],
                                    "description": DESCRIPTION})
    return Forwarding(made["url"], made["id"], made["secret"], created=True)
