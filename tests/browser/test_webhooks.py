"""Webhooks in the browser: an owner adds an endpoint for a receiver on this machine (its secret
shown once), sees the events of a signup delivered in the endpoint's log, sees a delivery the
receiver refused (500) pending and retries it, rotates the secret (the old one keeps signing) and
deletes the endpoint; a viewer reads the endpoints and their log but is offered no control.
Screenshots at desktop and phone (375 px) widths."""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from chalicelib.webhooks import signing
from tests.browser.conftest import DESKTOP, unique_email
from tests.browser.flows import invited_admin, log_in, log_in_as_admin, signup_by_api
from tests.conftest import PASSWORD, http

PHONE_375 = {"width": 375, "height": 812}
WAIT = 15  # seconds: the devserver's delivery worker runs every second


class Receiver:
    """An HTTP server on 127.0.0.1 (threads) that keeps what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"signature": self.headers[signing.HEADER], "body": body,
                                          "event": json.loads(body), "answered": receiver.status})
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if receiver.status < 300 else b"receiver broke")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, account_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.received if r["event"]["account_id"] == account_id
                and event_type in (None, r["event"]["type"])]

    def wait_for(self, account_id: str, event_type: str, n: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT
        while len(found := self.of(account_id, event_type)) < n:
            assert time.monotonic() < deadline, f"{event_type} of {account_id} not received: {self.received}"
            time.sleep(0.2)
        return found


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def _endpoints(web: Any) -> dict[str, dict[str, Any]]:
    reply = http("GET", f"{web.api}/billing/admin/webhooks", token=web.admin_token())
    assert reply.status == 200, reply.body
    return {e["id"]: e for e in reply.body["items"]}


def _deliveries(web: Any, endpoint_id: str) -> dict[str, dict[str, Any]]:
    """The endpoint's deliveries by event id."""
    reply = http("GET", f"{web.api}/billing/admin/webhooks/{endpoint_id}/deliveries?limit=100", token=web.admin_token())
    assert reply.status == 200, reply.body
    return {d["event_id"]: d for d in reply.body["items"]}


def _delivery(web: Any, endpoint_id: str, event_id: str, **want: Any) -> dict[str, Any]:
    """The endpoint's delivery of the event once it has the `want`ed values (the worker writes an
    attempt's outcome after the receiver has answered)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = _deliveries(web, endpoint_id).get(event_id)
        if found and all(found[key] == value for key, value in want.items()):
            return found
        assert time.monotonic() < deadline, f"the delivery of {event_id} is {found}, not {want}"
        time.sleep(0.25)


def _refresh_until(page: Any, row: Any, status: str) -> None:
    """Click the log's Refresh until `row` is there and shows `status`."""
    deadline = time.monotonic() + WAIT
    while not (row.count() and row.get_attribute("data-status") == status):
        assert time.monotonic() < deadline, f"the delivery is not {status} on the page"
        time.sleep(0.5)
        page.get_by_role("button", name="Refresh").click()
        expect(page.get_by_role("button", name="Refresh")).to_be_enabled()


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_375["width"], f"the page is {width}px wide at {PHONE_375['width']}px"


