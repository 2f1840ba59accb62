"""Tables of what is owed and paid: subscriptions, invoices, payments, bank-reference claims."""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
)
from pynamodb.models import Model

from chalicelib.storage.models.base import CreatedMonthIndex, IntegerAttribute, TableMeta


class SweepIndex(GlobalSecondaryIndex[Any]):
    """Sparse and sharded (`due#<n>`): what the billing jobs must look at, by when (`sweep_at`)."""

    class Meta:
        index_name = "due_by_time"
        projection = AllProjection()

    sweep = UnicodeAttribute(hash_key=True)
    sweep_at = UnicodeAttribute(range_key=True)


SWEEP = "due"  # the prefix of `sweep` (a subscription's or a trial account's next time-driven step)


class SubscriptionModel(Model):
    """An account's subscription to a paid plan."""

    class Meta(TableMeta):
        entity = "subscriptions"

    subscription_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    plan = UnicodeAttribute()
    status = UnicodeAttribute()
    current_period_start = UnicodeAttribute(null=True)
    current_period_end = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # The periods: calendar months from `anchor` (the first approval); `period` is the current
    # one's number (0 first), `paid_through` the highest period number paid for.
    anchor = UnicodeAttribute(null=True)
    period = IntegerAttribute(null=True)
    paid_through = IntegerAttribute(null=True)
    cancel_at_period_end = BooleanAttribute(default=False)
    scheduled_plan = UnicodeAttribute(null=True)
    renewal_invoice_id = UnicodeAttribute(null=True)
    renewal_revision = IntegerAttribute(default=0)
    upgrade_invoice_id = UnicodeAttribute(null=True)
    past_due_at = UnicodeAttribute(null=True)
    # Set by every change that puts money into the account's balance, so that issuing a renewal
    # reads the account (to apply the balance) only when there may be one.
    balance_pending = BooleanAttribute(null=True)
    # Raised by every change of the lifecycle: each change is conditional on the version it read.
    version = IntegerAttribute(null=True)
    # What the subscription counts in MRR (its plan's monthly price) while it is active or past due;
    # None otherwise (chalicelib.reports.aggregates keeps it and the monthly figures together).
    mrr_minor = IntegerAttribute(null=True)
    # What the renewal invoices copy (the first invoice's billing details and method).
    billing_snapshot = MapAttribute(default=dict)
    billing_country = UnicodeAttribute(null=True)
    preferred_payment_method = UnicodeAttribute(null=True)
    # Sparse: a subscription with something time-driven ahead carries its shard and when.
    sweep = UnicodeAttribute(null=True)
    sweep_at = UnicodeAttribute(null=True)
    due_by_time = SweepIndex()


class ByAccountIndex(GlobalSecondaryIndex[Any]):
    """An account's items, by creation time."""

    class Meta:
        index_name = "by_account"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class InvoiceReferenceIndex(GlobalSecondaryIndex["InvoiceModel"]):
    """An invoice by its payment reference (what the payer writes in the transfer)."""

    class Meta:
        index_name = "by_reference"
        projection = AllProjection()

    payment_reference = UnicodeAttribute(hash_key=True)


class InvoiceNumberIndex(GlobalSecondaryIndex["InvoiceModel"]):
    """An invoice by its number (INV-2026-000123), for the admin's account search."""

    class Meta:
        index_name = "by_number"
        projection = AllProjection()

    invoice_number = UnicodeAttribute(hash_key=True)


class OpenInvoicesIndex(GlobalSecondaryIndex["InvoiceModel"]):
    """Sparse and sharded: only unpaid invoices carry `open` (`open#<n>`), by due date (the
    reminder and expiry jobs, the renewal list)."""

    class Meta:
        index_name = "open_by_due_date"
        projection = AllProjection()

    open = UnicodeAttribute(hash_key=True)
    due_date = UnicodeAttribute(range_key=True)


OPEN_INVOICE = "open"  # the prefix of an unpaid invoice's `open` (OpenInvoicesIndex; store.spread)


