"""The emails of the subscription lifecycle, rendered from their templates as delivery renders them:
each says what happened, the amounts and dates, and the one next step with its link."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.config import get_settings
from chalicelib.notifications import delivery
from chalicelib.notifications.messages import TEMPLATES_DIR

WEB = get_settings().web_app_url
HOSTILE = "Khan <script>alert(1)</script> Media"
ESCAPED = "Khan &lt;script&gt;alert(1)&lt;/script&gt; Media"

LIFECYCLE = ("renewal_invoice", "subscription_past_due", "subscription_suspended",
             "subscription_cancelled", "subscription_reactivated", "plan_changed", "trial_ending",
             "trial_ended")

# What `_invoice_context` puts in every email that names an invoice (all strings, as queued).
INVOICE = {"invoice_id": "inv_01HZX3RENEW", "invoice_number": "INV-2027-0042", "amount": "89.00",
           "currency": "USD", "billing_name": "Khan Media (Pvt) Ltd",
           "payment_reference": "LL-7Q4K-2M9X"}
INVOICE_LINK = f"{WEB}/billing/invoices/inv_01HZX3RENEW"
PLANS_LINK = f"{WEB}/billing/plans"

# Pakistan's methods as `delivery._payment_methods` returns them (method views), the chosen one first.
METHODS: list[dict[str, Any]] = [
    {"id": "PK#jazzcash", "payment_method": "jazzcash", "display_name": "JazzCash", "country": "PK",
     "instructions": "In the JazzCash app choose Send Money > Mobile Account and send to the wallet "
                     "below. Keep the transaction ID (TID) as your reference.",
     "details": {"account_title": "Ledgerline Pakistan", "wallet_number": "0300-1234567",
                 "currency": "PKR"}},
    {"id": "GLOBAL#wire", "payment_method": "wire", "display_name": "International wire (SWIFT)",
     "country": None, "instructions": "Send the invoice amount in USD by SWIFT.",
     "details": {"account_title": "Ledgerline Technologies LLC", "bank_name": "Citibank N.A.",
                 "account_number": "30091784", "swift": "CITIUS33", "iban": None, "currency": "USD"}},
    {"id": "PK#bank_transfer", "payment_method": "bank_transfer", "country": "PK",
     "display_name": "Bank transfer (Pakistan, IBFT)",
     "instructions": "Transfer the PKR equivalent of the invoice amount by IBFT or Raast.",
     "details": {"account_title": "Ledgerline Pakistan (Pvt) Ltd", "bank_name": "Meezan Bank",
                 "account_number": "0101-0104567891", "iban": "PK36MEZN0001010104567891",
                 "currency": "PKR"}},
]

RENEWAL = {**INVOICE, "due_date": "2027-03-01", "plan": "starter", "plan_name": "Starter",
           "credits": "1000", "period_start": "2027-03-01", "period_end": "2027-04-01",
           "country": "PK", "preferred_method": "jazzcash", "methods": METHODS}
PAST_DUE = {**INVOICE, "plan": "starter", "plan_name": "Starter", "period_end": "2027-03-01",
            "due_date": "2027-03-01", "suspends_at": "2027-03-08", "grace_days": "7"}
SUSPENDED = {**INVOICE, "plan": "starter", "plan_name": "Starter", "cancels_at": "2027-03-31"}
CANCELLED_UNPAID = {**INVOICE, "plan": "starter", "plan_name": "Starter", "ended_at": "2027-03-31",
                    "reason": "unpaid"}
CANCELLED_REQUESTED = {"plan": "growth", "plan_name": "Growth", "ended_at": "2027-04-01",
                       "reason": "requested"}
REACTIVATED = {**INVOICE, "plan": "starter", "plan_name": "Starter", "period_end": "2027-04-01",
               "credits": "1000"}
UPGRADE_INVOICE = {**INVOICE, "amount": "37.42", "change": "upgrade_invoice",
                   "old_plan_name": "Starter", "new_plan_name": "Growth", "credits": "1500",
                   "period_end": "2027-04-01"}
UPGRADED = {"change": "upgraded", "old_plan_name": "Starter", "new_plan_name": "Growth",
            "credits": "1500", "period_end": "2027-04-01"}
DOWNGRADE_SCHEDULED = {"change": "downgrade_scheduled", "old_plan_name": "Growth",
                       "new_plan_name": "Starter", "effective_at": "2027-04-01"}
DOWNGRADE_CANCELLED = {"change": "downgrade_cancelled", "plan_name": "Growth"}
TRIAL_ENDING = {"name": "Ayesha Khan", "account_name": "Khan Media", "trial_ends_at": "2027-01-15",
                "credits": "640", "days_left": "3"}
TRIAL_ENDED = {"name": "Ayesha Khan", "account_name": "Khan Media", "credits_expired": "640"}


def both(template: str, context: dict[str, Any]) -> tuple[str, list[str]]:
    subject, text, html = delivery.render(template, context)
    assert f"<title>{subject}</title>" in html  # the html is the layout's
    return subject, [text, html]


# template, context, what the subject says, what both parts show (facts, the next step's link)
CASES = {
    "renewal_invoice": (
        "renewal_invoice", RENEWAL, ["INV-2027-0042", "89.00 USD", "Starter", "due 2027-03-01"],
        ["INV-2027-0042", "89.00 USD", "LL-7Q4K-2M9X", "2027-03-01", "2027-04-01", "1000 credits",
         "Hello Khan Media (Pvt) Ltd", INVOICE_LINK, "this invoice as a PDF"]),
    "past_due": (
        "subscription_past_due", PAST_DUE, ["overdue", "INV-2027-0042", "89.00 USD", "2027-03-08"],
        ["INV-2027-0042", "89.00 USD", "LL-7Q4K-2M9X", "ended on 2027-03-01", "due on 2027-03-01",
         "7 more days, until", "2027-03-08", "extra credits", "past due", INVOICE_LINK]),
    "suspended": (
        "subscription_suspended", SUSPENDED, ["suspended", "INV-2027-0042", "89.00 USD"],
        ["INV-2027-0042", "89.00 USD", "LL-7Q4K-2M9X", "suspended", "cannot be used",
         "2027-03-31", INVOICE_LINK]),
    "cancelled_unpaid": (
        "subscription_cancelled", CANCELLED_UNPAID, ["Starter", "cancelled", "INV-2027-0042", "not paid"],
        ["INV-2027-0042 (void)", "89.00 USD", "LL-7Q4K-2M9X", "voided", "2027-03-31",
         "Hello Khan Media (Pvt) Ltd", PLANS_LINK]),
    "cancelled_requested": (
        "subscription_cancelled", CANCELLED_REQUESTED, ["Growth", "ended", "as you asked"],
        ["As you asked", "Growth", "ended on 2027-04-01", "Hello there", PLANS_LINK]),
    "reactivated": (
        "subscription_reactivated", REACTIVATED, ["approved", "Starter", "active again", "INV-2027-0042"],
        ["INV-2027-0042 (paid)", "89.00 USD", "LL-7Q4K-2M9X", "+1000", "until 2027-04-01",
         f"{WEB}/dashboard", "receipt, as a PDF", INVOICE_LINK]),
    "upgrade_invoice": (
        "plan_changed", UPGRADE_INVOICE, ["Upgrade", "Growth", "INV-2027-0042", "37.42 USD"],
        ["INV-2027-0042", "37.42 USD", "LL-7Q4K-2M9X", "Starter", "Growth", "+1500 once paid",
         "until 2027-04-01", "Nothing changes until we approve your payment", INVOICE_LINK,
         "this invoice as a PDF"]),
    "upgraded": (
        "plan_changed", UPGRADED, ["approved", "Growth", "+1500 credits"],
        ["now on the Growth plan", "from Starter", "1500 credits", "until 2027-04-01",
         f"{WEB}/dashboard"]),
    "downgrade_scheduled": (
        "plan_changed", DOWNGRADE_SCHEDULED, ["Starter", "2027-04-01"],
        ["from the Growth plan to the Starter plan on", "2027-04-01", "keep Growth", PLANS_LINK]),
    "downgrade_cancelled": (
        "plan_changed", DOWNGRADE_CANCELLED, ["stays Growth", "cancelled"],
        ["scheduled change of plan is cancelled", "Growth", f"{WEB}/billing"]),
    "trial_ending": (
        "trial_ending", TRIAL_ENDING, ["trial ends in 3 days", "2027-01-15"],
        ["Hello Ayesha Khan", "Khan Media", "3 days", "2027-01-15", "640 credits", "paid plan",
         PLANS_LINK]),
    "trial_ended": (
        "trial_ended", TRIAL_ENDED, ["free trial has ended"],
        ["Hello Ayesha Khan", "Khan Media", "640 remaining credits", "expired", PLANS_LINK]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_email_says_what_happened_with_its_facts_and_the_next_steps_link(case):
    template, context, in_subject, shown = CASES[case]
    subject, parts = both(template, context)
    for fragment in in_subject:
        assert fragment in subject, (fragment, subject)
    for part in parts:
        for fact in shown:
            assert fact in part, (case, fact)
        assert "None" not in part


def test_the_renewal_invoice_lists_the_countrys_methods_the_chosen_one_first():
    _, (text, html) = both("renewal_invoice", RENEWAL)
    for part in (text, html):
        for shown in ("JazzCash", "0300-1234567", "International wire (SWIFT)", "CITIUS33",
                      "Bank transfer (Pakistan, IBFT)", "Meezan Bank", "PK36MEZN0001010104567891",
                      "Keep the transaction ID (TID)"):
            assert shown in part, shown
        assert part.index("JazzCash") < part.index("International wire") < part.index("Meezan Bank")
        assert "IBAN: None" not in part and ">None<" not in part  # empty details are left out
    assert "* JazzCash (your choice)" in text and "Meezan Bank" in text
    assert "<strong>JazzCash</strong> (your choice)" in html
    assert text.count("(your choice)") == 1 and html.count("(your choice)") == 1


def test_the_renewal_invoice_without_methods_or_a_preference_still_says_how_to_pay():
    context = {k: v for k, v in RENEWAL.items() if k not in ("methods", "preferred_method", "country")}
    _, parts = both("renewal_invoice", context)
    for part in parts:
        assert "The invoice page lists the payment methods" in part and "(your choice)" not in part
        assert INVOICE_LINK in part and "LL-7Q4K-2M9X" in part


def test_a_cancelled_on_request_email_names_no_invoice():
    _, parts = both("subscription_cancelled", CANCELLED_REQUESTED)
    for part in parts:
        assert "Invoice" not in part and "void" not in part and "reply to this email quoting" not in part


def test_a_cancelled_for_unpaid_email_without_the_invoice_context_still_renders():
    context = {k: v for k, v in CANCELLED_UNPAID.items() if k not in INVOICE}
    subject, parts = both("subscription_cancelled", context)
    assert subject == "Your Starter subscription is cancelled: the renewal invoice was not paid"
    for part in parts:
        assert "The renewal invoice was" in part and "still unpaid" in part and PLANS_LINK in part
        assert "quoting" not in part


def test_an_unknown_plan_change_fails_to_render_rather_than_send_a_wrong_email():
    with pytest.raises(AttributeError):  # delivery records it, retries, then parks it
        delivery.render("plan_changed", {**UPGRADED, "change": "sidegrade"})


def test_one_day_left_of_the_trial_is_singular():
    subject, parts = both("trial_ending", {**TRIAL_ENDING, "days_left": "1"})
    assert subject == "Your free trial ends in 1 day, on 2027-01-15"
    for part in parts:
        assert "ends in 1 day," in part and "1 days" not in part


@pytest.mark.parametrize("expired", [{"credits_expired": "0"}, {}])
def test_a_trial_that_ended_with_no_credits_left_mentions_none_expiring(expired):
    context = {k: v for k, v in TRIAL_ENDED.items() if k != "credits_expired"} | expired
    _, parts = both("trial_ended", context)
    for part in parts:
        assert "has ended" in part and "remaining credits" not in part and PLANS_LINK in part


WITH_BILLING_NAME = [c for c in CASES if "billing_name" in CASES[c][1]]


@pytest.mark.parametrize("case", WITH_BILLING_NAME)
def test_html_escapes_the_billing_name_and_text_keeps_it(case):
    template, context, _, _ = CASES[case]
    _, text, html = delivery.render(template, {**context, "billing_name": HOSTILE})
    assert "<script>" not in html and ESCAPED in html
    assert HOSTILE in text


@pytest.mark.parametrize("case", WITH_BILLING_NAME)
def test_without_a_billing_name_the_greeting_is_generic(case):
    template, context, _, _ = CASES[case]
    _, parts = both(template, {k: v for k, v in context.items() if k != "billing_name"})
    for part in parts:
        assert "Hello there," in part


@pytest.mark.parametrize("template", ["trial_ending", "trial_ended"])
def test_html_escapes_the_account_and_user_names_of_the_trial_emails(template):
    context = {**CASES[template][1], "account_name": HOSTILE, "name": '<img src=x onerror="x()">'}
    _, text, html = delivery.render(template, context)
    assert "<script>" not in html and "<img" not in html and ESCAPED in html
    assert "&lt;img src=x onerror=&#34;x()&#34;&gt;" in html
    assert HOSTILE in text and '<img src=x onerror="x()">' in text


def test_every_lifecycle_email_has_a_text_and_an_html_part_in_the_common_layout():
    for name in LIFECYCLE:
        assert (TEMPLATES_DIR / f"{name}.txt").is_file(), name
        html = (TEMPLATES_DIR / f"{name}.html").read_text()
        assert html.startswith('{% extends "layout.html" %}') and "|safe" not in html, name
        assert "{% set subject" in (TEMPLATES_DIR / f"{name}.txt").read_text(), name
