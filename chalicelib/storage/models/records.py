"""Append-only and aggregate tables: the credit ledger, audit events, status counters."""
from __future__ import annotations

from pynamodb.attributes import (
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta
from chalicelib.storage.models.base import CreatedMonthIndex, LedgerMonthIndex


class LedgerTimeIndex(GlobalSecondaryIndex["CreditLedgerModel"]):
    """An account's entries in the order they were written (`ordered_at`: time, then position)."""

    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    ordered_at = UnicodeAttribute(range_key=True)


class CreditLedgerModel(Model):
    """Append-only credit entries; `entry_id` is derived from the cause, so a grant exists once."""

    class Meta(TableMeta):
        entity = "credit_ledger"

    account_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    amount = IntegerAttribute()
    bucket = UnicodeAttribute(null=True)  # allowance | extra; None (written before buckets) = allowance
    reason = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)
    actor = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # The account's credits just after this entry, and its place in the account's order (entries
    # written before these have neither, and are not in the time index).
    balance_after = IntegerAttribute(null=True)
    ordered_at = UnicodeAttribute(null=True)
    # A consumption: what it took from each bucket, the allowance it took from (`allowance_since`),
    # its request's fingerprint and its response (a replay answers that).
    taken_allowance = IntegerAttribute(null=True)
    taken_extra = IntegerAttribute(null=True)
    allowance_since = UnicodeAttribute(null=True)
    fingerprint = UnicodeAttribute(null=True)
    response = UnicodeAttribute(null=True)
    created_month = UnicodeAttribute(null=True)  # LedgerMonthIndex: `<YYYY-MM>#<n>` of created_at
    by_time = LedgerTimeIndex()
    by_created_month = LedgerMonthIndex()


class AuditEventModel(Model):
    """One state change of one entity: who, when, from → to, notes."""

    class Meta(TableMeta):
        entity = "audit_events"

    entity_id = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    entity_type = UnicodeAttribute()
    action = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    actor = UnicodeAttribute()
    notes = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


class CounterModel(Model):
    """Counters: invoice number sequences and the sharded status summary."""

    class Meta(TableMeta):
        entity = "counters"

    counter_id = UnicodeAttribute(hash_key=True)
    value = IntegerAttribute(null=True)
    accounts_trial = IntegerAttribute(null=True)
    accounts_pending_payment = IntegerAttribute(null=True)
    accounts_active = IntegerAttribute(null=True)
    accounts_suspended = IntegerAttribute(null=True)
    accounts_past_due = IntegerAttribute(null=True)
    accounts_expired = IntegerAttribute(null=True)
    accounts_cancelled = IntegerAttribute(null=True)
    payments_pending_approval = IntegerAttribute(null=True)
    plans_configured = IntegerAttribute(null=True)
    payment_methods_enabled = IntegerAttribute(null=True)


class MoneyLedgerModel(Model):
    """An account's money balance, entry by entry (`balance_minor` = the sum of `amount_minor`):
    an overpayment's excess in, the paid part of a voided invoice in, an application to an invoice
    out. `entry_id` derives from the cause, so each is written once."""

    class Meta(TableMeta):
        entity = "money_ledger"

    account_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    amount_minor = IntegerAttribute()
    currency = UnicodeAttribute()
    reason = UnicodeAttribute()  # overpayment | invoice_voided | applied_to_invoice
    reference = UnicodeAttribute()  # the payment or invoice
    actor = UnicodeAttribute()
    created_at = UnicodeAttribute()
    created_month = UnicodeAttribute(null=True)  # CreatedMonthIndex: `<YYYY-MM>#<n>` of created_at
    by_created_month = CreatedMonthIndex()


class FxRateModel(Model):
    """Exchange rates: `partition` "current" holds one item per currency (`key` = the currency);
    `history#<currency>` every change (`key` = time#id) with who made it, old → new."""

    class Meta(TableMeta):
        entity = "fx_rates"

    partition = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    currency = UnicodeAttribute()
    rate = UnicodeAttribute()  # units of `currency` per 1 unit of `base`, a decimal string
    base = UnicodeAttribute()
    old_rate = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()
