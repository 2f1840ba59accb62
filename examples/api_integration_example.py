"""Walk the billing workflows against a running API (`make dev`), with the typed Python client.

    .venv/bin/python examples/api_integration_example.py                # http://127.0.0.1:8011/api/v1
    .venv/bin/python examples/api_integration_example.py --base-url http://127.0.0.1:8111/api/v1

1. The catalog and the System Status.
2. A free trial: Account(trial, 1000 credits), no subscription, no invoice.
3. A paid signup: pending account, invoice and subscription; the user confirms the payment (and
   sends it again with the same Idempotency-Key: one payment); the admin approves; the account is
   active with the plan's credits; approving again is refused (409).
4. A rejection: a wrong amount is refused (422), the admin rejects a confirmation with a reason, the
   user sees it, confirms again, and the admin approves.
5. The System Status again.

Each run signs up new users (their emails carry a run id), so it can run again on the same server.
Exit status 0 when every step behaved as the contract says; 1 with the reason otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from clients.billing_client import (  # noqa: E402
    DEFAULT_BASE_URL,
    BillingApiError,
    BillingClient,
    BillingDetails,
    Me,
)

PASSWORD = "example-password-123"


class WorkflowError(Exception):
    """The API did not do what the contract says."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise WorkflowError(what)


def say(text: str = "") -> None:
    print(text, flush=True)


def billing_for(email: str, country: str) -> BillingDetails:
    return {"billing_name": "Khan Media (Pvt) Ltd", "billing_email": email,
            "address_line1": "12 Mall Road", "city": "Lahore", "postal_code": "54000", "country": country}


def show_status(admin: BillingClient) -> dict[str, Any]:
    status = admin.status()
    accounts = status["accounts"]
    say(f"  Plans: {status['plans_configured']} configured")
    say(f"  Payment methods: {status['payment_methods_enabled']} enabled")
    say(f"  Accounts: {accounts['total']} total ({accounts['trial']} trial, {accounts['active']} active, "
        f"{accounts['pending_payment']} pending payment, {accounts['suspended']} suspended)")
    say(f"  Payments awaiting approval: {status['payments_pending_approval']}")
    return dict(status)


def catalog(api: BillingClient, country: str) -> None:
    say("\n== Catalog")
    for plan in api.plans():
        say(f"  {plan['slug']:<8} {plan['price']:>7} {plan['currency']}  {plan['credits']:>6} credits")
    methods = api.payment_methods(country)
    say(f"  Payment methods for {country}: " + ", ".join(m["display_name"] for m in methods))
    check(any(m["payment_method"] == "bank_transfer" for m in methods), "bank_transfer is offered")


def free_trial(api: BillingClient, run: str) -> dict[str, Any]:
    say("\n== Free trial signup")
    email = f"trial-{run}@example.com"
    user = BillingClient(api.base_url)
    signup = user.register(email=email, password=PASSWORD, name="Trial User")
    account = signup["account"]
    say(f"  {email}: account {account['status']}, {account['credits']} credits")
    check((account["status"], account["credits"]) == ("trial", 1000), "a free trial has 1000 credits")
    check(signup["subscription"] is None and signup["invoice"] is None, "no subscription or invoice")
    return {"email": email, "account_id": account["id"]}


def paid_signup(api: BillingClient, email: str, plan: str, country: str, name: str) -> tuple[BillingClient, Me]:
    user = BillingClient(api.base_url)
    signup = user.register(email=email, password=PASSWORD, name=name, account_name="Khan Media",
                           plan=plan, billing=billing_for(email, country), payment_method="bank_transfer")
    invoice = signup["invoice"]
    check(invoice is not None and signup["account"]["status"] == "pending_payment",
          "a paid signup is pending payment with an invoice")
    me = user.me()
    pending = me["pending_invoice"]
    check(pending is not None and pending["id"] == invoice["id"], "/auth/me shows the pending invoice")
    say(f"  {email}: account {me['account']['status']}, invoice {pending['invoice_number']} "
        f"{pending['amount']} {pending['currency']} due {pending['due_date']}")
    return user, me


