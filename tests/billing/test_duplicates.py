"""Payment references on invoices, reused bank references refused, near-duplicates flagged."""
from __future__ import annotations

from chalicelib.billing import references
from chalicelib.storage.models.billing import PaymentClaimModel, PaymentModel
from tests.conftest import Api, PaidSignup
from tests.helpers import assert_error, error_fields, invoice, payments_of, store_unchanged

QUEUE = "/api/v1/billing/admin/payments"


def _other_signup(api: Api, email: str = "bilal@khan.pk") -> tuple[str, str]:
    body = api.register(email, plan="starter", payment_method="bank_transfer").body
    return body["access_token"], body["invoice"]["id"]


def test_a_paid_signup_gets_a_valid_payment_reference_on_its_invoice(api: Api, paid_signup: PaidSignup) -> None:
    shown = api.get(f"/api/v1/billing/invoices/{paid_signup.invoice_id}", token=paid_signup.token).body
    assert references.is_valid(shown["payment_reference"])
    assert invoice(paid_signup.invoice_id).payment_reference == shown["payment_reference"]
    me = api.get("/api/v1/auth/me", token=paid_signup.token).body
    assert me["pending_invoice"]["payment_reference"] == shown["payment_reference"]


def _claim(claim_id: str) -> tuple[str, str, bool]:
    """A bank-reference claim as (payment, account, released)."""
    claim = PaymentClaimModel.get(claim_id, consistent_read=True)
    return claim.payment_id, claim.account_id, claim.released


def _payments(invoice_id: str) -> list[tuple[str, str, str]]:
    """The invoice's payments as (id, status, reference), oldest first."""
    return [(p.payment_id, p.status, p.manual_reference) for p in payments_of(invoice_id)]


def _awaiting(invoice_id: str) -> tuple[str, str | None]:
    """The invoice's (status, payment awaiting approval)."""
    stored = invoice(invoice_id)
    return stored.status, stored.pending_payment_id


def test_a_bank_reference_used_by_another_payment_of_the_account_is_refused_with_409(
        api: Api, paid_signup: PaidSignup) -> None:
    # Given the pair claimed by an earlier payment of the same account (one of its other invoices)
    PaymentClaimModel("bank_transfer#HBL55120", payment_id="pay_earlier",
                      account_id=paid_signup.account_id, released=False,
                      created_at="2026-11-01T00:00:00Z").save()
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="hbl 55120")
    error = assert_error(reply, 409, "duplicate_reference")
    assert error_fields(reply) == {"manual_reference"}
    assert "already used" in error["message"]
    assert payments_of(paid_signup.invoice_id) == []
    assert _awaiting(paid_signup.invoice_id) == ("pending", None)


def test_a_bank_reference_of_another_account_is_accepted_and_both_are_flagged(
        api: Api, paid_signup: PaidSignup) -> None:
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="HBL-55120")
    assert first.status == 201, first.body
    assert _claim("bank_transfer#HBL55120") == (first.body["id"], paid_signup.account_id, False)
    # When another account confirms the same pair (case and spaces differ)
    token, other_invoice = _other_signup(api)
    second = api.confirm(token, other_invoice, reference="hbl 55120")
    # Then it is accepted, holds its invoice, and the first payment keeps the claim
    assert second.status == 201, second.body
    assert _awaiting(other_invoice) == ("pending", second.body["id"])
    assert _claim("bank_transfer#HBL55120") == (first.body["id"], paid_signup.account_id, False)
    assert [c.claim_id for c in PaymentClaimModel.scan()] == ["bank_transfer#HBL55120"]
    # And both payments are flagged for the admin, each naming the other
    queue = {item["id"]: item["flags"] for item in
             api.get(QUEUE, token=api.admin_token()).body["items"]}
    assert queue[first.body["id"]]["reference_clash_with"] == [second.body["id"]]
    assert queue[second.body["id"]]["reference_clash_with"] == [first.body["id"]]
    # And rejecting the newcomer leaves the first payment's claim alone
    assert api.reject(api.admin_token(), second.body["id"], "Not your transfer").status == 200
    assert _claim("bank_transfer#HBL55120") == (first.body["id"], paid_signup.account_id, False)


