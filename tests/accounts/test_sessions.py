"""Sessions: 15-minute access tokens, refresh tokens that rotate (stored hashed; a reuse revokes
the family), logout, and password change and reset ending every session."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jwt
import pytest

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.storage.models.accounts import LoginFailureModel, UserModel
from chalicelib.storage.models.sessions import LinkTokenModel, SessionModel
from tests.conftest import PASSWORD, Api, stored_items
from tests.helpers import assert_error, deliver_links, link_token

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
CHANGE = "/api/v1/auth/password"
RESET = "/api/v1/auth/password-reset"
COMPLETE = "/api/v1/auth/password-reset/complete"
NEW_PASSWORD = "a brand new passphrase"


def login(api: Api, email: str, password: str = PASSWORD) -> dict[str, Any]:
    reply = api.post("/api/v1/auth/login", {"email": email, "password": password})
    assert reply.status == 200, reply.body
    return reply.body


def refresh(api: Api, token: str) -> Any:
    return api.post(REFRESH, {"refresh_token": token})


def sessions_of(email: str) -> dict[str, list[dict[str, Any]]]:
    """The stored session items of a user, by kind (DynamoDB JSON)."""
    found: dict[str, list[dict[str, Any]]] = {"token": [], "family": []}
    for item in stored_items(SessionModel):
        if item["user_email"]["S"] == email:
            found[item["kind"]["S"]].append(item)
    return found


@pytest.fixture
def user(api: Api) -> dict[str, Any]:
    reply = api.register("ayesha@khan.pk")
    assert reply.status == 201, reply.body
    return reply.body


# Access tokens and the login answer -------------------------------------------------------------

def test_access_tokens_live_15_minutes_and_login_and_register_return_a_refresh_token(api, user):
    assert get_settings().jwt_ttl_seconds == 900
    answer = login(api, "ayesha@khan.pk")
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900 == answer["expires_in"] == user["expires_in"]
    assert set(answer) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert len(answer["refresh_token"]) >= 43 and user["refresh_token"] != answer["refresh_token"]
    # Each started its own session: two families, each with one token, stored hashed only
    stored = sessions_of("ayesha@khan.pk")
    assert len(stored["family"]) == 2 and len(stored["token"]) == 2
    text = json.dumps(stored_items(SessionModel))
    for token in (answer["refresh_token"], user["refresh_token"]):
        assert token not in text
    assert all(len(t["session_key"]["S"]) == len("token#") + 64 for t in stored["token"])


# Rotation and reuse ---------------------------------------------------------------------------

def test_a_refresh_gives_a_new_pair_and_uses_up_the_token(api, user):
    # When the user refreshes
    reply = refresh(api, user["refresh_token"])
    # Then a new pair of the same shape as login's, for the same user
    assert reply.status == 200, reply.body
    pair = reply.body
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert pair["user"]["id"] == user["user"]["id"]
    assert api.get("/api/v1/auth/me", token=pair["access_token"]).status == 200
    # And the store holds the old token used and its successor in the same family
    [family] = sessions_of("ayesha@khan.pk")["family"]
    tokens = sessions_of("ayesha@khan.pk")["token"]
    assert len(tokens) == 2 and {t["family_id"]["S"] for t in tokens} == {family["family_id"]["S"]}
    assert sorted("used_at" in t for t in tokens) == [False, True]
    assert "last_refreshed_at" in family and "revoked_at" not in family
    # And the successor refreshes again
    assert refresh(api, pair["refresh_token"]).status == 200


def test_reusing_a_rotated_token_revokes_the_family(api, user):
    # Given a token rotated once (its successor in the thief's or the user's hands)
    successor = refresh(api, user["refresh_token"]).body["refresh_token"]
    # When the used token is presented again
    assert_error(refresh(api, user["refresh_token"]), 401, "invalid_refresh_token")
    # Then its whole family is revoked: the successor is refused too
    [family] = sessions_of("ayesha@khan.pk")["family"]
    assert family["revoked_reason"]["S"] == "reused" and "revoked_at" in family
    assert_error(refresh(api, successor), 401, "invalid_refresh_token")
    # But another session of the user (another login) is not affected
    other = login(api, "ayesha@khan.pk")
    assert refresh(api, other["refresh_token"]).status == 200


def test_two_refreshes_at_once_with_one_token_one_wins_and_the_family_is_revoked(api, user,
                                                                                 monkeypatch):
    from chalicelib.accounts import sessions
    from chalicelib.core.clock import stamp

    # Given a competing refresh that uses the token between this one's read and its commit
    real_get = sessions.store.get
    competed: list[int] = []

    def get_then_compete(model, key, *args, **kwargs):
        found = real_get(model, key, *args, **kwargs)
        if model is SessionModel and found is not None and not competed:
            competed.append(1)
            SessionModel(key).update(actions=[SessionModel.used_at.set(stamp())])
        return found

    monkeypatch.setattr(sessions.store, "get", get_then_compete)
    # When this refresh commits, its condition fails: a second use
    assert_error(refresh(api, user["refresh_token"]), 401, "invalid_refresh_token")
    # Then the family is revoked
    [family] = sessions_of("ayesha@khan.pk")["family"]
    assert family["revoked_reason"]["S"] == "reused"


@pytest.mark.parametrize("token", ["", "x" * 201, "not-a-token-we-issued"])
def test_unknown_or_malformed_refresh_tokens_are_refused(api, user, token):
    reply = refresh(api, token)
    if token == "not-a-token-we-issued":
        assert_error(reply, 401, "invalid_refresh_token")
    else:
        assert_error(reply, 422, "validation_failed")


def test_an_expired_refresh_token_is_refused(api, user):
    later = clock.now() + timedelta(seconds=get_settings().refresh_ttl_seconds + 1)
    with clock.travel(later):
        assert_error(refresh(api, user["refresh_token"]), 401, "invalid_refresh_token")
    # (nothing was revoked: before its expiry it still works)
    assert refresh(api, user["refresh_token"]).status == 200


# Logout ---------------------------------------------------------------------------------------

def test_logout_ends_that_session_only(api, user):
    other = login(api, "ayesha@khan.pk")
    # When the first session logs out
    reply = api.post(LOGOUT, {"refresh_token": user["refresh_token"]})
    assert (reply.status, reply.body) == (204, None)
    # Then its refresh token is refused, and the other session keeps working
    assert_error(refresh(api, user["refresh_token"]), 401, "invalid_refresh_token")
    assert refresh(api, other["refresh_token"]).status == 200
    families = sessions_of("ayesha@khan.pk")["family"]
    assert sorted(f.get("revoked_reason", {}).get("S", "") for f in families) == ["", "logout"]
    # And logging out again, or with an unknown token, is still 204
    assert api.post(LOGOUT, {"refresh_token": user["refresh_token"]}).status == 204
    assert api.post(LOGOUT, {"refresh_token": "unknown"}).status == 204


# Password change -------------------------------------------------------------------------------

def test_a_password_change_ends_every_other_session(api, user):
    other = login(api, "ayesha@khan.pk")
    # When the user changes the password from the first session
    reply = api.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                     token=user["access_token"])
    # Then the answer is a new session for the caller
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert refresh(api, reply.body["refresh_token"]).status == 200
    # And every earlier session is refused at its next refresh
    for old in (user["refresh_token"], other["refresh_token"]):
        assert_error(refresh(api, old), 401, "invalid_refresh_token")
    # And the store: the new hash, sessions_since set; the old password no longer logs in
    stored = UserModel.get("ayesha@khan.pk")
    assert stored.sessions_since and stored.password_hash.startswith("$argon2")
    assert api.post("/api/v1/auth/login", {"email": "ayesha@khan.pk",
                                           "password": PASSWORD}).status == 401
    assert login(api, "ayesha@khan.pk", NEW_PASSWORD)["user"]["id"] == user["user"]["id"]


def test_a_wrong_current_password_changes_nothing(api, user):
    before = UserModel.get("ayesha@khan.pk").password_hash
    reply = api.post(CHANGE, {"current_password": "not my password", "new_password": NEW_PASSWORD},
                     token=user["access_token"])
    error = assert_error(reply, 422, "wrong_password")
    assert error["details"]["fields"] == {"current_password": "is wrong"}
    assert UserModel.get("ayesha@khan.pk").password_hash == before
    assert refresh(api, user["refresh_token"]).status == 200
    # A too-short new password is the usual validation error
    assert_error(api.post(CHANGE, {"current_password": PASSWORD, "new_password": "short"},
                          token=user["access_token"]), 422, "validation_failed")
    # And the route needs a token
    assert_error(api.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
                 401, "missing_token")


# Password reset --------------------------------------------------------------------------------

def reset_link(api: Api, email: str) -> str:
    reply = api.post(RESET, {"email": email})
    assert reply.status == 202, reply.body
    [sent] = [e for e in deliver_links(email) if e.template == "password_reset"]
    assert sent.recipient == email and "/reset-password?token=" in sent.text
    return link_token(sent)


def test_a_reset_link_sets_the_password_and_ends_every_session(api, user):
    other = login(api, "ayesha@khan.pk")
    token = reset_link(api, "ayesha@khan.pk")
    # The link's token is stored hashed only
    assert token not in json.dumps(stored_items(LinkTokenModel))
    # When the new password is set with it
    reply = api.post(COMPLETE, {"token": token, "password": NEW_PASSWORD})
    assert reply.status == 200, reply.body
    assert reply.body["user"]["email"] == "ayesha@khan.pk"
    # Then every earlier session is refused, the new one works, and the new password logs in
    for old in (user["refresh_token"], other["refresh_token"]):
        assert_error(refresh(api, old), 401, "invalid_refresh_token")
    assert refresh(api, reply.body["refresh_token"]).status == 200
    assert login(api, "ayesha@khan.pk", NEW_PASSWORD)
    # And the link is used up
    [link] = [i for i in stored_items(LinkTokenModel) if i["purpose"]["S"] == "reset"]
    assert "used_at" in link
    assert_error(api.post(COMPLETE, {"token": token, "password": "yet another passphrase"}),
                 400, "invalid_reset_token")
    assert login(api, "ayesha@khan.pk", NEW_PASSWORD)


def test_a_reset_link_expires_after_an_hour_and_a_newer_one_replaces_it(api, user):
    first = reset_link(api, "ayesha@khan.pk")
    second = reset_link(api, "ayesha@khan.pk")
    # The earlier link no longer works: the newer replaced it
    assert_error(api.post(COMPLETE, {"token": first, "password": NEW_PASSWORD}), 400,
                 "invalid_reset_token")
    # And the newer one is refused an hour after it was sent
    with clock.travel(clock.now() + timedelta(hours=1, seconds=1)):
        assert_error(api.post(COMPLETE, {"token": second, "password": NEW_PASSWORD}), 400,
                     "invalid_reset_token")
    with clock.travel(clock.now() + timedelta(minutes=59)):
        assert api.post(COMPLETE, {"token": second, "password": NEW_PASSWORD}).status == 200


@pytest.mark.parametrize("token", ["garbage", "reset_abc.def", "verify_abc.def"])
def test_forged_reset_tokens_are_refused(api, user, token):
    assert_error(api.post(COMPLETE, {"token": token, "password": NEW_PASSWORD}), 400,
                 "invalid_reset_token")


def test_a_reset_answers_the_same_for_an_unknown_email_with_the_same_calls(api, user, ddb_calls):
    # When a reset is asked for an existing and for a missing email
    shapes = []
    for address in ("ayesha@khan.pk", "nobody@khan.pk"):
        ddb_calls.clear()
        reply = api.post(RESET, {"email": address})
        shapes.append((reply.status, reply.body, list(ddb_calls)))
    # Then both answer 202 with the same body, after the same DynamoDB calls
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == 202 and shapes[0][2] == ["TransactGetItems", "TransactWriteItems"]
    # And only the existing account gets an email
    assert [e.recipient for e in deliver_links() if e.template == "password_reset"] == [
        "ayesha@khan.pk"]


def test_reset_requests_are_throttled_per_email_by_one_rule_for_all(api, user, monkeypatch):
    from chalicelib.accounts import recovery

    addresses = iter(f"10.0.0.{n}" for n in range(1, 100))
    monkeypatch.setattr(recovery, "client_address", lambda: next(addresses))
    limit = get_settings().reset_max_per_email
    for address in ("ayesha@khan.pk", "nobody@khan.pk"):
        # Given `limit` requests for the email (from different clients)
        for _ in range(limit):
            assert api.post(RESET, {"email": address}).status == 202
        # Then the next is 429 with Retry-After, known account or not
        reply = api.post(RESET, {"email": address})
        assert_error(reply, 429, "too_many_reset_requests")
        assert int(reply.headers["retry-after"]) >= 1
    # And the counters name no email
    assert "khan.pk" not in json.dumps(stored_items(LoginFailureModel))


def test_reset_requests_are_throttled_per_client_address(api, user, monkeypatch):
    from chalicelib.accounts import recovery

    monkeypatch.setattr(recovery, "client_address", lambda: "203.0.113.7")
    limit = get_settings().reset_max_per_client
    for n in range(limit):
        assert api.post(RESET, {"email": f"someone{n}@example.com"}).status == 202
    assert_error(api.post(RESET, {"email": "ayesha@khan.pk"}), 429, "too_many_reset_requests")
    # Another client is not throttled
    monkeypatch.setattr(recovery, "client_address", lambda: "198.51.100.1")
    assert api.post(RESET, {"email": "ayesha@khan.pk"}).status == 202


# Nothing secret in answers or logs --------------------------------------------------------------

def test_no_refresh_or_reset_token_or_hash_is_in_a_response_or_log_line(api, capsys):
    capsys.readouterr()
    signup = api.register("logs@example.com").body
    pair = refresh(api, signup["refresh_token"]).body
    token = reset_link(api, "logs@example.com")
    completed = api.post(COMPLETE, {"token": token, "password": NEW_PASSWORD})
    api.post(LOGOUT, {"refresh_token": completed.body["refresh_token"]})
    out = capsys.readouterr().out
    hashes = [i["session_key"]["S"].split("#")[1] for i in stored_items(SessionModel)
              if i["kind"]["S"] == "token"]
    hashes += [i["token_hash"]["S"] for i in stored_items(LinkTokenModel)]
    secrets = [signup["refresh_token"], pair["refresh_token"], token, token.split(".")[1],
               completed.body["refresh_token"], NEW_PASSWORD, get_settings().jwt_secret, *hashes]
    for secret in secrets:
        assert secret not in out
    # Answers hold the tokens they hand out, never a stored hash
    for answer in (signup, pair, completed.body):
        for hashed in hashes:
            assert hashed not in json.dumps(answer)
