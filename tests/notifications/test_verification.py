"""Email verification: a signup's link verifies the address (a link sent again replaces the
earlier); until then the address receives only the verification (and reset) email, and what was
held for it is sent once it is verified, once. A billing contact is verified the same way."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.billing import jobs
from chalicelib.core import clock
from chalicelib.notifications import delivery, holding
from chalicelib.notifications.messages import address_key as queued_address_key
from chalicelib.storage import outbox
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.sessions import EmailAddressModel, LinkTokenModel
from tests.conftest import BILLING_PK, Api, stored_items
from tests.helpers import assert_error, deliver_links, link_token, verify_email

VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/verify-email/resend"
ADMINS = "admins@example.com"


def messages() -> dict[str, OutboxModel]:
    return {m.message_id: m for m in OutboxModel.scan()}


def sent_by_drain() -> list[Any]:
    delivery.ses_client().verify_email_identity(EmailAddress="billing@example.com")
    return [d.email for d in delivery.drain() if d.outcome == "sent"]


def me(api: Api, token: str) -> dict[str, Any]:
    reply = api.get("/api/v1/auth/me", token=token)
    assert reply.status == 200, reply.body
    return reply.body


@pytest.fixture
def trial(api: Api) -> dict[str, Any]:
    reply = api.register("trial@example.com", name="Trial <b>User</b>")
    assert reply.status == 201, reply.body
    return reply.body


def test_a_signup_sends_only_the_verification_email_and_holds_the_welcome(api, trial):
    assert trial["user"]["email_verified"] is False
    # When the outbox is drained
    [verification] = sent_by_drain()
    # Then only the verification email went out, with nothing the user typed in it
    assert (verification.template, verification.recipient) == ("verify_email", "trial@example.com")
    assert "/verify-email?token=" in verification.text
    for typed in ("Trial", "Khan Media", "Ayesha"):
        assert typed not in verification.text and typed not in verification.html
    # And the welcome is held (out of the due index), named on the address's record
    [welcome] = [m for m in messages().values() if m.template == "welcome_trial"]
    assert (welcome.status, welcome.queue) == ("held", None)
    record = EmailAddressModel.get(queued_address_key("trial@example.com"))
    assert record.held == {welcome.message_id} and record.verified_at is None
    # And the outbox never kept the link's token
    assert link_token(verification) not in json.dumps(stored_items(OutboxModel))
    assert sent_by_drain() == []  # nothing more until verified


def test_verifying_sends_what_was_held_once(api, trial):
    [verification] = sent_by_drain()
    # When the link is opened
    reply = api.post(VERIFY, {"token": link_token(verification)})
    # Then the address is verified, the user shows it, and the welcome is released
    assert reply.status == 200, reply.body
    assert reply.body == {"email": "trial@example.com", "verified_at": reply.body["verified_at"],
                          "released": 1}
    assert me(api, trial["access_token"])["user"]["email_verified"] is True
    assert UserModel.get("trial@example.com").email_verified_at
    [welcome] = sent_by_drain()
    assert (welcome.template, welcome.recipient) == ("welcome_trial", "trial@example.com")
    # Once: the held message is `released`, its copy `sent`; draining again sends nothing
    statuses = sorted(m.status for m in messages().values() if m.template == "welcome_trial")
    assert statuses == ["released", "sent"]
    assert sent_by_drain() == []
    assert EmailAddressModel.get(queued_address_key("trial@example.com")).held is None
    # And the link works once
    assert_error(api.post(VERIFY, {"token": link_token(verification)}), 400,
                 "invalid_verification_token")


def test_emails_after_verification_are_not_held(api, trial):
    verify_email(api, "trial@example.com")
    sent_by_drain()
    token = trial["access_token"]
    reply = api.post("/api/v1/billing/subscription", {
        "plan": "starter", "payment_method": "bank_transfer",
        "billing": {**BILLING_PK, "billing_email": "trial@example.com"}}, token=token)
    assert reply.status == 201, reply.body
    assert [e.template for e in sent_by_drain()] == ["signup_invoice"]


def test_a_resent_link_replaces_the_earlier_one(api, trial):
    [first] = sent_by_drain()
    # When the user asks for the link again
    reply = api.post(RESEND, token=trial["access_token"])
    assert (reply.status, reply.body) == (202, {"addresses": ["trial@example.com"]})
    [second] = sent_by_drain()
    assert second.template == "verify_email" and link_token(second) != link_token(first)
    # Then the earlier link is refused and the newer verifies
    assert_error(api.post(VERIFY, {"token": link_token(first)}), 400, "invalid_verification_token")
    assert api.post(VERIFY, {"token": link_token(second)}).status == 200
    # And once verified, resend sends nothing
    assert api.post(RESEND, token=trial["access_token"]).body == {"addresses": []}


def test_a_verification_link_expires_after_48_hours(api, trial):
    [verification] = sent_by_drain()
    with clock.travel(clock.now() + timedelta(hours=48, seconds=1)):
        assert_error(api.post(VERIFY, {"token": link_token(verification)}), 400,
                     "invalid_verification_token")
    assert api.post(VERIFY, {"token": link_token(verification)}).status == 200


def test_a_billing_contact_is_verified_on_its_own(api):
    # Given a paid signup whose billing contact is another address
    signup = api.register("ayesha@khan.pk", plan="starter", payment_method="bank_transfer").body
    emails = sent_by_drain()
    assert sorted((e.template, e.recipient) for e in emails) == [
        ("verify_email", "ayesha@khan.pk"), ("verify_email", "billing@khan.pk")]
    for email in emails:  # no billing name or anything typed
        assert "Khan" not in email.text and "Khan" not in email.html
    # When the user verifies their own address: the invoice email (to them) is released
    assert api.post(VERIFY, {"token": link_token(
        next(e for e in emails if e.recipient == "ayesha@khan.pk"))}).status == 200
    assert [e.template for e in sent_by_drain()] == ["signup_invoice"]
    # And the billing contact's own emails wait for its own link: a reminder is held
    due = clock.parse_stamp(signup["invoice"]["due_date"] + "T09:00:00Z")
    with clock.travel(due - timedelta(days=2)):
        jobs.run()
        assert sent_by_drain() == []
        [reminder] = [m for m in messages().values() if m.template == "invoice_reminder"]
        assert (reminder.status, reminder.recipient) == ("held", "billing@khan.pk")
        # The resend names the contact (the user's own address is verified; its first link
        # has expired by now)
        assert api.post(RESEND, token=api.login("ayesha@khan.pk")).body == {
            "addresses": ["billing@khan.pk"]}
        verify_email(api, "billing@khan.pk")
        assert [(e.template, e.recipient) for e in sent_by_drain()] == [
            ("invoice_reminder", "billing@khan.pk")]
    # The user is unaffected by the contact's verification
    assert UserModel.get("ayesha@khan.pk").email_verified_at


def test_the_admins_emails_and_the_reset_email_are_never_held(api, paid_signup):
    # Given the user confirms a payment without having verified their address
    assert api.confirm(paid_signup.token, paid_signup.invoice_id).status == 201
    sent = sent_by_drain()
    # Then the admins are asked at once; the user's receipt waits
    assert ("payment_awaiting_approval", ADMINS) in {(e.template, e.recipient) for e in sent}
    assert "payment_submitted" not in {e.template for e in sent}
    # And a reset email is sent to the unverified address
    assert api.post("/api/v1/auth/password-reset", {"email": paid_signup.email}).status == 202
    assert [e.template for e in sent_by_drain()] == ["password_reset"]


def test_a_verification_that_lands_while_a_message_is_held_loses_nothing(api, trial,
                                                                         monkeypatch):
    # Given the address is verified between delivery's check and its hold
    [verification] = sent_by_drain()
    [welcome_id] = [i for i, m in messages().items() if m.template == "welcome_trial"]
    # (put the welcome back to pending, as before its first delivery)
    OutboxModel(welcome_id).update(actions=[
        OutboxModel.status.set("pending"), OutboxModel.queue.set("pending#0"),
        OutboxModel.held_at.remove()])
    EmailAddressModel(queued_address_key("trial@example.com")).delete()
    real = holding.must_hold

    def check_then_verify(message):
        held = real(message)
        if message.template == "welcome_trial":
            assert api.post(VERIFY, {"token": link_token(verification)}).status == 200
        return held

    monkeypatch.setattr(holding, "must_hold", check_then_verify)
    # When delivery holds the welcome: the hold's condition fails (verified), so it is sent
    done = delivery.deliver(welcome_id)
    assert done.outcome == "sent"
    assert OutboxModel.get(welcome_id).status == "sent"


def test_a_hold_that_lands_before_the_verification_commits_is_released_with_it(api, trial,
                                                                               monkeypatch):
    from chalicelib.storage.store import Tx

    [verification] = sent_by_drain()
    # Given a new email is queued and held after the verification read the address
    real = holding.held_messages
    held_meanwhile: list[str] = []

    def read_then_hold(ids):
        found = real(ids)
        if not held_meanwhile:
            tx = Tx()
            outbox.add_message(tx, message_id="late:1:user", template="welcome_trial",
                               recipient="trial@example.com", entity_id="x",
                               context={"name": "n", "account_name": "a", "plan_name": "Free",
                                        "credits": 1}, at=clock.stamp())
            tx.commit()
            held_meanwhile.append(delivery.deliver("late:1:user").outcome)
        return found

    monkeypatch.setattr(holding, "held_messages", read_then_hold)
    # When the verification commits: its condition sees the new hold, it reads again
    assert api.post(VERIFY, {"token": link_token(verification)}).status == 200
    assert held_meanwhile == ["held"]
    # Then both held emails are released and sent, once each
    assert sorted(e.template for e in sent_by_drain()) == ["welcome_trial", "welcome_trial"]
    assert sent_by_drain() == []


def test_forged_verification_tokens_are_refused(api, trial):
    for token in ("nonsense", "verify_0.x", "reset_0.x"):
        assert_error(api.post(VERIFY, {"token": token}), 400, "invalid_verification_token")
    assert json.dumps(stored_items(LinkTokenModel)) == "[]"  # no link until one is sent


def test_signups_aimed_at_a_strangers_address_send_it_only_verification_links(api):
    # Given signups by strangers naming a victim's address as their billing contact, with their
    # own text as the billing name (as many as the per-contact limit lets through: its own test is
    # tests/accounts/test_signup_throttle.py)
    hostile = "URGENT verify your bank at http://evil.example"
    victim, limit = "victim@example.org", 3
    replies = [api.register(f"stranger{n}@example.com", plan="starter", payment_method="bank_transfer",
                            billing={**BILLING_PK, "billing_email": victim, "billing_name": hostile})
               for n in range(limit)]
    assert [r.status for r in replies] == [201] * limit
    due = clock.parse_stamp(replies[0].body["invoice"]["due_date"] + "T09:00:00Z")
    # When every job runs through the reminders, the voiding of the unpaid invoices and after
    to_victim = [e for e in sent_by_drain() if e.recipient == victim]
    for moment in (due - timedelta(days=2), due + timedelta(days=1), due + timedelta(days=15),
                   due + timedelta(days=40)):
        with clock.travel(moment):
            jobs.run()
            to_victim += [e for e in sent_by_drain() if e.recipient == victim]
    # Then the victim got verification links only, none carrying the strangers' text
    assert to_victim and {e.template for e in to_victim} == {"verify_email"}
    assert len(to_victim) <= limit
    for email in to_victim:
        assert "evil.example" not in email.text and "evil.example" not in email.html
    # And what the jobs queued for the victim (reminders, void notices) is held, not sent
    held = [m for m in messages().values() if m.recipient == victim and m.template != "verify_email"]
    assert held and {m.status for m in held} == {"held"}
    assert {"invoice_reminder", "invoice_voided"} <= {m.template for m in held}
