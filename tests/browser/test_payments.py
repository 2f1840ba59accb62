"""Paying in the browser: paid signup, confirmation (an overpayment, asked about first), the admin's
approval or rejection, resubmission, and the links in emails opening the right screens."""
from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, unique_email
from tests.browser.flows import (confirm_payment, log_in, log_in_as_admin, open_queued_payment, signup_by_api,
                                 signup_paid)
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, http


def _reference(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6].upper()}"


def test_paid_signup_confirm_and_admin_approval_activate_the_account(web, shot):
    # Given a visitor who signs up for Starter from Pakistan and picks JazzCash
    user = web.page()
    email_address = unique_email("ayesha")
    signup_paid(user, web.url, email_address, method="JazzCash", shot=shot, prefix="paid-signup")

    # Then the dashboard says what to pay, where, and with which reference
    me = web.me(email_address, PASSWORD)
    invoice = me["pending_invoice"]
    assert (me["account"]["status"], me["account"]["credits"]) == ("pending_payment", 0)
    assert invoice["preferred_payment_method"] == "jazzcash" and invoice["amount"] == "89.00"
    banner = user.locator("[data-banner=payment_due]")
    expect(banner).to_contain_text("Payment due: $89.00 USD")
    expect(banner).to_contain_text("JazzCash")
    expect(banner).to_contain_text("0300-1234567")  # the wallet to pay to
    # The reference to write in the transfer is the invoice's payment reference (PR-XXXX-XXXX)
    assert re.fullmatch(r"PR-[2-9A-Y]{4}-[2-9A-Y]{4}", invoice["payment_reference"]), invoice
    expect(banner.locator("[data-payment-reference]")).to_have_text(invoice["payment_reference"])
    expect(banner).to_contain_text("Your payment reference (write it in the transfer)")
    expect(banner.get_by_role("button", name=f"Copy {invoice['payment_reference']}")).to_be_visible()
    expect(user.locator("[data-metric=status]")).to_contain_text("Awaiting payment")
    shot(user, "dashboard-payment-due")
    # And the invoice says the same
    banner.get_by_role("link", name="View invoice").click()
    expect(user.get_by_role("heading", name=f"Invoice {invoice['invoice_number']}")).to_be_visible()
    summary = user.locator("dl.kv").filter(has_text="Payment reference")
    expect(summary.locator("[data-payment-reference]")).to_have_text(invoice["payment_reference"])
    how_to_pay = user.locator("section").filter(has=user.get_by_role("heading", name="How to pay"))
    expect(how_to_pay.locator("[data-payment-reference]")).to_have_text(invoice["payment_reference"])
    shot(user, "invoice-payment-reference")
    user.go_back()
    expect(user.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()

    # When they confirm more than is due, in USD, the API's 422 asks whether it was on purpose
    reference = _reference("TID")
    dialog = confirm_payment(user, reference, currency="USD", amount="90.00")
    question = dialog.locator("[data-question=overpayment]")
    expect(question.get_by_role("heading", name="Did you pay more on purpose?")).to_be_visible()
    expect(question.locator("[data-excess]")).to_contain_text("the $1.00 USD extra becomes balance on your account")
    shot(user, "confirm-modal-overpayment-question")
    assert web.me(email_address, PASSWORD)["pending_invoice"]["latest_payment"] is None

    # And answering No goes back to the amount, with the range that counts as paid in full
    question.get_by_role("button", name="No, correct the amount").click()
    amount = dialog.get_by_label("Amount paid")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator(".field[data-field=amount] .error")).to_have_text(
        "Correct the amount: $88.11 USD to $89.00 USD counts as paid in full.")
    expect(dialog.get_by_label("Payment method")).to_have_value("jazzcash")
    expect(dialog.get_by_label("Currency sent")).to_have_value("USD")
    shot(user, "confirm-modal-amount-error")

    # And when they did send 90.00 on purpose, Yes submits it as an overpayment awaiting approval
    dialog.get_by_label("Notes").fill("Sent from my JazzCash wallet 0301-7654321")
    dialog.get_by_role("button", name="Submit confirmation").click()
    question.get_by_role("button", name="Yes, I paid more on purpose").click()
    expect(dialog).to_be_hidden()
    waiting = user.locator("[data-banner=awaiting_approval]")
    expect(waiting).to_contain_text("Payment submitted — awaiting approval")
    expect(waiting).to_contain_text(reference)
    shot(user, "dashboard-awaiting-approval")
    latest = web.me(email_address, PASSWORD)["pending_invoice"]["latest_payment"]
    assert (latest["status"], latest["manual_reference"], latest["payment_method"]) == (
        "pending_approval", reference, "jazzcash")
    assert (latest["amount"], latest["currency"], latest["settles"], latest["applied"], latest["excess"]) == (
        "90.00", "USD", "overpayment", "89.00", "1.00")

    # When the admin logs in, finds it in the queue and approves it
    admin = web.page()
    log_in_as_admin(admin, web.url)
    expect(admin.locator("[data-metric=pending]")).to_be_visible()
    row = admin.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Khan Media")
    expect(row).to_contain_text("$90.00 USD")
    expect(row.locator("[data-settles=overpayment]")).to_have_text("Overpayment")
    expect(row.locator("td[data-label=Method]")).to_have_text("JazzCash")
    expect(row.locator("[data-owner-email]")).to_have_text(email_address)
    shot(admin, "admin-console")
    open_queued_payment(admin, reference)
    expect(admin.get_by_text("Sent from my JazzCash wallet 0301-7654321", exact=True)).to_be_visible()
    expect(admin.locator("[data-account-status]")).to_have_attribute("data-account-status", "pending_payment")
    expect(admin.locator("[data-excess]")).to_have_text("$1.00 USD to the account's balance")
    expect(admin.locator("form:has(#approve-title)")).to_contain_text(
        "The $1.00 USD excess goes to the account's balance.")
    shot(admin, "admin-payment-detail")
    admin.get_by_label("Notes").fill("Verified in JazzCash statement")
    admin.get_by_role("button", name="Approve payment").click()
    expect(admin.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "succeeded")
    expect(admin.locator("[data-account-status]")).to_have_attribute("data-account-status", "active")
    expect(admin.get_by_role("heading", name="Decision")).to_be_hidden()
    expect(admin.locator(".timeline")).to_contain_text("Verified in JazzCash statement")
    shot(admin, "admin-payment-approved")

    # Then the user's dashboard shows the account active with the plan's 1,000 credits, and the
    # extra dollar as balance for the next invoice
    user.reload()
    expect(user.locator("[data-metric=status]")).to_contain_text("Active")
    expect(user.locator("[data-metric=credits] .value")).to_have_text("1,000")
    expect(user.locator("[data-metric=status] [data-balance]")).to_have_text(
        "Balance $1.00 USD — applied to your next invoice.")
    # (the one banner left says, once, that the payment was approved)
    expect(user.locator("[data-banner=approved]")).to_contain_text("Payment approved — your Starter plan is active until")
    expect(user.locator("[data-banner]:not([data-banner=approved])")).to_have_count(0)
    shot(user, "dashboard-active")
    me = web.me(email_address, PASSWORD)
    assert (me["account"]["status"], me["account"]["credits"], me["account"]["balance"]) == ("active", 1000, "1.00")
    assert me["subscription"]["status"] == "active" and me["pending_invoice"] is None

    # And billing lists the paid invoice and the approved payment
    user.get_by_role("link", name="Billing", exact=True).click()
    invoices = user.get_by_role("table", name="Invoices")
    expect(invoices.get_by_role("row").filter(has_text=invoice["invoice_number"])).to_contain_text("Paid")
    payments = user.get_by_role("table", name="Payment history")
    expect(payments.get_by_role("row").filter(has_text=reference)).to_contain_text("Approved")
    expect(payments.get_by_role("row").filter(has_text=reference)).to_contain_text("$1.00 USD extra to your balance")
    expect(payments.get_by_role("row").filter(has_text=reference).locator("td[data-label=Method]")).to_have_text("JazzCash")
    shot(user, "billing-invoices-and-payments")
    invoices.get_by_role("link", name=invoice["invoice_number"]).click()
    expect(user.get_by_role("heading", name=f"Invoice {invoice['invoice_number']}")).to_be_visible()
    expect(user.get_by_text("Khan Media (Pvt) Ltd")).to_be_visible()
    shot(user, "invoice-paid")


