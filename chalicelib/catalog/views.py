"""How plans and payment methods look on the wire."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.money import format_minor
from chalicelib.storage.models.base import plain
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel


def plan_view(plan: PlanModel) -> dict[str, Any]:
    """A plan of the catalog."""
    return {"slug": plan.slug, "name": plan.name, "price": format_minor(plan.price_minor),
            "currency": plan.currency, "billing_cycle": plan.billing_cycle,
            "credits": plan.credits, "features": list(plan.features or [])}


def method_view(method: PaymentMethodModel) -> dict[str, Any]:
    """A payment method with what a payer needs; `country` is None for a global one."""
    return {"id": method.method_id, "payment_method": method.payment_method,
            "display_name": method.display_name, "instructions": method.instructions,
            "country": None if method.country == "GLOBAL" else method.country,
            "details": plain(method.details)}


_DETAIL_LABELS = {"account_title": "Account title", "bank_name": "Bank", "account_number":
                  "Account number", "iban": "IBAN", "swift": "SWIFT/BIC", "ifsc": "IFSC",
                  "sort_code": "Sort code", "wallet_number": "Wallet number", "raast_id": "Raast ID",
                  "upi_id": "UPI ID", "email": "Email", "currency": "Currency"}


def detail_rows(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A payment method's details as (label, value) rows, in the order a payer reads them (the
    emails and the invoice PDF)."""
    order = list(_DETAIL_LABELS)
    keys = sorted(details, key=lambda k: (order.index(k) if k in order else len(order), k))
    return [(_DETAIL_LABELS.get(k, k.replace("_", " ").capitalize()), str(details[k]))
            for k in keys if details[k] not in (None, "")]