def test_an_owner_adds_an_endpoint_sees_its_deliveries_retries_one_rotates_and_deletes_it(web, shot, receiver):
    tag = uuid.uuid4().hex[:6]
    description = f"Provisioning {tag}"

    # When the owner opens Webhooks from the navigation and adds an endpoint for three event types
    owner = web.page()
    log_in_as_admin(owner, web.url)
    owner.get_by_role("navigation").get_by_role("link", name="Webhooks").click()
    expect(owner.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    form = owner.locator("[data-webhook-form]")
    # (an address that is not a URL is refused before anything is sent, as is no event at all)
    form.get_by_label("URL").fill("127.0.0.1/hooks")
    form.get_by_label("All events").uncheck()
    form.get_by_role("button", name="Add endpoint").click()
    expect(form.locator(".field[data-field=url] .error")).to_have_text("Enter a URL that starts with https://.")
    expect(form.locator(".field[data-field=events] .error")).to_have_text("Tick the events to send, or All events.")
    shot(owner, "webhooks-add-endpoint")
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("Description").fill(description)
    for event_type in ("account.created", "invoice.created", "payment.submitted"):
        form.get_by_role("checkbox", name=event_type).check()
    form.get_by_role("button", name="Add endpoint").click()

    # Then its secret is shown once, with the warning, and the API lists the endpoint as asked
    box = owner.locator("[data-new-secret]")
    expect(box).to_contain_text("This is the only time it is shown.")
    secret = box.locator("[data-secret]").input_value()
    assert secret.startswith("whsec_"), secret
    endpoint_id = box.get_attribute("data-new-secret")
    endpoint = _endpoints(web)[endpoint_id]
    assert (endpoint["url"], endpoint["description"], endpoint["events"], endpoint["status"]) == (
        receiver.url, description, ["account.created", "invoice.created", "payment.submitted"], "enabled"), endpoint
    row = owner.locator(f"[data-webhook='{endpoint_id}']")
    expect(row).to_contain_text(description)
    expect(row.locator("[data-endpoint-status]")).to_have_text("Enabled")
    shot(owner, "webhooks-secret-shown")
    box.get_by_role("button", name="I have stored it").click()
    expect(box).to_have_count(0)
    assert secret not in owner.content()

    # When someone signs up: the receiver gets the account and its invoice, signed with the secret
    signup = signup_by_api(web.api, unique_email("hooked"), f"Hooked Traders {tag}")
    account_id = signup["account"]["id"]
    created = receiver.wait_for(account_id, "account.created")[0]
    invoice = receiver.wait_for(account_id, "invoice.created")[0]
    for received in (created, invoice):
        assert signing.verify(secret, received["signature"], received["body"]), received
    assert invoice["event"]["data"]["id"] == signup["invoice"]["id"], invoice["event"]

    # Then the endpoint's log shows both delivered, at the first attempt, answered 200
    row.get_by_role("link", name=f"Delivery log of {description}").click()
    expect(owner.get_by_role("heading", name="Delivery log")).to_be_visible()
    created_row = owner.locator(f"[data-event='{created['event']['id']}']")
    _refresh_until(owner, created_row, "delivered")
    invoice_row = owner.locator(f"[data-event='{invoice['event']['id']}']")
    _refresh_until(owner, invoice_row, "delivered")
    expect(created_row.locator("[data-delivery-status]")).to_have_text("Delivered")
    expect(created_row.locator("[data-last-status]")).to_have_text("200")
    expect(created_row.locator("td[data-label=Attempts]")).to_have_text("1")

    # When the receiver breaks (500) and the customer confirms a payment
    receiver.status = 500
    confirm = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": signup["invoice"]["id"], "payment_method": "bank_transfer",
        "amount": signup["invoice"]["amount"], "manual_reference": f"BT-{tag}"}, token=signup["access_token"])
    assert confirm.status == 201, confirm.body
    refused = receiver.wait_for(account_id, "payment.submitted")[0]
    assert refused["answered"] == 500
    pending = _delivery(web, endpoint_id, refused["event"]["id"], attempts=1, last_status=500)
    assert pending["status"] == "pending" and pending["next_attempt_at"], pending

    # Then its delivery is pending: one attempt, answered 500, the next one in a minute
    payment_row = owner.locator(f"[data-event='{refused['event']['id']}']")
    _refresh_until(owner, payment_row, "pending")
    expect(payment_row.locator("[data-last-status]")).to_have_text("500")
    expect(payment_row.locator("td[data-label=Attempts]")).to_have_text("1")
    expect(payment_row.locator("td[data-label='Next attempt']")).not_to_have_text("—")
    # And the Pending filter shows it alone
    owner.get_by_role("link", name="Pending", exact=True).click()
    expect(owner).to_have_url(f"{web.url}/admin/webhooks/{endpoint_id}?status=pending")
    expect(owner.locator("tr[data-delivery]")).to_have_count(1)
    expect(payment_row).to_be_visible()
    shot(owner, "webhooks-log-pending")

    # When the receiver works again and the owner retries the delivery
    receiver.status = 200
    payment_row.get_by_role("button", name=f"Retry payment.submitted {refused['event']['id']}").click()
    expect(owner.locator("#toasts")).to_contain_text("payment.submitted is due again")

    # Then the same event is sent again, and the log and the API say delivered at the second attempt
    again = receiver.wait_for(account_id, "payment.submitted", 2)[1]
    assert again["body"] == refused["body"] and again["answered"] == 200
    retried = _delivery(web, endpoint_id, refused["event"]["id"], status="delivered")
    assert (retried["attempts"], retried["last_status"]) == (2, 200), retried
    owner.get_by_role("link", name="All", exact=True).click()
    payment_row = owner.locator(f"[data-event='{refused['event']['id']}']")
    _refresh_until(owner, payment_row, "delivered")
    expect(payment_row.locator("[data-last-status]")).to_have_text("200")
    expect(payment_row.locator("td[data-label=Attempts]")).to_have_text("2")
    expect(payment_row.get_by_role("button", name="Retry")).to_have_count(0)
    shot(owner, "webhooks-log")

    # And on a phone the endpoints and the log fit the screen
    phone = web.page(PHONE_375)
    log_in_as_admin(phone, web.url)
    phone.goto(f"{web.url}/admin/webhooks")
    expect(phone.locator(f"[data-webhook='{endpoint_id}']")).to_be_visible()
    _fits(phone)
    shot(phone, "webhooks-phone")
    phone.goto(f"{web.url}/admin/webhooks/{endpoint_id}")
    expect(phone.locator(f"[data-event='{refused['event']['id']}']")).to_be_visible()
    _fits(phone)
    shot(phone, "webhooks-log-phone")

    # When the owner rotates the secret, after confirming
    owner.get_by_role("link", name="← Webhooks").click()
    owner.get_by_role("button", name=f"Rotate the secret of {description}").click()
    dialog = owner.locator("dialog[data-dialog=rotate-secret]")
    expect(dialog).to_contain_text("keeps signing them too for 24 hours")
    dialog.get_by_role("button", name="Rotate secret").click()
    expect(dialog).to_have_count(0)

    # Then the new secret is shown once, saying the old one signs for 24 hours more
    box = owner.locator(f"[data-new-secret='{endpoint_id}'][data-rotated=true]")
    expect(box).to_contain_text("The old secret keeps signing them too until")
    new_secret = box.locator("[data-secret]").input_value()
    assert new_secret.startswith("whsec_") and new_secret != secret
    shot(owner, "webhooks-secret-rotated")
    owner.set_viewport_size(PHONE_375)
    _fits(owner)
    shot(owner, "webhooks-secret-rotated-phone")
    owner.set_viewport_size(DESKTOP)
    # And the next event is signed with both
    later = signup_by_api(web.api, unique_email("hooked-later"), f"Later Traders {tag}")
    signed = receiver.wait_for(later["account"]["id"], "account.created")[0]
    assert signing.verify(new_secret, signed["signature"], signed["body"]), signed
    assert signing.verify(secret, signed["signature"], signed["body"]), signed

    # When the owner deletes the endpoint, after confirming
    owner.get_by_role("button", name=f"Delete {description}").click()
    dialog = owner.locator("dialog[data-dialog=delete-webhook]")
    expect(dialog).to_contain_text("Nothing more is sent to it")
    dialog.get_by_role("button", name="Delete endpoint").click()

    # Then it is gone from the page and from the API
    expect(owner.locator(f"[data-webhook='{endpoint_id}']")).to_have_count(0)
    assert endpoint_id not in _endpoints(web)


