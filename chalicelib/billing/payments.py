"""Manual payments: the user confirms a transfer, an admin approves or rejects it (where approval
is decided).

Each state change is one conditional transaction; the conditions, not earlier reads, decide who
wins a race, so a second approval changes nothing and grants nothing.
"""
from __future__ import annotations

import re
from datetime import timedelta
from collections.abc import Callable
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.accounts.views import account_view
from chalicelib.billing import approval, approvers, balance, references, settlement
from chalicelib.billing.invoices import own_invoice
from chalicelib.billing.views import (customer_payment_view, invoice_view, payment_view,
                                      subscription_view)
from chalicelib.catalog.plans import offered_method
from chalicelib.core.clock import new_id, now, stamp
from chalicelib.core.errors import Conflict, Invalid, NotFound
from chalicelib.core.money import AMOUNT, parse_amount
from chalicelib.core.validation import SLUG, Bool, Text, validate
from chalicelib.notifications import messages
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import (
    PAYABLE,
    amount_due,
    InvoiceModel,
    PaymentClaimModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.store import TransactionCancelled, Tx

PENDING = "pending_approval"
CURRENCY = re.compile(r"[A-Z]{3}")


def owes(invoice: InvoiceModel) -> Any:
    """The condition that the invoice's amount due is still what was read (an invoice written
    before partial payments has none: then its status)."""
    if invoice.amount_due_minor is None:
        return InvoiceModel.amount_due_minor.does_not_exist() & (InvoiceModel.status == invoice.status)
    return InvoiceModel.amount_due_minor == invoice.amount_due_minor


CONFIRM = {
    "invoice_id": Text(required=True, max_len=64, doc="One of the caller's invoices."),
    "payment_method": Text(required=True, max_len=40, pattern=SLUG,
                           pattern_message="must be a method slug such as bank_transfer",
                           doc="A method offered in the invoice's billing country (its own or a "
                               "global one)."),
    "amount": Text(required=True, max_len=16, pattern=AMOUNT,
                   pattern_message='must be a decimal string with two decimals, e.g. "89.00"',
                   schema={"pattern": "^" + AMOUNT.pattern.replace("([0-9]{2})", "[0-9]{2}") + "$"},
                   doc='What was sent, e.g. "89.00" or "24964.50" (in `currency`): no sign, no '
                       "leading zero, two decimals, at most 10 integer digits. It must be the "
                       "amount due, or within the method's tolerance below it, unless `partial` "
                       "or `overpayment` says otherwise."),
    "currency": Text(max_len=3, pattern=CURRENCY, pattern_message="must be an ISO 4217 code such as PKR",
                     schema={"pattern": "^[A-Z]{3}$"},
                     doc="The currency sent: the invoice's (the default) or the method's, at the "
                         "rate fixed on the invoice (its `quotes`)."),
    "partial": Bool(doc="True: less than the amount due was sent, on purpose; the rest stays due."),
    "overpayment": Bool(doc="True: more than the amount due was sent; the excess goes to the "
                            "account's balance."),
    "manual_reference": Text(required=True, max_len=100, doc="The transfer's reference."),
    "manual_notes": Text(max_len=1000, multiline=True),
}


APPROVE = {"admin_notes": Text(max_len=1000, multiline=True)}


REJECT = {"admin_notes": Text(required=True, max_len=1000, multiline=True,
                              doc="The reason, shown to the user.")}


def confirm(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Record the user's confirmation of an outside payment: Payment(pending_approval)."""
    data = validate(body, CONFIRM)
    invoice = own_invoice(principal, data["invoice_id"])
    if invoice.status not in PAYABLE:
        raise Conflict(f"The invoice is {invoice.status}; only a pending invoice can be paid.",
                       code="invoice_not_pending", details={"status": invoice.status})
    if invoice.pending_payment_id:
        raise Conflict("A payment for this invoice is already awaiting approval.",
                       code="payment_already_pending",
                       details={"payment_id": invoice.pending_payment_id})
    method = offered_method(data["payment_method"], invoice.billing_country)
    if method is None:
        raise Invalid(f"The payment method '{data['payment_method']}' is not offered in "
                      f"{invoice.billing_country}.", code="method_not_offered",
                      details={"fields": {"payment_method": "not offered for your country"}})
    amount = parse_amount(data["amount"])
    measured = settlement.measure(invoice, method, amount, data["currency"], bool(data["partial"]),
                                  bool(data["overpayment"]))
    typo = references.typo_in(data["manual_reference"])
    if typo and not references.mentions(data["manual_reference"], invoice.payment_reference):
        raise Invalid(f"{typo} is not a valid payment reference (a character is wrong or two are "
                      f"swapped); this invoice's is {invoice.payment_reference}.",
                      code="payment_reference_typo",
                      details={"fields": {"manual_reference": "the payment reference has a typo"}})
    at = stamp()
    near = _near_duplicates(invoice, data["payment_method"], amount)
    payment_id, clash = new_id("pay"), None
    while True:  # at most twice: the second time as a clash with another account's payment
        payment = PaymentModel(
            payment_id, invoice_id=invoice.invoice_id, account_id=invoice.account_id,
            subscription_id=invoice.subscription_id, status=PENDING,
            payment_method=data["payment_method"], amount_minor=amount, currency=measured.currency,
            settles=measured.settles, applied_minor=measured.applied,
            written_off_minor=measured.written_off, excess_minor=measured.excess, rate=measured.rate,
            due_minor=measured.due_in_invoice_currency,
            manual_reference=data["manual_reference"], manual_notes=data["manual_notes"],
            created_at=at, queue=store.spread(PENDING, payment_id), payer_email=principal.email,
            method_name=method.display_name, invoice_reference=invoice.payment_reference,
            near_duplicate_of=near or None, resubmits=invoice.rejected_payment_id,
            resubmits_reason=invoice.rejection_reason, reference_clash_with=[clash.payment_id] if clash else None,
            claim_holder=clash.payment_id if clash else None,
            created_month=store.spread(at[:7], payment_id))
        try:
            _submit(principal, invoice, payment, clash, data["manual_notes"], at)
        except TransactionCancelled as exc:
            if "invoice" in exc.failed:
                raise Conflict("The invoice changed meanwhile: it is paid, void, or already has a "
                               "payment awaiting approval.", code="invoice_not_pending") from exc
            if "claim" in exc.failed and clash is None:
                clash = _clashing_payment(exc.items.get("claim"), invoice.account_id)
                if clash is not None:
                    continue
            if "claim" in exc.failed:
                raise Conflict("This bank transaction ID / TID was already used for another payment "
                               "with the same method. Check the TID from your bank, or contact us if you "
                               "think this is wrong.", code="duplicate_reference",
                               details={"fields": {"manual_reference": "already used with this method"}}
                               ) from exc
            raise
        return customer_payment_view(payment)


def _submit(principal: Principal, invoice: InvoiceModel, payment: PaymentModel,
            clash: PaymentModel | None, notes: str | None, at: str) -> None:
    """The confirmation's one transaction: the payment and its claim on the (method, reference)
    pair, or, when another account's payment holds the pair, both payments flagged."""
    tx = Tx()
    tx.put("payment", payment, PaymentModel.payment_id.does_not_exist())
    if clash is None:
        claim = PaymentClaimModel(claim_id(payment.payment_method, payment.manual_reference),
                                  payment_id=payment.payment_id, account_id=payment.account_id,
                                  released=False, created_at=at)
        tx.put("claim", claim, PaymentClaimModel.claim_id.does_not_exist()
               | (PaymentClaimModel.released == True), return_old=True)  # noqa: E712 - a condition
    else:  # another account holds the pair: both payments are flagged, neither is refused
        tx.update("clash", clash, [PaymentModel.reference_clash_with.set(
            [*(clash.reference_clash_with or []), payment.payment_id])],
            condition=PaymentModel.payment_id.exists())
    tx.update("invoice", invoice, [InvoiceModel.pending_payment_id.set(payment.payment_id)],
              condition=InvoiceModel.status.is_in(*PAYABLE)
              & InvoiceModel.pending_payment_id.does_not_exist()
              & (InvoiceModel.account_id == principal.account_id) & owes(invoice))
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="submitted",
              from_status=None, to_status=PENDING, actor=principal.user_id, at=at, notes=notes)
    messages.queue_payment_submitted(tx, payment=payment, invoice=invoice, at=at)
    tx.count("payments_pending_approval", 1)
    tx.commit(response=customer_payment_view(payment))


def claim_id(method: str, manual_reference: str) -> str:
    """The key of a (method, bank reference) pair: case, spaces and dashes do not matter."""
    return f"{method}#{references.compact(manual_reference)}"


def _clashing_payment(held: dict[str, Any] | None, account_id: str) -> PaymentModel | None:
    """The payment of another account holding the (method, reference) pair whose claim refused a
    confirmation (the claim as the failed condition returned it), if any; a claim of the same
    account is a 409. Read only then: a confirmation that takes the pair reads nothing for it."""
    claim = PaymentClaimModel.from_raw_data(held) if held else None
    if claim is None or claim.released or claim.account_id == account_id:
        return None
    return store.get(PaymentModel, claim.payment_id, consistent=True)


NEAR_DUPLICATE_WINDOW = timedelta(hours=24)


def _near_duplicates(invoice: InvoiceModel, method: str, amount: int) -> list[str]:
    """The account's payments of the last 24 h with the same method and amount (flagged to the
    admin, not refused), but for the invoice's rejected ones: after those it is a resubmission
    (the payment's `resubmits`, from the invoice)."""
    since = stamp(now() - NEAR_DUPLICATE_WINDOW)
    with store.guard():
        recent = PaymentModel.by_account.query(
            invoice.account_id, PaymentModel.created_at >= since,
            filter_condition=(PaymentModel.payment_method == method)
            & (PaymentModel.amount_minor == amount))
        return [payment.payment_id for payment in recent
                if not (payment.invoice_id == invoice.invoice_id and payment.status == "failed")]


def pending_payment(payment_id: str) -> PaymentModel:
    payment = store.get(PaymentModel, payment_id)
    if payment is None:
        raise NotFound("No such payment.", code="payment_not_found")
    if payment.status != PENDING:
        raise _already_decided(payment.status)
    return payment


def _already_decided(status: str) -> Conflict:
    return Conflict(f"The payment was already decided ({status}); only a payment awaiting "
                    "approval can be approved or rejected.", code="payment_not_pending",
                    details={"status": status})


def _decide_payment(tx: Tx, payment: PaymentModel, status: str, admin: Principal, notes: str | None,
                    at: str) -> None:
    tx.update("payment", payment,
              [PaymentModel.status.set(status), PaymentModel.decided_at.set(at),
               PaymentModel.decided_by.set(admin.email), PaymentModel.admin_notes.set(notes),
               PaymentModel.queue.remove()],
              condition=PaymentModel.status == PENDING)
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id,
              action="approved" if status == "succeeded" else "rejected", from_status=PENDING,
              to_status=status, actor=admin.email, at=at, notes=notes)
    payment.status, payment.decided_at, payment.decided_by = status, at, admin.email
    payment.admin_notes, payment.queue = notes, None


