"""Webhooks end to end in-process, against a real HTTP receiver on 127.0.0.1 that checks every
signature: the events of committed changes, once each; retries on the pinned schedule; claims
that keep two workers from making one attempt twice; rotation; the delivery log and its retry."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import clock
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.webhooks import WebhookDeliveryModel, WebhookEndpointModel
from chalicelib.webhooks import delivery, signing
from tests.conftest import ADMIN_EMAIL, Api, PaidSignup, stored_items
from tests.helpers import assert_error, store_unchanged
from tests.webhooks.receiver import Receiver

WEBHOOKS = "/api/v1/billing/admin/webhooks"


def _deliveries() -> list[WebhookDeliveryModel]:
    return list(WebhookDeliveryModel.scan(consistent_read=True))


def _endpoint(api: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    reply = api.post(WEBHOOKS, {"url": url, "events": events or ["*"], "description": "backend"},
                     token=api.admin_token())
    assert reply.status == 201, reply.body
    return reply.body


def _paid_and_approved(api: Api, signup: PaidSignup) -> str:
    payment = api.confirm(signup.token, signup.invoice_id)
    assert payment.status == 201, payment.body
    assert api.approve(api.admin_token(), payment.body["id"]).status == 200
    return payment.body["id"]


def test_an_endpoints_secret_is_shown_once_and_stored_nowhere(api: Api, receiver: Receiver) -> None:
    made = _endpoint(api, receiver.url)
    assert made["secret"].startswith("whsec_") and made["events"] == ["*"]
    listed = api.get(WEBHOOKS, token=api.admin_token()).body
    assert [e["id"] for e in listed["items"]] == [made["id"]] and "secret" not in listed["items"][0]
    assert made["secret"] not in json.dumps(stored_items(WebhookEndpointModel))
    with store_unchanged():
        assert_error(api.post(WEBHOOKS, {"url": receiver.url, "events": ["invoice.nope"]},
                              token=api.admin_token()), 422, "validation_failed")
        assert_error(api.post(WEBHOOKS, {"url": "http://169.254.169.254/latest", "events": ["*"]},
                              token=api.admin_token()), 422, "webhook_url_not_allowed")


def test_the_seed_workflow_sends_each_of_its_events_once_signed_and_in_order(
        api: Api, receiver: Receiver) -> None:
    # Given an account made before the endpoint for every event was added (its events are not sent)
    earlier = api.register("earlier@khan.pk").body["account"]["id"]
    made = _endpoint(api, receiver.url)
    # When a customer signs up, confirms, the admin approves, and the delivery runs (twice)
    reply = api.register("ayesha@khan.pk", plan="starter", payment_method="bank_transfer").body
    paid_signup = PaidSignup(reply["access_token"], reply["account"]["id"], reply["invoice"]["id"],
                             reply["subscription"]["id"], "ayesha@khan.pk")
    payment_id = _paid_and_approved(api, paid_signup)
    first = delivery.run()
    again = delivery.run()
    # Then each event of the committed changes arrived once, signed with the endpoint's secret
    events = receiver.events(made["secret"])
    mine = [e for e in events if e["account_id"] == paid_signup.account_id]
    types = [e["type"] for e in mine]
    assert sorted(types) == sorted([
        "account.created", "invoice.created", "payment.submitted", "payment.approved",
        "invoice.paid", "subscription.activated", "account.status_changed"]), types
    assert len({e["id"] for e in events}) == len(events)  # none twice
    assert all(e["account_id"] != earlier for e in events)
    assert not again.attempted and first.counts()["delivered"] == len(events)
    # And the events say what happened, numbered per account in the order they were made
    approved = next(e for e in mine if e["type"] == "payment.approved")
    assert (approved["data"]["id"], approved["data"]["to_status"], approved["data"]["amount"]) == (
        payment_id, "succeeded", "89.00")
    status = next(e for e in mine if e["type"] == "account.status_changed")["data"]
    assert (status["from_status"], status["to_status"]) == ("pending_payment", "active")
    ordered = sorted(mine, key=lambda e: e["sequence"])
    assert [e["sequence"] for e in ordered] == sorted({e["sequence"] for e in mine})
    assert [e["created_at"] for e in ordered] == sorted(e["created_at"] for e in mine)
    # And every delivery is in the log as delivered
    log = api.get(f"{WEBHOOKS}/{made['id']}/deliveries", token=api.admin_token()).body
    assert {d["status"] for d in log["items"]} == {"delivered"}
    assert len(log["items"]) == len(events)


def test_only_the_chosen_event_types_are_sent(api: Api, paid_signup: PaidSignup,
                                             receiver: Receiver) -> None:
    made = _endpoint(api, receiver.url, ["payment.approved"])
    _paid_and_approved(api, paid_signup)
    delivery.run()
    assert [e["type"] for e in receiver.events(made["secret"])] == ["payment.approved"]


def test_a_receiver_that_fails_gets_the_same_event_again_on_the_schedule(
        api: Api, paid_signup: PaidSignup, receiver: Receiver) -> None:
    made = _endpoint(api, receiver.url, ["payment.submitted"])
    api.confirm(paid_signup.token, paid_signup.invoice_id)
    receiver.statuses = [500, 503]
    start = clock.now()
    # The first attempt gets a 500: pending, due again in a minute, the answer kept (1 KB at most)
    with clock.travel(start):
        delivery.run(start)
    [pending] = _deliveries()
    assert (pending.status, pending.attempts, pending.last_status) == ("pending", 1, 500)
    assert pending.last_response == "receiver broke"
    # Nothing is sent before the minute is over; then a 503, then five minutes later a 200
    delivery.run(start + timedelta(seconds=30))
    assert len(receiver.received) == 1
    delivery.run(start + timedelta(seconds=61))
    delivery.run(start + timedelta(minutes=6, seconds=2))
    [done] = _deliveries()
    assert (done.status, done.attempts, done.last_status) == ("delivered", 3, 200)
    bodies = [one["body"] for one in receiver.received]
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same event, the same bytes
    assert len({json.loads(b)["id"] for b in bodies}) == 1
    receiver.events(made["secret"])  # each attempt signed


def test_a_receiver_slower_than_10_seconds_is_retried(api: Api, paid_signup: PaidSignup,
                                                     receiver: Receiver) -> None:
    # Given a receiver that takes 12 s to answer the first attempt (then answers at once)
    made = _endpoint(api, receiver.url, ["payment.submitted"])
    api.confirm(paid_signup.token, paid_signup.invoice_id)
    receiver.delays = [12]
    moment = clock.now() + timedelta(seconds=1)
    # When the worker runs: the attempt gives up after 10 s, and the next is due a minute later
    delivery.run(moment)
    [waiting] = _deliveries()
    assert (waiting.status, waiting.attempts, waiting.last_status) == ("pending", 1, None)
    assert "timed out" in (waiting.last_error or "") and waiting.next_attempt_at == clock.stamp(
        moment + delivery.RETRY_DELAYS[0])
    delivery.run(moment + delivery.RETRY_DELAYS[0] + timedelta(seconds=1))
    # Then the retry delivers it: the same event, twice received, once delivered
    [done] = _deliveries()
    assert (done.status, done.attempts, done.last_status) == ("delivered", 2, 200)
    events = receiver.events(made["secret"])
    assert len(events) == 2 and events[0] == events[1]


def _failing_every_attempt(api: Api, paid_signup: PaidSignup, receiver: Receiver) -> dict[str, Any]:
    """An endpoint for payment.submitted whose receiver answers 500 to the confirmation's event
    at its first attempt and at each of its 6 retries, each run when it is due."""
    made = _endpoint(api, receiver.url, ["payment.submitted"])
    api.confirm(paid_signup.token, paid_signup.invoice_id)
    receiver.statuses = [500] * 7
    moment = clock.now()
    for wait in (timedelta(0), *delivery.RETRY_DELAYS):
        moment += wait + timedelta(seconds=1)
        delivery.run(moment)
    return made


def test_after_the_last_retry_a_delivery_fails_and_an_admin_can_send_it_again(
        api: Api, paid_signup: PaidSignup, receiver: Receiver) -> None:
    made = _failing_every_attempt(api, paid_signup, receiver)
    [failed] = _deliveries()
    assert (failed.status, failed.attempts) == ("failed", 7)
    assert len(receiver.received) == 7
    # The admin retries it from the log: due now, sent by the next run
    reply = api.post(f"{WEBHOOKS}/{made['id']}/deliveries/{failed.delivery_id}/retry",
                     token=api.admin_token())
    assert reply.status == 202 and reply.body["status"] == "pending", reply.body
    delivery.run(clock.now() + timedelta(seconds=1))
    assert _deliveries()[0].status == "delivered"
    assert len(receiver.received) == 8


def test_two_workers_never_make_one_attempt_twice(api: Api, paid_signup: PaidSignup,
                                                 receiver: Receiver) -> None:
    _endpoint(api, receiver.url, ["payment.submitted"])
    api.confirm(paid_signup.token, paid_signup.invoice_id)
    now = clock.now()
    delivery.fanout(now)
    # Two workers read the same due delivery; the first claims and sends it
    [seen_by_one] = delivery.due(now, 10)
    [seen_by_two] = delivery.due(now, 10)
    assert delivery.attempt(seen_by_one, now) is True
    # The second one's claim fails: it sends nothing
    assert delivery.attempt(seen_by_two, now) is False
    assert len(receiver.received) == 1
    # And a second fan-out of the event makes no second delivery
    assert delivery.fanout(now) == 0 and len(_deliveries()) == 1


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(api: Api, paid_signup: PaidSignup,
                                                           receiver: Receiver) -> None:
    made = _endpoint(api, receiver.url, ["payment.submitted"])
    rotated = api.post(f"{WEBHOOKS}/{made['id']}/rotate-secret", token=api.admin_token())
    assert rotated.status == 200, rotated.body
    assert rotated.body["secret"] != made["secret"]
    api.confirm(paid_signup.token, paid_signup.invoice_id)
    delivery.run()
    [one] = receiver.received
    header = one["headers"][signing.HEADER]
    assert header.count("v1=") == 2
    assert signing.verify(made["secret"], header, one["body"])
    assert signing.verify(rotated.body["secret"], header, one["body"])
    # A day later only the new secret signs
    endpoint = WebhookEndpointModel.get(made["id"])
    later = clock.now() + timedelta(hours=25)
    assert len(delivery.endpoints.signing_secrets(endpoint, later)) == 1


def test_a_forged_or_stale_signature_is_refused_by_the_verification_code() -> None:
    body = b'{"id":"evt_1"}'
    header = signing.signature_header(body, ["whsec_right"], at=1_800_000_000)
    assert signing.verify("whsec_right", header, body, now=1_800_000_100)
    assert not signing.verify("whsec_wrong", header, body, now=1_800_000_100)
    assert not signing.verify("whsec_right", header, body + b" ", now=1_800_000_100)
    assert not signing.verify("whsec_right", header, body, now=1_800_000_000 + 301)
    assert not signing.verify("whsec_right", "t=abc,v1=00", body)


def test_an_endpoint_failing_for_three_days_is_disabled(api: Api, paid_signup: PaidSignup,
                                                       receiver: Receiver) -> None:
    made = _failing_every_attempt(api, paid_signup, receiver)
    endpoint = WebhookEndpointModel.get(made["id"])
    assert endpoint.failing_since is not None
    assert endpoint.status == "enabled"  # 1.4 days of failures so far
    # A failure more than three days after the first disables it
    reply = api.post(f"{WEBHOOKS}/{made['id']}/deliveries/"
                     f"{_deliveries()[0].delivery_id}/retry", token=api.admin_token())
    assert reply.status == 202
    receiver.statuses = [500, 500]
    later = clock.parse_stamp(endpoint.failing_since) + timedelta(days=3, minutes=1)
    delivery.run(later)
    disabled = WebhookEndpointModel.get(made["id"])
    assert disabled.status == "disabled" and disabled.disabled_at is not None
    # And every active owner is told once, with the URL and a link to the console
    [told] = [m for m in OutboxModel.scan() if m.template == "webhook_endpoint_disabled"]
    assert told.recipient == ADMIN_EMAIL and told.context["url"] == receiver.url
    assert told.context["link"].endswith("/admin/webhooks")
    # An owner's retry to the disabled endpoint is attempted once; failing, it changes nothing
    first = _deliveries()[0].delivery_id

    def owner_retries(moment: datetime) -> None:
        with clock.travel(moment):
            reply = api.post(f"{WEBHOOKS}/{made['id']}/deliveries/{first}/retry",
                             token=api.admin_token())
        assert reply.status == 202, reply.body

    sent = len(receiver.received)
    owner_retries(later + timedelta(minutes=30))
    delivery.run(later + timedelta(hours=1))
    delivery.run(later + timedelta(days=1))
    assert len(receiver.received) == sent + 1
    assert WebhookEndpointModel.get(made["id"]).status == "disabled"
    assert WebhookDeliveryModel.get(first).status == "failed"
    assert len([m for m in OutboxModel.scan() if m.template == "webhook_endpoint_disabled"]) == 1
    # Delivered (the receiver is fixed), it enables the endpoint again
    owner_retries(later + timedelta(days=1))
    delivery.run(later + timedelta(days=1, minutes=1))
    enabled = WebhookEndpointModel.get(made["id"])
    assert (enabled.status, enabled.failing_since, enabled.disabled_at) == ("enabled", None, None)
    assert WebhookDeliveryModel.get(first).status == "delivered"


def test_the_readmes_verification_snippet_and_the_clients_accept_only_a_good_signature() -> None:
    import re
    import time

    from clients.billing_client import verify_webhook
    from tests.conftest import PROJECT_DIR

    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme[readme.index("**Verify a signature**"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(snippet.strip().splitlines()) <= 10
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 - the README's own code, run as a receiver would
    body = b'{"id":"evt_1","type":"payment.approved"}'
    fresh = signing.signature_header(body, ["whsec_new", "whsec_old"])
    stale = signing.signature_header(body, ["whsec_new"], at=int(time.time()) - 301)
    for verify in (namespace["verify"], verify_webhook):
        assert verify("whsec_new", fresh, body) and verify("whsec_old", fresh, body)
        assert not verify("whsec_other", fresh, body)
        assert not verify("whsec_new", fresh, body + b" ")
        assert not verify("whsec_new", stale, body)