def test_a_viewer_reads_the_endpoints_and_their_log_but_is_offered_no_control(web, shot, receiver):
    # Given an endpoint for every event (added through the API) that got a signup's events
    tag = uuid.uuid4().hex[:6]
    made = http("POST", f"{web.api}/billing/admin/webhooks",
                {"url": receiver.url, "events": ["*"], "description": f"Analytics {tag}"}, token=web.admin_token())
    assert made.status == 201, made.body
    endpoint_id = made.body["id"]
    receiver.status = 200
    signup = signup_by_api(web.api, unique_email("watched"), f"Watched Traders {tag}")
    event_id = receiver.wait_for(signup["account"]["id"], "account.created")[0]["event"]["id"]
    viewer_email = invited_admin(web, "Vera Viewer")

    try:
        # When the viewer opens Webhooks
        viewer = web.page()
        viewer.goto(f"{web.url}/login")
        log_in(viewer, viewer_email, PASSWORD)
        expect(viewer.locator("[data-admin-role]")).to_have_attribute("data-admin-role", "viewer")
        viewer.get_by_role("navigation").get_by_role("link", name="Webhooks").click()

        # Then they see the endpoint, and no form, rotation or deletion: a note says owners do that
        row = viewer.locator(f"[data-webhook='{endpoint_id}']")
        expect(row).to_contain_text(f"Analytics {tag}")
        expect(row.locator("[data-events=all]")).to_have_text("All events")
        expect(viewer.locator("[data-webhook-form]")).to_have_count(0)
        expect(viewer.get_by_role("heading", name="Add an endpoint")).to_have_count(0)
        expect(viewer.get_by_role("button", name="Rotate secret")).to_have_count(0)
        expect(viewer.get_by_role("button", name="Delete")).to_have_count(0)
        expect(viewer.locator("[data-needs-role=owner].role-note")).to_contain_text("Owners add endpoints")
        shot(viewer, "webhooks-viewer")

        # And the log shows the delivery, with no Retry
        row.get_by_role("link", name=f"Delivery log of Analytics {tag}").click()
        delivery_row = viewer.locator(f"[data-event='{event_id}']")
        _refresh_until(viewer, delivery_row, "delivered")
        expect(viewer.get_by_role("button", name="Retry")).to_have_count(0)
        expect(viewer.locator("td[data-label=Action]")).to_have_count(0)
        shot(viewer, "webhooks-log-viewer")
        # (and the API refuses them a retry anyway)
        delivery_id = delivery_row.get_attribute("data-delivery")
        refused = http("POST", f"{web.api}/billing/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry",
                       token=web.token(viewer_email, PASSWORD))
        assert (refused.status, refused.body["error"]["code"]) == (403, "insufficient_role"), refused.body
    finally:
        assert http("DELETE", f"{web.api}/billing/admin/webhooks/{endpoint_id}", token=web.admin_token()).status == 204
