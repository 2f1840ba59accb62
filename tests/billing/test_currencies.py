"""Paying in a local currency, in parts, or too much: quotes fixed at issue, the method's tolerance
written off, partial payments to paid, overpayments to the balance and the balance applied to the
next invoice (paid without an admin when it covers it). Every test checks the invoice's money
identity, the account's balance against its money ledger, and `make verify`'s rules."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from chalicelib.billing import jobs
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.storage.models.billing import InvoiceModel, SubscriptionModel
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.records import FxRateModel, MoneyLedgerModel
from ops import integrity
from tests.conftest import Api, PaidSignup
from tests.helpers import account, assert_error, assert_no_floats, payments_of, store_unchanged

RATES = "/api/v1/billing/admin/fx-rates"
MONEY = re.compile(r"^(0|[1-9][0-9]*)\.[0-9]{2}$")


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def _set_rate(api: Api, currency: str, rate: str) -> Any:
    reply = api.request("PUT", f"{RATES}/{currency}", body={"rate": rate}, token=api.admin_token())
    assert reply.status == 200, reply.body
    return reply.body


def _invoice(invoice_id: str) -> InvoiceModel:
    return InvoiceModel.get(invoice_id, consistent_read=True)


def _identity(invoice_id: str) -> tuple[int, int, int, int]:
    """(paid, written off, from the balance, due), after checking they add up to the amount."""
    inv = _invoice(invoice_id)
    parts = (inv.amount_paid_minor, inv.written_off_minor, inv.balance_applied_minor,
             inv.amount_due_minor)
    assert sum(parts) == inv.amount_minor, parts
    return parts


def _money_fields(body: Any) -> None:
    """Every money figure is a string with two decimals (and there is no float anywhere)."""
    assert_no_floats(body)
    for key in ("amount", "amount_due", "amount_paid", "written_off", "balance_applied"):
        assert MONEY.match(body[key]), (key, body[key])
    for quote in body["quotes"]:
        assert MONEY.match(quote["amount"]) and MONEY.match(quote["amount_due"]), quote


def _pay(api: Api, signup: PaidSignup, amount: str, *, method: str = "jazzcash",
         currency: str | None = "PKR", reference: str, approve: bool = True, **flags: Any) -> Any:
    extra = {"currency": currency} if currency else {}
    reply = api.confirm(signup.token, signup.invoice_id, amount=amount, method=method,
                        reference=reference, **extra, **flags)
    assert reply.status == 201, reply.body
    if approve:
        approved = api.approve(api.admin_token(), reply.body["id"])
        assert approved.status == 200, approved.body
        return approved.body
    return reply.body


@pytest.fixture
def pkr(api: Api) -> PaidSignup:
    """PKR at 280.50 per USD, then a starter signup from Pakistan (89.00 USD)."""
    _set_rate(api, "PKR", "280.50")
    reply = api.register("ayesha@khan.pk", plan="starter", payment_method="jazzcash")
    assert reply.status == 201, reply.body
    body = reply.body
    return PaidSignup(body["access_token"], body["account"]["id"], body["invoice"]["id"],
                      body["subscription"]["id"], "ayesha@khan.pk")


def test_a_rate_change_is_kept_with_who_and_when_and_leaves_issued_quotes_alone(api: Api,
                                                                              pkr: PaidSignup) -> None:
    # Given an invoice quoted at 280.50: 89.00 x 280.50 = 24,964.50 PKR
    invoice = api.get(f"/api/v1/billing/invoices/{pkr.invoice_id}", token=pkr.token).body
    assert invoice["quotes"] == [{"currency": "PKR", "amount": "24964.50", "rate": "280.50",
                                  "amount_due": "24964.50"}]
    _money_fields(invoice)
    # When the admin changes the rate
    changed = _set_rate(api, "PKR", "300.00")
    # Then the change is kept with who, when and old → new
    assert changed["history"][0] == {"at": changed["history"][0]["at"], "by": "admin@example.com",
                                     "old_rate": "280.50", "new_rate": "300.00"}
    assert [h["new_rate"] for h in changed["history"]] == ["300.00", "280.50"]
    # And the issued invoice keeps its quote; a new one is quoted at the new rate
    assert [q.rate for q in _invoice(pkr.invoice_id).quotes] == ["280.50"]
    later = api.register("bilal@khan.pk", plan="starter", payment_method="jazzcash").body
    assert later["invoice"]["quotes"][0]["amount"] == "26700.00"
    # And the emails say exactly what to send
    signup_mail = [m for m in OutboxModel.scan() if m.message_id == f"signup:{pkr.account_id}:user"]
    assert "24,964.50" in signup_mail[0].context["quotes"]


@pytest.mark.parametrize("rate", ["0", "0.0000001", "-1", "1e3", "abc", "1234567890.5"])
def test_a_bad_rate_is_refused_and_changes_nothing(api: Api, rate: str) -> None:
    with store_unchanged():
        reply = api.request("PUT", f"{RATES}/PKR", body={"rate": rate}, token=api.admin_token())
    assert_error(reply, 422)
    assert list(FxRateModel.scan()) == []


def test_pkr_exact_pays_the_invoice_in_full(api: Api, pkr: PaidSignup) -> None:
    approved = _pay(api, pkr, "24964.50", reference="JC-1")
    assert approved["invoice"]["status"] == "paid" and approved["account"]["status"] == "active"
    assert _identity(pkr.invoice_id) == (8900, 0, 0, 0)
    [payment] = payments_of(pkr.invoice_id)
    assert (payment.amount_minor, payment.currency, payment.rate, payment.settles) == (
        2496450, "PKR", "280.50", "full")
    assert approved["payment"]["amount"] == "24964.50" and approved["payment"]["applied"] == "89.00"
    _consistent()


def test_within_tolerance_the_shortfall_is_written_off_on_approval(api: Api, pkr: PaidSignup) -> None:
    # 1% of 24,964.50 is 249.645: 24,714.86 (half-up) counts as full. The bank kept 164.50.
    pending = _pay(api, pkr, "24800.00", reference="JC-2", approve=False)
    assert pending["settles"] == "full"
    # Not yet written off: only an approval does
    assert _identity(pkr.invoice_id) == (0, 0, 0, 8900)
    api.approve(api.admin_token(), pending["id"])
    # 24,800.00 / 280.50 = 88.4135... → 88.41 paid, 0.59 written off
    assert _identity(pkr.invoice_id) == (8841, 59, 0, 0)
    assert _invoice(pkr.invoice_id).status == "paid"
    _consistent()


def test_below_the_tolerance_is_422_naming_the_range_unless_partial(api: Api, pkr: PaidSignup) -> None:
    with store_unchanged():
        reply = api.confirm(pkr.token, pkr.invoice_id, amount="24714.85", method="jazzcash",
                            reference="JC-3", currency="PKR")
    error = assert_error(reply, 422, "amount_mismatch")
    assert {k: error["details"][k] for k in ("amount_due", "min", "max", "currency")} == {
        "amount_due": "24964.50", "min": "24714.86", "max": "24964.50", "currency": "PKR"}
    with store_unchanged():
        over = api.confirm(pkr.token, pkr.invoice_id, amount="24964.51", method="jazzcash",
                           reference="JC-3", currency="PKR")
    assert_error(over, 422, "amount_mismatch")


def test_two_partial_payments_pay_the_invoice_and_only_then_activate(api: Api, pkr: PaidSignup) -> None:
    # When 12,000.00 PKR is paid as a part and approved
    first = _pay(api, pkr, "12000.00", reference="JC-4", partial=True)
    # Then 12,000.00 / 280.50 = 42.78 is paid, 46.22 remains, and the account waits
    assert first["invoice"]["status"] == "partially_paid"
    assert _identity(pkr.invoice_id) == (4278, 0, 0, 4622)
    assert account(pkr.account_id).status == "pending_payment"
    assert first["invoice"]["amount_due"] == "46.22"
    # And the remaining PKR is 46.22 x 280.50 = 12,964.71
    assert first["invoice"]["quotes"][0]["amount_due"] == "12964.71"
    _money_fields(first["invoice"])
    _consistent()
    # When the rest is paid exactly
    second = _pay(api, pkr, "12964.71", reference="JC-5")
    # Then the invoice is paid in full, nothing written off, and the account is active
    assert second["invoice"]["status"] == "paid" and second["account"]["status"] == "active"
    assert _identity(pkr.invoice_id) == (8900, 0, 0, 0)
    assert account(pkr.account_id).credits == 1000
    _consistent()


def test_an_awkward_rate_rounds_the_same_in_the_quote_the_confirm_and_the_ledger(api: Api) -> None:
    _set_rate(api, "PKR", "279.333333")
    body = api.register("ayesha@khan.pk", plan="starter", payment_method="jazzcash").body
    signup = PaidSignup(body["access_token"], body["account"]["id"], body["invoice"]["id"],
                        body["subscription"]["id"], "ayesha@khan.pk")
    rate = Decimal("279.333333")

    def half_up(value: Decimal) -> int:
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    quote = half_up(8900 * rate)  # 24,860.666637 → 24,860.67
    assert body["invoice"]["quotes"][0]["amount"] == f"{quote // 100}.{quote % 100:02d}" == "24860.67"
    # A part, then exactly what the invoice then says is due
    part = _pay(api, signup, "10000.00", reference="JC-6", partial=True)
    paid_first = half_up(Decimal(1000000) / rate)  # 35.799... → 35.80
    assert _identity(signup.invoice_id) == (paid_first, 0, 0, 8900 - paid_first) == (3580, 0, 0, 5320)
    rest = part["invoice"]["quotes"][0]["amount_due"]
    assert rest == "14860.53"  # 53.20 x 279.333333 = 14,860.533... → 14,860.53
    _pay(api, signup, rest, reference="JC-7")
    assert _identity(signup.invoice_id) == (8900, 0, 0, 0)
    _consistent()


def test_paid_in_the_wrong_currency_is_422_and_changes_nothing(api: Api, pkr: PaidSignup) -> None:
    for method, currency in (("jazzcash", "INR"), ("paypal", "PKR"), ("jazzcash", "EUR")):
        with store_unchanged():
            reply = api.confirm(pkr.token, pkr.invoice_id, amount="24964.50", method=method,
                                reference="JC-8", currency=currency)
        assert_error(reply, 422, "currency_not_accepted")
    with store_unchanged():
        lower = api.confirm(pkr.token, pkr.invoice_id, amount="24964.50", method="jazzcash",
                            reference="JC-8", currency="pkr")
    assert_error(lower, 422)


def test_without_a_rate_there_is_no_quote_and_the_invoice_currency_is_the_only_one(api: Api,
                                                                                 paid_signup: PaidSignup) -> None:
    assert _invoice(paid_signup.invoice_id).quotes == []
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount="24964.50",
                            method="jazzcash", reference="JC-9", currency="PKR")
    assert_error(reply, 422, "currency_not_accepted")


def _balance(account_id: str) -> tuple[int, int]:
    """(the account's balance, the sum of its money ledger)."""
    entries = list(MoneyLedgerModel.query(account_id, consistent_read=True))
    return account(account_id).balance_minor or 0, sum(e.amount_minor for e in entries)


def _renew(api: Api, signup: PaidSignup) -> InvoiceModel:
    """Run the jobs an hour after the renewal falls due; the renewal invoice they issued."""
    sub = SubscriptionModel.get(signup.subscription_id, consistent_read=True)
    moment = parse_stamp(sub.current_period_end) - timedelta(days=7) + timedelta(hours=1)
    with clock.travel(moment):
        report = jobs.run(moment)
    assert report.steps["renewal_issued"] == [signup.subscription_id], report.steps
    sub = SubscriptionModel.get(signup.subscription_id, consistent_read=True)
    return _invoice(sub.renewal_invoice_id)


def test_an_overpayment_goes_to_the_balance_and_part_of_the_next_invoice(api: Api,
                                                                        paid_signup: PaidSignup) -> None:
    # When 100.00 USD is paid for 89.00, said to be an overpayment, and approved
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount="100.00", overpayment=True)
    assert reply.status == 201 and reply.body["excess"] == "11.00", reply.body
    approved = api.approve(api.admin_token(), reply.body["id"]).body
    # Then the invoice is paid and 11.00 is the account's balance, its ledger's sum
    assert approved["account"]["balance"] == "11.00"
    assert _identity(paid_signup.invoice_id) == (8900, 0, 0, 0)
    assert _balance(paid_signup.account_id) == (1100, 1100)
    _consistent()
    # When the renewal is issued, the balance pays 11.00 of it
    renewal = _renew(api, paid_signup)
    assert (renewal.status, renewal.balance_applied_minor, renewal.amount_due_minor) == (
        "pending", 1100, 7800)
    assert _balance(paid_signup.account_id) == (0, 0)
    assert not SubscriptionModel.get(paid_signup.subscription_id).balance_pending
    _consistent()


