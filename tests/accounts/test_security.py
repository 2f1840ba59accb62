"""Security by default: isolation between accounts, passwords kept to the users table, no secrets."""
from __future__ import annotations

import json
import re
import subprocess

from chalicelib.storage import models
from chalicelib.storage.models.accounts import UserModel
from tests.conftest import PASSWORD, PROJECT_DIR, Api
from tests.helpers import assert_error


def _two_accounts_with_payments(api: Api) -> tuple[dict, dict]:
    accounts = []
    for email in ("ayesha@khan.pk", "bilal@khan.pk"):
        signup = api.register(email, plan="starter", payment_method="bank_transfer").body
        payment = api.confirm(signup["access_token"], signup["invoice"]["id"]).body
        accounts.append({"token": signup["access_token"], "invoice": signup["invoice"]["id"],
                         "payment": payment["id"], "account": signup["account"]["id"]})
    return accounts[0], accounts[1]


def test_one_account_never_sees_anothers_invoices_or_payments(api: Api) -> None:
    mine, theirs = _two_accounts_with_payments(api)
    reply = api.get(f"/api/v1/billing/invoices/{theirs['invoice']}", token=mine["token"])
    assert_error(reply, 404, "invoice_not_found")
    for path in ("/api/v1/billing/invoices", "/api/v1/billing/payments"):
        listed = api.get(path, token=mine["token"]).body["items"]
        assert theirs["invoice"] not in json.dumps(listed) and theirs["payment"] not in json.dumps(listed)
        assert listed, path  # and their own are there
    # Nor acts on them: a user cannot decide a payment, theirs or another's
    for payment in (mine["payment"], theirs["payment"]):
        reply = api.post(f"/api/v1/billing/admin/payments/{payment}/approve", {}, token=mine["token"])
        assert_error(reply, 403)


def test_the_password_is_only_in_the_users_table_and_only_as_an_argon2id_hash(api: Api) -> None:
    mine, _ = _two_accounts_with_payments(api)
    admin = api.admin_token()
    api.approve(admin, mine["payment"])
    # Every table but users: no password, no hash
    hashes = [user.password_hash for user in UserModel.scan()]
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    for model in models.ALL_MODELS:
        if model is UserModel:
            continue
        dump = json.dumps([item.serialize() for item in model.scan()])
        assert PASSWORD not in dump, model.Meta.table_name
        assert not any(h in dump for h in hashes), model.Meta.table_name
        assert "$argon2" not in dump, model.Meta.table_name


def test_no_response_ever_carries_a_password_or_its_hash(api: Api) -> None:
    mine, _ = _two_accounts_with_payments(api)
    admin = api.admin_token()
    replies = [
        api.get("/api/v1/auth/me", token=mine["token"]),
        api.post("/api/v1/auth/login", {"email": "ayesha@khan.pk", "password": PASSWORD}),
        api.get(f"/api/v1/billing/admin/payments/{mine['payment']}", token=admin),
        api.get("/api/v1/billing/admin/payments", token=admin),
        api.approve(admin, mine["payment"]),
    ]
    for reply in replies:
        text = json.dumps(reply.body)
        assert reply.status == 200, reply.body
        assert PASSWORD not in text and "password" not in text and "$argon2" not in text


# Secrets in the repository ---------------------------------------------------------------------

SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "token secret value": re.compile(r"JWT_SECRET\s*[=:]\s*['\"][A-Za-z0-9_\-]{32,}['\"]"),
}


def test_no_secret_is_committed() -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_DIR, capture_output=True,
                             check=True).stdout.decode().split("\0")
    found = []
    for name in filter(None, tracked):
        path = PROJECT_DIR / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(errors="ignore")
        found += [f"{name}: {what}" for what, pattern in SECRET_PATTERNS.items() if pattern.search(text)]
    assert found == []
    assert ".data/" in (PROJECT_DIR / ".gitignore").read_text().split()  # the dev token secret's home
