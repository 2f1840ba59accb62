"""Tables of what is for sale: plans and payment methods, with their indexes."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

from chalicelib.storage.models.base import IntegerAttribute, TableMeta


class PlanCatalogIndex(GlobalSecondaryIndex["PlanModel"]):
    """Sparse: only self-serve plans carry `listing`, in display order."""

    class Meta:
        index_name = "catalog"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    display_order = IntegerAttribute(range_key=True)


class PlanModel(Model):
    """A plan of the catalog."""

    class Meta(TableMeta):
        entity = "plans"

    slug = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    price_minor = IntegerAttribute()
    currency = UnicodeAttribute()
    billing_cycle = UnicodeAttribute()
    credits = IntegerAttribute()
    features = ListAttribute(of=UnicodeAttribute, default=list)
    self_serve = BooleanAttribute()
    display_order = IntegerAttribute()
    listing = UnicodeAttribute(null=True)
    catalog = PlanCatalogIndex()


class MethodOrderIndex(LocalSecondaryIndex["PaymentMethodModel"]):
    """A country's methods in display order."""

    class Meta:
        index_name = "display_order"
        projection = AllProjection()

    country = UnicodeAttribute(hash_key=True)
    display_order = IntegerAttribute(range_key=True)


class PaymentMethodModel(Model):
    """A way to pay: `country` is an ISO code or GLOBAL."""

    class Meta(TableMeta):
        entity = "payment_methods"

    country = UnicodeAttribute(hash_key=True)
    payment_method = UnicodeAttribute(range_key=True)
    method_id = UnicodeAttribute()
    display_name = UnicodeAttribute()
    instructions = UnicodeAttribute()
    details = MapAttribute(default=dict)
    enabled = BooleanAttribute()
    display_order = IntegerAttribute()
    # Percent of the amount due a payment may fall short and still count as full (a decimal
    # string); None: PAYMENT_TOLERANCE_PERCENT.
    tolerance_percent = UnicodeAttribute(null=True)
    by_display_order = MethodOrderIndex()
