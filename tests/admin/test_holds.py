"""An owner suspends an account with a reason and reactivates it: suspended, its credits cannot
be used; its subscription's life goes on meanwhile and the account gets back the status that
life gave it."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.billing import jobs
from chalicelib.core.clock import parse_stamp
from chalicelib.storage.models.billing import SubscriptionModel
from ops import integrity
from tests.conftest import Api, PaidSignup
from tests.helpers import account, assert_error, audit_of

ACCOUNTS = "/api/v1/billing/admin/accounts"


def _consistent() -> None:
    report = integrity.verify()
    assert report.ok, "\n".join(report.lines())


def _active(api: Api, signup: PaidSignup) -> str:
    admin = api.admin_token()
    payment = api.confirm(signup.token, signup.invoice_id).body
    assert api.approve(admin, payment["id"]).status == 200
    return admin


def test_a_suspended_account_cannot_use_its_credits_until_reactivated(api: Api,
                                                                    paid_signup: PaidSignup) -> None:
    admin = _active(api, paid_signup)
    key = api.post("/api/v1/billing/admin/service-keys", {"name": "backend"}, token=admin).body["key"]
    path = f"{ACCOUNTS}/{paid_signup.account_id}"
    assert_error(api.post(f"{path}/suspend", {}, token=admin), 422, "validation_failed")
    held = api.post(f"{path}/suspend", {"reason": "Chargeback dispute"}, token=admin)
    assert held.status == 200 and held.body["account"]["status"] == "suspended"
    stored = account(paid_signup.account_id)
    assert (stored.status, stored.held, stored.held_status) == ("suspended", "Chargeback dispute", "active")
    assert api.get(path, token=admin).body["hold"] == {"reason": "Chargeback dispute",
                                                       "status_after": "active"}
    _consistent()
    used = api.post("/api/v1/credits/consume", {"account_id": paid_signup.account_id, "amount": 1,
                                                "reason": "render"}, token=key,
                    headers={"idempotency-key": "u1"})
    assert used.status == 409, used.body
    assert account(paid_signup.account_id).credits == 1000
    assert_error(api.post(f"{path}/suspend", {"reason": "again"}, token=admin), 409, "account_held")
    back = api.post(f"{path}/reactivate", {"reason": "Dispute won"}, token=admin)
    assert back.status == 200 and back.body["account"]["status"] == "active"
    assert account(paid_signup.account_id).held is None
    assert_error(api.post(f"{path}/reactivate", {"reason": "x"}, token=admin), 409, "account_not_held")
    actions = [action for action, *_ in audit_of(paid_signup.account_id)]
    assert actions[-2:] == ["suspended_by_admin", "reactivated_by_admin"]
    assert api.post("/api/v1/credits/consume", {"account_id": paid_signup.account_id, "amount": 1,
                                                "reason": "render"}, token=key,
                    headers={"idempotency-key": "u2"}).status == 200
    _consistent()


def test_while_held_the_subscription_goes_past_due_and_the_account_gets_that_back(
        api: Api, paid_signup: PaidSignup) -> None:
    admin = _active(api, paid_signup)
    path = f"{ACCOUNTS}/{paid_signup.account_id}"
    assert api.post(f"{path}/suspend", {"reason": "Fraud check"}, token=admin).status == 200
    # The period ends with its renewal unpaid: the subscription is past due, the account held
    end = parse_stamp(SubscriptionModel.get(paid_signup.subscription_id).current_period_end)
    jobs.run(end - timedelta(days=7) + timedelta(hours=1))
    jobs.run(end + timedelta(hours=1))
    assert SubscriptionModel.get(paid_signup.subscription_id).status == "past_due"
    stored = account(paid_signup.account_id)
    assert (stored.status, stored.held_status) == ("suspended", "past_due")
    _consistent()
    back = api.post(f"{path}/reactivate", {"reason": "Checked"}, token=admin)
    assert back.body["account"]["status"] == "past_due"
    _consistent()
