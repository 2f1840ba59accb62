"""What an admin does with a statement line: apply it (once, ever) or ignore it with a reason.

Applying a line approves the invoice's pending confirmation through the payment approval's own
transaction (payments.decide_approval), the line's change in the same transaction, conditional on
the line not being applied yet: two admins clicking at once approve once. When the payer never
confirmed, the payment is recorded from the line (`source: "statement"`) and approved in that
same transaction. The bank's amount is what was paid: when it differs from the confirmation's,
the payment is measured again from the line (partial, within tolerance, or over, by the money
rules), and the difference is named in the approval's notes.
"""
from __future__ import annotations

from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import WithStatus, with_status
from chalicelib.billing.views import approvals_view, payment_view
from chalicelib.billing import approvers, payments, references, settlement
from chalicelib.billing.payments import PENDING
from chalicelib.catalog.plans import enabled_methods
from chalicelib.core.clock import new_id, stamp
from chalicelib.core.errors import AppError, Conflict, Invalid, NotFound
from chalicelib.core.validation import validate
from chalicelib.statements import matching
from chalicelib.statements.fields import APPLY, IGNORE
from chalicelib.statements.views import amount_text, get_statement, line_view
from chalicelib.storage import store
from chalicelib.storage.audit import add_audit
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.billing import PAYABLE, InvoiceModel, PaymentModel
from chalicelib.storage.models.catalog import PaymentMethodModel
from chalicelib.storage.models.statements import StatementLineModel
from chalicelib.storage.store import Tx

APPLICABLE = (matching.MATCHED, matching.SUGGESTED, matching.UNMATCHED, matching.IGNORED)
IGNORABLE = (matching.MATCHED, matching.SUGGESTED, matching.UNMATCHED)


def get_line(line_id: str) -> StatementLineModel:
    line = store.get(StatementLineModel, line_id) if line_id.startswith("sl_") else None
    if line is None or line.statement_id is None:
        raise NotFound("No such statement line.", code="statement_line_not_found")
    return line


def _applied_already(line: StatementLineModel) -> Conflict:
    return Conflict("This statement line was already applied; a line pays once.",
                    code="line_already_applied", details={"payment_id": line.payment_id})


