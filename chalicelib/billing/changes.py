"""Plan changes of an active subscription, one at a time:

- upgrade (a higher price): an `upgrade` invoice for the price difference times the unused part
  of the period (seconds left / seconds in the period, rounded half-up to the minor unit); the
  credits it adds are the credit difference times the same fraction, rounded down. Nothing
  changes until it is approved (approval.py); unpaid at the period end it is voided. With nothing
  left to pay for (the period over, its jobs not yet run, or too little of it for a cent): 409
  period_ending, change the plan once the next period starts.
- downgrade (a lower or equal price): `scheduled_plan`, applied at the period end; an issued,
  unpaid renewal is voided and issued again (a new revision) for the new plan by the jobs.
- the current plan: cancels a scheduled downgrade (and an unpaid upgrade invoice); not once the
  next period's renewal, issued for the downgrade, is paid (409 renewal_already_paid).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.accounts.auth import Principal
from chalicelib.billing import approval, balance, lifecycle
from chalicelib.billing.renewals import new_invoice, settle
from chalicelib.billing.subscriptions import _commit, _own_subscription, not_active, paid_plan
from chalicelib.billing.views import invoice_view, subscription_view
from chalicelib.core.clock import new_id, now, parse_stamp, public_time, stamp
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict
from chalicelib.core.money import format_minor
from chalicelib.core.validation import SLUG, Text, validate
from chalicelib.notifications import lifecycle_messages as mail
from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.billing import PAYABLE, InvoiceModel, SubscriptionModel
from chalicelib.storage.models.catalog import PlanModel
from chalicelib.storage.store import Tx

CHANGE = {"plan": Text(required=True, max_len=40, pattern=SLUG,
                       pattern_message="must be a plan slug such as growth",
                       doc="The plan to change to: a self-serve paid plan.")}


def prorate(amount: int, left: int, whole: int) -> int:
    """`amount` minor units times left/whole, rounded half-up (integers: exact)."""
    return (2 * amount * left + whole) // (2 * whole)


def _fraction(sub: SubscriptionModel, moment: datetime) -> tuple[int, int]:
    """(seconds left, seconds in the period) of the current period, in whole microseconds."""
    start, end = parse_stamp(sub.current_period_start), parse_stamp(sub.current_period_end)
    tick = timedelta(microseconds=1)
    whole = (end - start) // tick
    return min(max((end - moment) // tick, 0), whole), whole


def _plan_change(sub: SubscriptionModel, target: PlanModel, current: PlanModel,
                 moment: datetime) -> dict[str, Any]:
    """What changing to `target` would do now."""
    if target.slug == sub.plan:
        change = "cancel_downgrade" if sub.scheduled_plan or sub.upgrade_invoice_id else "none"
        return {"change": change, "amount": 0, "credits": 0, "effective_at": stamp(moment)}
    if target.price_minor > current.price_minor:
        left, whole = _fraction(sub, moment)
        credits = max(target.credits - current.credits, 0) * left // whole
        return {"change": "upgrade", "effective_at": stamp(moment), "credits": credits,
                "amount": prorate(target.price_minor - current.price_minor, left, whole)}
    return {"change": "downgrade", "amount": 0, "credits": 0, "effective_at": sub.current_period_end}


def _checked(principal: Principal, slug: str) -> tuple[AccountModel, SubscriptionModel,
                                                        PlanModel, dict[str, Any]]:
    account, sub = _own_subscription(principal)
    if sub.status != "active":
        raise not_active(sub)
    target = paid_plan(slug)
    if sub.cancel_at_period_end:
        raise Conflict("The subscription ends at the period end; resume it before changing plans.",
                       code="cancel_scheduled")
    current = store.get(PlanModel, sub.plan) or target
    change = _plan_change(sub, target, current, now())
    pending = sub.scheduled_plan or sub.upgrade_invoice_id
    if pending and change["change"] not in ("cancel_downgrade", "none"):
        raise Conflict("A plan change is already waiting; keep the current plan to cancel it first.",
                       code="change_pending",
                       details={"scheduled_plan": sub.scheduled_plan,
                                "upgrade_invoice_id": sub.upgrade_invoice_id})
    if change["change"] == "upgrade" and change["amount"] == 0:
        raise Conflict("Nothing is left of the current period to pay for an upgrade; change the "
                       "plan once the next period starts.", code="period_ending",
                       details={"current_period_end": public_time(sub.current_period_end)})
    # Once the next period is paid, its plan is the paid renewal's: a scheduled downgrade stays
    if (change["change"] in ("upgrade", "downgrade") or sub.scheduled_plan) and (
            (sub.paid_through or 0) > (sub.period or 0)):
        raise Conflict("The next period is already paid for the current plan; change the plan once "
                       "it starts.", code="renewal_already_paid")
    return account, sub, target, change


def _view(target: PlanModel, change: dict[str, Any]) -> dict[str, Any]:
    return {"plan": target.slug, "change": change["change"], "amount": format_minor(change["amount"]),
            "currency": target.currency, "credits": change["credits"],
            "effective_at": public_time(change["effective_at"])}


def preview(principal: Principal, slug: str | None) -> dict[str, Any]:
    """What POST .../change with this plan would do, priced as of now."""
    data = validate({"plan": slug} if slug is not None else {}, CHANGE)
    _, _, target, change = _checked(principal, data["plan"])
    return _view(target, change)


def change_plan(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Upgrade (an invoice), schedule a downgrade, or keep the current plan."""
    data = validate(body, CHANGE)
    account, sub, target, change = _checked(principal, data["plan"])
    moment = now()
    at = stamp(moment)
    tx = Tx()
    invoice = None
    kind = change["change"]
    if kind == "upgrade":
        invoice = _upgrade(tx, account, sub, target, change, at)
    elif kind == "downgrade":
        _downgrade(tx, account, sub, target, principal.user_id, at)
    elif kind == "cancel_downgrade":
        _keep(tx, account, sub, principal.user_id, at)
    response = {"subscription": subscription_view(sub), "invoice": invoice_view(invoice)}
    if kind != "none":
        _commit(tx, response)
    return response