def paid_and_approved(api: BillingClient, admin: BillingClient, run: str, country: str) -> dict[str, Any]:
    say("\n== Paid signup → confirm → admin approves")
    email = f"paid-{run}@example.com"
    user, me = paid_signup(api, email, "starter", country, "Ayesha Khan")
    invoice = me["pending_invoice"]
    assert invoice is not None
    confirmation = {"invoice_id": invoice["id"], "payment_method": "bank_transfer",
                    "amount": invoice["amount"], "manual_reference": f"BT-{run}",
                    "manual_notes": "Optional description", "idempotency_key": f"confirm-{run}"}
    payment = user.confirm_payment(**confirmation)
    say(f"  confirmed: payment {payment['id']} {payment['status']} ({payment['manual_reference']})")
    check(payment["status"] == "pending_approval", "a confirmation awaits approval")
    retried = user.confirm_payment(**confirmation)  # e.g. after a lost answer: same Idempotency-Key
    say(f"  sent again with the same Idempotency-Key: the same payment {retried['id']}")
    check(retried["id"] == payment["id"], "a retry with the same key returns the first payment")
    queue = [item["id"] for item in admin.approval_queue(limit=100)["items"]]
    check(payment["id"] in queue, "the payment is in the approval queue")
    approval = admin.approve(payment["id"], "Verified in bank statement")
    account = approval["account"]
    say(f"  approved: invoice {approval['invoice']['status']}, subscription "
        f"{approval['subscription']['status']}, account {account['status']} with {account['credits']} credits")
    check((account["status"], account["credits"]) == ("active", 1000), "approval grants the plan's credits")
    try:
        admin.approve(payment["id"], "again")
    except BillingApiError as error:
        say(f"  approving again: {error.status} {error.code} (nothing changed)")
        check(error.status == 409 and error.code == "payment_not_pending", "a second approval is a 409")
    else:
        raise WorkflowError("a second approval was accepted")
    check(user.me()["account"]["credits"] == 1000, "credits were granted once")
    return {"email": email, "account_id": account["id"], "invoice_id": invoice["id"], "payment_id": payment["id"]}


def rejected_then_resubmitted(api: BillingClient, admin: BillingClient, run: str, country: str) -> dict[str, Any]:
    say("\n== Rejection → the user confirms again → approved")
    email = f"retry-{run}@example.com"
    user, me = paid_signup(api, email, "growth", country, "Bilal Ahmed")
    invoice = me["pending_invoice"]
    assert invoice is not None
    try:
        user.confirm_payment(invoice_id=invoice["id"], payment_method="bank_transfer", amount="1.00",
                             manual_reference=f"WRONG-{run}")
    except BillingApiError as error:
        say(f"  wrong amount: {error.status} {error.code}: {error.message} {error.field_errors}")
        check(error.status == 422 and "amount" in error.field_errors, "a wrong amount is a 422 on amount")
    else:
        raise WorkflowError("a wrong amount was accepted")
    first = user.confirm_payment(invoice_id=invoice["id"], payment_method="bank_transfer",
                                 amount=invoice["amount"], manual_reference=f"BT-{run}-TYPO")
    rejection = admin.reject(first["id"], "Reference not found")
    say(f"  rejected: payment {rejection['payment']['status']}, invoice {rejection['invoice']['status']}")
    check(rejection["payment"]["status"] == "failed" and rejection["invoice"]["status"] == "pending",
          "a rejection fails the payment and keeps the invoice pending")
    seen = user.me()["pending_invoice"]
    assert seen is not None and seen["latest_payment"] is not None
    say(f"  the user sees: {seen['latest_payment']['status']}: {seen['latest_payment']['admin_notes']}")
    check(seen["latest_payment"]["admin_notes"] == "Reference not found", "the user sees the reason")
    second = user.confirm_payment(invoice_id=invoice["id"], payment_method="bank_transfer",
                                  amount=invoice["amount"], manual_reference=f"BT-{run}-RETRY")
    approval = admin.approve(second["id"], "Found it this time")
    account = approval["account"]
    say(f"  confirmed again and approved: account {account['status']} with {account['credits']} credits")
    check((account["status"], account["credits"]) == ("active", 5000), "growth grants 5000 credits")
    return {"email": email, "account_id": account["id"], "invoice_id": invoice["id"],
            "rejected_payment_id": first["id"], "payment_id": second["id"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("BILLING_API_URL", DEFAULT_BASE_URL),
                        help="the API's base URL, ending in /api/v1 (env BILLING_API_URL)")
    parser.add_argument("--admin-email", default=os.environ.get("ADMIN_EMAIL", "admin@example.com"))
    parser.add_argument("--admin-password", default=os.environ.get("ADMIN_PASSWORD", "admin-password-dev"))
    parser.add_argument("--country", default="PK", help="billing country of the paid signups")
    parser.add_argument("--report", type=Path, help="write what was created to this JSON file")
    args = parser.parse_args(argv)

    api = BillingClient(args.base_url)
    run = uuid.uuid4().hex[:8]
    try:
        admin = BillingClient(args.base_url)
        admin.login(args.admin_email, args.admin_password)
        say(f"Billing API at {args.base_url} (run {run})\n\n== System Status")
        before = show_status(admin)
        catalog(api, args.country)
        report = {"run": run, "free_trial": free_trial(api, run),
                  "approved": paid_and_approved(api, admin, run, args.country),
                  "resubmitted": rejected_then_resubmitted(api, admin, run, args.country)}
        say("\n== System Status")
        report["status_before"], report["status_after"] = before, show_status(admin)
    except BillingApiError as error:
        print(f"\nThe API answered {error.status} {error.code}: {error.message} {error.details or ''}",
              file=sys.stderr)
        return 1
    except WorkflowError as error:
        print(f"\nUnexpected: {error}", file=sys.stderr)
        return 1
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))
    say("\nAll workflows behaved as the contract says.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
