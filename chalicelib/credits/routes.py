"""Routes of credits: consume, release and entitlements for the SaaS's backend (service keys), the
customer's credits page, top-ups."""
from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.accounts.auth import Principal
from chalicelib.api.routing import BY_CALLER, JSON, SERVICE, USER, Body, Routes, current_request, query
from chalicelib.billing import topups
from chalicelib.core.validation import query_limit
from chalicelib.credits import consume as consumption
from chalicelib.credits import statement
from chalicelib.credits.service_keys import ServiceCaller

routes = Routes(__name__, "Credits", "Using credits from the SaaS's backend, and what an account is "
                                     "entitled to; the customer's credits.")

_KEY_ERRORS = {401: "`invalid_service_key`: missing, unknown or revoked (within 60 s)",
               403: "`service_key_required`: a user's or admin's token"}
_SERVICE_ERRORS = {400: "`idempotency_key_required` (no Idempotency-Key header), "
                        "`invalid_idempotency_key`, `invalid_request`", **_KEY_ERRORS}


def _answer(outcome: tuple[dict[str, Any], bool]) -> Response:
    body, replayed = outcome
    return Response(body=body, status_code=200,
                    headers={**JSON, **({"Idempotent-Replayed": "true"} if replayed else {})})


@routes.post(
    "/api/v1/credits/consume", auth=SERVICE, query=("IdempotencyKeyRequired",),
    body=Body("ConsumeRequest", consumption.CONSUME, "Whose credits, how many, what for."),
    response=("Consumption", "The credits used and the balance after."),
    errors={**_SERVICE_ERRORS, 404: "`account_not_found` (nothing is written)",
            409: "`insufficient_credits` (`details.credits`: what the account has), "
                 "`account_not_active` (its credits are not usable: `details.status`), "
                 "`transaction_conflict` (retry with the same key)",
            422: "`validation_failed` (amount not a whole number from 1 to 1,000,000,000), "
                 "`idempotency_key_reused`"})
def consume_credits(caller: ServiceCaller, body: dict[str, Any]) -> Response:
    """Use credits of an account

    From the `allowance` first, then `extra`; never below zero. One DynamoDB round trip when
    the key and the account are as this container last saw them. A retry with the same
    Idempotency-Key answers the first response and changes nothing.
    """
    return _answer(consumption.consume(caller, consumption.required_key(current_request().headers), body))


@routes.post(
    "/api/v1/credits/release", auth=SERVICE, query=("IdempotencyKeyRequired",),
    body=Body("ReleaseRequest", consumption.RELEASE, "The consumption to give back."),
    response=("Release", "What was given back and the balance after."),
    errors={**_SERVICE_ERRORS, 404: "`entry_not_found`: no consumption of this key has this id",
            409: "`already_released`, `transaction_conflict`"})
def release_credits(caller: ServiceCaller, body: dict[str, Any]) -> Response:
    """Give a consumption back, once

    To the buckets it came from; the allowance part only if that allowance has not expired
    since (a new period's allowance is not raised by an old period's use).
    """
    return _answer(consumption.release(caller, consumption.required_key(current_request().headers), body))


@routes.get("/api/v1/entitlements/{account_id}", auth=SERVICE,
            response=("Entitlements", "What the account may use now."),
            errors={**_KEY_ERRORS, 404: "`account_not_found`: no account has this id"})
def get_entitlements(caller: ServiceCaller, account_id: str) -> dict[str, Any]:
    """What an account is entitled to

    Its status, plan and the plan's features, its credits, and whether
    `POST /api/v1/credits/consume` takes its credits now (`can_use_credits`, by the account's
    status; a consumption also needs enough `credits`). One DynamoDB read when the key is
    cached: the account, as it is now.
    """
    from chalicelib.credits import entitlements

    return entitlements.entitlements(account_id)


@routes.get("/api/v1/billing/credits", auth=USER, query=("Limit", "Cursor"),
            response=("CreditStatement", "The caller's credits and a page of its ledger."),
            errors={400: "`invalid_query` or `invalid_cursor`."})
def get_credits(caller: Principal) -> dict[str, Any]:
    """The caller's credits and where they went

    The buckets, when the allowance resets, the ledger newest first with the balance after
    each entry, and the use per day of the current and the previous period.
    """
    return statement.own_statement(caller, query_limit(query("limit")), query("cursor"))


@routes.post(
    "/api/v1/billing/topups", status=201, auth=USER, idempotent=BY_CALLER,
    body=Body("TopupRequest", topups.TOPUP, "The pack and how to pay."),
    response=("Invoice", "The topup invoice, awaiting payment."),
    errors={409: "`account_not_active`: only active and past-due accounts buy credits.",
            422: "`validation_failed`, `pack_not_available`, `method_not_offered`."})
def buy_topup(caller: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Buy a pack of credits

    A `topup` invoice, paid like any other (confirm, approve); its approval adds the pack's
    credits to `extra`, which never expire.
    """
    return topups.buy(caller, body)