def _upgrade(tx: Tx, account: AccountModel, sub: SubscriptionModel, target: PlanModel,
             change: dict[str, Any], at: str) -> InvoiceModel:
    due = min(parse_stamp(at).date().toordinal() + get_settings().invoice_due_days,
              parse_stamp(sub.current_period_end).date().toordinal())
    invoice = new_invoice(sub, invoice_id=new_id("inv"), kind="upgrade", plan=target,
                          amount_minor=change["amount"], credits=target.credits,
                          due_date=datetime.fromordinal(due).date().isoformat(), at=at,
                          period_number=sub.period, period_start=at, period_end=sub.current_period_end)
    invoice.upgrade_credits = change["credits"]
    settle(tx, invoice, balance.of(account), actor=account.owner_user_id, at=at)
    tx.put("invoice", invoice, InvoiceModel.invoice_id.does_not_exist())
    from chalicelib.storage.audit import add_audit

    add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id, action="upgrade_requested",
              from_status=None, to_status="pending", actor=account.owner_user_id, at=at)
    sub.upgrade_invoice_id = invoice.invoice_id
    if invoice.status == "paid":  # the account's balance covers it: upgraded now, no admin
        add_audit(tx, entity_type="invoice", entity_id=invoice.invoice_id, action="paid_from_balance",
                  from_status="pending", to_status="paid", actor=account.owner_user_id, at=at)
        approval.apply(tx, None, invoice, sub, account, account.owner_user_id, parse_stamp(at), None)
        return invoice
    lifecycle.move_subscription(tx, sub, "active",
                                [SubscriptionModel.upgrade_invoice_id.set(invoice.invoice_id)],
                                action="upgrade_requested", actor=account.owner_user_id, at=at,
                                condition=SubscriptionModel.upgrade_invoice_id.does_not_exist()
                                & SubscriptionModel.scheduled_plan.does_not_exist())
    if not account.pending_invoice_id:
        tx.update("account", account, [AccountModel.pending_invoice_id.set(invoice.invoice_id)],
                  condition=AccountModel.pending_invoice_id.does_not_exist())
    mail.queue_plan_changed(tx, sub=sub, change="upgrade_invoice", key=invoice.invoice_id, at=at,
                            invoice=invoice, old_plan=sub.plan, new_plan=target.slug,
                            credits=change["credits"])
    return invoice


