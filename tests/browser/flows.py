"""What a person does in the web app, step by step, as Playwright actions (by label and role)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, http

Shot = Callable[[Any, str], Path] | None


def fill_account_step(page: Any, plan: str, name: str, email_address: str,
                      password: str = PASSWORD, account_name: str | None = None) -> None:
    """Step 1 of signup: the plan and the account."""
    page.get_by_role("radio", name=plan).check()
    page.get_by_label("Your name").fill(name)
    if account_name:
        page.get_by_label("Company or account name").fill(account_name)
    page.get_by_label("Email", exact=True).fill(email_address)
    page.get_by_label("Password").fill(password)


def signup_paid(page: Any, web_url: str, email_address: str, *, plan: str = "Starter",
                method: str = "JazzCash", shot: Shot = None, prefix: str = "signup") -> None:
    """Sign up for a paid plan from Pakistan: account, billing details, payment method."""
    page.goto(f"{web_url}/signup")
    fill_account_step(page, plan, "Ayesha Khan", email_address, account_name="Khan Media")
    if shot:
        shot(page, f"{prefix}-1-plan-and-account")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Billing details")).to_be_visible()
    # Prefilled from step 1
    expect(page.get_by_label("Billing email")).to_have_value(email_address)
    expect(page.get_by_label("Billing name")).to_have_value("Khan Media")
    page.get_by_label("Billing name").fill("Khan Media (Pvt) Ltd")
    page.get_by_label("Address", exact=True).fill("12 Mall Road")
    page.get_by_label("City").fill("Lahore")
    page.get_by_label("Postal code").fill("54000")
    page.get_by_label("Country").select_option("PK")
    if shot:
        shot(page, f"{prefix}-2-billing-details")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="How will you pay?")).to_be_visible()
    page.get_by_role("radio", name=method).check()
    if shot:
        shot(page, f"{prefix}-3-payment-method")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()


def log_in(page: Any, email_address: str, password: str) -> None:
    """Fill the login form on the current page and submit it."""
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Email").fill(email_address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_in_as_admin(page: Any, web_url: str) -> None:
    page.goto(f"{web_url}/login")
    log_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.get_by_role("heading", name="Admin console")).to_be_visible()


def confirm_payment(page: Any, reference: str, *, amount: str | None = None, currency: str | None = None,
                    notes: str | None = None, button: str = "I have paid — confirm payment") -> Any:
    """Open the confirmation modal from the banner and submit it (in `currency` when given: the
    amount is then prefilled with what is due in it); returns the dialog locator."""
    page.get_by_role("button", name=button).click()
    dialog = page.get_by_role("dialog", name="Confirm your payment")
    expect(dialog).to_be_visible()
    if currency is not None:
        dialog.get_by_label("Currency sent").select_option(currency)
    if amount is not None:
        dialog.get_by_label("Amount paid").fill(amount)
    dialog.get_by_label("Bank transaction ID / TID").fill(reference)
    if notes:
        dialog.get_by_label("Notes").fill(notes)
    dialog.get_by_role("button", name="Submit confirmation").click()
    return dialog


def open_queued_payment(page: Any, reference: str) -> None:
    """In the admin console, open the queued payment with this reference."""
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name=f"Payment {reference}")).to_be_visible()


def signup_by_api(api: str, email_address: str, account_name: str, *, plan: str = "starter",
                  method: str = "bank_transfer", **billing: str) -> dict[str, Any]:
    """A paid signup from Lahore made through the API (not the screens): its answer (the token,
    the account, the invoice)."""
    reply = http("POST", f"{api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Ayesha Khan",
        "account_name": account_name, "plan": plan, "payment_method": method,
        "billing": {"billing_name": account_name, "billing_email": email_address,
                    "address_line1": "1 Canal Road", "city": "Lahore", "country": "PK", **billing}})
    assert reply.status == 201, reply.body
    return reply.body


def invited_admin(web: Any, name: str, role: str = "viewer") -> str:
    """An admin the owner invited through the API, who accepted through it; their email."""
    from tests.browser.conftest import unique_email

    address = unique_email(name.split()[0].lower())
    invited = http("POST", f"{web.api}/billing/admin/admins", {"email": address, "name": name,
                                                                "admin_role": role}, token=web.admin_token())
    assert invited.status == 201, invited.body
    link = web.link_starting(address, f"{web.url}/accept-invitation?token=")
    assert link, f"no invitation email to {address}"
    accepted = http("POST", f"{web.api}/auth/invitations/accept",
                    {"token": link.split("token=", 1)[1], "password": PASSWORD})
    assert accepted.status == 200, accepted.body
    return address
