"""The admin's account search (email, invoice number, payment reference, name prefix: each a key
or an index, never a Scan) and an account's page with everything about it."""
from __future__ import annotations

from chalicelib.storage.models.accounts import AccountModel
from ops import migrate
from tests.conftest import Api
from tests.helpers import assert_error

SEARCH = "/api/v1/billing/admin/accounts"


def _signup(api: Api, email: str, account_name: str) -> dict:
    reply = api.register(email, plan="starter", payment_method="bank_transfer",
                         account_name=account_name)
    assert reply.status == 201, reply.body
    return reply.body


def test_accounts_are_found_by_email_number_reference_and_name_prefix(api: Api, ddb_calls: list) -> None:
    khan = _signup(api, "ayesha@khan.pk", "Khan Media")
    kite = _signup(api, "bilal@kite.pk", "Kite  Labs")
    _signup(api, "sana@media.pk", "Media House")
    admin = api.admin_token()
    ddb_calls.clear()

    def found(q: str) -> list[tuple[str, str]]:
        reply = api.get(f"{SEARCH}?q={q}", token=admin)
        assert reply.status == 200, reply.body
        return [(item["name"], item["matched"]) for item in reply.body["items"]]

    assert found("AYESHA@khan.pk") == [("Khan Media", "email")]
    assert found(khan["invoice"]["invoice_number"].lower()) == [("Khan Media", "invoice_number")]
    spaced = kite["invoice"]["payment_reference"].lower().replace("-", "%20")
    assert found(spaced) == [("Kite  Labs", "payment_reference")]
    assert found("kite%20l") == [("Kite  Labs", "name")]
    assert sorted(found("kh")) == [("Khan Media", "name")]
    assert found("nobody@nowhere.example") == [] and found("zz") == []
    assert "Scan" not in ddb_calls
    assert_error(api.get(f"{SEARCH}?q=k", token=admin), 400, "invalid_query")
    assert_error(api.get(SEARCH, token=admin), 400, "invalid_query")


def test_an_account_page_holds_its_users_invoices_payments_credits_and_history(api: Api) -> None:
    khan = _signup(api, "ayesha@khan.pk", "Khan Media")
    payment = api.confirm(khan["access_token"], khan["invoice"]["id"]).body
    admin = api.admin_token()
    assert api.approve(admin, payment["id"]).status == 200
    page = api.get(f"{SEARCH}/{khan['account']['id']}", token=admin).body
    assert [u["email"] for u in page["users"]] == ["ayesha@khan.pk"]
    assert [i["id"] for i in page["invoices"]] == [khan["invoice"]["id"]]
    assert [(p["id"], p["status"]) for p in page["payments"]] == [(payment["id"], "succeeded")]
    assert page["account"]["status"] == "active" and page["credits"]["credits"] == 1000
    assert ("payment_approved", "active") in [(e["action"], e["to_status"]) for e in page["history"]]
    assert "password_hash" not in str(page)


def test_migrate_indexes_accounts_written_before_the_search(api: Api) -> None:
    khan = _signup(api, "ayesha@khan.pk", "Khan Media")
    account = AccountModel.get(khan["account"]["id"])
    account.update(actions=[AccountModel.name_shard.remove(), AccountModel.name_sort.remove()])
    admin = api.admin_token()
    assert api.get(f"{SEARCH}?q=khan", token=admin).body["items"] == []
    assert migrate.migrate().counts.get("accounts indexed by name") == 1
    assert [i["id"] for i in api.get(f"{SEARCH}?q=khan", token=admin).body["items"]] == [
        khan["account"]["id"]]
    assert migrate.migrate().counts.get("accounts indexed by name") is None  # idempotent