def _commit_decision(tx: Tx, response: dict[str, Any],
                     conflicts: dict[str, Conflict] | None = None) -> dict[str, Any]:
    try:
        tx.commit(response=response)
    except TransactionCancelled as exc:
        for label, conflict in (conflicts or {}).items():
            if label in exc.failed:
                raise conflict from exc
        if "payment" in exc.failed:
            raise Conflict("The payment was decided meanwhile; nothing was changed.",
                           code="payment_not_pending") from exc
        raise Conflict("The invoice, subscription or account changed meanwhile; nothing was "
                       "changed.", code="state_conflict", details={"failed": exc.failed}) from exc
    return response


def records_of(payment: PaymentModel) -> tuple[InvoiceModel, SubscriptionModel, AccountModel]:
    """The payment's invoice, subscription and account, read together (409 if one is missing)."""
    invoice, subscription, account = store.transact_get(
        (InvoiceModel, payment.invoice_id), (SubscriptionModel, payment.subscription_id),
        (AccountModel, payment.account_id))
    if invoice is None or subscription is None or account is None:
        raise Conflict("The payment's invoice, subscription or account is missing.",
                       code="state_conflict")
    return invoice, subscription, account


def decide_approval(admin: Principal, payment: PaymentModel, notes: str | None, *,
                    recorded: bool = False,
                    extend: Callable[[Tx], dict[str, Any]] | None = None,
                    conflicts: dict[str, Conflict] | None = None) -> dict[str, Any]:
    """Approve `payment` in one transaction: a pending confirmation, or (`recorded`) a payment
    that no one confirmed, written now as succeeded (a bank statement line's). `extend` adds more
    to the same transaction and returns what to add to the answer; `conflicts` says what to
    answer when one of its items' conditions fails."""
    invoice, subscription, account = records_of(payment)
    moment = now()
    at = stamp(moment)
    owed = amount_due(invoice)
    if recorded and invoice.status not in PAYABLE:
        raise Conflict(f"The invoice is {invoice.status}; only a pending invoice can be paid.",
                       code="invoice_not_pending", details={"status": invoice.status})
    if payment.due_minor is not None and payment.due_minor != owed:
        raise Conflict("The invoice's amount due changed since this payment was confirmed.",
                       code="state_conflict")
    approval.payable(invoice, subscription)
    tx = Tx()
    if recorded:
        _record_payment(tx, payment, admin, notes, at)
    else:
        _decide_payment(tx, payment, "succeeded", admin, notes, at)
        tx.count("payments_pending_approval", -1)
        if approvers.needs_two(payment):  # the second approval, by another admin than the first
            if not payment.first_approved_by or payment.first_approved_by == admin.email:
                raise approvers.second_approver_required(payment)
            tx.update("payment", payment, [], condition=(
                PaymentModel.first_approved_by == payment.first_approved_by))
    part = payment.settles == settlement.PARTIAL
    read_due = owes(invoice)  # as read, before the changes below
    applied = payment.applied_minor if payment.applied_minor is not None else owed
    written_off = payment.written_off_minor or 0
    was = invoice.status
    invoice.amount_due_minor = 0 if not part else owed - applied
    invoice.amount_paid_minor = (invoice.amount_paid_minor or 0) + applied
    invoice.written_off_minor = (invoice.written_off_minor or 0) + written_off
    invoice.balance_applied_minor = invoice.balance_applied_minor or 0
    invoice.pending_payment_id = None
    actions = [InvoiceModel.amount_due_minor.set(invoice.amount_due_minor),
               InvoiceModel.amount_paid_minor.set(invoice.amount_paid_minor),
               InvoiceModel.written_off_minor.set(invoice.written_off_minor),
               InvoiceModel.balance_applied_minor.set(invoice.balance_applied_minor),
               InvoiceModel.pending_payment_id.remove()]
    if part:
        invoice.status = "partially_paid"
        actions.append(InvoiceModel.status.set("partially_paid"))
    else:
        invoice.status, invoice.paid_at = "paid", at
        actions += [InvoiceModel.status.set("paid"), InvoiceModel.paid_at.set(at),
                    InvoiceModel.open.remove()]
    pending = (InvoiceModel.pending_payment_id.does_not_exist() if recorded
               else InvoiceModel.pending_payment_id == payment.payment_id)
    tx.update("invoice", invoice, actions,
              condition=InvoiceModel.status.is_in(*PAYABLE) & pending & read_due)
    add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id,
              action="part_payment_approved" if part else "payment_approved", from_status=was,
              to_status=invoice.status, actor=admin.email, at=at, notes=notes)
    more = extend(tx) if extend is not None else {}
    if part:
        messages.queue_part_payment_approved(tx, payment=payment, invoice=invoice, at=at)
        return _commit_decision(tx, {
            "payment": payment_view(payment), "invoice": invoice_view(invoice),
            "subscription": subscription_view(subscription), "account": account_view(account),
            **more}, conflicts)
    period_end = approval.apply(tx, payment, invoice, subscription, account, admin.email, moment,
                                notes)
    balance.credit(tx, account_id=account.account_id, subscription_id=subscription.subscription_id,
                   amount=payment.excess_minor or 0, currency=invoice.currency,
                   entry_id=f"overpayment#{payment.payment_id}", reason=balance.OVERPAYMENT,
                   reference=payment.payment_id, actor=admin.email, at=at)
    account.balance_minor = balance.of(account) + balance.added(tx, account.account_id)
    later = invoice.kind == "renewal" and subscription.period != invoice.period
    messages.queue_payment_approved(tx, payment=payment, invoice=invoice, period_end=period_end,
                                    at=at, starts_on=invoice.period_start if later else None)
    return _commit_decision(tx, {
        "payment": payment_view(payment), "invoice": invoice_view(invoice),
        "subscription": subscription_view(subscription), "account": account_view(account),
        **more}, conflicts)


