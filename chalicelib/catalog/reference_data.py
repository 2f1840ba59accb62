"""The catalog's reference data: 5 plans and 14 payment methods, seeded idempotently."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib.storage import store
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel
from chalicelib.storage.models.records import CounterModel

GLOBAL = "GLOBAL"

PLANS: tuple[dict[str, Any], ...] = (
    {"slug": "free", "name": "Free trial", "price_minor": 0, "currency": "USD",
     "billing_cycle": "monthly", "credits": 1000, "self_serve": True, "display_order": 10,
     "features": ["1,000 trial credits", "1 site", "Community support"]},
    {"slug": "starter", "name": "Starter", "price_minor": 8900, "currency": "USD",
     "billing_cycle": "monthly", "credits": 1000, "self_serve": True, "display_order": 20,
     "features": ["1,000 credits a month", "3 sites", "Email support"]},
    {"slug": "growth", "name": "Growth", "price_minor": 24900, "currency": "USD",
     "billing_cycle": "monthly", "credits": 5000, "self_serve": True, "display_order": 30,
     "features": ["5,000 credits a month", "10 sites", "Priority email support"]},
    {"slug": "scale", "name": "Scale", "price_minor": 69900, "currency": "USD",
     "billing_cycle": "monthly", "credits": 20000, "self_serve": True, "display_order": 40,
     "features": ["20,000 credits a month", "Unlimited sites", "Dedicated account manager"]},
    {"slug": "internal", "name": "Internal", "price_minor": 0, "currency": "USD",
     "billing_cycle": "monthly", "credits": 0, "self_serve": False, "display_order": 90,
     "features": ["Staff and admin accounts"]},
)

# Top-up packs: credits bought once, into the `extra` bucket (never expire). A price list of the
# code, not a table: a pack's price is what its invoice copies when it is issued.
PACKS: tuple[dict[str, Any], ...] = (
    {"slug": "pack_1000", "name": "1,000 extra credits", "credits": 1000, "price_minor": 1500,
     "currency": "USD"},
    {"slug": "pack_5000", "name": "5,000 extra credits", "credits": 5000, "price_minor": 6000,
     "currency": "USD"},
)

_REF = "Write your invoice's payment reference (PR-...) in the transfer's description."

PAYMENT_METHODS: tuple[dict[str, Any], ...] = (
    # Global: open to every country.
    {"country": GLOBAL, "payment_method": "bank_transfer", "display_order": 10,
     "display_name": "International bank transfer (SWIFT)",
     "instructions": "Send the invoice amount in USD by SWIFT wire to the account below. " + _REF,
     "details": {"account_title": "Ledgerline Technologies LLC", "bank_name": "Citibank N.A.",
                 "account_number": "30091784", "swift": "CITIUS33", "iban": None,
                 "currency": "USD"}},
    {"country": GLOBAL, "payment_method": "wise", "display_order": 20,
     "display_name": "Wise transfer",
     "instructions": "Send the invoice amount in USD through Wise to the recipient below. " + _REF,
     "details": {"account_title": "Ledgerline Technologies LLC", "email": "billing@ledgerline.example",
                 "currency": "USD"}},
    {"country": GLOBAL, "payment_method": "payoneer", "display_order": 30,
     "display_name": "Payoneer",
     "instructions": "Request or send the invoice amount to our Payoneer account below. " + _REF,
     "details": {"account_title": "Ledgerline Technologies LLC", "email": "payoneer@ledgerline.example",
                 "currency": "USD"}},
    {"country": GLOBAL, "payment_method": "paypal", "display_order": 40,
     "display_name": "PayPal (friends & family not accepted)",
     "instructions": "Send the invoice amount in USD as a goods-and-services payment. " + _REF,
     "details": {"email": "paypal@ledgerline.example", "currency": "USD"}},
    # Pakistan
    {"country": "PK", "payment_method": "bank_transfer", "display_order": 10,
     "display_name": "Bank transfer (Pakistan, IBFT)",
     "instructions": "Transfer the exact PKR amount shown on your invoice (fixed when it was "
                     "issued) by IBFT or Raast to the account below. " + _REF,
     "details": {"account_title": "Ledgerline Pakistan (Pvt) Ltd", "bank_name": "Meezan Bank",
                 "account_number": "0101-0104567891", "iban": "PK36MEZN0001010104567891",
                 "currency": "PKR"}},
    {"country": "PK", "payment_method": "jazzcash", "display_order": 20,
     "display_name": "JazzCash",
     "instructions": "In the JazzCash app choose Send Money > Mobile Account and send to the "
                     "wallet below. Keep the transaction ID (TID) as your reference.",
     "details": {"account_title": "Ledgerline Pakistan", "wallet_number": "0300-1234567",
                 "currency": "PKR"}},
    {"country": "PK", "payment_method": "easypaisa", "display_order": 30,
     "display_name": "Easypaisa",
     "instructions": "In the Easypaisa app choose Send Money > Easypaisa Account and send to the "
                     "wallet below. Keep the transaction ID as your reference.",
     "details": {"account_title": "Ledgerline Pakistan", "wallet_number": "0345-7654321",
                 "currency": "PKR"}},
    {"country": "PK", "payment_method": "raast", "display_order": 40,
     "display_name": "Raast ID",
     "instructions": "Send instantly from any Pakistani bank app to our Raast ID below. " + _REF,
     "details": {"account_title": "Ledgerline Pakistan (Pvt) Ltd", "raast_id": "03001234567",
                 "currency": "PKR"}},
    # India
    {"country": "IN", "payment_method": "bank_transfer", "display_order": 10,
     "display_name": "Bank transfer (India, NEFT/IMPS)",
     "instructions": "Transfer the exact INR amount shown on your invoice by NEFT or IMPS to the account below. " + _REF,
     "details": {"account_title": "Ledgerline India Pvt Ltd", "bank_name": "HDFC Bank",
                 "account_number": "50200012345678", "ifsc": "HDFC0000123", "currency": "INR"}},
    {"country": "IN", "payment_method": "upi", "display_order": 20,
     "display_name": "UPI",
     "instructions": "Pay the exact INR amount shown on your invoice to the UPI ID below from any UPI app; keep the UTR "
                     "number as your reference.",
     "details": {"upi_id": "ledgerline@hdfcbank", "currency": "INR"}},
    # Bangladesh
    {"country": "BD", "payment_method": "bkash", "display_order": 10,
     "display_name": "bKash",
     "instructions": "Use Send Money in the bKash app to the merchant wallet below; keep the TrxID "
                     "as your reference.",
     "details": {"account_title": "Ledgerline Bangladesh", "wallet_number": "01712-345678",
                 "currency": "BDT"}},
    {"country": "BD", "payment_method": "nagad", "display_order": 20,
     "display_name": "Nagad",
     "instructions": "Use Send Money in the Nagad app to the wallet below; keep the transaction ID.",
     "details": {"account_title": "Ledgerline Bangladesh", "wallet_number": "01812-345678",
                 "currency": "BDT"}},
    # United Arab Emirates
    {"country": "AE", "payment_method": "bank_transfer", "display_order": 10,
     "display_name": "Bank transfer (UAE)",
     "instructions": "Transfer the exact AED amount shown on your invoice to the account below. " + _REF,
     "details": {"account_title": "Ledgerline FZ-LLC", "bank_name": "Emirates NBD",
                 "iban": "AE070331234567890123456", "swift": "EBILAEAD", "currency": "AED"}},
    # United Kingdom
    {"country": "GB", "payment_method": "bank_transfer", "display_order": 10,
     "display_name": "Bank transfer (UK, Faster Payments)",
     "instructions": "Send the exact GBP amount shown on your invoice by Faster Payments to the account below. " + _REF,
     "details": {"account_title": "Ledgerline Ltd", "bank_name": "Barclays",
                 "sort_code": "20-00-00", "account_number": "55779911", "currency": "GBP"}},
)


@dataclass(frozen=True)
class SeedReport:
    """What a seeding run did."""

    created: int
    kept: int


def _method_id(method: dict[str, Any]) -> str:
    return f"pm_{method['country'].lower()}_{method['payment_method']}"


def _plan_item(plan: dict[str, Any]) -> PlanModel:
    return PlanModel(**plan, listing="self_serve" if plan["self_serve"] else None)


def _method_item(method: dict[str, Any]) -> PaymentMethodModel:
    details = {k: v for k, v in method["details"].items() if v is not None}
    return PaymentMethodModel(**{**method, "details": details}, method_id=_method_id(method),
                              enabled=True)


# make dev's starting exchange rates (units per 1 USD); a deployed stage's are set by an admin.
DEV_FX_RATES = {"PKR": "280.50", "INR": "83.25", "BDT": "110.00", "AED": "3.6725", "GBP": "0.79"}


def seed() -> SeedReport:
    """Put each plan and method that is missing; leave existing ones (and admin edits) alone."""
    created = kept = 0
    items = [_plan_item(p) for p in PLANS] + [_method_item(m) for m in PAYMENT_METHODS]
    for item in items:
        hash_attr = type(item)._hash_key_attribute()
        try:
            with store.guard():
                item.save(condition=hash_attr.does_not_exist())
            created += 1
        except PutError as exc:
            if store.aws_code(exc) != "ConditionalCheckFailedException":
                raise
            kept += 1
    _count_reference_data()
    return SeedReport(created=created, kept=kept)


def _count_reference_data() -> None:
    """Store how many plans exist and how many methods are enabled (read back, not assumed)."""
    with store.guard():
        plans = list(PlanModel.batch_get([p["slug"] for p in PLANS]))
        methods = list(PaymentMethodModel.batch_get(
            [(m["country"], m["payment_method"]) for m in PAYMENT_METHODS]))
        CounterModel("reference", plans_configured=len(plans),
                     payment_methods_enabled=sum(1 for m in methods if m.enabled)).save()