def test_rejection_shows_the_reason_and_the_user_submits_again(web, shot):
    # Given a paid signup (through the API) whose first confirmation the admin will reject
    email_address = unique_email("retry")
    signup = http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Ayesha Khan", "account_name": "Retry Media",
        "plan": "growth", "payment_method": "bank_transfer",
        "billing": {"billing_name": "Retry Media", "billing_email": email_address,
                    "address_line1": "1 Canal Road", "city": "Lahore", "country": "PK"}})
    assert signup.status == 201, signup.body
    invoice = signup.body["invoice"]
    user = web.page(viewport=PHONE)
    user.goto(f"{web.url}/login")
    log_in(user, email_address, PASSWORD)
    expect(user.locator("[data-banner=payment_due]")).to_contain_text("Payment due: $249.00 USD")
    expect(user.locator("[data-banner=payment_due]")).to_contain_text("PK36 MEZN 0001 0101 0456 7891")
    shot(user, "phone-dashboard-payment-due")
    assert user.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    first = _reference("IBFT")
    confirm_payment(user, first)
    expect(user.locator("[data-banner=awaiting_approval]")).to_be_visible()

    # When the admin rejects it: first without a reason (refused), then with one
    admin = web.page()
    log_in_as_admin(admin, web.url)
    open_queued_payment(admin, first)
    admin.get_by_role("button", name="Reject payment").click()
    reason = admin.get_by_label("Reason")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(admin.locator("form:has(#reject-title) .field .error")).to_have_text("Give a reason for the rejection.")
    shot(admin, "admin-reject-needs-a-reason")
    assert http("GET", f"{web.api}/auth/me", token=web.token(email_address, PASSWORD)).body[
        "pending_invoice"]["latest_payment"]["status"] == "pending_approval"
    reason.fill("Reference not found in our Meezan statement")
    admin.get_by_role("button", name="Reject payment").click()
    expect(admin.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "failed")
    expect(admin.get_by_role("heading", name="Rejected", exact=True)).to_be_visible()
    shot(admin, "admin-payment-rejected")

    # Then the user sees the reason and can submit again
    user.reload()
    rejected = user.locator("[data-banner=rejected]")
    expect(rejected).to_contain_text("Payment rejected")
    expect(rejected.locator("[data-reason]")).to_have_text("Reference not found in our Meezan statement")
    shot(user, "phone-dashboard-payment-rejected")
    second = _reference("IBFT")
    dialog = confirm_payment(user, second, button="Submit payment again")
    expect(dialog).to_be_hidden()
    expect(user.locator("[data-banner=awaiting_approval]")).to_contain_text(second)
    shot(user, "phone-dashboard-resubmitted")

    # And the API holds the failed first payment and the new one awaiting approval, invoice pending
    payments = http("GET", f"{web.api}/billing/payments", token=web.token(email_address, PASSWORD)).body["items"]
    assert [(p["manual_reference"], p["status"]) for p in payments] == [
        (second, "pending_approval"), (first, "failed")]
    assert payments[1]["admin_notes"] == "Reference not found in our Meezan statement"
    me = web.me(email_address, PASSWORD)
    assert me["account"]["status"] == "pending_payment" and me["pending_invoice"]["id"] == invoice["id"]
    # The admin's queue has the new one
    admin.goto(f"{web.url}/admin")
    expect(admin.get_by_role("row").filter(has_text=second)).to_have_count(1)
    expect(admin.get_by_role("row").filter(has_text=first)).to_have_count(0)


