"""Who decided a payment: the customer sees a role, the admin routes the admin's email."""
from __future__ import annotations

from tests.conftest import ADMIN_EMAIL

PAYMENTS = "/api/v1/billing/payments"


def test_the_customer_sees_our_billing_team_and_the_admin_sees_the_email(api, paid_signup):
    # Given a payment the admin approved
    payment_id = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.approve(api.admin_token(), payment_id).status == 200
    # When the customer lists their payments
    [mine] = api.get(PAYMENTS, token=paid_signup.token).body["items"]
    # Then the decision names a role, never the admin's email
    assert mine["decided_by"] == "our billing team"
    assert [approval["by"] for approval in mine["approvals"]] == ["our billing team"]
    assert ADMIN_EMAIL not in str(mine)
    # And the admin's view of the same payment names the admin
    detail = api.get(f"/api/v1/billing/admin/payments/{payment_id}", token=api.admin_token()).body
    assert detail["payment"]["decided_by"] == ADMIN_EMAIL
