"""The subscription's life in the browser: the renewal invoice's banner, an upgrade on the plans
page (its prorated price shown before it is asked for), a suspended account's banner, a downgrade
and a cancellation at the period end, a trial choosing a plan, and the admin's unpaid renewals.

The store reaches a renewal or a suspension by running the billing jobs as of a later time
(`manage.py run-jobs --at`, what `make jobs AT=...` runs) against the stack's DynamoDB. The jobs
change every account of the store they run on (renewals, suspensions, voided invoices), so this
module has a stack of its own rather than the shared one; each test looks only at its own account.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Web, unique_email
from tests.browser.flows import log_in, log_in_as_admin
from tests.conftest import BILLING_PK, PASSWORD, PROJECT_DIR, LiveStack, devserver, http


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """This module's own stack (the `web` fixture's): the jobs it runs at later times must not
    renew, suspend or void the accounts other tests keep on the shared one."""
    with devserver(tmp_path_factory.mktemp("lifecycle-devserver")) as stack:
        yield stack


def _money(amount: str) -> str:
    """"1234.50" as the web app shows it: "$1,234.50"."""
    whole, cents = amount.split(".")
    return f"${int(whole):,}.{cents}"


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def paid_account(web: Web, plan: str = "starter") -> dict[str, Any]:
    """A paid signup whose first payment an admin approved, over HTTP: {email, token, me}."""
    email_address = unique_email("life")
    signup = http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Ayesha Khan",
        "account_name": "Khan Media", "plan": plan, "billing": BILLING_PK,
        "payment_method": "bank_transfer"})
    assert signup.status == 201, signup.body
    token, invoice = signup.body["access_token"], signup.body["invoice"]
    confirm = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": f"BT-{uuid.uuid4().hex[:10]}"}, token=token)
    assert confirm.status == 201, confirm.body
    approve = http("POST", f"{web.api}/billing/admin/payments/{confirm.body['id']}/approve",
                   {"admin_notes": "Verified in bank statement"}, token=web.admin_token())
    assert approve.status == 200, approve.body
    me = web.me(email_address, PASSWORD)
    assert me["subscription"]["status"] == "active", me
    return {"email": email_address, "token": token, "me": me}


def run_jobs(web: Web, at: datetime) -> str:
    """The billing jobs as of `at` against the live stack's store (as `make jobs AT=...`)."""
    env = {**os.environ, "DYNAMODB_ENDPOINT_URL": web.stack.dynamodb_endpoint,
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "manage.py", "run-jobs", "--at", at.astimezone(timezone.utc).isoformat()],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def open_dashboard(web: Web, email_address: str, viewport: dict[str, int] | None = None) -> Any:
    page = web.page(viewport) if viewport else web.page()
    page.goto(f"{web.url}/login")
    log_in(page, email_address, PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    return page


def test_a_renewal_invoice_shows_as_the_renewal_banner_and_can_be_confirmed(web, shot):
    # Given a paid Starter account whose renewal invoice the jobs issued (7 days before the end)
    account = paid_account(web)
    period_end = _at(account["me"]["subscription"]["current_period_end"])
    run_jobs(web, period_end - timedelta(days=6))
    me = web.me(account["email"], PASSWORD)
    renewal = me["pending_invoice"]
    assert renewal and renewal["kind"] == "renewal", me
    assert me["subscription"]["renewal_invoice_id"] == renewal["id"], me["subscription"]

    # When they open their dashboard
    page = open_dashboard(web, account["email"])

    # Then the banner is the renewal's: its period, amount, invoice and payment reference
    banner = page.locator("[data-banner=payment_due][data-invoice-kind=renewal]")
    expect(banner).to_contain_text("Renewal for")
    expect(banner).to_contain_text(f"{_money(renewal['amount_due'])} USD")
    expect(banner).to_contain_text(renewal["invoice_number"])
    expect(banner.locator("[data-payment-reference]")).to_have_text(renewal["payment_reference"])
    # The current period and the credit buckets are on the dashboard too
    expect(page.locator("[data-metric=period]")).to_contain_text("renewal invoice for the next period is issued")
    expect(page.locator("[data-bucket=allowance]")).to_contain_text(
        f"{me['account']['credit_buckets']['allowance']:,} plan allowance")
    shot(page, "lifecycle-dashboard-renewal")

    # And the confirm modal opens for the renewal invoice with its amount due prefilled: in PKR
    # (the bank transfer's currency, quoted on the invoice), or in USD
    banner.get_by_role("button", name="I have paid — confirm payment").click()
    dialog = page.get_by_role("dialog", name="Confirm your payment")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(renewal["invoice_number"])
    [quote] = renewal["quotes"]
    expect(dialog.get_by_label("Currency sent")).to_have_value(quote["currency"])
    expect(dialog.get_by_label("Amount paid")).to_have_value(quote["amount_due"])
    dialog.get_by_label("Currency sent").select_option(renewal["currency"])
    expect(dialog.get_by_label("Amount paid")).to_have_value(renewal["amount_due"])
    shot(page, "lifecycle-renewal-confirm-modal")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    # On a phone the banner fits the screen
    phone = open_dashboard(web, account["email"], PHONE)
    expect(phone.locator("[data-banner=payment_due][data-invoice-kind=renewal]")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "lifecycle-dashboard-renewal-phone")


def test_an_upgrade_shows_its_prorated_price_first_and_then_its_invoice_is_pending(web, shot):
    # Given a paid Starter account on the plans page
    account = paid_account(web)
    page = open_dashboard(web, account["email"])
    # (its dashboard says when the renewal invoice comes)
    assert account["me"]["subscription"]["next_invoice_at"], account["me"]["subscription"]
    expect(page.locator("[data-metric=period]")).to_contain_text("Next invoice on")
    page.get_by_role("link", name="Plans", exact=True).click()
    expect(page.get_by_role("heading", name="Plans", exact=True)).to_be_visible()
    current = page.locator("[data-plan=starter]")
    expect(current).to_have_attribute("data-current", "true")
    expect(current).to_contain_text("Current plan")
    shot(page, "lifecycle-plans")

    # When they choose Growth, the app asks for the change-preview first
    with page.expect_response(lambda r: "/billing/subscription/change-preview" in r.url) as answer:
        page.get_by_role("button", name="Upgrade to Growth").click()
    preview = answer.value.json()
    assert preview["change"] == "upgrade" and preview["plan"] == "growth", preview

    # Then the confirmation step shows the prorated amount and credits the API computed
    dialog = page.get_by_role("dialog", name="Upgrade to Growth")
    expect(dialog).to_be_visible()
    amount = dialog.locator("[data-preview-amount]")
    expect(amount).to_have_attribute("data-preview-amount", preview["amount"])
    expect(amount).to_have_text(f"{_money(preview['amount'])} {preview['currency']}")
    expect(dialog.locator("[data-preview-credits]")).to_contain_text(f"{preview['credits']:,} credits")
    # Nothing has changed yet
    assert web.me(account["email"], PASSWORD)["subscription"]["upgrade_invoice_id"] is None
    shot(page, "lifecycle-upgrade-preview")

    # When they confirm
    dialog.get_by_role("button", name="Upgrade and get the invoice").click()

    # Then the dashboard shows the upgrade invoice as the invoice to pay
    expect(page).to_have_url(f"{web.url}/dashboard")
    banner = page.locator("[data-banner=payment_due][data-invoice-kind=upgrade]")
    expect(banner).to_contain_text("Upgrade to Growth")
    me = web.me(account["email"], PASSWORD)
    pending = me["pending_invoice"]
    assert pending["kind"] == "upgrade" and pending["plan"] == "growth", pending
    assert me["subscription"]["upgrade_invoice_id"] == pending["id"], me["subscription"]
    assert me["subscription"]["plan"] == "starter"  # nothing changes until it is paid
    # The invoice is for the previewed amount (a second later the proration may be a cent less)
    assert abs(int(pending["amount"].replace(".", "")) - int(preview["amount"].replace(".", ""))) <= 1
    expect(banner).to_contain_text(f"{_money(pending['amount_due'])} USD")
    shot(page, "lifecycle-dashboard-upgrade-invoice")

    # And the plans page says the upgrade awaits payment
    page.get_by_role("link", name="Plans", exact=True).click()
    expect(page.locator("[data-blocked]")).to_contain_text("upgrade awaits payment")
    expect(page.get_by_role("button", name="Upgrade to Scale")).to_be_disabled()


def test_a_suspended_account_says_what_to_pay_to_reactivate_it(web, shot):
    # Given a paid account whose renewal stayed unpaid past the period end and the grace days
    account = paid_account(web)
    period_end = _at(account["me"]["subscription"]["current_period_end"])
    run_jobs(web, period_end - timedelta(days=6))
    run_jobs(web, period_end + timedelta(hours=1))
    me = web.me(account["email"], PASSWORD)
    assert me["subscription"]["status"] == "past_due", me["subscription"]
    assert me["account"]["status"] == "past_due", me["account"]
    past_due = open_dashboard(web, account["email"])
    expect(past_due.locator("[data-banner=past_due]")).to_contain_text("Your renewal is unpaid")
    shot(past_due, "lifecycle-dashboard-past-due")

    run_jobs(web, period_end + timedelta(days=8))
    me = web.me(account["email"], PASSWORD)
    assert me["subscription"]["status"] == "suspended", me["subscription"]
    assert me["account"]["status"] == "suspended", me["account"]
    invoice = me["pending_invoice"]
    assert invoice and invoice["kind"] == "renewal", me

    # When they open their dashboard
    page = open_dashboard(web, account["email"])

    # Then the banner says credits cannot be used, which invoice reactivates it, and when it ends
    banner = page.locator("[data-banner=suspended]")
    expect(banner).to_contain_text("Your account is suspended")
    expect(banner).to_contain_text("Credits cannot be used")
    expect(banner).to_contain_text(f"Pay invoice {invoice['invoice_number']}")
    expect(banner).to_contain_text("cancelled on")
    expect(banner.get_by_role("button", name="I have paid — confirm payment")).to_be_visible()
    expect(page.locator("[data-metric=status]")).to_contain_text("Suspended")
    shot(page, "lifecycle-dashboard-suspended")

    phone = open_dashboard(web, account["email"], PHONE)
    expect(phone.locator("[data-banner=suspended]")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "lifecycle-dashboard-suspended-phone")


def test_a_downgrade_waits_for_the_period_end_and_a_cancellation_can_be_resumed(web, shot):
    # Given a paid Growth account on the plans page
    account = paid_account(web, plan="growth")
    period_end = account["me"]["subscription"]["current_period_end"]
    page = open_dashboard(web, account["email"])
    page.goto(f"{web.url}/billing/plans")

    # When they choose Starter, the app says it changes at the period end, with nothing to pay
    page.get_by_role("button", name="Downgrade to Starter").click()
    dialog = page.get_by_role("dialog", name=re.compile(r"^Switch to Starter on "))
    expect(dialog).to_contain_text("Nothing")
    shot(page, "lifecycle-downgrade-confirm")
    dialog.get_by_role("button", name="Switch at the period end").click()

    # Then the downgrade is scheduled and the page offers to keep Growth
    notice = page.locator("[data-notice=downgrade_scheduled]")
    expect(notice).to_contain_text("Changes to Starter on")
    sub = web.me(account["email"], PASSWORD)["subscription"]
    assert (sub["plan"], sub["scheduled_plan"], sub["current_period_end"]) == ("growth", "starter", period_end)
    expect(page.get_by_role("button", name="Upgrade to Scale")).to_be_disabled()
    shot(page, "lifecycle-downgrade-scheduled")
    phone = open_dashboard(web, account["email"], PHONE)
    phone.goto(f"{web.url}/billing/plans")
    expect(phone.locator("[data-notice=downgrade_scheduled]")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "lifecycle-plans-phone")
    notice.get_by_role("button", name="Keep Growth").click()
    expect(page.locator("[data-notice=downgrade_scheduled]")).to_have_count(0)
    assert web.me(account["email"], PASSWORD)["subscription"]["scheduled_plan"] is None

    # When they cancel at the period end (after confirming), the plan ends then
    page.get_by_role("button", name="Cancel at period end").click()
    dialog = page.get_by_role("dialog", name="Cancel at the period end?")
    shot(page, "lifecycle-cancel-confirm")
    dialog.get_by_role("button", name="Cancel at period end").click()
    notice = page.locator("[data-notice=cancel_scheduled]")
    expect(notice).to_contain_text("Your plan ends on")
    assert web.me(account["email"], PASSWORD)["subscription"]["cancel_at_period_end"] is True
    shot(page, "lifecycle-cancel-scheduled")

    # And Resume undoes it
    notice.get_by_role("button", name="Resume my plan").click()
    expect(page.locator("[data-notice=cancel_scheduled]")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel at period end")).to_be_visible()
    assert web.me(account["email"], PASSWORD)["subscription"]["cancel_at_period_end"] is False


def test_a_trial_account_chooses_a_plan_with_billing_details_and_gets_its_invoice(web, shot):
    # Given a free trial account (no billing details stored)
    email_address = unique_email("trial-plan")
    assert http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Ayesha Khan",
        "account_name": "Khan Media"}).status == 201
    page = open_dashboard(web, email_address)
    expect(page.locator("[data-notice=trial]")).to_contain_text("Trial ends on")

    # When they choose a plan from the trial's banner
    page.locator("[data-notice=trial]").get_by_role("link", name="Choose a plan").click()
    expect(page.get_by_role("heading", name="Choose a plan")).to_be_visible()
    page.get_by_role("radio", name="Growth").check()
    # The billing details are asked for (and checked before anything is sent)
    page.get_by_role("button", name="Subscribe and get the invoice").click()
    expect(page.get_by_label("Address", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Address", exact=True).fill("12 Mall Road")
    page.get_by_label("City").fill("Lahore")
    page.get_by_label("Country").select_option("PK")
    page.get_by_role("radio", name="JazzCash").check()
    shot(page, "lifecycle-choose-plan")
    phone = open_dashboard(web, email_address, PHONE)
    phone.goto(f"{web.url}/billing/plans")
    expect(phone.get_by_role("heading", name="Billing details")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "lifecycle-choose-plan-phone")
    page.get_by_role("button", name="Subscribe and get the invoice").click()

    # Then the dashboard shows the invoice to pay, and the trial goes on until it is approved
    expect(page).to_have_url(f"{web.url}/dashboard")
    banner = page.locator("[data-banner=payment_due]")
    expect(banner).to_contain_text("Payment due: $249.00 USD")
    expect(banner).to_contain_text("JazzCash")
    me = web.me(email_address, PASSWORD)
    assert me["account"]["status"] == "trial" and me["pending_invoice"]["plan"] == "growth", me
    assert me["subscription"]["status"] == "pending_payment", me["subscription"]
    shot(page, "lifecycle-trial-invoice")


def test_the_admin_console_lists_unpaid_renewals_and_accounts_by_state(web, shot):
    # Given a paid account whose renewal invoice was issued, and a payment of it confirmed
    account = paid_account(web)
    period_end = _at(account["me"]["subscription"]["current_period_end"])
    run_jobs(web, period_end - timedelta(days=6))
    renewal = web.me(account["email"], PASSWORD)["pending_invoice"]
    assert renewal["kind"] == "renewal", renewal
    confirm = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": renewal["id"], "payment_method": "bank_transfer",
        "amount": renewal["amount_due"], "manual_reference": f"BT-{uuid.uuid4().hex[:10]}"},
        token=account["token"])
    assert confirm.status == 201, confirm.body

    # When the admin opens the console
    admin = web.page()
    log_in_as_admin(admin, web.url)

    # Then the renewal is listed with its account, plan, amount and a payment awaiting approval
    section = admin.locator("#renewals")
    row = section.locator("tr").filter(has_text=renewal["invoice_number"])
    more = section.get_by_role("button", name="Load more")
    while row.count() == 0 and more.is_visible():
        more.click()
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Khan Media")
    expect(row).to_contain_text(f"{_money(renewal['amount_due'])} USD")
    expect(row.locator("[data-awaiting=true]")).to_have_text("Awaiting approval")
    expect(row).to_contain_text("Active")
    # And every account state is counted
    states = admin.locator("[data-account-states]")
    for label in ("Free trial", "Awaiting payment", "Active", "Past due", "Suspended", "Trial ended",
                  "Cancelled"):
        expect(states).to_contain_text(label)
    shot(admin, "lifecycle-admin-renewals")
    phone = web.page(PHONE)
    log_in_as_admin(phone, web.url)
    expect(phone.locator("#renewals")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "lifecycle-admin-renewals-phone")
