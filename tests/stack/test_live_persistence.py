"""`make dev` keeps every acknowledged write: under concurrent load, and across a restart or a crash."""
from __future__ import annotations

import json
import signal
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from devserver.dynamo import Journal, SerializedApp
from tests.conftest import (
    ADMIN_EMAIL, ADMIN_PASSWORD, BILLING_PK, PASSWORD, devserver, fresh_moto, http,
)

SIGNUPS = 50


def _signup(base: str, index: int) -> tuple[int, str]:
    email = f"load-{index}-{uuid.uuid4().hex[:6]}@example.pk"
    body = {"email": email, "password": PASSWORD, "name": f"User {index}"}
    if index % 2:
        body.update(plan="starter", billing=BILLING_PK, payment_method="bank_transfer")
    return http("POST", f"{base}/api/v1/auth/register", body).status, email


def _logs_in(base: str, email: str) -> bool:
    return http("POST", f"{base}/api/v1/auth/login", {"email": email, "password": PASSWORD}).status == 200


FAST_HASHING = {"PASSWORD_HASH_PROFILE": "cheapest"}  # this is about the store, not about argon2


@pytest.mark.live
def test_fifty_signups_at_once_all_log_in_and_survive_a_crash_and_a_restart(tmp_path: Path) -> None:
    with devserver(tmp_path, **FAST_HASHING) as stack:
        with ThreadPoolExecutor(max_workers=SIGNUPS) as pool:
            results = list(pool.map(lambda i: _signup(stack.base_url, i), range(SIGNUPS)))
        created = [email for status, email in results if status == 201]
        # Nothing but 201 (a 503 would be fine for the client to retry, but none is expected here)
        assert [status for status, _ in results] == [201] * SIGNUPS
        with ThreadPoolExecutor(max_workers=10) as pool:
            assert all(pool.map(lambda e: _logs_in(stack.base_url, e), created))
        token = http("POST", f"{stack.base_url}/api/v1/auth/login",
                     {"email": created[1], "password": PASSWORD}).body["access_token"]
        # When the server dies without a chance to save anything
        assert stack.process is not None
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait(timeout=10)

    with devserver(tmp_path, **FAST_HASHING) as stack:
        # Then every acknowledged signup is there, and tokens issued before still work
        assert "writes restored" in stack.output.read_text()
        with ThreadPoolExecutor(max_workers=10) as pool:
            assert all(pool.map(lambda e: _logs_in(stack.base_url, e), created))
        me = http("GET", f"{stack.base_url}/api/v1/auth/me", token=token)
        assert me.status == 200 and me.body["account"]["status"] == "pending_payment"
        assert me.body["pending_invoice"]["amount"] == "89.00"

    # A clean stop and start again: the snapshot written on start restores the same data
    with devserver(tmp_path, **FAST_HASHING) as stack:
        assert all(_logs_in(stack.base_url, e) for e in created[:5])
        client = boto3.client("dynamodb", endpoint_url=stack.dynamodb_endpoint, region_name="us-east-1")
        users = client.scan(TableName="billing-dev-users", Select="COUNT")["Count"]
        assert users == SIGNUPS + 1  # and the admin, created once


# The journal itself, on an in-process moto server ------------------------------------------------

def _app(journal: Path) -> SerializedApp:
    return SerializedApp(DomainDispatcherApplication(create_backend_app), Journal(journal))


# moto's backends are global to the process: each in-process "server" below lives inside its own
# fresh_moto(), which starts it empty and leaves nothing behind for other tests.


def test_a_snapshot_recreates_tables_indexes_ttl_streams_and_items(tmp_path: Path) -> None:
    with fresh_moto():
        lines = _fill_and_snapshot(_app(tmp_path / "one.journal"))
    (tmp_path / "two.journal").write_bytes(b"".join(lines))
    with fresh_moto():
        second = _app(tmp_path / "two.journal")
        assert second.replay() == len(lines)
        _assert_restored(second)