def apply_line(admin: Principal, line_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Approve the line's confirmation, or record and approve a payment from it; once, ever."""
    data = validate(body, APPLY)
    return apply(admin, get_line(line_id), data["invoice_id"])


def apply(admin: Principal, line: StatementLineModel, invoice_id: str | None = None) -> dict[str, Any]:
    if line.status == matching.APPLIED:
        raise _applied_already(line)
    if (line.amount_minor or 0) <= 0:
        raise Conflict("This line is money going out; only money coming in pays an invoice.",
                       code="line_not_a_credit")
    match = plain(line.match)
    target = invoice_id or match.get("invoice_id")
    if not target:
        raise Invalid("This line matched no invoice: say which invoice it pays (invoice_id).",
                      code="validation_failed",
                      details={"fields": {"invoice_id": "required for a line without a match"}})
    invoice = store.get(InvoiceModel, target)
    if invoice is None:
        raise NotFound("No such invoice.", code="invoice_not_found")
    if invoice.status not in PAYABLE:
        raise Conflict(f"The invoice is {invoice.status}; only a pending invoice can be paid.",
                       code="invoice_not_pending", details={"status": invoice.status})
    at = stamp()
    notes = (f"Statement line {line.line_id} ({line.booked_at}, "
             f"{amount_text(line.amount_minor, line.currency)} {line.currency}"
             + (f", bank reference {line.bank_reference}" if line.bank_reference else "") + ")")
    amended: list[Any] = []
    if invoice.pending_payment_id:
        payment = store.get(PaymentModel, invoice.pending_payment_id)
        if payment is None or payment.status != PENDING:
            raise Conflict("The invoice's pending payment changed meanwhile.", code="state_conflict")
        if (payment.amount_minor, payment.currency) != (line.amount_minor, line.currency):
            method = _method(invoice, payment.payment_method)
            notes += (f"; confirmed as {amount_text(payment.amount_minor, payment.currency)} "
                      f"{payment.currency}, the bank's amount counts")
            amended = _measure_into(payment, invoice, method, line)
        recorded = False
    else:
        method = _method_for_line(invoice, line)
        payment_id = new_id("pay")
        payment = PaymentModel(
            payment_id, invoice_id=invoice.invoice_id, account_id=invoice.account_id,
            subscription_id=invoice.subscription_id, status=PENDING,
            payment_method=method.payment_method, amount_minor=line.amount_minor,
            currency=line.currency, manual_reference=line.bank_reference or line.line_id,
            created_at=at, payer_email=plain(invoice.billing_snapshot).get("billing_email"),
            method_name=method.display_name, invoice_reference=invoice.payment_reference,
            source="statement", created_month=store.spread(at[:7], payment_id))
        _measure_into(payment, invoice, method, line)
        recorded = True
    payment.statement_line_id = line.line_id
    approvers.not_their_own(admin, payment)
    if approvers.needs_two(payment):
        if recorded or not payment.first_approved_by:
            return _first_of_two(admin, line, payment, invoice, notes, recorded, amended, at)
        if payment.first_approved_by == admin.email:
            raise approvers.second_approver_required(payment)
    extend = line_applied(admin, line, payment, invoice, at, amended=amended,
                          named=not recorded)
    return payments.decide_approval(admin, payment, notes, recorded=recorded, extend=extend,
                                    conflicts={"line": _applied_already(line)})


def line_applied(admin: Principal, line: StatementLineModel, payment: PaymentModel,
                 invoice: InvoiceModel, at: str, *, amended: list[Any] = (),  # type: ignore[assignment]
                 named: bool = True) -> Any:
    """What applying the line adds to its payment's approval: the line applied (conditional on
    its not being applied), the payment naming it (`named`: an existing payment)."""
    was = line.status

    def extend(tx: Tx) -> dict[str, Any]:
        tx.update("line", line, [StatementLineModel.status.set(matching.APPLIED),
                                 StatementLineModel.payment_id.set(payment.payment_id),
                                 StatementLineModel.decided_at.set(at),
                                 StatementLineModel.decided_by.set(admin.email)],
                  condition=StatementLineModel.status.is_in(*APPLICABLE))
        if named:
            tx.update("payment", payment,
                      [PaymentModel.statement_line_id.set(line.line_id), *amended])
        add_audit(tx, entity_type="statement_line", entity_id=line.line_id, action="applied",
                  from_status=was, to_status=matching.APPLIED, actor=admin.email, at=at,
                  notes=f"payment {payment.payment_id} for invoice {invoice.invoice_number}")
        line.status, line.payment_id = matching.APPLIED, payment.payment_id
        line.decided_at, line.decided_by = at, admin.email
        return {"line": line_view(line)}
    return extend


def second_approval_of(admin: Principal, payment: PaymentModel) -> Any:
    """For the approval queue: the line a payment awaiting its second approval came from, applied
    in that approval's transaction (None when it has no line, or the line is applied)."""
    line = store.get(StatementLineModel, payment.statement_line_id) if payment.statement_line_id else None
    if line is None or line.status == matching.APPLIED:
        return None
    invoice = store.get(InvoiceModel, payment.invoice_id)
    return line_applied(admin, line, payment, invoice, stamp(), named=False)


def _first_of_two(admin: Principal, line: StatementLineModel, payment: PaymentModel,
                  invoice: InvoiceModel, notes: str, recorded: bool, amended: list[Any],
                  at: str) -> WithStatus:
    """A payment worth more than SECOND_APPROVAL_ABOVE: this admin's approval is the first of
    two; the payment (recorded from the line when no one confirmed it) waits in the approval
    queue for another admin, and the line is applied with that second approval."""
    tx = Tx()
    payment.first_approved_by, payment.first_approved_at = admin.email, at
    if recorded:
        payment.queue = store.spread(PENDING, payment.payment_id)
        tx.put("payment", payment, PaymentModel.payment_id.does_not_exist())
        tx.update("invoice", invoice, [InvoiceModel.pending_payment_id.set(payment.payment_id)],
                  condition=InvoiceModel.status.is_in(*PAYABLE)
                  & InvoiceModel.pending_payment_id.does_not_exist() & payments.owes(invoice))
        add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="recorded",
                  from_status=None, to_status=PENDING, actor=admin.email, at=at, notes=notes)
        tx.count("payments_pending_approval", 1)
    else:
        tx.update("payment", payment, [PaymentModel.first_approved_by.set(admin.email),
                                       PaymentModel.first_approved_at.set(at),
                                       PaymentModel.statement_line_id.set(line.line_id), *amended],
                  condition=(PaymentModel.status == PENDING)
                  & PaymentModel.first_approved_by.does_not_exist())
    add_audit(tx, entity_type="payment", entity_id=payment.payment_id, action="first_approval",
              from_status=PENDING, to_status=PENDING, actor=admin.email, at=at, notes=notes)
    tx.update("line", line, [StatementLineModel.payment_id.set(payment.payment_id)],
              condition=StatementLineModel.status.is_in(*APPLICABLE)
              & StatementLineModel.payment_id.does_not_exist())
    line.payment_id = payment.payment_id
    response = {"line": line_view(line), "payment": payment_view(payment),
                "approvals": approvals_view(payment), "approvals_required": 2}
    with_status(202)
    try:
        tx.commit(response=response)
    except store.TransactionCancelled as exc:
        raise Conflict("The line, its invoice or its payment changed meanwhile; look at it again.",
                       code="state_conflict", details={"failed": exc.failed}) from exc
    return WithStatus(202, response)


