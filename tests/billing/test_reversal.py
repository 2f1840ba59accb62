"""The reversal of a succeeded payment (an owner's, with a reason): the payment `reversed`, its
invoice due again, the credits it brought taken back from what is left, the subscription and
account past due with the grace starting now; paying again brings it all back. Each test checks
the store (payment, invoice, subscription, account, ledgers, audit, emails) and `make verify`."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.billing.periods import period
from chalicelib.core import clock
from chalicelib.core.clock import parse_stamp
from chalicelib.storage.models.billing import InvoiceModel, PaymentModel
from chalicelib.storage.models.platform import OutboxModel
from chalicelib.storage.models.records import MoneyLedgerModel
from tests.billing.test_lifecycle import ANCHOR, DAY, HOUR, Customer, _consistent, _renewals, _run, _sub
from tests.conftest import Api, PaidSignup
from tests.helpers import (
    account,
    assert_error,
    audit_of,
    confirm_body,
    invoice,
    ledger_of,
    competing_commit,
    store_unchanged,
)

REASON = "Chargeback from the bank on Dec 3"


def _reverse(api: Api, payment_id: str, token: str, reason: str | None = REASON):
    body = {} if reason is None else {"reason": reason}
    return api.post(f"/api/v1/billing/admin/payments/{payment_id}/reverse", body, token=token)


def _approved(api: Api, signup: PaidSignup, **confirm: str) -> str:
    reply = api.post("/api/v1/billing/admin/payments/confirm/",
                     confirm_body(signup.invoice_id, **confirm), token=signup.token)
    assert reply.status == 201, reply.body
    assert api.approve(api.admin_token(), reply.body["id"]).status == 200
    return reply.body["id"]


def _mail(template: str) -> list[OutboxModel]:
    return [m for m in OutboxModel.scan() if m.template == template]


def test_reversing_an_approved_signup_puts_everything_back_and_paying_again_restores_it(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given an approved starter signup (1000 credits)
    payment_id = _approved(api, paid_signup)
    assert account(paid_signup.account_id).allowance == 1000
    # When the owner reverses its payment
    reply = _reverse(api, payment_id, api.admin_token())
    # Then the payment is reversed, with who, when and why
    assert reply.status == 200, reply.body
    payment = PaymentModel.get(payment_id)
    assert (payment.status, payment.reversed_by, payment.reversal_reason) == (
        "reversed", "admin@example.com", REASON)
    assert reply.body["payment"]["reversal"]["reason"] == REASON
    # And the invoice is due again, open, by the end of the grace
    inv = invoice(paid_signup.invoice_id)
    today = parse_stamp(payment.reversed_at).date()
    assert (inv.status, inv.amount_due_minor, inv.amount_paid_minor, inv.paid_at) == (
        "pending", 8900, 0, None)
    assert inv.open and inv.due_date == (today + timedelta(days=7)).isoformat()
    # And the subscription and account are past due from now, the credits taken back
    sub = _sub(paid_signup.subscription_id)
    assert (sub.status, sub.past_due_at) == ("past_due", payment.reversed_at)
    acc = account(paid_signup.account_id)
    assert (acc.status, acc.allowance, acc.credits, acc.pending_invoice_id) == (
        "past_due", 0, 0, paid_signup.invoice_id)
    [taken] = [e for e in ledger_of(paid_signup.account_id) if e.reason == "payment_reversed"]
    assert (taken.entry_id, taken.amount, taken.reference) == (f"reversal#{payment_id}", -1000, payment_id)
    assert sum(e.amount for e in ledger_of(paid_signup.account_id)) == 0
    # And it is audited and the payer is told why
    assert ("reversed", "succeeded", "reversed", "admin@example.com") in [
        (a, f, t, actor) for a, f, t, actor in audit_of(payment_id)]
    [mail] = _mail("payment_reversed")
    assert mail.recipient == paid_signup.email and mail.context["reason"] == REASON
    assert mail.context["amount_due"] == "89.00" and mail.context["past_due"] == "yes"
    _consistent()
    # When the customer pays again and it is approved
    again = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2025-777")
    assert again.status == 201, again.body
    assert api.approve(api.admin_token(), again.body["id"]).status == 200
    # Then all is active again with the plan's credits
    acc = account(paid_signup.account_id)
    assert (acc.status, acc.credits, _sub(paid_signup.subscription_id).status) == (
        "active", 1000, "active")
    assert invoice(paid_signup.invoice_id).status == "paid"
    _consistent()


def test_reversing_the_running_periods_renewal_takes_back_what_is_left_and_gives_it_back_when_paid(
        api: Api) -> None:
    # Given a subscription whose period 1 renewal was paid and rolled
    customer = Customer(api)
    customer.pay(customer.first_invoice["id"], ANCHOR + HOUR)
    anchor = parse_stamp(_sub(customer.subscription_id).anchor)
    start, end = period(anchor, 1)
    _run(start - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    renewal_payment = customer.pay(renewal.invoice_id, start - 2 * DAY)
    _run(start + HOUR)
    assert _sub(customer.subscription_id).period == 1
    # When its payment bounces and the owner reverses it, ten days into the period
    at = start + 10 * DAY
    with clock.travel(at):
        reply = _reverse(api, renewal_payment, api.admin_token())
    assert reply.status == 200, reply.body
    # Then the renewal is due again and the subscription waits for it, past due from now
    sub = _sub(customer.subscription_id)
    assert (sub.status, sub.period, sub.paid_through, sub.renewal_invoice_id) == (
        "past_due", 1, 0, renewal.invoice_id)
    assert parse_stamp(sub.past_due_at) == at
    inv = invoice(renewal.invoice_id)
    assert (inv.status, inv.amount_due_minor, inv.credits_taken_back, inv.reversals) == (
        "pending", 8900, 1000, 1)
    acc = account(customer.account_id)
    assert (acc.status, acc.allowance, acc.pending_invoice_id) == ("past_due", 0, renewal.invoice_id)
    _consistent()
    # And the jobs suspend it when the grace that started now ends, not before
    _run(at + 6 * DAY)
    assert _sub(customer.subscription_id).status == "past_due"
    # When the customer pays again within the grace
    customer.pay(renewal.invoice_id, at + 3 * DAY)
    # Then the period goes on, active, with the credits the reversal took back
    sub = _sub(customer.subscription_id)
    assert (sub.status, sub.period, sub.paid_through, sub.renewal_invoice_id, sub.past_due_at) == (
        "active", 1, 1, None, None)
    acc = account(customer.account_id)
    assert (acc.status, acc.allowance, acc.pending_invoice_id) == ("active", 1000, None)
    assert [e.amount for e in ledger_of(customer.account_id) if e.reason == "period_reinstated"] == [1000]
    _consistent()
    # And the next renewal is issued and rolls as usual
    _run(end - 7 * DAY + HOUR)
    assert [i.period for i in _renewals(customer.subscription_id)] == [1, 2]
    _consistent()


def test_a_renewal_paid_ahead_and_reversed_leaves_the_running_period_and_dunning_follows_its_end(
        api: Api) -> None:
    customer = Customer(api)
    customer.pay(customer.first_invoice["id"], ANCHOR + HOUR)
    start, _ = period(parse_stamp(_sub(customer.subscription_id).anchor), 1)
    _run(start - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    paid_ahead = customer.pay(renewal.invoice_id, start - 3 * DAY)
    assert _sub(customer.subscription_id).paid_through == 1
    # When the owner reverses it before its period starts
    with clock.travel(start - 2 * DAY):
        assert _reverse(api, paid_ahead, api.admin_token()).status == 200
    # Then the running period stays active and paid; period 1 is unpaid again
    sub = _sub(customer.subscription_id)
    assert (sub.status, sub.period, sub.paid_through) == ("active", 0, 0)
    assert account(customer.account_id).allowance == 1000  # period 0's credits were paid for
    assert invoice(renewal.invoice_id).status == "pending"
    _consistent()
    # And at the period end it is past due, as any unpaid renewal
    _run(start + HOUR)
    assert _sub(customer.subscription_id).status == "past_due"
    _consistent()


def test_an_overpayments_excess_is_taken_back_from_the_balance_and_used_credits_stay_used(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given an approved overpayment (11.00 to the balance)
    payment_id = _approved(api, paid_signup, amount="100.00", overpayment=True)
    assert account(paid_signup.account_id).balance_minor == 1100
    # When it is reversed
    assert _reverse(api, payment_id, api.admin_token()).status == 200
    # Then the balance gives the excess back, in its ledger
    assert account(paid_signup.account_id).balance_minor == 0
    money = [(e.entry_id, e.amount_minor) for e in MoneyLedgerModel.query(paid_signup.account_id)]
    assert sorted(money) == sorted([(f"overpayment#{payment_id}", 1100), (f"reversed#{payment_id}", -1100)])
    _consistent()


def test_reversal_is_refused_without_a_reason_for_a_pending_payment_twice_and_for_own_account(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    pending = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    with store_unchanged():
        assert_error(_reverse(api, pending, admin), 409, "payment_not_reversible")
        assert_error(_reverse(api, "pay_missing", admin), 404, "payment_not_found")
    assert api.approve(admin, pending).status == 200
    approver = api.second_approver_token()
    with store_unchanged():
        assert "reason" in assert_error(_reverse(api, pending, admin, reason=None), 422,
                                        "validation_failed")["details"]["fields"]
        assert_error(_reverse(api, pending, approver), 403, "insufficient_role")
        assert_error(_reverse(api, pending, paid_signup.token), 403)
    # An owner of the payment's own account cannot reverse it
    from chalicelib.storage.models.accounts import UserModel

    UserModel("admin@example.com").update(actions=[UserModel.account_id.set(paid_signup.account_id)])
    own = api.admin_token()
    with store_unchanged():
        assert_error(_reverse(api, pending, own), 403, "own_account")
    # And a payment reversed once is not reversed again
    assert _reverse(api, pending, admin).status == 200
    with store_unchanged():
        assert_error(_reverse(api, pending, admin), 409, "payment_not_reversible")


def test_a_reversal_that_another_committed_meanwhile_is_a_409_and_changes_nothing_more(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given an approved signup, and two owners reversing it at once: one commits between the
    # other's reads and its commit
    payment_id = _approved(api, paid_signup)
    admin = api.admin_token()
    with competing_commit(lambda: _reverse(api, payment_id, admin)) as race:
        reply = _reverse(api, payment_id, admin, reason="Bounced")
    # Then the first is reversed once, the second is a 409 and took nothing more
    assert race.result.status == 200, race.result.body
    assert_error(reply, 409, "payment_not_reversible")
    assert PaymentModel.get(payment_id).reversal_reason == REASON
    assert len([e for e in ledger_of(paid_signup.account_id) if e.reason == "payment_reversed"]) == 1
    assert len(_mail("payment_reversed")) == 1
    assert invoice(paid_signup.invoice_id).reversals == 1
    _consistent()


def test_credits_used_while_a_reversal_reads_make_it_a_409(api: Api, paid_signup: PaidSignup) -> None:
    payment_id = _approved(api, paid_signup)
    admin = api.admin_token()
    grant = {"amount": 5, "bucket": "allowance", "reason": "goodwill"}

    def granted() -> object:
        return api.post(f"/api/v1/billing/admin/accounts/{paid_signup.account_id}/credits", grant,
                        token=admin)

    with competing_commit(granted) as race:
        reply = _reverse(api, payment_id, admin)
    assert race.result.status < 300, race.result.body
    assert_error(reply, 409, "state_conflict")
    assert PaymentModel.get(payment_id).status == "succeeded"
    assert account(paid_signup.account_id).credits == 1005
    _consistent()


def test_a_later_period_paid_must_be_reversed_first(api: Api) -> None:
    customer = Customer(api)
    first = customer.pay(customer.first_invoice["id"], ANCHOR + HOUR)
    start, _ = period(parse_stamp(_sub(customer.subscription_id).anchor), 1)
    _run(start - 7 * DAY + HOUR)
    [renewal] = _renewals(customer.subscription_id)
    customer.pay(renewal.invoice_id, start - 3 * DAY)
    with clock.travel(start - 2 * DAY), store_unchanged():
        reply = _reverse(api, first, api.admin_token())
    assert_error(reply, 409, "state_conflict")
    assert InvoiceModel.get(customer.first_invoice["id"]).status == "paid"


def test_a_reversed_topup_takes_back_what_is_left_of_its_credits_and_paying_again_grants_them(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given an active account that bought a 1000-credit pack and used 400 of its extra credits
    _approved(api, paid_signup)
    admin = api.admin_token()
    topup = api.post("/api/v1/billing/topups", {"pack": "pack_1000", "payment_method": "bank_transfer"},
                     token=paid_signup.token).body
    payment = api.confirm(paid_signup.token, topup["id"], amount="15.00", reference="BT-TOPUP-1").body["id"]
    assert api.approve(admin, payment).status == 200
    used = api.post(f"/api/v1/billing/admin/accounts/{paid_signup.account_id}/credits",
                    {"amount": -400, "bucket": "extra", "reason": "used"}, token=admin)
    assert used.status == 200, used.body
    # When the top-up's payment is reversed
    reply = _reverse(api, payment, admin)
    # Then the 600 left are taken back, the 400 used stay used; the subscription is untouched
    assert reply.status == 200, reply.body
    acc = account(paid_signup.account_id)
    assert (acc.status, acc.allowance, acc.extra) == ("active", 1000, 0)
    assert _sub(paid_signup.subscription_id).status == "active"
    assert invoice(topup["id"]).status == "pending"
    assert [m.context["past_due"] for m in _mail("payment_reversed")] == [""]
    _consistent()
    # And paying it again grants the pack again
    again = api.confirm(paid_signup.token, topup["id"], amount="15.00", reference="BT-TOPUP-2").body["id"]
    assert api.approve(admin, again).status == 200
    assert account(paid_signup.account_id).extra == 1000
    _consistent()


def test_verify_names_a_reversal_that_the_store_does_not_bear_out(api: Api, paid_signup: PaidSignup) -> None:
    from ops import integrity

    payment_id = _approved(api, paid_signup)
    assert _reverse(api, payment_id, api.admin_token()).status == 200
    _consistent()
    # A reversed payment put back to succeeded behind the app's back: its take-back has no cause
    PaymentModel(payment_id).update(actions=[PaymentModel.status.set("succeeded")])
    report = integrity.verify()
    assert not report.ok
    named = "\n".join(report.lines())
    assert f"reversal#{payment_id}: takes back for {payment_id}, which is no reversed payment" in named
    # An invoice that forgets it was reversed: its subscription is past due with nothing paid
    PaymentModel(payment_id).update(actions=[PaymentModel.status.set("reversed")])
    InvoiceModel(paid_signup.invoice_id).update(actions=[InvoiceModel.reversals.remove()])
    report = integrity.verify()
    assert [r.name for r in report.rules if not r.ok] == [
        "a subscription's periods are paid once each, contiguous from its anchor"], "\n".join(report.lines())
    assert "no paid signup invoice" in "\n".join(report.lines())
