"""Signup is not a mail cannon: each client address may sign up a few times an hour, and a billing
email other than the user's own (which gets a verification email) may be named a few times an
hour, whoever signs up; beyond, 429 `too_many_signups` with Retry-After, and nothing is written."""
from __future__ import annotations

import pytest

from chalicelib.accounts import throttle
from chalicelib.core.config import reset_settings
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.platform import OutboxModel
from tests.conftest import BILLING_PK, Api
from tests.helpers import assert_error, store_unchanged

VICTIM = "victim@example.com"


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNUP_MAX_PER_CLIENT", "4")
    monkeypatch.setenv("SIGNUP_MAX_PER_CONTACT", "2")
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


def _from(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    monkeypatch.setattr(throttle, "client_address", lambda: address)


def _verifications(address: str) -> int:
    return sum(1 for m in OutboxModel.scan() if m.template == "verify_email" and m.recipient == address)


def test_a_stranger_billing_email_gets_at_most_the_limits_verification_emails(
        api: Api, limits: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given signups from three different client addresses, each naming the victim as billing email
    for n, client in enumerate(("203.0.113.1", "203.0.113.2")):
        _from(monkeypatch, client)
        reply = api.register(f"attacker{n}@example.com", plan="starter", payment_method="bank_transfer",
                             billing={**BILLING_PK, "billing_email": VICTIM})
        assert reply.status == 201, reply.body
    # When a third one names the same address
    _from(monkeypatch, "203.0.113.3")
    with store_unchanged():
        reply = api.register("attacker2@example.com", plan="starter", payment_method="bank_transfer",
                             billing={**BILLING_PK, "billing_email": VICTIM})
    # Then it is refused, and the victim got two verification emails, and nothing else
    assert_error(reply, 429, "too_many_signups")
    assert int(reply.headers["retry-after"]) >= 1
    assert _verifications(VICTIM) == 2
    assert UserModel.count() == 3  # the admin and the two signups
    # And a signup naming its own address as billing email from that client still works
    assert api.register("honest@example.com", plan="starter", payment_method="bank_transfer",
                        billing={**BILLING_PK, "billing_email": "honest@example.com"}).status == 201


def test_signups_are_throttled_per_client_address(api: Api, limits: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _from(monkeypatch, "198.51.100.7")
    for n in range(4):
        assert api.register(f"user{n}@example.com").status == 201
    with store_unchanged():
        assert_error(api.register("user4@example.com"), 429, "too_many_signups")
    # Another client address is not throttled
    _from(monkeypatch, "198.51.100.8")
    assert api.register("user4@example.com").status == 201
