"""Spend credits from your backend: a service key, one Idempotency-Key per unit of work.

    .venv/bin/python examples/spend_credits.py                # http://127.0.0.1:8011/api/v1 (make dev)
    .venv/bin/python examples/spend_credits.py --base-url http://127.0.0.1:8111/api/v1

1. The admin creates a service key for the backend (its secret is shown once).
2. A customer signs up: a free trial with 1000 credits.
3. The backend runs three render jobs of 100 credits, each consumed with the job's own key.
4. The answer to the third is "lost": the backend sends it again with the same key and gets the
   same entry back; nothing more is charged.
5. A job of 200 credits fails after it was charged: the backend releases its consumption.
6. An export of 5000 credits is refused (409 insufficient_credits, with what the account has).
7. The customer's statement shows 700 credits and where they went; the key is revoked.

Each run signs up a new customer and uses keys of its own, so it can run again on the same server.
Exit status 0 when every step behaved as the contract says; 1 with the reason otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from clients.billing_client import (  # noqa: E402
    DEFAULT_BASE_URL,
    BillingApiError,
    BillingClient,
    Consumption,
    Release,
)

PASSWORD = "example-password-123"
RETRYABLE = ("transaction_conflict", "connection_failed")
T = TypeVar("T")


class WorkflowError(Exception):
    """The API did not do what the contract says."""


class JobFailed(Exception):
    """The work a consumption paid for did not happen; `released` says what was given back."""

    released: Release | None = None


def check(condition: bool, what: str) -> None:
    if not condition:
        raise WorkflowError(what)


def say(text: str = "") -> None:
    print(text, flush=True)


def retried(call: Callable[[], T], attempts: int = 5) -> T:
    """Send the same request again (the same Idempotency-Key) after a conflict or a lost
    connection: the API acts on a key once, so a retry never charges or gives back twice."""
    for attempt in range(attempts):
        try:
            return call()
        except BillingApiError as error:  # BillingConnectionError too: its code is connection_failed
            if error.code not in RETRYABLE or attempt == attempts - 1:
                raise
            time.sleep(error.retry_after or 0.2 * 2 ** attempt)
    raise AssertionError("unreachable")


def charge(backend: BillingClient, account_id: str, amount: int, reason: str, key: str) -> Consumption:
    return retried(lambda: backend.consume(account_id, amount, reason, idempotency_key=key))


def run_job(backend: BillingClient, account_id: str, job_id: str, cost: int,
            work: Callable[[], None]) -> Consumption:
    """Charge the job (its key: the job's id), do it, and give the credits back if it fails."""
    used = charge(backend, account_id, cost, f"job {job_id}", key=f"consume:{job_id}")
    try:
        work()
    except JobFailed as failure:
        failure.released = retried(lambda: backend.release(
            used["entry_id"], idempotency_key=f"release:{job_id}"))
        raise
    return used


def render() -> None:
    """The real work would go here."""


def broken() -> None:
    raise JobFailed("the renderer crashed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("BILLING_API_URL", DEFAULT_BASE_URL),
                        help="the API's base URL, ending in /api/v1 (env BILLING_API_URL)")
    parser.add_argument("--admin-email", default=os.environ.get("ADMIN_EMAIL", "admin@example.com"))
    parser.add_argument("--admin-password", default=os.environ.get("ADMIN_PASSWORD", "admin-password-dev"))
    parser.add_argument("--report", type=Path, help="write what was done to this JSON file")
    args = parser.parse_args(argv)

    run = uuid.uuid4().hex[:8]
    report: dict[str, Any] = {"run": run}
    try:
        say(f"Billing API at {args.base_url} (run {run})\n\n== 1. The admin creates a service key")
        admin = BillingClient(args.base_url)
        admin.login(args.admin_email, args.admin_password)
        made = admin.create_service_key(f"example-backend-{run}")
        secret = made["key"]
        assert secret is not None  # shown to this first answer only (a replay answers None)
        say(f"  {made['name']}: {secret[:12]}... (shown once; only a hash is stored)")
        backend = admin.as_token(secret)  # the backend calls with the key as its token
        report["key_id"] = made["id"]

        say("\n== 2. A customer signs up")
        customer = BillingClient(args.base_url)
        email = f"spender-{run}@example.com"
        account = customer.register(email=email, password=PASSWORD, name="Sana Malik")["account"]
        account_id = account["id"]
        say(f"  {email}: account {account_id} ({account['status']}, {account['credits']} credits)")
        check(account["credits"] == 1000, "a free trial has 1000 credits")
        report.update(email=email, account_id=account_id)

        say("\n== 3. The backend charges each job with the job's own Idempotency-Key")
        jobs = [f"{run}-render-{n}" for n in (1, 2, 3)]
        used = [run_job(backend, account_id, job, 100, render) for job in jobs]
        for job, consumption in zip(jobs, used):
            say(f"  {job}: consumed {consumption['consumed']}, balance {consumption['credits']}")
        check([u["credits"] for u in used] == [900, 800, 700], "each job took 100 credits")
        report["consumed"] = [u["entry_id"] for u in used]

        say("\n== 4. The answer to the last one was lost: send it again, same key")
        again = charge(backend, account_id, 100, f"job {jobs[-1]}", key=f"consume:{jobs[-1]}")
        say(f"  the first answer again: consumed {again['consumed']}, balance {again['credits']} "
            "(nothing more charged)")
        check(again == used[-1], "a retry with the same key answers the first response")

        say("\n== 5. A job fails after it was charged: its credits go back")
        failed_job = f"{run}-render-4"
        try:
            run_job(backend, account_id, failed_job, 200, broken)
        except JobFailed as failure:
            released = failure.released
            assert released is not None
        else:
            raise WorkflowError("the broken job did not fail")
        say(f"  {failed_job}: charged 200, then failed (the renderer crashed); released "
            f"{released['released']}, balance {released['credits']}")
        check((released["released"], released["credits"]) == (200, 700), "the 200 credits came back")
        try:
            backend.release(released["released_entry_id"], idempotency_key=f"release-again:{failed_job}")
        except BillingApiError as error:
            say(f"  releasing it once more: {error.status} {error.code} (given back once)")
            check(error.code == "already_released", "a consumption is released once")
        else:
            raise WorkflowError("a consumption was released twice")
        report["released"] = released["released_entry_id"]

        say("\n== 6. A job bigger than the balance is refused")
        try:
            charge(backend, account_id, 5000, "export of the archive", key=f"consume:{run}-export")
        except BillingApiError as error:
            check((error.status, error.code) == (409, "insufficient_credits"), "too big is a 409")
            say(f"  {error.status} {error.code}: the account has {error.details['credits']} credits;"
                " the backend asks the customer to buy a top-up")
            check(error.details["credits"] == 700, "the refusal says what the account has")
        else:
            raise WorkflowError("a consume beyond the balance was accepted")

        say("\n== 7. What the customer sees; the key is revoked")
        statement = customer.credits(limit=10)
        say(f"  {statement['credits']} credits {statement['credit_buckets']}")
        for entry in statement["items"]:
            what = "the failed job" if entry["reason"] == "released" else entry["reference"] or ""
            say(f"  {entry['amount']:>+6} {entry['reason']:<12} {what:<24} -> {entry['balance_after']}")
        check(statement["credits"] == 700, "the customer has 700 credits left")
        admin.revoke_service_key(made["id"])
        try:
            backend.consume(account_id, 1, "after revocation", idempotency_key=f"consume:{run}-late")
        except BillingApiError as error:
            say(f"  the revoked key: {error.status} {error.code}")
            check(error.code == "invalid_service_key", "a revoked key is refused")
        else:
            raise WorkflowError("a revoked key was accepted")
        report["credits"] = statement["credits"]
    except BillingApiError as error:
        print(f"\nThe API answered {error.status} {error.code}: {error.message} {error.details or ''}",
              file=sys.stderr)
        return 1
    except WorkflowError as error:
        print(f"\nUnexpected: {error}", file=sys.stderr)
        return 1
    if args.report:
        args.report.write_text(json.dumps(report, indent=2))
    say("\nEvery unit of work was charged once, the failed one given back.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
