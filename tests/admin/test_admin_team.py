"""Invitations and the admin team: an owner invites an admin, who sets a password with the
emailed link (once, within 48 hours) and signs in with the role given; two owners demoting each
other at once leave one owner."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.core import clock
from chalicelib.storage.models.accounts import UserModel
from chalicelib.storage.models.platform import OutboxModel
from tests.conftest import ADMIN_EMAIL, PASSWORD, Api
from tests.helpers import assert_error, competing_commit, labels, store_unchanged

ADMINS = "/api/v1/billing/admin/admins"
ACCEPT = "/api/v1/auth/invitations/accept"


def _invite(api: Api, owner: str, email: str = "ops@example.com", role: str = "approver") -> dict:
    reply = api.post(ADMINS, {"email": email, "name": "Ops", "admin_role": role}, token=owner)
    assert reply.status == 201, reply.body
    return reply.body


def _link_token(email: str) -> str:
    [mail] = [m for m in OutboxModel.scan() if m.template == "admin_invitation" and m.recipient == email]
    return mail.context["link"].split("token=", 1)[1]


def test_an_invited_admin_sets_a_password_once_and_signs_in_with_the_role_given(api: Api) -> None:
    owner = api.admin_token()
    invited = _invite(api, owner)
    stored = UserModel.get("ops@example.com")
    token = _link_token("ops@example.com")
    # Only a keyed hash of the link's secret is stored, never the secret
    assert stored.invitation_hash and token.split(".")[1] not in stored.invitation_hash
    assert (stored.role, stored.admin_role, stored.invited_by) == ("admin", "approver", ADMIN_EMAIL)
    # Before accepting, no password works
    assert_error(api.post("/api/v1/auth/login", {"email": "ops@example.com", "password": "!invited"}),
                 401, "invalid_credentials")
    accepted = api.post(ACCEPT, {"token": token, "password": PASSWORD})
    assert accepted.status == 200 and accepted.body["access_token"]
    assert UserModel.get("ops@example.com").invitation_hash is None
    # The link works once
    assert_error(api.post(ACCEPT, {"token": token, "password": PASSWORD}), 422, "invalid_invitation")
    # And the approver decides payments but cannot change rates
    approver = api.login("ops@example.com")
    assert api.get("/api/v1/billing/admin/payments", token=approver).status == 200
    assert_error(api.request("PUT", "/api/v1/billing/admin/fx-rates/PKR", body={"rate": "280.00"},
                             token=approver), 403, "insufficient_role")
    listed = {a["email"]: a for a in api.get(ADMINS, token=owner).body["items"]}
    assert listed["ops@example.com"]["invited"] is False and invited["invited"] is True


def test_an_invitation_expires_after_48_hours_and_a_mistyped_link_does_nothing(api: Api) -> None:
    owner = api.admin_token()
    _invite(api, owner)
    token = _link_token("ops@example.com")
    with store_unchanged():
        assert_error(api.post(ACCEPT, {"token": token[:-2] + "xx", "password": PASSWORD}), 422,
                     "invalid_invitation")
        assert_error(api.post(ACCEPT, {"token": "garbage", "password": PASSWORD}), 422,
                     "invalid_invitation")
        with clock.travel(clock.now() + timedelta(hours=49)):
            assert_error(api.post(ACCEPT, {"token": token, "password": PASSWORD}), 422,
                         "invalid_invitation")


def test_an_email_already_signing_in_cannot_be_invited(api: Api) -> None:
    owner = api.admin_token()
    assert api.register("someone@example.com").status == 201
    with store_unchanged():
        assert_error(api.post(ADMINS, {"email": "someone@example.com", "name": "X",
                                       "admin_role": "viewer"}, token=owner), 409, "email_taken")
        assert_error(api.post(ADMINS, {"email": "new@example.com", "name": "X",
                                       "admin_role": "root"}, token=owner), 422, "validation_failed")


def test_two_owners_demoting_each_other_at_once_leave_one_owner(api: Api) -> None:
    owner = api.admin_token()
    second = _invite(api, owner, "second@example.com", "owner")
    assert api.post(ACCEPT, {"token": _link_token("second@example.com"), "password": PASSWORD}).status == 200
    other = api.login("second@example.com")
    me = next(a for a in api.get(ADMINS, token=owner).body["items"] if a["email"] == ADMIN_EMAIL)
    with competing_commit(
            lambda: api.request("PATCH", f"{ADMINS}/{me['id']}", body={"admin_role": "viewer"},
                                token=other),
            when=lambda tx: "other_owner" in labels(tx)) as race:
        loser = api.request("PATCH", f"{ADMINS}/{second['id']}", body={"admin_role": "viewer"},
                            token=owner)
    assert race.result.status == 200
    assert_error(loser, 409, "last_owner")
    roles = {u.email: u.admin_role for u in UserModel.admins.query("admin")}
    assert roles == {ADMIN_EMAIL: "viewer", "second@example.com": "owner"}
