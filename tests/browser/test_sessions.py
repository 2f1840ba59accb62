"""Sessions in the browser: a password reset from the email's link, the email verification banner,
and a session that outlives its access token's expiry without the user noticing."""
from __future__ import annotations

import json
import time
from typing import Any

import jwt
from playwright.sync_api import expect

from tests.browser.conftest import unique_email
from tests.browser.flows import log_in
from tests.conftest import PASSWORD, http

NEW_PASSWORD = "a new passphrase, longer"


def _stored_session(page: Any) -> dict[str, Any]:
    return json.loads(page.evaluate("localStorage.getItem('billing.session')"))


def _register(web: Any, prefix: str) -> tuple[str, dict[str, Any]]:
    address = unique_email(prefix)
    reply = http("POST", f"{web.api}/auth/register",
                 {"email": address, "password": PASSWORD, "name": "Sana Session"})
    assert reply.status == 201, reply.body
    return address, reply.body


def test_a_user_resets_the_password_from_the_emailed_link(web, shot):
    # Given a user who forgot their password, on the login screen
    address, _ = _register(web, "reset")
    page = web.page()
    page.goto(f"{web.url}/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Email me a link").click()
    # Then the page says the same as it would for any email
    expect(page.locator("[data-reset-sent]")).to_contain_text(
        f"If an account exists for {address}, we sent it a link")
    shot(page, "forgot-password-sent")
    # And the dev mailbox has the link (the address is not verified: the reset email still goes)
    link = web.link_starting(address, f"{web.url}/reset-password?token=")
    assert link, "no reset email"

    # When they open the link in the browser and choose a new password
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("The two passwords differ.")).to_be_visible()
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    shot(page, "reset-password-form")
    page.get_by_role("button", name="Set the new password").click()

    # Then they are signed in on their dashboard, asked to confirm their address
    expect(page.get_by_role("heading", name="Hello, Sana")).to_be_visible()
    expect(page.locator("[data-notice=verify_email]")).to_contain_text("Please confirm your email address")
    shot(page, "dashboard-after-reset")
    # And the new password logs in, the old one does not, and the link works once
    assert http("POST", f"{web.api}/auth/login", {"email": address, "password": PASSWORD}).status == 401
    assert web.token(address, NEW_PASSWORD)
    again = web.page()
    again.goto(link)
    again.get_by_label("New password", exact=True).fill("yet another passphrase")
    again.get_by_label("Repeat the new password").fill("yet another passphrase")
    again.get_by_role("button", name="Set the new password").click()
    expect(again.get_by_role("alert")).to_contain_text("This link is not valid any more")

    # And the verification link from the signup email verifies the address; the banner goes
    verify = web.link_starting(address, f"{web.url}/verify-email?token=")
    assert verify, "no verification email"
    page.goto(verify)
    expect(page.get_by_role("heading", name="Your email address is verified")).to_be_visible()
    shot(page, "email-verified")
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name="Hello, Sana")).to_be_visible()
    expect(page.locator("[data-notice=verify_email]")).to_have_count(0)
    # and the welcome email, held until now, arrives
    assert web.link_starting(address, f"{web.url}/dashboard"), "the held welcome was not sent"


def _secret(web: Any) -> str:
    """The local stack's token secret (its data folder keeps it)."""
    return (web.stack.output.parent / "data" / "jwt-secret").read_text().strip()