def _measure_into(payment: PaymentModel, invoice: InvoiceModel, method: PaymentMethodModel,
                  line: StatementLineModel) -> list[Any]:
    """Set what the line's amount settles on `payment` (422 when its currency cannot pay the
    invoice); the update actions that say so."""
    full = settlement.measure(invoice, method, line.amount_minor, line.currency, False, False,
                              infer=True)
    payment.amount_minor, payment.currency, payment.settles = line.amount_minor, full.currency, full.settles
    payment.applied_minor, payment.written_off_minor = full.applied, full.written_off
    payment.excess_minor, payment.rate, payment.due_minor = full.excess, full.rate, full.due_in_invoice_currency
    return [PaymentModel.amount_minor.set(payment.amount_minor),
            PaymentModel.currency.set(payment.currency), PaymentModel.settles.set(payment.settles),
            PaymentModel.applied_minor.set(payment.applied_minor),
            PaymentModel.written_off_minor.set(payment.written_off_minor),
            PaymentModel.excess_minor.set(payment.excess_minor),
            PaymentModel.rate.set(payment.rate) if payment.rate else PaymentModel.rate.remove(),
            PaymentModel.due_minor.set(payment.due_minor)]


def _method(invoice: InvoiceModel, slug: str) -> PaymentMethodModel:
    methods = enabled_methods(invoice.billing_country)
    found = [m for m in methods if m.payment_method == slug]
    if not found:
        raise Conflict(f"The payment method {slug} is no longer offered.", code="state_conflict")
    return found[-1]  # the country's own before the global one


def _method_for_line(invoice: InvoiceModel, line: StatementLineModel) -> PaymentMethodModel:
    """The method the money came by: the one whose account the statement is of, else one in the
    line's currency (the invoice's preferred one first), else the invoice's preferred one."""
    methods = list(reversed(enabled_methods(invoice.billing_country)))  # the country's first
    if not methods:
        raise Conflict("No payment method is offered for the invoice's country.",
                       code="state_conflict")
    account = references.compact(line.bank_account or "")
    for method in methods:
        details = plain(method.details)
        numbers = {references.compact(str(details.get(name) or ""))
                   for name in ("iban", "account_number")} - {""}
        if account and account in numbers:
            return method
    in_currency = [m for m in methods if plain(m.details).get("currency") == line.currency]
    for choice in (in_currency, methods):
        preferred = [m for m in choice if m.payment_method == invoice.preferred_payment_method]
        if preferred or choice:
            return (preferred or choice)[0]
    return methods[0]


def ignore_line(admin: Principal, line_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The line needs nothing (a refund, a transfer between own accounts, ...); the reason kept."""
    reason = validate(body, IGNORE)["reason"]
    line = get_line(line_id)
    if line.status == matching.APPLIED:
        raise _applied_already(line)
    if line.status == matching.IGNORED and line.ignore_reason:
        raise Conflict("This statement line was already ignored.", code="line_already_ignored",
                       details={"reason": line.ignore_reason})
    at = stamp()
    was = line.status
    tx = Tx()
    tx.update("line", line, [StatementLineModel.status.set(matching.IGNORED),
                             StatementLineModel.ignore_reason.set(reason),
                             StatementLineModel.decided_at.set(at),
                             StatementLineModel.decided_by.set(admin.email)],
              condition=StatementLineModel.status == was)
    add_audit(tx, entity_type="statement_line", entity_id=line.line_id, action="ignored",
              from_status=was, to_status=matching.IGNORED, actor=admin.email, at=at, notes=reason)
    line.status, line.ignore_reason, line.decided_at, line.decided_by = (
        matching.IGNORED, reason, at, admin.email)
    response = {"line": line_view(line)}
    try:
        tx.commit(response=response)
    except store.TransactionCancelled as exc:
        raise Conflict("The line was applied or ignored meanwhile; nothing was changed.",
                       code="line_already_applied") from exc
    return response


def apply_exact(admin: Principal, statement_id: str) -> dict[str, Any]:
    """Apply every matched line with an exact payment reference, an amount within tolerance and
    one candidate, each in its own transaction; what happened to each."""
    statement = get_statement(statement_id)
    with store.guard():
        lines = list(StatementLineModel.by_statement.query(
            statement.statement_id, filter_condition=StatementLineModel.status == matching.MATCHED))
    applied, skipped, failed, awaiting = [], 0, [], []
    for line in lines:
        if not matching.exact(plain(line.match)):
            skipped += 1
            continue
        try:
            result = apply(admin, line)
        except AppError as error:
            if error.code == "second_approver_required":  # this admin gave the first already
                awaiting.append(line.line_id)
                continue
            if error.code == "line_already_applied" or _applied_meanwhile(line):
                skipped += 1  # by another click or another admin, since the lines were read
                continue
            failed.append({"line_id": line.line_id, "code": error.code, "message": error.message})
            continue
        if isinstance(result, WithStatus):  # the first of two approvals
            awaiting.append(line.line_id)
            continue
        applied.append({"line_id": line.line_id, "payment_id": result["payment"]["id"],
                        "invoice_id": result["invoice"]["id"],
                        "invoice_status": result["invoice"]["status"]})
    return {"statement_id": statement.statement_id, "applied": len(applied), "skipped": skipped,
            "failed": failed, "items": applied, "awaiting_second_approval": awaiting}


def _applied_meanwhile(line: StatementLineModel) -> bool:
    fresh = store.get(StatementLineModel, line.line_id, consistent=True)
    return fresh is not None and fresh.status == matching.APPLIED
