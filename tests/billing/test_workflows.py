"""The seed card's workflows end to end, asserting the stored state of every entity they touch.

payment-workflow-quick-reference.txt: Free Trial Signup, Paid Signup, Payment Rejection (retry).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from chalicelib.storage.models.billing import InvoiceModel, PaymentModel, SubscriptionModel
from tests.conftest import ADMIN_EMAIL, BILLING_PK
from tests.helpers import (
    INVOICE_NUMBER,
    account,
    audit_of,
    invoice,
    ledger_of,
    payments_of,
)

STARTER_CREDITS = 1000


def user_id_of(api, token: str) -> str:
    return api.get("/api/v1/auth/me", token=token).body["user"]["id"]


def assert_paid_and_active(api, signup, payment_id: str, credits: int, plan: str) -> None:
    """The state after an approval: account active with the plan's credits (one ledger entry),
    subscription active with a period, invoice paid, payment succeeded, decided by the admin."""
    acct = account(signup.account_id)
    assert (acct.status, acct.credits, acct.plan, acct.pending_invoice_id) == ("active", credits,
                                                                              plan, None)
    sub = SubscriptionModel.get(signup.subscription_id, consistent_read=True)
    assert (sub.status, sub.plan) == ("active", plan)
    assert sub.current_period_start and sub.current_period_end
    assert sub.current_period_start < sub.current_period_end
    inv = invoice(signup.invoice_id)
    assert (inv.status, inv.pending_payment_id) == ("paid", None)
    assert inv.paid_at
    paid = PaymentModel.get(payment_id, consistent_read=True)
    assert (paid.status, paid.decided_by) == ("succeeded", ADMIN_EMAIL)
    assert paid.decided_at == inv.paid_at == sub.current_period_start
    ledger = ledger_of(signup.account_id)
    assert [(e.amount, e.reason, e.reference) for e in ledger] == [(credits, "plan_purchase", payment_id)]
    assert sum(e.amount for e in ledger) == acct.credits
    # And what the user sees agrees with the store
    me = api.get("/api/v1/auth/me", token=signup.token).body
    assert (me["account"]["status"], me["account"]["credits"]) == ("active", credits)
    assert me["subscription"]["status"] == "active" and me["pending_invoice"] is None


def test_free_trial_signup(api):
    # Given the catalog's free plan
    # When a user registers without choosing a plan
    reply = api.register("trial@khan.pk")
    assert reply.status == 201, reply.body
    account_id = reply.body["account"]["id"]
    user_id = reply.body["user"]["id"]
    # Then Account(status=trial, credits=1000) and no invoice or subscription
    acct = account(account_id)
    assert (acct.status, acct.credits, acct.plan) == ("trial", 1000, "free")
    assert (acct.subscription_id, acct.pending_invoice_id) == (None, None)
    assert list(InvoiceModel.by_account.query(account_id)) == []
    assert list(SubscriptionModel.scan(SubscriptionModel.account_id == account_id)) == []
    assert list(PaymentModel.by_account.query(account_id)) == []
    # And exactly one ledger entry granted those credits
    ledger = ledger_of(account_id)
    assert [(e.amount, e.reason) for e in ledger] == [(1000, "trial_grant")]
    assert sum(e.amount for e in ledger) == acct.credits
    # And the audit trail records the account's creation by its user
    assert audit_of(account_id) == [("created", None, "trial", user_id)]


def test_paid_signup_confirm_approve(api, paid_signup):
    # Given a user who registered for the starter plan
    user_id = user_id_of(api, paid_signup.token)
    acct = account(paid_signup.account_id)
    assert (acct.status, acct.credits) == ("pending_payment", 0)
    assert SubscriptionModel.get(paid_signup.subscription_id).status == "pending_payment"
    assert invoice(paid_signup.invoice_id).status == "pending"
    assert ledger_of(paid_signup.account_id) == []
    # When they pay externally and submit a confirmation
    confirmed = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-2025-001")
    assert confirmed.status == 201, confirmed.body
    payment_id = confirmed.body["id"]
    # Then Payment(pending_approval) and nothing granted yet
    assert PaymentModel.get(payment_id).status == "pending_approval"
    assert account(paid_signup.account_id).credits == 0
    # When the admin approves it
    approved = api.approve(api.admin_token(), payment_id, notes="Verified in bank statement")
    assert approved.status == 200, approved.body
    # Then Account(active) + Subscription(active) + Credits(1000), invoice paid, payment succeeded
    assert_paid_and_active(api, paid_signup, payment_id, STARTER_CREDITS, "starter")
    # And every state change is in the audit trail, the approval by the admin
    assert audit_of(paid_signup.account_id) == [
        ("created", None, "pending_payment", user_id),
        ("payment_approved", "pending_payment", "active", ADMIN_EMAIL)]
    assert audit_of(paid_signup.subscription_id) == [
        ("created", None, "pending_payment", user_id),
        ("payment_approved", "pending_payment", "active", ADMIN_EMAIL)]
    assert audit_of(paid_signup.invoice_id) == [
        ("created", None, "pending", user_id),
        ("payment_approved", "pending", "paid", ADMIN_EMAIL)]
    assert audit_of(payment_id) == [
        ("submitted", None, "pending_approval", user_id),
        ("approved", "pending_approval", "succeeded", ADMIN_EMAIL)]


def test_payment_rejection_then_retry_then_approval(api, paid_signup):
    # Given a paid signup whose first confirmation the admin rejects
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="BT-WRONG-1")
    assert first.status == 201, first.body
    rejected = api.reject(admin, first.body["id"], notes="Reference not found")
    assert rejected.status == 200, rejected.body
    # Then Payment(failed) with the admin's reason, and the invoice stays pending with nothing pending
    failed = PaymentModel.get(first.body["id"], consistent_read=True)
    assert (failed.status, failed.admin_notes, failed.decided_by) == ("failed", "Reference not found",
                                                                      ADMIN_EMAIL)
    inv = invoice(paid_signup.invoice_id)
    assert (inv.status, inv.pending_payment_id, inv.paid_at) == ("pending", None, None)
    acct = account(paid_signup.account_id)
    assert (acct.status, acct.credits, acct.pending_invoice_id) == ("pending_payment", 0,
                                                                   paid_signup.invoice_id)
    assert ledger_of(paid_signup.account_id) == []
    # When the user retries with a different reference and the admin approves
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, method="jazzcash",
                         reference="TID-883311")
    assert second.status == 201, second.body
    approved = api.approve(admin, second.body["id"])
    assert approved.status == 200, approved.body
    # Then the final state is that of a first-time approval
    assert_paid_and_active(api, paid_signup, second.body["id"], STARTER_CREDITS, "starter")
    # And the failed payment stays failed; the invoice has both payments, oldest first
    assert [(p.payment_id, p.status, p.manual_reference) for p in payments_of(paid_signup.invoice_id)] == [
        (first.body["id"], "failed", "BT-WRONG-1"), (second.body["id"], "succeeded", "TID-883311")]
    assert [a[0] for a in audit_of(first.body["id"])] == ["submitted", "rejected"]
    assert audit_of(first.body["id"])[-1] == ("rejected", "pending_approval", "failed", ADMIN_EMAIL)


def test_invoice_numbers_are_readable_and_sequential(api):
    # Given two paid signups, one after the other
    first = api.register("one@khan.pk", plan="starter").body["invoice"]
    second = api.register("two@khan.pk", plan="scale").body["invoice"]
    # Then their invoice numbers are INV-<year>-<6 digits>, this year, one apart
    numbers = [first["invoice_number"], second["invoice_number"]]
    assert all(INVOICE_NUMBER.match(n) for n in numbers), numbers
    year = str(datetime.now(timezone.utc).year)
    assert all(n.split("-")[1] == year for n in numbers)
    assert int(numbers[1].split("-")[2]) == int(numbers[0].split("-")[2]) + 1
    # And the store holds the same numbers
    assert [invoice(i["id"]).invoice_number for i in (first, second)] == numbers


def test_invoice_numbers_skip_nothing_for_rejected_signups(api):
    # Given a paid signup, then signups that are refused (duplicate email, method not offered)
    first = api.register("one@khan.pk", plan="starter").body["invoice"]["invoice_number"]
    assert api.register("one@khan.pk", plan="starter").status == 409
    assert api.register("bad@khan.pk", plan="starter", payment_method="upi").status == 422
    # When the next paid signup succeeds
    second = api.register("two@khan.pk", plan="starter").body["invoice"]["invoice_number"]
    # Then its number follows the first directly
    assert int(second.split("-")[2]) == int(first.split("-")[2]) + 1


def test_growth_signup_invoices_249_with_a_billing_snapshot_and_grants_5000(api):
    # Given a user who registers for the growth plan with billing details
    reply = api.register("growth@khan.pk", plan="growth", payment_method="easypaisa")
    assert reply.status == 201, reply.body
    token, inv = reply.body["access_token"], reply.body["invoice"]
    # Then the invoice is 249.00 USD with the billing details copied in
    assert (inv["amount"], inv["currency"], inv["plan"]) == ("249.00", "USD", "growth")
    stored = invoice(inv["id"])
    assert (stored.amount_minor, stored.plan, stored.billing_country) == (24900, "growth", "PK")
    assert stored.billing_snapshot.as_dict() == BILLING_PK
    assert stored.preferred_payment_method == "easypaisa"
    # When it is paid and approved
    paid = api.confirm(token, inv["id"], amount="249.00", method="easypaisa", reference="EP-1")
    assert paid.status == 201, paid.body
    assert api.approve(api.admin_token(), paid.body["id"]).status == 200
    # Then the account has the growth plan's 5000 credits, from one ledger entry
    acct = account(reply.body["account"]["id"])
    assert (acct.status, acct.credits, acct.plan) == ("active", 5000, "growth")
    assert [(e.amount, e.reason) for e in ledger_of(acct.account_id)] == [(5000, "plan_purchase")]
    # And the invoice still carries the snapshot taken at signup
    assert invoice(inv["id"]).billing_snapshot.as_dict() == BILLING_PK
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", invoice(inv["id"]).due_date)
