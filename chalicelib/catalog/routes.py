"""Routes of the catalog: the public plans and payment methods."""
from __future__ import annotations

from typing import Any

from chalicelib.api.routing import Routes, query
from chalicelib.catalog import plans

routes = Routes(__name__, "Catalog", "Public plans and payment methods.")


@routes.get("/api/v1/billing/plans", response=("PlanList", "The plans."))
def list_plans() -> dict[str, Any]:
    """The self-serve plans

    Public. Every plan a user can pick at signup (not `internal`), in display order.
    """
    return plans.list_plans()


@routes.get("/api/v1/billing/admin/payment-methods", query=("Country",),
            response=("PaymentMethodList", "The methods."),
            errors={400: "`invalid_query`: country is not an ISO 3166-1 alpha-2 code."})
def list_payment_methods() -> list[dict[str, Any]]:
    """Payment methods offered in a country

    Public despite the `admin` in its (seed) path: signup needs it. The enabled global
    methods, then the country's, each in display order; without `country`, global methods
    only.
    """
    return plans.methods_for_country(plans.parse_country(query("country")))
