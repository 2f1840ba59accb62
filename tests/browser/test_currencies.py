"""Local currencies in the browser, in one flow: the admin sets the PKR rate on the exchange rates
page; a Pakistani payer sees the exact PKR amount to send, confirms part of it (answering the
partial-payment question), the admin approves, the invoice is partly paid with what remains, the
payer sends the rest exactly and the account is active. Each step is checked against the API."""
from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, unique_email
from tests.browser.flows import confirm_payment, log_in_as_admin, open_queued_payment, signup_paid
from tests.conftest import ADMIN_EMAIL, PASSWORD, http

RATE = "280.75"  # PKR per USD, set by the admin (make dev seeds 280.50)
CENT = Decimal("0.01")


def _cents(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _grouped(amount: str) -> str:
    """"24986.75" -> "24,986.75"."""
    whole, cents = amount.split(".")
    return f"{int(whole):,}.{cents}"


def _rates(web: Any) -> dict[str, Any]:
    reply = http("GET", f"{web.api}/billing/admin/fx-rates", token=web.admin_token())
    assert reply.status == 200, reply.body
    return {rate["currency"]: rate for rate in reply.body["items"]}


def _approve(web: Any, admin: Any, reference: str, text: str) -> None:
    admin.goto(f"{web.url}/admin")
    open_queued_payment(admin, reference)
    expect(admin.locator("form:has(#approve-title)")).to_contain_text(text)
    admin.get_by_role("button", name="Approve payment").click()
    expect(admin.locator("[data-payment-status]")).to_have_attribute("data-payment-status", "succeeded")


def test_a_payer_in_pakistan_pays_the_exact_pkr_amount_in_two_parts(web, shot):
    # Given the admin on the exchange rates page, linked from the admin navigation
    admin = web.page()
    log_in_as_admin(admin, web.url)
    admin.get_by_role("navigation").get_by_role("link", name="Exchange rates").click()
    expect(admin.get_by_role("heading", name="Exchange rates", exact=True)).to_be_visible()
    before = _rates(web)["PKR"]["rate"]
    expect(admin.locator("[data-rate=PKR] [data-value]")).to_have_text(before)

    # When they set a rate the API refuses (seven decimals), its 422 shows at the field
    form = admin.get_by_role("form", name="Set a rate")
    form.get_by_label("Currency").select_option("PKR")
    rate = form.get_by_label("Rate")
    rate.fill("280.7500001")
    form.get_by_role("button", name="Set rate").click()
    expect(rate).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field[data-field=rate] .error")).to_contain_text("at most 6 decimals")
    assert _rates(web)["PKR"]["rate"] == before

    # And then a good one: the page lists it with its last change, as the API does
    rate.fill(RATE)
    form.get_by_role("button", name="Set rate").click()
    expect(admin.locator("[data-rate=PKR] [data-value]")).to_have_text(RATE)
    pkr = _rates(web)["PKR"]
    assert (pkr["rate"], pkr["updated_by"]) == (RATE, ADMIN_EMAIL)
    assert {k: pkr["history"][0][k] for k in ("by", "old_rate", "new_rate")} == {
        "by": ADMIN_EMAIL, "old_rate": before, "new_rate": RATE}
    expect(admin.locator("[data-rate=PKR]")).to_contain_text(before)  # the rate before
    latest = admin.locator("[data-change=PKR]").first
    expect(latest).to_contain_text(f"{before}")
    expect(latest).to_contain_text(RATE)
    expect(latest).to_contain_text(ADMIN_EMAIL)
    shot(admin, "currencies-admin-rates")

    # Given a payer from Pakistan who signs up for Starter with JazzCash
    user = web.page()
    email_address = unique_email("pkr")
    signup_paid(user, web.url, email_address, method="JazzCash")
    invoice = web.me(email_address, PASSWORD)["pending_invoice"]
    quote_pkr = _cents(Decimal(invoice["amount"]) * Decimal(RATE))  # 89.00 x 280.75 = 24,986.75
    assert invoice["quotes"] == [{"currency": "PKR", "amount": quote_pkr, "rate": RATE, "amount_due": quote_pkr}]

    # Then the JazzCash card says exactly what to send, fixed on the invoice
    card = user.locator("[data-banner=payment_due] [data-method=jazzcash]")
    exact = card.locator("[data-send-exactly=PKR]")
    expect(exact).to_contain_text(f"Send exactly PKR {_grouped(quote_pkr)}")
    expect(exact).to_contain_text(f"fixed on this invoice at {RATE} PKR per USD")
    shot(user, "currencies-method-card-exact-amount")
    card.screenshot(path=str(SCREENSHOTS / "currencies-method-card.png"))
    # And so does the invoice, for each PKR method
    user.get_by_role("link", name="View invoice").click()
    how_to_pay = user.locator("section").filter(has=user.get_by_role("heading", name="How to pay"))
    for method in ("jazzcash", "easypaisa", "raast"):
        expect(how_to_pay.locator(f"[data-method={method}] [data-send-exactly=PKR]")).to_contain_text(
            f"Send exactly PKR {_grouped(quote_pkr)}")
    expect(user.locator("[data-quote=PKR]")).to_contain_text(f"PKR {_grouped(quote_pkr)}")
    shot(user, "currencies-invoice-how-to-pay")

    # When they confirm a part of it in PKR: the modal offers PKR first, prefilled with all of it
    reference = f"TID-{uuid.uuid4().hex[:8].upper()}"
    user.get_by_role("button", name="I have paid — confirm payment").click()
    dialog = user.get_by_role("dialog", name="Confirm your payment")
    expect(dialog.get_by_label("Currency sent")).to_have_value("PKR")
    expect(dialog.get_by_label("Amount paid")).to_have_value(quote_pkr)
    least = _cents(Decimal(quote_pkr) * Decimal("0.99"))
    hint = dialog.locator(".field[data-field=amount] .hint")
    expect(hint).to_have_attribute("data-min", least)
    expect(hint).to_contain_text(f"Anything from PKR {_grouped(least)} up to that counts as paid in full")
    dialog.get_by_label("Amount paid").fill("12,000")
    dialog.get_by_label("Bank transaction ID / TID").fill(reference)
    dialog.get_by_role("button", name="Submit confirmation").click()

    # Then the API's 422 becomes a question, saying what will remain due
    question = dialog.locator("[data-question=partial]")
    expect(question.get_by_role("heading", name="Is this a partial payment?")).to_be_visible()
    paid_usd = _cents(Decimal("12000.00") / Decimal(RATE))  # 42.74
    rest_usd = _cents(Decimal(invoice["amount"]) - Decimal(paid_usd))  # 46.26
    rest_pkr = _cents(Decimal(rest_usd) * Decimal(RATE))  # 12,987.50
    remaining = question.locator("[data-remaining]")
    expect(remaining).to_have_attribute("data-remaining", rest_usd)
    expect(remaining).to_contain_text(f"PKR {_grouped(rest_pkr)} (${rest_usd} USD) will remain due")
    expect(question).to_contain_text(f"You entered PKR 12,000.00, less than the PKR {_grouped(quote_pkr)} due")
    shot(user, "currencies-partial-payment-question")
    dialog.screenshot(path=str(SCREENSHOTS / "currencies-partial-payment-question-dialog.png"))
    assert web.me(email_address, PASSWORD)["pending_invoice"]["latest_payment"] is None

    # When they answer Yes, the part payment is submitted and awaits approval
    question.get_by_role("button", name="Yes, it is a partial payment").click()
    expect(dialog).to_be_hidden()
    expect(user.locator("[data-banner=awaiting_approval]")).to_contain_text("PKR 12,000.00 as a part payment")
    part = web.me(email_address, PASSWORD)["pending_invoice"]["latest_payment"]
    assert {k: part[k] for k in ("status", "amount", "currency", "settles", "applied", "rate", "manual_reference")} == {
        "status": "pending_approval", "amount": "12000.00", "currency": "PKR", "settles": "partial",
        "applied": paid_usd, "rate": RATE, "manual_reference": reference}

    # And the admin sees the PKR figure of the bank statement, what it pays and at which rate
    admin.goto(f"{web.url}/admin")
    row = admin.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("PKR 12,000.00")
    expect(row).to_contain_text(f"= ${paid_usd} USD")
    expect(row.locator("[data-settles=partial]")).to_have_text("Partial")
    open_queued_payment(admin, reference)
    expect(admin.locator("[data-paid-currency]")).to_have_text("PKR")
    expect(admin.locator("dl.kv [data-settles]")).to_have_text("Partial")
    expect(admin.locator("[data-rate]")).to_contain_text(f"{RATE} PKR per USD")
    expect(admin.locator("[data-applied]")).to_have_text(f"${paid_usd} USD of the invoice")
    shot(admin, "currencies-admin-partial-payment")
    _approve(web, admin, reference, "Records a part payment")

    # Then the invoice is partly paid, with what remains, on the API and on the payer's pages
    me = web.me(email_address, PASSWORD)
    left = me["pending_invoice"]
    assert (left["id"], left["status"], left["amount_paid"], left["amount_due"]) == (
        invoice["id"], "partially_paid", paid_usd, rest_usd)
    assert left["quotes"][0]["amount_due"] == rest_pkr
    assert (me["account"]["status"], me["account"]["credits"]) == ("pending_payment", 0)
    user.goto(f"{web.url}/dashboard")
    banner = user.locator("[data-banner=payment_due]")
    expect(banner).to_contain_text(f"Payment due: ${rest_usd} USD")
    expect(banner.locator("[data-partly-paid]")).to_have_text(
        f"Partly paid: ${paid_usd} USD of $89.00 USD paid; ${rest_usd} USD is still due.")
    expect(banner.locator("[data-send-exactly=PKR]")).to_contain_text(f"Send exactly PKR {_grouped(rest_pkr)}")
    banner.get_by_role("link", name="View invoice").click()
    expect(user.locator(".page-head [data-status=partially_paid]")).to_have_text("Partly paid")
    expect(user.locator("[data-amount-paid]")).to_have_text(f"${paid_usd} USD")
    expect(user.locator("[data-amount-due]")).to_have_text(f"${rest_usd} USD")
    expect(user.locator("[data-quote=PKR]")).to_contain_text(f"PKR {_grouped(rest_pkr)} still due")
    expect(user.get_by_role("table", name="Payment history").get_by_role("row").filter(has_text=reference)).to_contain_text(
        f"Part payment · = ${paid_usd} USD")
    shot(user, "currencies-invoice-partly-paid")

    # When they send the rest exactly (prefilled) and the admin approves it
    rest_reference = f"TID-{uuid.uuid4().hex[:8].upper()}"
    dialog = confirm_payment(user, rest_reference)
    expect(dialog).to_be_hidden()
    second = web.me(email_address, PASSWORD)["pending_invoice"]["latest_payment"]
    assert (second["amount"], second["currency"], second["settles"], second["applied"]) == (
        rest_pkr, "PKR", "full", rest_usd)
    _approve(web, admin, rest_reference, "activates the subscription")

    # Then the account is active with the plan's credits and the invoice is paid in full
    me = web.me(email_address, PASSWORD)
    assert (me["account"]["status"], me["account"]["credits"], me["pending_invoice"]) == ("active", 1000, None)
    assert me["account"]["balance"] == "0.00"
    paid = http("GET", f"{web.api}/billing/invoices/{invoice['id']}", token=web.token(email_address, PASSWORD)).body
    assert (paid["status"], paid["amount_paid"], paid["amount_due"], paid["written_off"]) == (
        "paid", "89.00", "0.00", "0.00")
    user.goto(f"{web.url}/dashboard")
    expect(user.locator("[data-metric=status]")).to_contain_text("Active")
    expect(user.locator("[data-balance]")).to_have_count(0)
    expect(user.locator("[data-banner]:not([data-banner=approved])")).to_have_count(0)