class QuoteMap(MapAttribute[str, Any]):
    """An invoice's amount in a local currency, fixed at issue."""

    currency = UnicodeAttribute()
    amount_minor = IntegerAttribute()
    rate = UnicodeAttribute()


PAYABLE = ("pending", "partially_paid")  # invoice states a payment can be confirmed for


def worth(payment: "PaymentModel") -> int:
    """What the payment brings, in the invoice's currency (a local payment at its quote's rate)."""
    if payment.applied_minor is None:
        return payment.amount_minor
    return payment.applied_minor + (payment.excess_minor or 0)


def amount_due(invoice: "InvoiceModel") -> int:
    """What is still owed on the invoice (items written before partial payments: all or nothing)."""
    if invoice.amount_due_minor is not None:
        return invoice.amount_due_minor
    return invoice.amount_minor if invoice.status in PAYABLE else 0


class InvoiceModel(Model):
    """An invoice; `pending_payment_id` is set while a payment awaits approval."""

    class Meta(TableMeta):
        entity = "invoices"

    invoice_id = UnicodeAttribute(hash_key=True)
    invoice_number = UnicodeAttribute()
    account_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    status = UnicodeAttribute()
    amount_minor = IntegerAttribute()
    currency = UnicodeAttribute()
    plan = UnicodeAttribute()
    plan_credits = IntegerAttribute()
    billing_snapshot = MapAttribute(default=dict)
    billing_country = UnicodeAttribute()
    preferred_payment_method = UnicodeAttribute(null=True)
    due_date = UnicodeAttribute()
    created_at = UnicodeAttribute()
    paid_at = UnicodeAttribute(null=True)
    pending_payment_id = UnicodeAttribute(null=True)
    # The invoice's last rejected payment and the admin's reason (a new confirmation resubmits it).
    rejected_payment_id = UnicodeAttribute(null=True)
    rejection_reason = UnicodeAttribute(null=True)
    payment_reference = UnicodeAttribute(null=True)
    open = UnicodeAttribute(null=True)
    reminded_at = UnicodeAttribute(null=True)
    voided_at = UnicodeAttribute(null=True)
    # signup (None in items written before kinds) | renewal | upgrade | topup
    kind = UnicodeAttribute(null=True)
    period = IntegerAttribute(null=True)
    period_start = UnicodeAttribute(null=True)
    period_end = UnicodeAttribute(null=True)
    upgrade_credits = IntegerAttribute(null=True)
    # Money: amount = amount_paid + written_off + balance_applied + amount_due (minor units of
    # `currency`; None in items written before partial payments: all due while open, all paid once
    # paid). `quotes`: the exact amount in each local currency its country's methods use, fixed at
    # issue: [{"currency", "amount_minor", "rate"}] (rate: a decimal string).
    amount_due_minor = IntegerAttribute(null=True)
    amount_paid_minor = IntegerAttribute(null=True)
    written_off_minor = IntegerAttribute(null=True)
    balance_applied_minor = IntegerAttribute(null=True)
    quotes = ListAttribute(of=QuoteMap, null=True)
    # Reversals: how many times a payment of this paid invoice was reversed (the grants of each
    # new payment after one get their own entry ids), and the credits the last one took back of a
    # renewal's period (given back when the invoice is paid again).
    reversals = IntegerAttribute(null=True)
    credits_taken_back = IntegerAttribute(null=True)
    created_month = UnicodeAttribute(null=True)  # CreatedMonthIndex: `<YYYY-MM>#<n>` of created_at
    by_account = ByAccountIndex()
    by_reference = InvoiceReferenceIndex()
    by_number = InvoiceNumberIndex()
    open_by_due_date = OpenInvoicesIndex()
    by_created_month = CreatedMonthIndex()


