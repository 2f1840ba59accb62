"""The credits tests' own fixtures: a service key, and an account active on the starter plan."""
from __future__ import annotations

import pytest

from chalicelib.credits import consume as consumption
from tests.conftest import Api, PaidSignup


@pytest.fixture
def key(api: Api) -> str:
    reply = api.post("/api/v1/billing/admin/service-keys", {"name": "api-server"},
                     token=api.admin_token())
    assert reply.status == 201, reply.body
    return reply.body["key"]


@pytest.fixture
def active(api: Api, paid_signup: PaidSignup) -> PaidSignup:
    payment = api.confirm(paid_signup.token, paid_signup.invoice_id).body["id"]
    assert api.approve(api.admin_token(), payment).status == 200
    consumption._views.clear()  # as a fresh container
    return paid_signup
