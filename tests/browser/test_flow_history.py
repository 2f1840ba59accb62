"""The browser's own buttons in the web app: signup's steps are history entries whose values survive
Back, Forward and a reload (never the password); the confirmation modal closes on Back and asks before
Esc throws away what was typed; a good receipt clears a bad one's error; the account card and the
one-time message after approval say what happened."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, unique_email
from tests.browser.flows import fill_account_step, log_in, signup_by_api
from tests.browser.test_receipts import png
from tests.conftest import PASSWORD, http


def test_signup_steps_are_history_entries_that_keep_their_values(web, shot):
    page = web.page(PHONE)
    email_address = unique_email("signup-history")
    page.goto(f"{web.url}/login")
    page.goto(f"{web.url}/signup?plan=starter")
    fill_account_step(page, "Starter", "Ayesha Khan", email_address, account_name="Khan Media")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Billing details")).to_be_visible()
    assert page.url.endswith("/signup?plan=starter&step=2")
    page.get_by_label("Address", exact=True).fill("12 Mall Road")
    page.get_by_label("City").fill("Lahore")
    page.get_by_label("Country").select_option("PK")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="How will you pay?")).to_be_visible()
    page.get_by_role("radio", name="JazzCash").check()

    # Back at the third step goes to the second, filled in; Back again to the first
    page.go_back()
    expect(page.get_by_role("heading", name="Billing details")).to_be_visible()
    expect(page.get_by_label("City")).to_have_value("Lahore")
    page.go_back()
    expect(page.get_by_label("Your name")).to_have_value("Ayesha Khan")
    expect(page.get_by_role("radio", name="Starter")).to_be_checked()
    expect(page.get_by_label("Password")).to_have_value(PASSWORD)

    # Forward twice: the third step again, its method still chosen
    page.go_forward()
    expect(page.get_by_label("Address", exact=True)).to_have_value("12 Mall Road")
    page.go_forward()
    expect(page.get_by_role("heading", name="How will you pay?")).to_be_visible()
    expect(page.get_by_role("radio", name="JazzCash")).to_be_checked()

    # A reload keeps the step and the values, but not the password (it is never stored)
    page.reload()
    expect(page.get_by_role("heading", name="How will you pay?")).to_be_visible()
    expect(page.get_by_role("radio", name="JazzCash")).to_be_checked()
    stored = page.evaluate("sessionStorage.getItem('ledgerline.signup')")
    assert "Lahore" in stored and PASSWORD not in stored
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.locator(".field[data-field=password] .error")).to_contain_text("Enter your password again")
    expect(page.get_by_label("Email", exact=True)).to_have_value(email_address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ledgerline.signup')") is None
    shot(page, "signup-history-done")


def test_the_confirmation_modal_closes_on_back_and_asks_before_discarding(web, shot):
    email_address = unique_email("modal-back")
    assert http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Ayesha Khan", "account_name": "Khan Media",
        "plan": "starter", "payment_method": "jazzcash",
        "billing": {"billing_name": "Khan Media", "billing_email": email_address, "address_line1": "1 Canal Road",
                    "city": "Lahore", "country": "PK"}}).status == 201
    page = web.page(PHONE)
    page.goto(f"{web.url}/login")
    log_in(page, email_address, PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    page.get_by_role("link", name="Invoices and payments →").click()
    expect(page.get_by_role("heading", name="Billing")).to_be_visible()
    page.get_by_role("button", name="I have paid — confirm payment").click()
    dialog = page.get_by_role("dialog", name="Confirm your payment")
    expect(dialog).to_be_visible()

    # A wrong file's error goes once a good file is chosen
    files = dialog.get_by_label("Receipt or screenshot")
    files.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    error = dialog.locator(".field[data-field=file] .error")
    expect(error).to_have_text("Choose a PNG, JPEG or PDF file.")
    files.set_input_files({"name": "receipt.png", "mimeType": "image/png", "buffer": png()})
    expect(error).to_have_text("")

    # Esc on a filled form asks first; dismissing the question keeps the form
    dialog.get_by_label("Bank transaction ID / TID").fill("TID 123456")
    asked = []
    page.once("dialog", lambda question: (asked.append(question.message), question.dismiss()))
    page.keyboard.press("Escape")
    expect(dialog).to_be_visible()
    assert asked == ["Discard the payment details you entered?"]
    expect(dialog.get_by_label("Bank transaction ID / TID")).to_have_value("TID 123456")

    # Back closes the modal with the page it belonged to
    page.go_back()
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    expect(page.locator("dialog")).to_have_count(0)
    shot(page, "modal-closed-on-back")


def test_the_account_says_payment_submitted_then_approved_once(web, shot):
    email_address = unique_email("approved-once")
    signup = signup_by_api(web.api, email_address, "Khan Media")
    invoice = signup["invoice"]
    payment = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": "IBFT 55512345"}, token=signup["access_token"]).body
    page = web.page(PHONE)
    page.goto(f"{web.url}/login")
    log_in(page, email_address, PASSWORD)
    status = page.locator("[data-metric=status]")
    expect(status).to_contain_text("Payment submitted, awaiting approval")
    expect(status).not_to_contain_text("Awaiting payment")

    assert http("POST", f"{web.api}/billing/admin/payments/{payment['id']}/approve", {},
                token=web.admin_token()).status == 200
    page.reload()
    approved = page.locator("[data-banner=approved]")
    expect(approved).to_contain_text("Payment approved — your Starter plan is active until ")
    expect(status).to_contain_text("Active")
    shot(page, "dashboard-approved-message")
    page.reload()
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    expect(page.locator("[data-banner=approved]")).to_have_count(0)