class ByInvoiceIndex(GlobalSecondaryIndex["PaymentModel"]):
    """An invoice's payments, by creation time."""

    class Meta:
        index_name = "by_invoice"
        projection = AllProjection()

    invoice_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApprovalQueueIndex(GlobalSecondaryIndex["PaymentModel"]):
    """Sparse and sharded: only payments awaiting approval carry `queue`
    (`pending_approval#<n>`); oldest first."""

    class Meta:
        index_name = "approval_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    """A payment confirmation submitted by a user and decided by an admin."""

    class Meta(TableMeta):
        entity = "payments"

    payment_id = UnicodeAttribute(hash_key=True)
    invoice_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    status = UnicodeAttribute()
    payment_method = UnicodeAttribute()
    amount_minor = IntegerAttribute()
    currency = UnicodeAttribute()
    manual_reference = UnicodeAttribute()
    manual_notes = UnicodeAttribute(null=True)
    admin_notes = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    decided_at = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)
    queue = UnicodeAttribute(null=True)
    payer_email = UnicodeAttribute(null=True)
    method_name = UnicodeAttribute(null=True)
    invoice_reference = UnicodeAttribute(null=True)
    near_duplicate_of = ListAttribute(of=UnicodeAttribute, null=True)
    # The invoice's payment rejected last before this one was confirmed, and the admin's reason.
    resubmits = UnicodeAttribute(null=True)
    resubmits_reason = UnicodeAttribute(null=True)
    # Payments of other accounts with the same (method, bank reference): flagged for the admin
    reference_clash_with = ListAttribute(of=UnicodeAttribute, null=True)
    # Set on a payment accepted while another account's payment held its (method, reference)
    # pair: that payment, which keeps the claim (this one holds none, and frees none if rejected).
    claim_holder = UnicodeAttribute(null=True)
    sla_alerted_at = UnicodeAttribute(null=True)
    proof_upload_key = UnicodeAttribute(null=True)
    proof_key = UnicodeAttribute(null=True)
    proof_content_type = UnicodeAttribute(null=True)
    proof_size = IntegerAttribute(null=True)
    proof_uploaded_at = UnicodeAttribute(null=True)
    # What the payment settles, decided at confirmation against the invoice's amount due (in the
    # invoice's currency): `settles` full | partial | overpayment; `applied_minor` pays the invoice,
    # `written_off_minor` is the shortfall within the method's tolerance, `excess_minor` goes to
    # the account's balance; `rate` the quote's when paid in a local currency. None: full, exact.
    settles = UnicodeAttribute(null=True)
    applied_minor = IntegerAttribute(null=True)
    written_off_minor = IntegerAttribute(null=True)
    excess_minor = IntegerAttribute(null=True)
    rate = UnicodeAttribute(null=True)
    due_minor = IntegerAttribute(null=True)  # the invoice's amount due it was measured against
    # How the payment came: None (the payer confirmed it) or "statement" (an admin applied a bank
    # statement line for a payer who never confirmed); the line an approval came from.
    source = UnicodeAttribute(null=True)
    statement_line_id = UnicodeAttribute(null=True)
    # The first of two approvals of a payment worth more than SECOND_APPROVAL_ABOVE.
    first_approved_by = UnicodeAttribute(null=True)
    first_approved_at = UnicodeAttribute(null=True)
    # A succeeded payment found false later (bounced, charged back): status `reversed`, by an owner.
    reversed_at = UnicodeAttribute(null=True)
    reversed_by = UnicodeAttribute(null=True)
    reversal_reason = UnicodeAttribute(null=True)
    created_month = UnicodeAttribute(null=True)  # CreatedMonthIndex: `<YYYY-MM>#<n>` of created_at
    by_account = ByAccountIndex()
    by_invoice = ByInvoiceIndex()
    approval_queue = ApprovalQueueIndex()
    by_created_month = CreatedMonthIndex()


class PaymentClaimModel(Model):
    """A (method, bank reference) pair in use by a payment that has not failed: a second payment
    cannot claim it. `claim_id` is `<method>#<reference, upper case, no spaces or dashes>`."""

    class Meta(TableMeta):
        entity = "payment_claims"

    claim_id = UnicodeAttribute(hash_key=True)
    payment_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    released = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