def _fill_and_snapshot(first: SerializedApp) -> list[bytes]:
    first.call("us-east-1", "CreateTable", {
        "TableName": "snap", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                    "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "LocalSecondaryIndexes": [{"IndexName": "by_pk_g", "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "g", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}})
    first.call("us-east-1", "UpdateTimeToLive", {
        "TableName": "snap", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "ttl"}})
    for n in range(60):  # more than one batch of 25
        first.call("us-east-1", "PutItem", {"TableName": "snap", "Item": {
            "pk": {"S": f"p{n % 3}"}, "sk": {"S": f"s{n}"}, "g": {"S": "x"}, "n": {"N": str(n)}}})
    return list(first.snapshot())


def _assert_restored(second: SerializedApp) -> None:
    table = second.call("us-east-1", "DescribeTable", {"TableName": "snap"})["Table"]
    assert table["ItemCount"] == 60 or second.call(
        "us-east-1", "Scan", {"TableName": "snap", "Select": "COUNT"})["Count"] == 60
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by_g"]
    assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["by_pk_g"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    ttl = second.call("us-east-1", "DescribeTimeToLive", {"TableName": "snap"})["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "ttl"
    items = second.call("us-east-1", "Query", {
        "TableName": "snap", "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "p1"}}})["Items"]
    assert sorted(int(i["n"]["N"]) for i in items) == list(range(1, 60, 3))


def test_a_line_cut_short_by_a_crash_is_skipped_and_the_rest_applies(tmp_path: Path) -> None:
    path = tmp_path / "cut.journal"
    with fresh_moto():
        app = _app(path)
        app.call("us-east-1", "CreateTable", {
            "TableName": "cut", "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]})
        path.write_bytes(b"".join(app.snapshot()) + b'{"region":"us-east-1","op":"PutI')
    with fresh_moto():
        again = _app(path)
        assert again.replay() == 1
        assert again.call("us-east-1", "DescribeTable", {"TableName": "cut"})["Table"]["TableName"] == "cut"
    assert json.loads(path.read_bytes().splitlines()[0])["op"] == "CreateTable"


@pytest.mark.live
def test_an_uploaded_proof_of_payment_survives_a_crash(tmp_path: Path) -> None:
    from tests.helpers import PNG, multipart

    with devserver(tmp_path, **FAST_HASHING) as stack:
        base = stack.base_url
        signup = http("POST", f"{base}/api/v1/auth/register", {
            "email": "proof@example.pk", "password": PASSWORD, "name": "Proof", "plan": "starter",
            "billing": BILLING_PK}).body
        token, invoice = signup["access_token"], signup["invoice"]
        payment = http("POST", f"{base}/api/v1/billing/admin/payments/confirm", {
            "invoice_id": invoice["id"], "payment_method": "bank_transfer", "amount": "89.00",
            "manual_reference": "BT-PROOF-1"}, token=token).body["id"]
        form = http("POST", f"{base}/api/v1/billing/payments/{payment}/proof",
                    {"content_type": "image/png"}, token=token).body["upload"]
        body, content_type = multipart(form["fields"], PNG, "receipt.png")
        upload = urllib.request.Request(form["url"], data=body, method="POST",
                                        headers={"Content-Type": content_type})
        urllib.request.urlopen(upload, timeout=10).close()
        assert http("POST", f"{base}/api/v1/billing/payments/{payment}/proof/complete",
                    token=token).status == 200
        assert stack.process is not None
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait(timeout=10)

    with devserver(tmp_path, **FAST_HASHING) as stack:
        admin = http("POST", f"{stack.base_url}/api/v1/auth/login",
                     {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).body["access_token"]
        detail = http("GET", f"{stack.base_url}/api/v1/billing/admin/payments/{payment}", token=admin)
        with urllib.request.urlopen(detail.body["proof_url"], timeout=10) as response:
            assert response.read() == PNG
