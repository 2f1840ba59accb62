"""Credits in the browser: the customer's credits page (buckets, use per day, the ledger) after use
over the credits API, buying a top-up and its approval, and the admin's service keys and credit
grants on an account's page.

The SaaS's backend is played over HTTP: a service key made with the admin API consumes and releases
credits with `Authorization: Bearer sk_...` and an `Idempotency-Key`, against the live stack.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Web, unique_email
from tests.browser.flows import confirm_payment, log_in, log_in_as_admin, open_queued_payment
from tests.conftest import BILLING_PK, PASSWORD, http


# The SaaS's backend and the customer, over HTTP ----------------------------------------------

def paid_account(web: Web, plan: str = "starter") -> dict[str, Any]:
    """A paid signup whose first payment an admin approved: {email, token, account_id, payment_id}."""
    email_address = unique_email("credits")
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
    me = http("GET", f"{web.api}/auth/me", token=token).body
    assert me["account"]["status"] == "active", me
    return {"email": email_address, "token": token, "account_id": me["account"]["id"],
            "payment_id": confirm.body["id"]}


def service_key(web: Web, name: str) -> dict[str, Any]:
    reply = http("POST", f"{web.api}/billing/admin/service-keys", {"name": name}, token=web.admin_token())
    assert reply.status == 201, reply.body
    return reply.body


def consume(web: Web, key: str, account_id: str, amount: int, reason: str,
            idempotency_key: str | None = None) -> Any:
    return http("POST", f"{web.api}/credits/consume",
                {"account_id": account_id, "amount": amount, "reason": reason},
                headers={"Authorization": f"Bearer {key}",
                         "Idempotency-Key": idempotency_key or uuid.uuid4().hex})


def statement(web: Web, token: str) -> dict[str, Any]:
    """GET /billing/credits with every ledger entry (all pages)."""
    first = http("GET", f"{web.api}/billing/credits?limit=100", token=token)
    assert first.status == 200, first.body
    body, cursor = first.body, first.body["next_cursor"]
    while cursor:
        page = http("GET", f"{web.api}/billing/credits?limit=100&cursor={cursor}", token=token).body
        body["items"] += page["items"]
        cursor = page["next_cursor"]
    return body


def open_credits(web: Web, email_address: str, viewport: dict[str, int] | None = None) -> Any:
    """Log in and open the credits page from the navigation."""
    page = web.page(viewport) if viewport else web.page()
    page.goto(f"{web.url}/login")
    log_in(page, email_address, PASSWORD)
    expect(page.get_by_role("heading", name="Hello, Ayesha")).to_be_visible()
    if viewport is None:
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Credits").click()
    else:
        page.goto(f"{web.url}/billing/credits")
    expect(page.get_by_role("heading", name="Credits", exact=True)).to_be_visible()
    return page


def entry_row(page: Any, entry_id: str) -> Any:
    return page.locator(f"tr[data-entry='{entry_id}']")


def assert_balances(page: Any, credits: dict[str, Any]) -> None:
    """The three balance cards say what the API says."""
    expect(page.locator("[data-balance=total] [data-value]")).to_have_attribute("data-value", str(credits["credits"]))
    expect(page.locator("[data-balance=total] [data-value]")).to_have_text(f"{credits['credits']:,}")
    for bucket in ("allowance", "extra"):
        value = credits["credit_buckets"][bucket]
        expect(page.locator(f"[data-balance={bucket}] [data-value]")).to_have_attribute("data-value", str(value))
        expect(page.locator(f"[data-balance={bucket}] [data-value]")).to_have_text(f"{value:,}")


def signed(amount: int) -> str:
    return f"+{amount:,}" if amount > 0 else f"−{-amount:,}"


def fits_the_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# The customer's credits page -------------------------------------------------------------------

def test_the_credits_page_shows_the_apis_balances_ledger_and_use_per_day(web, shot):
    # Given a paid Starter account whose service used credits 21 times through the credits API
    account = paid_account(web)
    key = service_key(web, f"api-server-{uuid.uuid4().hex[:6]}")["key"]
    used = []
    for n in range(1, 22):
        reply = consume(web, key, account["account_id"], n, f"Report export #{n}", f"export-{n}")
        assert reply.status == 200, reply.body
        used.append(reply.body)
    # (a retry with the same Idempotency-Key changes nothing)
    replay = consume(web, key, account["account_id"], 1, "Report export #1", "export-1")
    assert replay.status == 200 and replay.headers.get("idempotent-replayed") == "true", replay
    # and gave one use back
    release = http("POST", f"{web.api}/credits/release", {"entry_id": used[2]["entry_id"]},
                   headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex})
    assert release.status == 200, release.body
    api = statement(web, account["token"])
    assert api["credits"] == 1000 - sum(range(1, 22)) + 3, api["credits"]
    assert len(api["items"]) == 23, [item["reason"] for item in api["items"]]  # plan, 21 uses, release

    # When they open Credits from the navigation
    page = open_credits(web, account["email"])

    # Then the balances are the API's, with when the plan's credits reset
    assert_balances(page, api)
    expect(page.locator("[data-balance=allowance] [data-resets]")).to_have_attribute(
        "data-resets", api["allowance_expires_at"])

    # And the ledger is the API's, newest first, 20 entries a page: "Load more" shows the rest
    rows = page.locator("[data-ledger] tbody tr")
    expect(rows).to_have_count(20)
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(23)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.entry)") == [item["id"] for item in api["items"]]
    for item in api["items"]:
        row = entry_row(page, item["id"])
        expect(row.locator("[data-amount]")).to_have_attribute("data-amount", str(item["amount"]))
        expect(row.locator("[data-amount]")).to_have_text(signed(item["amount"]))
        expect(row.locator("[data-balance-after]")).to_have_text(f"{item['balance_after']:,}")
    # in words: a use is the text the service sent; the release names the use it gave back
    expect(entry_row(page, used[20]["entry_id"]).locator("[data-entry-label]")).to_have_text("Report export #21")
    expect(entry_row(page, release.body["entry_id"]).locator("[data-entry-label]")).to_have_text(
        "Given back: Report export #3")
    plan_entry = next(item for item in api["items"] if item["reason"] == "plan_purchase")
    expect(entry_row(page, plan_entry["id"])).to_contain_text("Plan credits for the first period")

    # And the use per day of this period is drawn as bars, with the total said in words
    today = next(day for day in api["usage"]["current"]["days"] if day["consumed"])
    chart = page.locator("[data-chart=current]")
    expect(chart.locator("rect.bar")).to_have_count(1)
    expect(chart.locator(f"rect[data-day='{today['date']}']")).to_have_attribute("data-consumed", str(today["consumed"]))
    total = sum(day["consumed"] for day in api["usage"]["current"]["days"])
    expect(page.locator("[data-usage-summary]")).to_contain_text(f"{total:,} credits used so far in this period")
    expect(chart.locator("svg[role=img]")).to_have_attribute("aria-label", re.compile(f"{total:,} credits in total"))
    shot(page, "credits-page")

    # On a phone it fits the screen
    phone = open_credits(web, account["email"], PHONE)
    expect(phone.locator("[data-chart=current] rect.bar")).to_have_count(1)
    fits_the_phone(phone)
    shot(phone, "credits-page-phone")


def test_a_trial_account_has_no_use_yet_and_is_told_why_it_cannot_buy_credits(web, shot):
    # Given a free trial account that has used nothing
    email_address = unique_email("credits-trial")
    assert http("POST", f"{web.api}/auth/register", {
        "email": email_address, "password": PASSWORD, "name": "Ayesha Khan",
        "account_name": "Khan Media"}).status == 201
    api = statement(web, web.token(email_address, PASSWORD))

    # When they open the credits page
    page = open_credits(web, email_address)

    # Then the trial credits are shown, the use per day says nothing is used yet (no empty chart)
    assert_balances(page, api)
    expect(page.locator("[data-balance=allowance]")).to_contain_text("Trial credits, usable until")
    expect(page.locator("[data-usage-summary]")).to_contain_text("No credits used yet in your trial")
    expect(page.locator("[data-usage] svg")).to_have_count(0)
    # And buying credits is closed, with why and a way to a plan
    topups = page.locator("[data-topups=closed]")
    expect(topups).to_contain_text("Extra credits can be bought on a paid plan")
    expect(topups.get_by_role("button", name="Buy")).to_have_count(0)
    topups.get_by_role("link", name="Choose a plan").click()
    expect(page.get_by_role("heading", name="Choose a plan")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Credits", exact=True)).to_be_visible()
    shot(page, "credits-trial")
    phone = open_credits(web, email_address, PHONE)
    expect(phone.locator("[data-topups=closed]")).to_be_visible()
    fits_the_phone(phone)
    shot(phone, "credits-trial-phone")


def test_a_bought_top_up_is_the_invoice_to_pay_and_its_approval_adds_extra_credits(web, shot):
    # Given a paid account on its credits page
    account = paid_account(web)
    page = open_credits(web, account["email"])
    expect(page.locator("[data-balance=extra] [data-value]")).to_have_text("0")

    # When they buy the 1,000 credits pack, paying by JazzCash
    pack = page.locator("[data-pack=pack_1000]")
    expect(pack).to_contain_text("$15.00")
    pack.get_by_role("button", name="Buy 1,000 extra credits for $15.00").click()
    dialog = page.get_by_role("dialog", name="Buy 1,000 extra credits")
    expect(dialog).to_contain_text("$15.00 USD")
    dialog.get_by_role("radio", name="JazzCash").check()
    shot(page, "credits-topup-dialog")
    with page.expect_response(lambda r: r.url.endswith("/billing/topups")) as answer:
        dialog.get_by_role("button", name="Get the invoice").click()
    invoice = answer.value.json()
    assert answer.value.status == 201 and invoice["kind"] == "topup", invoice
    expect(dialog).to_be_hidden()

    # Then the top-up invoice is the one to pay, on the pending banner
    banner = page.locator("[data-banner=payment_due][data-invoice-kind=topup]")
    expect(banner).to_contain_text("Top-up: 1,000 extra credits · $15.00 USD")
    expect(banner).to_contain_text(invoice["invoice_number"])
    expect(banner.locator("[data-payment-reference]")).to_have_text(invoice["payment_reference"])
    me = web.me(account["email"], PASSWORD)
    assert me["pending_invoice"]["id"] == invoice["id"], me["pending_invoice"]
    shot(page, "credits-topup-banner")
    phone = open_credits(web, account["email"], PHONE)
    expect(phone.locator("[data-banner=payment_due][data-invoice-kind=topup]")).to_be_visible()
    fits_the_phone(phone)
    shot(phone, "credits-topup-banner-phone")

    # When they confirm the payment in the modal
    reference = f"JC-{uuid.uuid4().hex[:10]}"
    dialog = confirm_payment(page, reference)
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-banner=awaiting_approval][data-invoice-kind=topup]")).to_contain_text(
        "Top-up: 1,000 extra credits")

    # And an admin approves it (the queue links the account; the payment names the pack)
    admin = web.page()
    log_in_as_admin(admin, web.url)
    row = admin.get_by_role("row").filter(has_text=reference)
    expect(row.get_by_role("link", name="Khan Media", exact=True)).to_have_attribute(
        "href", f"/admin/accounts/{account['account_id']}")
    open_queued_payment(admin, reference)
    expect(admin.locator("main")).to_contain_text("Top-up: 1,000 extra credits")
    expect(admin.locator("main")).to_contain_text("adds the pack's credits to the account's extra credits")
    admin.get_by_role("button", name="Approve payment").click()
    expect(admin.locator("[data-payment-status=succeeded]")).to_be_visible()

    # Then the credits page shows the 1,000 credits in extra, as the API does
    page.reload()
    api = statement(web, account["token"])
    assert api["credit_buckets"]["extra"] == 1000, api["credit_buckets"]
    assert_balances(page, api)
    expect(page.locator("[data-banner]")).to_have_count(0)
    top = page.locator("[data-ledger] tbody tr").first
    expect(top).to_have_attribute("data-reason", "topup")
    expect(top.locator("[data-entry-label]")).to_have_text("Top-up: 1,000 extra credits")
    expect(top.locator("[data-amount]")).to_have_text("+1,000")
    expect(top).to_contain_text("Extra")
    shot(page, "credits-after-topup")


def test_a_top_up_bought_while_another_invoice_awaits_payment_opens_its_own_invoice(web, shot):
    # Given a paid account with a top-up invoice already awaiting payment (the account's one to pay)
    account = paid_account(web)
    first = http("POST", f"{web.api}/billing/topups", {"pack": "pack_1000", "payment_method": "jazzcash"},
                 token=account["token"])
    assert first.status == 201, first.body
    page = open_credits(web, account["email"])
    expect(page.locator("[data-banner=payment_due][data-invoice-kind=topup]")).to_contain_text(first.body["invoice_number"])

    # When they buy the 5,000 credits pack too
    page.get_by_role("button", name="Buy 5,000 extra credits for $60.00").click()
    dialog = page.get_by_role("dialog", name="Buy 5,000 extra credits")
    with page.expect_response(lambda r: r.url.endswith("/billing/topups")) as answer:
        dialog.get_by_role("button", name="Get the invoice").click()
    second = answer.value.json()

    # Then its own invoice opens, with how to pay it (the banner keeps showing the first one)
    expect(page).to_have_url(f"{web.url}/billing/invoices/{second['id']}")
    expect(page.get_by_role("heading", name=f"Invoice {second['invoice_number']}")).to_be_visible()
    expect(page.locator("[data-banner=payment_due][data-invoice-kind=topup]")).to_contain_text(
        "Top-up: 5,000 extra credits · $60.00 USD")
    assert web.me(account["email"], PASSWORD)["pending_invoice"]["id"] == first.body["id"]
    shot(page, "credits-second-topup-invoice")


# The admin's side ------------------------------------------------------------------------------

def test_the_admin_creates_a_service_key_shown_once_and_revokes_it(web, shot):
    account = paid_account(web)
    name = f"reporting-{uuid.uuid4().hex[:6]}"
    admin = web.page()
    log_in_as_admin(admin, web.url)
    section = admin.locator("#service-keys")

    # When the admin creates a key
    section.get_by_label("Name").fill(name)
    section.get_by_role("button", name="Create key").click()

    # Then its secret is shown once, with the warning, and it is a working key
    box = section.locator("[data-new-key]")
    expect(box).to_contain_text(f"Copy the key “{name}” now")
    expect(box).to_contain_text("This is the only time it is shown")
    secret = box.locator("[data-secret]").input_value()
    assert secret.startswith("sk_"), secret
    assert consume(web, secret, account["account_id"], 5, "Monthly report").status == 200
    listed = http("GET", f"{web.api}/billing/admin/service-keys", token=web.admin_token()).body["items"]
    key = next(item for item in listed if item["name"] == name)
    assert "key" not in key and key["revoked_at"] is None, key
    row = section.locator(f"tr[data-service-key='{key['id']}']")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("admin@example.com")
    shot(admin, "admin-service-key-created")

    # And after a reload the secret is nowhere on the page, the key is listed with its last use
    admin.reload()
    expect(section.locator("[data-new-key]")).to_have_count(0)
    expect(row).to_contain_text(name)
    expect(row).not_to_contain_text("Never")  # last used: the consumption above
    assert secret not in admin.content()

    # When they revoke it (after confirming)
    row.get_by_role("button", name=f"Revoke {name}").click()
    dialog = admin.get_by_role("dialog", name=f"Revoke “{name}”?")
    expect(dialog).to_contain_text("cannot be undone")
    shot(admin, "admin-service-key-revoke")
    with admin.expect_response(lambda r: r.request.method == "DELETE") as answer:
        dialog.get_by_role("button", name="Revoke key").click()
    assert answer.value.status == 204
    expect(dialog).to_be_hidden()

    # Then it is listed as revoked, as the API says
    expect(row).to_have_attribute("data-revoked", "true")
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button", name=f"Revoke {name}")).to_have_count(0)
    listed = http("GET", f"{web.api}/billing/admin/service-keys", token=web.admin_token()).body["items"]
    assert next(item for item in listed if item["id"] == key["id"])["revoked_at"], listed

    # On a phone the console's keys and a new key's secret fit the screen
    phone = web.page(PHONE)
    log_in_as_admin(phone, web.url)
    keys = phone.locator("#service-keys")
    keys.get_by_label("Name").fill(f"{name}-phone")
    keys.get_by_role("button", name="Create key").click()
    expect(keys.locator("[data-new-key]")).to_be_visible()
    keys.scroll_into_view_if_needed()
    fits_the_phone(phone)
    shot(phone, "admin-service-key-created-phone")
    keys.get_by_role("button", name="I have stored it").click()
    expect(keys.locator("[data-new-key]")).to_have_count(0)


def test_the_admin_grants_and_corrects_credits_on_the_account_page(web, shot):
    # Given a paid account; the admin opens it from its payment's page
    account = paid_account(web)
    admin = web.page()
    log_in_as_admin(admin, web.url)
    admin.goto(f"{web.url}/admin/payments/{account['payment_id']}")
    admin.get_by_role("link", name="Account Khan Media").click()
    expect(admin).to_have_url(f"{web.url}/admin/accounts/{account['account_id']}")
    expect(admin.get_by_role("heading", name="Khan Media", exact=True)).to_be_visible()
    expect(admin.locator("[data-account-status=active]")).to_be_visible()
    expect(admin.locator("[data-subscription=active]")).to_contain_text("Starter")
    before = http("GET", f"{web.api}/billing/admin/accounts/{account['account_id']}", token=web.admin_token()).body
    assert_balances(admin, before["credits"])
    form = admin.locator("form[data-grant]")

    # When they add 250 extra credits with a reason
    form.get_by_label("Credits", exact=True).fill("250")
    form.get_by_label("Reason").fill("Goodwill for the outage on Dec 1")
    form.get_by_role("button", name="Add 250 extra credits").click()

    # Then the page shows the new balance, as the API has it, and the grant heads the ledger
    expect(admin.locator("[data-balance=extra] [data-value]")).to_have_text("250")
    after = http("GET", f"{web.api}/billing/admin/accounts/{account['account_id']}", token=web.admin_token()).body
    assert after["credits"]["credit_buckets"]["extra"] == 250, after["credits"]
    assert_balances(admin, after["credits"])
    top = admin.locator("[data-ledger] tbody tr").first
    expect(top.locator("[data-entry-label]")).to_have_text("Granted by an admin")
    expect(top.locator("[data-entry-detail]")).to_have_text("“Goodwill for the outage on Dec 1”")
    expect(top.locator("[data-amount]")).to_have_text("+250")
    expect(top.locator("[data-balance-after]")).to_have_text(f"{after['credits']['credits']:,}")
    shot(admin, "admin-account")

    # When they try to take away more extra credits than there are
    form = admin.locator("form[data-grant]")
    form.get_by_role("radio", name="Take away").check()
    form.get_by_label("Credits", exact=True).fill("100000")
    form.get_by_label("Reason").fill("Duplicate grant")
    with admin.expect_response(lambda r: r.url.endswith("/credits") and r.request.method == "POST") as answer:
        form.get_by_role("button", name="Take away 100,000 extra credits").click()

    # Then the API's refusal is shown, and nothing changed
    assert answer.value.status == 409
    error = answer.value.json()["error"]
    assert error["code"] == "insufficient_credits", error
    expect(form.locator("[data-form-alert]")).to_have_text(error["message"])
    expect(admin.locator("[data-balance=extra] [data-value]")).to_have_text("250")
    shot(admin, "admin-account-grant-refused")

    # And a correction within the balance takes the plan credits down
    form.get_by_role("radio", name="Plan credits").check()
    form.get_by_label("Credits", exact=True).fill("40")
    form.get_by_label("Reason").fill("Double-counted export")
    form.get_by_role("button", name="Take away 40 plan credits").click()
    allowance = after["credits"]["credit_buckets"]["allowance"] - 40
    expect(admin.locator("[data-balance=allowance] [data-value]")).to_have_text(f"{allowance:,}")
    expect(admin.locator("[data-ledger] tbody tr").first.locator("[data-entry-label]")).to_have_text("Corrected by an admin")

    # The customer sees both in their history, with the reasons
    page = open_credits(web, account["email"])
    expect(page.locator("[data-reason=admin_grant]")).to_contain_text("Added by our team")
    expect(page.locator("[data-reason=admin_grant]")).to_contain_text("Goodwill for the outage on Dec 1")
    expect(page.locator("[data-reason=admin_correction]")).to_contain_text("Double-counted export")

    # On a phone the account page fits the screen
    phone = web.page(PHONE)
    log_in_as_admin(phone, web.url)
    phone.goto(f"{web.url}/admin/accounts/{account['account_id']}")
    expect(phone.locator("form[data-grant]")).to_be_visible()
    fits_the_phone(phone)
    shot(phone, "admin-account-phone")
