"""The seed's paid workflow end to end through the test client (a first check of the fixtures)."""
from chalicelib.storage.models.accounts import AccountModel
from chalicelib.storage.models.records import CreditLedgerModel


def test_paid_signup_confirm_approve_grants_credits_once(api, paid_signup):
    # Given a paid signup with a confirmed payment
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id)
    assert payment.status == 201, payment.body
    admin = api.admin_token()
    # When the admin approves it twice
    first = api.approve(admin, payment.body["id"])
    second = api.approve(admin, payment.body["id"])
    # Then only the first wins and credits were granted once
    assert first.status == 200 and second.status == 409
    account = AccountModel.get(paid_signup.account_id)
    assert (account.status, account.credits) == ("active", 1000)
    ledger = list(CreditLedgerModel.query(paid_signup.account_id))
    assert [(e.amount, e.reason) for e in ledger] == [(1000, "plan_purchase")]