def _signed_in(web: Any, name: str) -> tuple[str, Any]:
    """A new user (the address made of `name`) logged in on a page of their own, at the dashboard."""
    address, _ = _register(web, name)
    page = web.page()
    page.goto(f"{web.url}/login")
    log_in(page, address, PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Sana")).to_be_visible()
    return address, page


def test_a_session_survives_an_access_token_expiry_without_a_visible_logout(web, shot):
    # Given a signed-in user filling in the change-password form on the account page
    address, page = _signed_in(web, "session")
    page.get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    page.evaluate("document.querySelector('main h1').dataset.mark = 'same screen'")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    first = _stored_session(page)

    # When the access token has expired meanwhile (the laptop slept): the stored token is one
    # whose expiry has passed, though the app still believes it fresh
    claims = jwt.decode(first["token"], options={"verify_signature": False})
    expired = jwt.encode({**claims, "iat": claims["iat"] - 3600, "exp": int(time.time()) - 5},
                         _secret(web), algorithm="HS256")
    page.evaluate("""([token]) => {
        const saved = JSON.parse(localStorage.getItem('billing.session'));
        localStorage.setItem('billing.session', JSON.stringify({...saved, token, expiresAt: Date.now() + 3600e3}));
    }""", [expired])
    page.get_by_role("button", name="Change password").click()

    # Then the API's 401 token_expired is answered inside the client: one refresh, the same
    # request again; the password is changed, the user still on the same screen, never logged out
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    expect(page).to_have_url(f"{web.url}/account")
    assert page.evaluate("document.querySelector('main h1').dataset.mark") == "same screen"
    assert web.token(address, NEW_PASSWORD)
    second = _stored_session(page)
    assert second["refreshToken"] != first["refreshToken"] and second["token"] != expired

    # And shortly before the access token expires the client refreshes before it sends: the
    # next request goes with a new token (and the earlier refresh token is used up)
    page.evaluate("""() => {
        const saved = JSON.parse(localStorage.getItem('billing.session'));
        localStorage.setItem('billing.session', JSON.stringify({...saved, expiresAt: Date.now() + 20e3}));
    }""")
    page.get_by_role("button", name="Resend the link").click()
    expect(page.locator("[data-section=email] [role=status]")).to_contain_text("A new link is on its way")
    third = _stored_session(page)
    assert third["refreshToken"] != second["refreshToken"]
    shot(page, "account-after-silent-refresh")

    # And logging out ends the session on the server too
    page.get_by_role("link", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    for used in (third["refreshToken"], second["refreshToken"]):
        assert http("POST", f"{web.api}/auth/refresh", {"refresh_token": used}).status == 401


def _store_session(page: Any, token: str, *, refresh_token: str | None, expires_in: float) -> None:
    """Replace the stored session's tokens (its user kept), expiring `expires_in` seconds from now."""
    page.evaluate("""([token, refreshToken, expiresIn]) => {
        const saved = JSON.parse(localStorage.getItem('billing.session'));
        localStorage.setItem('billing.session',
            JSON.stringify({...saved, token, refreshToken, expiresAt: Date.now() + expiresIn * 1000}));
    }""", [token, refresh_token, expires_in])


def _expired_copy(web: Any, token: str) -> str:
    """The same access token, signed with the stack's secret, its expiry an hour ago."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode({**claims, "iat": claims["iat"] - 7200, "exp": int(time.time()) - 3600},
                      _secret(web), algorithm="HS256")


def test_an_expired_session_ends_on_the_login_saying_so_and_a_broken_token_does_not(web, shot):
    # Given a signed-in user whose stored session expired while the app was closed, with no
    # refresh token to renew it
    address, page = _signed_in(web, "expired")
    _store_session(page, _expired_copy(web, _stored_session(page)["token"]), refresh_token=None, expires_in=-3600)
    message = page.get_by_text("Your session has expired. Log in again to continue.")

    # When they open their billing page
    page.goto(f"{web.url}/billing")

    # Then they are on the login, told once that their session has expired, and back after it
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page).to_have_url(f"{web.url}/login?next=%2Fbilling&expired=1")
    expect(message).to_be_visible()
    expect(message).to_have_count(1)
    shot(page, "login-session-expired")
    assert page.evaluate("localStorage.getItem('billing.session')") is None
    log_in(page, address, PASSWORD)
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    expect(message).to_have_count(0)

    # And an expired access token whose refresh token is used up says the same
    _store_session(page, _expired_copy(web, _stored_session(page)["token"]), refresh_token="used-up", expires_in=-3600)
    page.goto(f"{web.url}/billing")
    expect(page).to_have_url(f"{web.url}/login?next=%2Fbilling&expired=1")
    expect(message).to_be_visible()
    log_in(page, address, PASSWORD)
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()

    # When the stored token is not a token at all (nothing expired)
    _store_session(page, "not-a-token", refresh_token=None, expires_in=600)
    page.goto(f"{web.url}/billing")

    # Then they are sent to the login without being told their session expired
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page).to_have_url(f"{web.url}/login?next=%2Fbilling")
    expect(page.get_by_role("main")).not_to_contain_text("Your session has expired")
    assert page.evaluate("localStorage.getItem('billing.session')") is None