def test_a_balance_that_covers_the_renewal_pays_it_without_an_admin(api: Api,
                                                                    paid_signup: PaidSignup) -> None:
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount="200.00", overpayment=True)
    assert reply.status == 201, reply.body
    api.approve(api.admin_token(), reply.body["id"])
    assert _balance(paid_signup.account_id) == (11100, 11100)
    # When the renewal is issued
    renewal = _renew(api, paid_signup)
    # Then it is paid from the balance at once: no payment, no admin, the next period paid
    assert (renewal.status, renewal.balance_applied_minor, renewal.amount_due_minor) == ("paid", 8900, 0)
    assert payments_of(renewal.invoice_id) == []
    sub = SubscriptionModel.get(paid_signup.subscription_id, consistent_read=True)
    assert sub.paid_through == 1 and account(paid_signup.account_id).pending_invoice_id is None
    assert _balance(paid_signup.account_id) == (2200, 2200) and sub.balance_pending
    _consistent()
    # And at the period end the period rolls with its new allowance, still active
    end = parse_stamp(sub.current_period_end) + timedelta(hours=1)
    with clock.travel(end):
        jobs.run(end)
    sub = SubscriptionModel.get(paid_signup.subscription_id, consistent_read=True)
    assert (sub.status, sub.period) == ("active", 1)
    _consistent()


