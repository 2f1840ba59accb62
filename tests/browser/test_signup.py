"""Signing up in the browser: a free trial end to end, and the API's validation shown at the field."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, unique_email
from tests.browser.flows import fill_account_step, log_in
from tests.conftest import PASSWORD, http


def test_free_trial_signup_lands_on_a_dashboard_with_1000_trial_credits(web, shot):
    # Given a visitor on the signup screen
    page = web.page()
    page.goto(f"{web.url}/signup")
    expect(page.get_by_role("radio", name="Free trial")).to_be_checked()
    expect(page.get_by_role("radio", name="Starter")).to_be_visible()
    email_address = unique_email("trial")
    fill_account_step(page, "Free trial", "Tariq Trial", email_address)
    # A free trial is one step: no billing, no payment method
    expect(page.get_by_role("button", name="Start free trial")).to_be_visible()
    expect(page.get_by_role("heading", name="Billing details")).to_be_hidden()
    shot(page, "signup-free-trial")

    # When they start the trial
    page.get_by_role("button", name="Start free trial").click()

    # Then the dashboard shows a trial account with 1,000 credits and no payment banner
    expect(page.get_by_role("heading", name="Hello, Tariq")).to_be_visible()
    expect(page.locator("[data-metric=status]")).to_contain_text("Free trial")
    expect(page.locator("[data-metric=credits] .value")).to_have_text("1,000")
    expect(page.locator("[data-banner]")).to_have_count(0)
    expect(page).to_have_url(f"{web.url}/dashboard")
    shot(page, "dashboard-free-trial")
    # And the API agrees: Account(trial, 1000), no subscription, no invoice
    me = web.me(email_address, PASSWORD)
    assert (me["account"]["status"], me["account"]["credits"]) == ("trial", 1000)
    assert me["subscription"] is None and me["pending_invoice"] is None

    # The billing page shows the paid plans with their prices and no invoices
    page.get_by_role("link", name="Billing", exact=True).click()
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    expect(page.get_by_text("$89.00 / month")).to_be_visible()
    expect(page.get_by_text("No invoices yet.")).to_be_visible()
    shot(page, "billing-free-trial")

    # Logging out and in again brings the same dashboard back
    page.get_by_role("link", name="Log out").click()
    log_in(page, email_address, PASSWORD)
    expect(page.locator("[data-metric=credits] .value")).to_have_text("1,000")


def test_api_validation_errors_are_shown_at_their_fields(web, shot):
    # Given an email that already has an account
    taken = unique_email("taken")
    assert http("POST", f"{web.api}/auth/register", {
        "email": taken, "password": PASSWORD, "name": "First"}).status == 201
    page = web.page()
    page.goto(f"{web.url}/signup")

    # When someone signs up with it again
    fill_account_step(page, "Free trial", "Second", taken)
    page.get_by_role("button", name="Start free trial").click()

    # Then the API's 409 is shown at the email field, which is marked invalid and focused
    email_field = page.get_by_label("Email", exact=True)
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(email_field).to_be_focused()
    error = page.locator(".field[data-field=email] .error")
    expect(error).to_have_text("An account with this email already exists. Log in instead.")
    # The error is announced with the field (aria-describedby points at it)
    assert error.get_attribute("id") in email_field.get_attribute("aria-describedby").split()
    expect(page.get_by_role("alert")).to_contain_text("An account with this email already exists.")
    shot(page, "signup-email-taken")

    # And a password the API refuses (only spaces) comes back as a field error too
    page.get_by_label("Email", exact=True).fill(unique_email("spaces"))
    page.get_by_label("Password").fill(" " * 12)
    page.get_by_role("button", name="Start free trial").click()
    expect(page.locator(".field[data-field=password] .error")).to_have_text("Must not be only spaces.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")


def test_login_rejects_a_wrong_password_and_the_layout_fits_a_phone(web, shot):
    page = web.page(viewport=PHONE)
    page.goto(f"{web.url}/dashboard")
    # Signed out, the dashboard asks to log in first
    expect(page).to_have_url(f"{web.url}/login?next=%2Fdashboard")
    log_in(page, "nobody@example.pk", "wrong password")
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    shot(page, "phone-login-wrong-password")
    # Nothing is wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_keyboard_only_log_in_and_skip_link(web, shot):
    # Given a trial account
    email_address = unique_email("keys")
    assert http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Kay Board"}).status == 201
    page = web.page()
    page.goto(f"{web.url}/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_focused()  # focus starts on the screen's title

    # The skip link comes first, shows when focused, and jumps to the content
    page.get_by_role("link", name="Ledgerline Billing, home").focus()
    page.keyboard.press("Shift+Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    shot(page, "login-skip-link-focused")
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

    # When they tab to the fields, type and press Enter
    page.get_by_label("Email").focus()
    page.keyboard.type(email_address)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    # Then they are on their dashboard, and the focused element shows a visible outline
    expect(page.get_by_role("heading", name="Hello, Kay")).to_be_visible()
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", outline