def test_the_same_reference_with_another_method_is_a_different_payment(api: Api, paid_signup: PaidSignup) -> None:
    mine = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="TX-1001")
    assert mine.status == 201, mine.body
    token, other_invoice = _other_signup(api)
    theirs = api.confirm(token, other_invoice, reference="TX-1001", method="jazzcash")
    assert theirs.status == 201, theirs.body
    # Two payments, each holding its own invoice, and two claims: one per (method, reference)
    other_account = theirs.body["account_id"]
    assert _payments(paid_signup.invoice_id) == [(mine.body["id"], "pending_approval", "TX-1001")]
    assert _payments(other_invoice) == [(theirs.body["id"], "pending_approval", "TX-1001")]
    assert _awaiting(paid_signup.invoice_id) == ("pending", mine.body["id"])
    assert _awaiting(other_invoice) == ("pending", theirs.body["id"])
    assert _claim("bank_transfer#TX1001") == (mine.body["id"], paid_signup.account_id, False)
    assert _claim("jazzcash#TX1001") == (theirs.body["id"], other_account, False)
    assert other_account != paid_signup.account_id


def test_a_rejected_payment_frees_its_reference_for_the_corrected_resubmission(
        api: Api, paid_signup: PaidSignup) -> None:
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="MEEZAN-7781")
    assert first.status == 201, first.body
    assert api.reject(api.admin_token(), first.body["id"], "Amount arrived short").status == 200
    # The rejection released the reference and the invoice
    assert _claim("bank_transfer#MEEZAN7781") == (first.body["id"], paid_signup.account_id, True)
    assert _awaiting(paid_signup.invoice_id) == ("pending", None)
    again = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="MEEZAN-7781")
    assert again.status == 201, again.body
    claim = PaymentClaimModel.get("bank_transfer#MEEZAN7781")
    assert (claim.payment_id, claim.released) == (again.body["id"], False)
    assert claim.account_id == paid_signup.account_id
    assert _payments(paid_signup.invoice_id) == [(first.body["id"], "failed", "MEEZAN-7781"),
                                                 (again.body["id"], "pending_approval", "MEEZAN-7781")]
    assert _awaiting(paid_signup.invoice_id) == ("pending", again.body["id"])


def test_a_succeeded_payment_keeps_its_reference_forever(api: Api, paid_signup: PaidSignup) -> None:
    paid = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="UBL-9").body
    assert api.approve(api.admin_token(), paid["id"]).status == 200
    token, other_invoice = _other_signup(api)
    theirs = api.confirm(token, other_invoice, reference="UBL-9")
    assert theirs.status == 201, theirs.body  # another account: accepted and flagged
    # The paid payment keeps the claim, now flagged too
    assert _claim("bank_transfer#UBL9") == (paid["id"], paid_signup.account_id, False)
    assert _payments(paid_signup.invoice_id) == [(paid["id"], "succeeded", "UBL-9")]
    assert PaymentModel.get(paid["id"]).reference_clash_with == [theirs.body["id"]]
    assert _awaiting(paid_signup.invoice_id) == ("paid", None)


def test_a_resubmission_after_a_rejection_names_the_rejected_payment_and_is_no_duplicate(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="A-1").body
    api.reject(admin, first["id"], "Not in statement")
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="A-2")
    assert second.status == 201
    stored = PaymentModel.get(second.body["id"])
    assert (stored.near_duplicate_of, stored.resubmits) == (None, first["id"])
    [queued] = api.get(QUEUE, token=admin).body["items"]
    assert queued["flags"]["near_duplicate_of"] == []
    assert queued["flags"]["resubmits"] == {"payment_id": first["id"],
                                            "rejection_reason": "Not in statement"}
    assert queued["flags"]["reference_matches"] is False
    detail = api.get(f"{QUEUE}/{second.body['id']}", token=admin).body
    assert detail["flags"]["resubmits"] == queued["flags"]["resubmits"]


def test_the_last_rejection_is_the_one_a_resubmission_names(api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="B-1").body
    api.reject(admin, first["id"], "Not in statement")
    second = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="B-2").body
    api.reject(admin, second["id"], "Amount arrived short")
    third = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="B-3").body
    [queued] = api.get(QUEUE, token=admin).body["items"]
    assert queued["id"] == third["id"]
    assert queued["flags"]["resubmits"] == {"payment_id": second["id"],
                                            "rejection_reason": "Amount arrived short"}
    assert queued["flags"]["near_duplicate_of"] == []


