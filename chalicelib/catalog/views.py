"""How plans and payment methods look on the wire."""
from __future__ import annotations

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
