"""The public catalog: self-serve plans and the payment methods offered in a country; a plan's
features as a container last read them."""
from __future__ import annotations

import threading
import time
from typing import Any

from chalicelib.catalog.reference_data import GLOBAL, PACKS
from chalicelib.catalog.views import method_view, plan_view
from chalicelib.core.countries import normalize_country
from chalicelib.core.errors import BadRequest
from chalicelib.core.money import format_minor
from chalicelib.storage import store
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel

# A container reads a plan's features at most once per this long: the catalog changes by a seeding
# or an edit in the table, rarely, and entitlements (a hot route) must not read it on every request.
PLAN_CACHE_SECONDS = 300
_features: dict[str, tuple[tuple[str, ...], float]] = {}
_features_lock = threading.Lock()


def list_plans() -> dict[str, Any]:
    """The self-serve plans in display order (one query of a sparse index) and the top-up packs."""
    with store.guard():
        plans = list(PlanModel.catalog.query("self_serve"))
    return {"items": [plan_view(plan) for plan in plans], "packs": [pack_view(p) for p in PACKS]}


def plan_features(slug: str) -> list[str]:
    """The features of the plan `slug` (none for a plan the catalog lacks), read once per
    PLAN_CACHE_SECONDS per container: one GetItem when this container has not read it lately."""
    now = time.monotonic()
    with _features_lock:
        cached = _features.get(slug)
    if cached is not None and now - cached[1] < PLAN_CACHE_SECONDS:
        return list(cached[0])
    plan = store.get(PlanModel, slug)
    features = tuple(plan.features or ()) if plan is not None else ()
    with _features_lock:
        _features[slug] = (features, now)
    return list(features)


def pack(slug: str) -> dict[str, Any] | None:
    """A top-up pack of the price list, or None."""
    return next((p for p in PACKS if p["slug"] == slug), None)


def pack_view(item: dict[str, Any]) -> dict[str, Any]:
    return {"slug": item["slug"], "name": item["name"], "credits": item["credits"],
            "price": format_minor(item["price_minor"]), "currency": item["currency"]}


def parse_country(raw: str | None) -> str | None:
    """The `country` query parameter as an ISO code; 400 for anything else."""
    if raw is None or raw == "":
        return None
    code = normalize_country(raw)
    if code is None:
        raise BadRequest("country must be an ISO 3166-1 alpha-2 code such as PK.",
                         code="invalid_query", details={"fields": {"country": "unknown country code"}})
    return code


def _enabled_in(country: str) -> list[PaymentMethodModel]:
    with store.guard():
        return list(PaymentMethodModel.by_display_order.query(
            country, filter_condition=PaymentMethodModel.enabled == True))  # noqa: E712


def enabled_methods(country: str | None) -> list[PaymentMethodModel]:
    """Enabled global methods, then the country's, each in display order (the models)."""
    return _enabled_in(GLOBAL) + (_enabled_in(country) if country else [])


def methods_for_country(country: str | None) -> list[dict[str, Any]]:
    """Enabled global methods, then that country's, each in display order."""
    return [method_view(method) for method in enabled_methods(country)]


def offered_method(payment_method: str, country: str | None) -> PaymentMethodModel | None:
    """The enabled method of that name for the country (its own first, then global), or None."""
    keys = [(country, payment_method)] if country else []
    keys.append((GLOBAL, payment_method))
    with store.guard():
        found = {m.country: m for m in PaymentMethodModel.batch_get(keys) if m.enabled}
    return found.get(country or GLOBAL) or found.get(GLOBAL)
