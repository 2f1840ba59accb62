"""Where settings come from when deployed: per-table names from the template, and the token
secret from SSM Parameter Store (prod) or JWT_SECRET (dev)."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.core.config import get_settings, reset_settings, table_variable
from chalicelib.core.secrets import hash_key
from chalicelib.storage import models
from tests.conftest import Api, aws_spy, operations_of
from tests.helpers import assert_error, environment, store_unchanged

PARAMETER = "/billing/prod/jwt-secret"
SSM_SECRET = "ssm-secret-" + "s" * 40


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
    # (two: the client address and email's, and the client address's own)
    buckets = {item.bucket_id.split("#")[0] for item in models.LoginFailureModel.scan()}
    client = b"127.0.0.1"  # what Chalice's test client says the caller is
    messages = [b"login:" + client + b"\0victim@example.com", b"login-client:" + client]
    assert buckets == {hmac.new(key, m, hashlib.sha256).hexdigest()[:32] for m in messages}
    for other in (b"", SSM_SECRET.encode()):
        assert not buckets & {hmac.new(other, m, hashlib.sha256).hexdigest()[:32] for m in messages}


# SSM failing: a throttled read is a 503 to retry, a refused one a 500, and neither is kept ------

@pytest.fixture
def ssm_outage() -> Iterator[dict[str, Any]]:
    """While `outage["error"]` is set, every SSM call raises it; `outage["calls"]` counts the
    SSM calls made, failed or not."""
    outage: dict[str, Any] = {"error": None, "calls": 0}

    def fail(service: str, operation: str, params: dict[str, Any]) -> None:
        if service == "ssm":
            outage["calls"] += 1
            if outage["error"] is not None:
                raise outage["error"]

    with aws_spy(fail):
        yield outage


def ssm_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} for {PARAMETER}"}}, "GetParameter")


@pytest.mark.parametrize("error", [
    ssm_error("ThrottlingException"), ssm_error("InternalServerError"),
    EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com"),
], ids=["throttled", "internal_error", "unreachable"])
def test_a_transient_ssm_failure_is_503_with_retry_after_and_is_not_kept(
        api: Api, ssm_outage: dict[str, Any], error: Exception) -> None:
    # Given the secret in SSM, and SSM failing for now
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=SSM_SECRET, Type="SecureString", Overwrite=True)
    with environment(JWT_SECRET_PARAMETER=PARAMETER, JWT_SECRET=None):
        ssm_outage.update(error=error, calls=0)
        # When a user signs up
        with store_unchanged():
            reply = api.register("ssm-busy@example.com")
        # Then 503 with Retry-After, naming no secret, and nothing was written
        assert_error(reply, 503, "service_unavailable")
        assert reply.headers["retry-after"] == "2"
        assert PARAMETER not in str(reply.body) and SSM_SECRET not in str(reply.body)
        assert ssm_outage["calls"] == 1
        # And once SSM works, the same request reads the secret again and goes through
        ssm_outage["error"] = None
        again = api.register("ssm-busy@example.com")
        assert again.status == 201, again.body
        claims = jwt.decode(again.body["access_token"], SSM_SECRET, algorithms=["HS256"],
                            audience="billing-api")
        assert claims["email"] == "ssm-busy@example.com"
        assert ssm_outage["calls"] == 2
        # And the value read is then kept: no more SSM calls
        assert api.get("/api/v1/auth/me", token=again.body["access_token"]).status == 200
        assert ssm_outage["calls"] == 2


@pytest.mark.parametrize("code", ["AccessDeniedException", "ParameterNotFound"])
def test_a_refused_ssm_read_is_a_500_misconfigured_naming_no_secret_and_is_not_kept(
        api: Api, ssm_outage: dict[str, Any], code: str) -> None:
    # Given a stage whose role may not read the parameter (or names one that is missing)
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Value=SSM_SECRET, Type="SecureString", Overwrite=True)
    with environment(JWT_SECRET_PARAMETER=PARAMETER, JWT_SECRET=None):
        ssm_outage.update(error=ssm_error(code), calls=0)
        with store_unchanged():
            reply = api.register("ssm-denied@example.com")
        # Then a 500 that says the secret is misconfigured, and names neither it nor its value
        error = assert_error(reply, 500, "misconfigured")
        assert "retry-after" not in reply.headers
        assert PARAMETER not in str(reply.body) and SSM_SECRET not in str(reply.body)
        assert "secret" in error["message"].lower()
        # And once the role may read it, the next request reads it and goes through
        ssm_outage["error"] = None
        again = api.register("ssm-denied@example.com")
        assert again.status == 201, again.body
        assert ssm_outage["calls"] == 2