def test_a_payment_again_after_a_reversal_is_still_a_possible_duplicate(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = api.admin_token()
    first = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="C-1").body
    assert api.approve(admin, first["id"]).status == 200
    reversed_ = api.post(f"{QUEUE}/{first['id']}/reverse", {"reason": "Chargeback"}, token=admin)
    assert reversed_.status == 200, reversed_.body
    again = api.confirm(paid_signup.token, paid_signup.invoice_id, reference="C-2")
    assert again.status == 201, again.body
    [queued] = api.get(QUEUE, token=admin).body["items"]
    assert queued["flags"]["near_duplicate_of"] == [first["id"]]
    assert queued["flags"]["resubmits"] is None


def test_the_queue_names_the_method_and_the_accounts_owner(api: Api, paid_signup: PaidSignup) -> None:
    api.confirm(paid_signup.token, paid_signup.invoice_id, method="jazzcash", reference="JC-77")
    [queued] = api.get(QUEUE, token=api.admin_token()).body["items"]
    assert (queued["payment_method"], queued["method_name"]) == ("jazzcash", "JazzCash")
    assert queued["account"] == {"id": paid_signup.account_id, "name": "Khan Media",
                                 "owner_email": "ayesha@khan.pk"}


def test_the_queue_highlights_a_payment_whose_reference_contains_the_invoices(
        api: Api, paid_signup: PaidSignup) -> None:
    reference = invoice(paid_signup.invoice_id).payment_reference
    compact = references.compact(reference)[2:]
    api.confirm(paid_signup.token, paid_signup.invoice_id,
                reference=f"IBFT 88123 pr {compact[:4]} {compact[4:]}")
    [queued] = api.get(QUEUE, token=api.admin_token()).body["items"]
    assert queued["flags"] == {"reference_matches": True, "near_duplicate_of": [],
                               "resubmits": None, "reference_clash_with": []}
    assert queued["payment_reference"] == reference


def test_a_mistyped_payment_reference_is_caught_and_the_right_one_named(
        api: Api, paid_signup: PaidSignup) -> None:
    reference = invoice(paid_signup.invoice_id).payment_reference
    code = references.compact(reference)[2:]
    i = next(i for i in range(7) if code[i] != code[i + 1])
    swapped = references.format_reference(code[:i] + code[i + 1] + code[i] + code[i + 2:])
    with store_unchanged():
        reply = api.confirm(paid_signup.token, paid_signup.invoice_id, reference=f"TRX 1 {swapped}")
    error = assert_error(reply, 422, "payment_reference_typo")
    assert reference in error["message"]


def test_an_admin_finds_the_invoice_of_a_reference_read_off_a_statement(
        api: Api, paid_signup: PaidSignup) -> None:
    reference = invoice(paid_signup.invoice_id).payment_reference
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    admin = api.admin_token()
    written = references.compact(reference).lower()  # as typed from a statement: "pr7k4qx9mp"
    found = api.get(f"/api/v1/billing/admin/invoices/by-reference/{written}", token=admin)
    assert found.status == 200, found.body
    assert found.body["invoice"]["id"] == paid_signup.invoice_id
    assert [p["id"] for p in found.body["payments"]] == [payment]
    assert found.body["account"]["id"] == paid_signup.account_id


def test_a_mistyped_reference_is_called_a_typo_not_unknown(api: Api, paid_signup: PaidSignup) -> None:
    code = references.compact(invoice(paid_signup.invoice_id).payment_reference)[2:]
    i = next(i for i in range(7) if code[i] != code[i + 1])
    typo = references.format_reference(code[:i] + code[i + 1] + code[i] + code[i + 2:])
    admin = api.admin_token()
    reply = api.get(f"/api/v1/billing/admin/invoices/by-reference/{typo}", token=admin)
    assert_error(reply, 422, "invalid_reference")
    unknown = references.new_reference()
    assert_error(api.get(f"/api/v1/billing/admin/invoices/by-reference/{unknown}", token=admin),
                 404, "invoice_not_found")
    assert_error(api.get(f"/api/v1/billing/admin/invoices/by-reference/{unknown}",
                         token=paid_signup.token), 403)