def test_links_in_emails_open_the_right_screens(web, shot):
    # Given a paid signup whose confirmation went to the admins, with its emails in the dev mailbox
    email_address = unique_email("links")
    signup = http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Link Tester", "plan": "starter",
        "billing": {"billing_name": "Link Tester", "billing_email": email_address,
                    "address_line1": "5 Link Road", "city": "Karachi", "country": "PK"}})
    assert signup.status == 201, signup.body
    web.verify_email(email_address)  # the emails held for the address are sent now
    invoice = signup.body["invoice"]
    token = signup.body["access_token"]
    reference = _reference("BT")
    payment = http("POST", f"{web.api}/billing/admin/payments/confirm", {
        "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": invoice["amount"],
        "manual_reference": reference}, token=token)
    assert payment.status == 201, payment.body
    invoice_link = f"{web.url}/billing/invoices/{invoice['id']}"
    assert web.email_with_link(email_address, invoice_link) is not None

    # When the user opens the invoice link signed out, they log in and land on the invoice
    user = web.page()
    user.goto(invoice_link)
    log_in(user, email_address, PASSWORD)
    expect(user.get_by_role("heading", name=f"Invoice {invoice['invoice_number']}")).to_be_visible()
    expect(user).to_have_url(invoice_link)
    expect(user.locator("[data-banner=awaiting_approval]")).to_contain_text(reference)
    # While the payment awaits approval there is nothing to pay, so no "How to pay"
    expect(user.get_by_role("heading", name="How to pay")).to_have_count(0)
    shot(user, "invoice-from-email-link")
    # The /dashboard and /billing links open those screens
    user.goto(f"{web.url}/billing")
    expect(user.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    user.goto(f"{web.url}/dashboard")
    expect(user.get_by_role("heading", name="Hello, Link")).to_be_visible()

    # And the admins' "awaiting approval" link opens that payment in the admin console
    admin_link = f"{web.url}/admin/payments/{payment.body['id']}"
    assert web.email_with_link("admins@example.com", admin_link) is not None
    admin = web.page()
    admin.goto(admin_link)
    log_in(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(admin.get_by_role("heading", name=f"Payment {reference}")).to_be_visible()
    expect(admin).to_have_url(admin_link)
    # A user opening an admin link is told it is for admins
    user.goto(admin_link)
    expect(user.get_by_role("heading", name="Admins only")).to_be_visible()


def test_a_confirmation_whose_answer_was_lost_is_sent_again_and_makes_one_payment(web, shot):
    # Given a user with an invoice to pay, whose first confirmation reaches the API but whose answer
    # is lost on the way back
    email_address = unique_email("lost")
    signup = http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Lost Answer", "plan": "starter",
        "billing": {"billing_name": "Lost Answer", "billing_email": email_address,
                    "address_line1": "9 Lost Lane", "city": "Lahore", "country": "PK"}})
    assert signup.status == 201, signup.body
    user = web.page()
    user.goto(f"{web.url}/login")
    log_in(user, email_address, PASSWORD)
    sent: list[str | None] = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            return route.continue_()
        sent.append(route.request.headers.get("idempotency-key"))
        if len(sent) == 1:
            route.fetch()  # the API handles it...
            return route.abort("connectionreset")  # ...but the browser never hears back
        return route.continue_()

    user.route("**/billing/admin/payments/confirm", lose_first_answer)
    reference = _reference("LOST")
    dialog = confirm_payment(user, reference)
    expect(dialog.get_by_role("alert")).to_contain_text("could not reach the billing service")
    shot(user, "confirm-modal-connection-lost")

    # When they submit the same confirmation again
    dialog.get_by_role("button", name="Submit confirmation").click()

    # Then it went with the same Idempotency-Key, the API answered with the first payment, and
    # there is one payment awaiting approval
    expect(dialog).to_be_hidden()
    expect(user.locator("[data-banner=awaiting_approval]")).to_contain_text(reference)
    assert len(sent) == 2 and sent[0] and sent[0] == sent[1]
    payments = http("GET", f"{web.api}/billing/payments", token=web.token(email_address, PASSWORD)).body["items"]
    assert [(p["manual_reference"], p["status"]) for p in payments] == [(reference, "pending_approval")]


