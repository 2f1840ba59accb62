"""Where settings come from when deployed: per-table names from the template, and the token
secret from SSM Parameter Store (prod) or JWT_SECRET (dev)."""
from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import jwt
import pytest

from chalicelib.core.config import Settings, get_settings, reset_settings, table_variable
from chalicelib.core.secrets import hash_key, read_parameter
from chalicelib.storage import models
from tests.conftest import Api, aws_spy, operations_of

PARAMETER = "/billing/prod/jwt-secret"
SSM_SECRET = "ssm-secret-" + "s" * 40


@contextmanager
def environment(**values: str | None) -> Iterator[Settings]:
    """Settings read with these variables set (None: unset); everything restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
        read_parameter.cache_clear()
        yield get_settings()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings()
        read_parameter.cache_clear()


@pytest.fixture
def ssm_calls(ddb_calls: list[str]) -> Iterator[list[str]]:
    """The SSM operations made while the fixture is active (layered over `ddb_calls`' spy)."""
    calls: list[str] = []
    with aws_spy(operations_of("ssm", calls)):
        yield calls


def test_table_names_come_from_the_template_variables_when_set() -> None:
    # Given the template passes the users table by reference, and nothing for the others
    with environment(**{table_variable("users"): "stack-UsersTable-1X2Y"}) as settings:
        # Then that table has the given name and the others keep `<prefix>-<entity>`
        assert settings.table_name("users") == "stack-UsersTable-1X2Y"
        assert settings.table_name("payment_methods") == "billing-dev-payment_methods"
    assert table_variable("payment_methods") == "PAYMENT_METHODS_TABLE"


def test_models_bind_to_the_template_names() -> None:
    with environment(OUTBOX_TABLE="stack-outbox") as settings:
        models.bind(settings)
        try:
            assert models.OutboxModel.Meta.table_name == "stack-outbox"
            assert models.UserModel.Meta.table_name == "billing-dev-users"
        finally:
            reset_settings()
            models.bind(get_settings())


def test_prod_reads_the_secret_from_ssm_once_per_container(api: Api, ssm_calls: list[str]) -> None:
    # Given a SecureString parameter and a stage that names it instead of a plain secret
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=SSM_SECRET, Type="SecureString", Overwrite=True)
    ssm_calls.clear()
    with environment(JWT_SECRET_PARAMETER=PARAMETER, JWT_SECRET=None):
        # When a user signs up, logs in and calls two authenticated routes
        signup = api.register("ssm@example.com")
        token = api.login("ssm@example.com")
        replies = [api.get("/api/v1/auth/me", token=token),
                   api.get("/api/v1/billing/invoices", token=token)]
        # Then tokens are signed with the parameter's value, read from SSM exactly once
        assert signup.status == 201 and all(r.status == 200 for r in replies)
        claims = jwt.decode(token, SSM_SECRET, algorithms=["HS256"], audience="billing-api")
        assert claims["email"] == "ssm@example.com"
        assert ssm_calls == ["GetParameter"]


def test_dev_uses_the_env_secret_and_never_calls_ssm(api: Api, ssm_calls: list[str]) -> None:
    with environment(JWT_SECRET_PARAMETER=None):
        assert api.register("dev@example.com").status == 201
        assert api.get("/api/v1/auth/me", token=api.login("dev@example.com")).status == 200
    assert ssm_calls == []


def test_a_missing_parameter_is_a_500_that_names_no_secret(api: Api) -> None:
    with environment(JWT_SECRET_PARAMETER="/billing/prod/missing", JWT_SECRET=None):
        reply = api.register("nosecret@example.com")
    assert reply.status == 500
    assert reply.body["error"]["code"] == "misconfigured"
    assert "/billing/prod/missing" not in str(reply.body)


def test_prod_keys_its_hashes_with_a_key_derived_from_the_ssm_secret(api: Api) -> None:
    # Given a prod-like stage: the token secret only in SSM, no JWT_SECRET in the environment
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=SSM_SECRET, Type="SecureString", Overwrite=True)
    with environment(JWT_SECRET_PARAMETER=PARAMETER, JWT_SECRET=None):
        key = hash_key()
        # When a login fails for an email
        assert api.post("/api/v1/auth/login", {"email": "victim@example.com",
                                               "password": "wrong-password"}).status == 401
    # Then the hash key is neither empty nor the token secret itself
    assert len(key) == 32 and key != SSM_SECRET.encode()
    assert key == hmac.new(SSM_SECRET.encode(), b"billing/keyed-hashes/v1", hashlib.sha256).digest()
    # And the failure bucket is named by an HMAC under that key, not under an empty one
    bucket = next(iter(models.LoginFailureModel.scan())).bucket_id.split("#")[0]
    message = b"login:victim@example.com"
    assert bucket == hmac.new(key, message, hashlib.sha256).hexdigest()[:32]
    assert bucket != hmac.new(b"", message, hashlib.sha256).hexdigest()[:32]
    assert bucket != hmac.new(SSM_SECRET.encode(), message, hashlib.sha256).hexdigest()[:32]
