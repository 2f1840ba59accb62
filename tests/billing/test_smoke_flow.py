"""A first check of the fixtures: each test of a module on conftest's fast `aws` (one moto per
module) starts from the store a fresh moto gives, the reference data and the admin, whatever the
test before it wrote.

The seed's paid workflow this file used to run (signup, confirm, approve, a second approve refused,
the credits granted once) is covered, with the stored state of every entity, by
test_workflows.py::test_paid_signup_confirm_approve and
test_http_admin.py::test_second_approve_is_409_and_grants_nothing_more.
"""
from __future__ import annotations

import pytest

from chalicelib.storage import store
from chalicelib.storage.models.accounts import AccountModel, LoginFailureModel, UserModel
from chalicelib.storage.models.billing import (
    InvoiceModel,
    PaymentClaimModel,
    PaymentModel,
    SubscriptionModel,
)
from chalicelib.storage.models.catalog import PaymentMethodModel, PlanModel
from chalicelib.storage.models.platform import IdempotencyModel, OutboxModel
from chalicelib.storage.models.records import AuditEventModel, CounterModel, CreditLedgerModel
from tests.conftest import ADMIN_EMAIL, BILLING_PK, PASSWORD, Api
from tests.helpers import INVOICE_NUMBER

WRITTEN_BY_A_WORKFLOW = (InvoiceModel, PaymentModel, SubscriptionModel, PaymentClaimModel,
                         OutboxModel, IdempotencyModel, LoginFailureModel, CreditLedgerModel)


def _active_accounts() -> int:
    """The active accounts the status counter's shards add up to."""
    shards = [store.get(CounterModel, shard, consistent=True) for shard in store.shard_keys()]
    return sum(shard.accounts_active or 0 for shard in shards if shard is not None)


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_starts_from_a_fresh_store_whatever_the_one_before_wrote(api: Api, run: str) -> None:
    # Given the store as the fixture hands it over: the reference data and the admin, nothing else
    assert [u.email for u in UserModel.scan()] == [ADMIN_EMAIL]
    assert [a.name for a in AccountModel.scan()] == ["Administrators"]
    assert {m.__name__: list(m.scan()) for m in WRITTEN_BY_A_WORKFLOW} == {
        m.__name__: [] for m in WRITTEN_BY_A_WORKFLOW}
    assert [(e.action, e.to_status) for e in AuditEventModel.scan()] == [("created", "active")]
    assert _active_accounts() == 1
    assert len(list(PlanModel.scan())) == 5 and len(list(PaymentMethodModel.scan())) == 14
    # When the test writes a paid workflow, a failed login and a request with an Idempotency-Key
    # (a leftover of the other run would refuse the email or the bank reference, or replay the key)
    reply = api.post("/api/v1/auth/register", {
        "email": "ayesha@khan.pk", "password": PASSWORD, "name": "Ayesha Khan", "plan": "starter",
        "billing": BILLING_PK, "payment_method": "bank_transfer"}, headers={"idempotency-key": "smoke"})
    assert reply.status == 201 and "idempotent-replayed" not in reply.headers, reply.body
    token, invoice = reply.body["access_token"], reply.body["invoice"]
    # the invoice numbers start again at 1: the sequence is not left from the other run
    assert INVOICE_NUMBER.match(invoice["invoice_number"])
    assert invoice["invoice_number"].endswith("-000001")
    payment = api.confirm(token, invoice["id"], reference="BT-SMOKE-1")
    assert payment.status == 201, payment.body
    assert api.approve(api.admin_token(), payment.body["id"]).status == 200
    wrong = api.post("/api/v1/auth/login", {"email": "ayesha@khan.pk", "password": "wrong one!"})
    assert wrong.status == 401
    # Then it wrote in every table the other run must find empty
    assert all(list(m.scan()) for m in WRITTEN_BY_A_WORKFLOW)