def _swapped(reference: str) -> str:
    """The payment reference with two neighbouring characters swapped (a typo its check catches)."""
    code = reference.replace("PR-", "").replace("-", "")
    i = next(i for i in range(len(code) - 1) if code[i] != code[i + 1])
    code = code[:i] + code[i + 1] + code[i] + code[i + 2:]
    return f"PR-{code[:4]}-{code[4:]}"


def test_a_mistyped_payment_reference_in_the_tid_field_is_corrected_beside_the_field(web, shot):
    # Given a customer with an invoice to pay, in the confirmation modal
    email_address = unique_email("tidtypo")
    invoice = signup_by_api(web.api, email_address, "Typo Traders")["invoice"]
    right = invoice["payment_reference"]
    user = web.page(viewport=PHONE)
    user.goto(f"{web.url}/login")
    log_in(user, email_address, PASSWORD)
    user.get_by_role("button", name="I have paid — confirm payment").click()
    dialog = user.get_by_role("dialog", name="Confirm your payment")
    # (the two references are named apart: the one to write in the transfer, the bank's ID of it)
    expect(dialog).to_contain_text(f"Your payment reference (write it in the transfer): {right}")
    field = dialog.get_by_label("Bank transaction ID / TID")
    group = dialog.locator(".field[data-field=manual_reference]")

    # When they type their payment reference, mistyped, into the bank transaction ID field
    field.fill(f"{_swapped(right)} transfer")

    # Then the hint beside the field, named by the input's aria-describedby, gives the right one
    hint = group.locator("[data-reference-typo]")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text(f"Your payment reference is {right}.")
    assert hint.get_attribute("id") in (field.get_attribute("aria-describedby") or "").split()

    # And submitted anyway, the API's 422 stays at the field: the hint in view, no alert above
    dialog.get_by_role("button", name="Submit confirmation").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_be_focused()
    expect(hint).to_be_in_viewport(ratio=1)
    assert hint.evaluate("""(el) => {  // its last line not under the modal's sticky buttons
        const box = el.getBoundingClientRect();
        return el.contains(document.elementFromPoint(box.left + box.width / 2, box.bottom - 4));
    }""")
    expect(hint).to_contain_text(right)
    expect(dialog.locator("[data-form-alert]")).to_be_empty()
    shot(user, "phone-confirm-modal-tid-typo")

    # When they correct it, the hint goes; and the confirmation is submitted
    field.fill(f"{right} TID {uuid.uuid4().hex[:8].upper()}")
    expect(group.locator("[data-reference-typo]")).to_have_count(0)
    assert "typo" not in (field.get_attribute("aria-describedby") or "")
    dialog.get_by_role("button", name="Submit confirmation").click()
    expect(dialog).to_be_hidden()
    expect(user.locator("[data-banner=awaiting_approval]")).to_contain_text("with bank transaction ID / TID " + right)