def test_a_voided_invoice_paid_in_part_gives_the_part_to_the_balance(api: Api, pkr: PaidSignup) -> None:
    _pay(api, pkr, "12000.00", reference="JC-10", partial=True)
    inv = _invoice(pkr.invoice_id)
    # When the jobs void the signup invoice after its grace period
    moment = parse_stamp(inv.due_date + "T00:00:00.000000Z") + timedelta(days=30)
    with clock.travel(moment):
        report = jobs.run(moment)
    assert report.voided == [pkr.invoice_id]
    # Then the 42.78 paid is the account's balance
    assert _invoice(pkr.invoice_id).status == "void"
    assert _balance(pkr.account_id) == (4278, 4278)
    _consistent()


def test_a_balance_that_covers_an_upgrade_upgrades_at_once(api: Api, paid_signup: PaidSignup) -> None:
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount="400.00", overpayment=True)
    assert reply.status == 201, reply.body
    api.approve(api.admin_token(), reply.body["id"])  # 311.00 into the balance
    # When the customer upgrades to growth (prorated, well under 311.00)
    changed = api.post("/api/v1/billing/subscription/change", {"plan": "growth"}, token=paid_signup.token)
    assert changed.status == 200, changed.body
    invoice = _invoice(changed.body["invoice"]["id"])
    # Then the balance paid it and the plan is growth now, with the prorated credits
    assert invoice.status == "paid" and invoice.balance_applied_minor == invoice.amount_minor > 0
    sub = SubscriptionModel.get(paid_signup.subscription_id, consistent_read=True)
    assert sub.plan == "growth" and sub.upgrade_invoice_id is None
    assert account(paid_signup.account_id).credits == 1000 + invoice.upgrade_credits
    assert _balance(paid_signup.account_id) == (31100 - invoice.amount_minor,) * 2
    _consistent()


def test_a_method_can_set_its_own_tolerance(api: Api, paid_signup: PaidSignup) -> None:
    from chalicelib.storage.models.catalog import PaymentMethodModel

    # PAYMENT_TOLERANCE_PERCENT (1.0) lets 88.99 of 89.00 count as full for bank transfers...
    method = PaymentMethodModel.get("PK", "bank_transfer")  # the one offered in Pakistan
    assert method.tolerance_percent is None
    # ...but a method that says 0 wants the exact amount
    method.update(actions=[PaymentMethodModel.tolerance_percent.set("0")])
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount="88.99")
    error = assert_error(reply, 422, "amount_mismatch")
    assert (error["details"]["min"], error["details"]["max"]) == ("89.00", "89.00")
    method.update(actions=[PaymentMethodModel.tolerance_percent.set("2.5")])
    reply = api.confirm(paid_signup.token, paid_signup.invoice_id, amount="86.78")  # 89 x 0.975 = 86.775
    assert reply.status == 201 and reply.body["written_off"] == "2.22", reply.body