def _record_payment(tx: Tx, payment: PaymentModel, admin: Principal, notes: str | None,
                    at: str) -> None:
    """Write a payment that arrives approved (no one confirmed it): recorded, then approved."""
    payment.status, payment.decided_at, payment.decided_by = "succeeded", at, admin.email
    payment.admin_notes, payment.queue = notes, None
    tx.put("payment", payment, PaymentModel.payment_id.does_not_exist())
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="recorded",
              from_status=None, to_status=PENDING, actor=admin.email, at=at, notes=notes)
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="approved",
              from_status=PENDING, to_status="succeeded", actor=admin.email, at=at, notes=notes)


def reject(admin: Principal, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Payment failed with the admin's reason; the invoice stays pending so the user can retry."""
    notes = validate(body, REJECT)["admin_notes"]
    payment = pending_payment(payment_id)
    invoice = store.get(InvoiceModel, payment.invoice_id)
    if invoice is None:
        raise Conflict("The payment's invoice is missing.", code="state_conflict")
    at = stamp()
    tx = Tx()
    _decide_payment(tx, payment, "failed", admin, notes, at)
    tx.update("invoice", invoice, [InvoiceModel.pending_payment_id.remove(),
                                   InvoiceModel.rejected_payment_id.set(payment.payment_id),
                                   InvoiceModel.rejection_reason.set(notes)],
              condition=InvoiceModel.pending_payment_id == payment.payment_id)
    # A failed payment frees its (method, reference) pair for a corrected resubmission (a payment
    # that clashed with another account's holds no claim: that one keeps it).
    claim = PaymentClaimModel(claim_id(payment.payment_method, payment.manual_reference))
    if payment.claim_holder is None:
        tx.update("claim", claim, [PaymentClaimModel.released.set(True),
                                   PaymentClaimModel.payment_id.set(payment.payment_id),
                                   PaymentClaimModel.account_id.set(payment.account_id),
                                   PaymentClaimModel.created_at.set(at)],
                  condition=PaymentClaimModel.claim_id.does_not_exist()
                  | (PaymentClaimModel.payment_id == payment.payment_id))
    tx.count("payments_pending_approval", -1)
    messages.queue_payment_rejected(tx, payment=payment, invoice=invoice, at=at)
    invoice.pending_payment_id = None
    invoice.rejected_payment_id, invoice.rejection_reason = payment.payment_id, notes
    return _commit_decision(tx, {"payment": payment_view(payment), "invoice": invoice_view(invoice)})