def _void_renewal(tx: Tx, account: AccountModel, sub: SubscriptionModel, actor: str, at: str,
                  action: str) -> list[Any]:
    """Void an issued, unpaid renewal (to be issued again); the subscription's actions for it."""
    if not sub.renewal_invoice_id:
        return []
    renewal = store.get(InvoiceModel, sub.renewal_invoice_id)
    if renewal is None or renewal.status not in PAYABLE:
        return []
    if renewal.pending_payment_id:
        raise Conflict("A payment for the renewal invoice awaits approval; change the plan after "
                       "it is decided.", code="renewal_payment_pending")
    lifecycle.void_invoice(tx, renewal, action, actor, at)
    if account.pending_invoice_id == renewal.invoice_id:
        tx.update("account", account, [AccountModel.pending_invoice_id.remove()],
                  condition=AccountModel.pending_invoice_id == renewal.invoice_id)
    sub.renewal_invoice_id = None
    sub.renewal_revision = (sub.renewal_revision or 0) + 1
    return [SubscriptionModel.renewal_invoice_id.remove(),
            SubscriptionModel.renewal_revision.set(sub.renewal_revision)]


def _downgrade(tx: Tx, account: AccountModel, sub: SubscriptionModel, target: PlanModel,
               actor: str, at: str) -> None:
    actions = _void_renewal(tx, account, sub, actor, at, "replaced_by_downgrade")
    old = sub.plan
    sub.scheduled_plan = target.slug
    lifecycle.move_subscription(tx, sub, "active",
                                [SubscriptionModel.scheduled_plan.set(target.slug), *actions],
                                action="downgrade_scheduled", actor=actor, at=at,
                                condition=SubscriptionModel.scheduled_plan.does_not_exist()
                                & SubscriptionModel.upgrade_invoice_id.does_not_exist())
    mail.queue_plan_changed(tx, sub=sub, change="downgrade_scheduled", key=at, at=at,
                            old_plan=old, new_plan=target.slug,
                            effective_at=sub.current_period_end[:10])


def _keep(tx: Tx, account: AccountModel, sub: SubscriptionModel, actor: str, at: str) -> None:
    actions: list[Any] = [SubscriptionModel.scheduled_plan.remove()]
    if sub.scheduled_plan:
        actions += _void_renewal(tx, account, sub, actor, at, "replaced_by_plan_kept")
    if sub.upgrade_invoice_id:
        upgrade = store.get(InvoiceModel, sub.upgrade_invoice_id)
        if upgrade is not None and upgrade.status in PAYABLE:
            if upgrade.pending_payment_id:
                raise Conflict("A payment for the upgrade invoice awaits approval.",
                               code="upgrade_payment_pending")
            lifecycle.void_invoice(tx, upgrade, "upgrade_withdrawn", actor, at)
            if account.pending_invoice_id == upgrade.invoice_id:
                tx.update("account", account, [AccountModel.pending_invoice_id.remove()],
                          condition=AccountModel.pending_invoice_id == upgrade.invoice_id)
        actions.append(SubscriptionModel.upgrade_invoice_id.remove())
    sub.scheduled_plan, sub.upgrade_invoice_id = None, None
    lifecycle.move_subscription(tx, sub, "active", actions, action="change_withdrawn", actor=actor,
                                at=at)
    mail.queue_plan_changed(tx, sub=sub, change="downgrade_cancelled", key=at, at=at)
