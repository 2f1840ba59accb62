"""The template merged into Chalice's SAM template: tables, stream wiring, gateway errors.

Chalice writes the functions, a role for each (`.chalice/policy-<stage>-<function>.json`), the API;
this adds what it cannot know: every DynamoDB table (`deploy.tables`), the table names and stream
ARNs in every function's environment (`Ref` / `GetAtt`, so the functions are created after their
tables), the outbox stream as the event source of its handler, the proofs bucket (TLS only), named
functions with log groups that expire, and API Gateway's own errors in the API's JSON error shape.
The token secret is read from the stage's SSM parameter at run time: it is in no variable.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalice.utils import to_cfn_resource_name
from deploy import tables
from deploy.stage import Stage

NOT_FOUND_CODE = "route_not_found"
NOT_FOUND_MESSAGE = "No such route; see /api/v1/openapi.json."
LOG_RETENTION_DAYS = {"prod": 90}
DEFAULT_LOG_RETENTION_DAYS = 14
STREAM_MAX_RETRIES = 3  # then the scheduled drain sends what the stream handler could not


@dataclass(frozen=True)
class Function:
    """A Lambda function Chalice packages: its Chalice name and deployed name."""

    resource_name: str
    function_name: str

    @property
    def logical_id(self) -> str:
        """The function's logical id in Chalice's SAM template."""
        return "APIHandler" if self.resource_name == "api_handler" else to_cfn_resource_name(
            self.resource_name)


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB stream event source Chalice packages for a function."""

    resource_name: str
    stream_arn: str
    function: Function

    @property
    def logical_id(self) -> str:
        return to_cfn_resource_name(self.resource_name)


def placeholder_stream_arn(stage: Stage, entity: str) -> str:
    """The stream ARN the app is imported with at package time, replaced by the table's `GetAtt`."""
    return (f"arn:aws:dynamodb:us-east-1:000000000000:table/{stage.table_name(entity)}"
            "/stream/1970-01-01T00:00:00.000")


def error_body(code: str, message: str | None) -> str:
    """The API's error shape as a gateway response template (None: API Gateway's own message)."""
    text = json.dumps(message) if message is not None else "$context.error.messageString"
    return '{"error": {"code": "%s", "message": %s, "details": {}}}' % (code, text)


# (status or None to keep API Gateway's, code, message or None for API Gateway's own)
GATEWAY_ERRORS: dict[str, tuple[str | None, str, str | None]] = {
    # API Gateway answers an unknown path with 403 "Missing Authentication Token"; the API says 404,
    # as the local dev server does.
    "MISSING_AUTHENTICATION_TOKEN": ("404", NOT_FOUND_CODE, NOT_FOUND_MESSAGE),
    "THROTTLED": (None, "too_many_requests", "Too many requests; retry shortly."),
    "REQUEST_TOO_LARGE": (None, "payload_too_large", "The request body is too large."),
    "INTEGRATION_TIMEOUT": (None, "timeout", "The request took too long; retry shortly."),
    "DEFAULT_4XX": (None, "request_rejected", None),
    "DEFAULT_5XX": (None, "internal_error", "Something went wrong on our side; it has been logged."),
}


def gateway_responses(stage: Stage) -> dict[str, Any]:
    """API Gateway's own errors (before any function runs) in the API's JSON error shape."""
    headers = {"Content-Type": "'application/json'"}
    if stage.web_origin:
        headers["Access-Control-Allow-Origin"] = f"'{stage.web_origin}'"
    responses: dict[str, Any] = {}
    for response_type, (status, code, message) in GATEWAY_ERRORS.items():
        response: dict[str, Any] = {
            "ResponseParameters": {"Headers": dict(headers)},
            "ResponseTemplates": {"application/json": error_body(code, message)},
        }
        if status:
            response["StatusCode"] = status
        responses[response_type] = response
    return responses


def _require_secret_parameter(stage: Stage) -> None:
    """Every deployed stage reads its token secret from SSM (never a variable of the functions)."""
    if not stage.jwt_secret_parameter:
        raise SystemExit(f"stage {stage.name}: set JWT_SECRET_PARAMETER in .chalice/config.json "
                         "(the SSM SecureString parameter holding the token secret)")


# What the proofs bucket deletes a day after it was written (and a replaced version a day later).
EXPIRING = (("DeleteExports", "exports/"), ("DeleteUnattachedProofs", "proofs/pending/"))


def proofs_bucket(stage: Stage) -> dict[str, Any]:
    """The private bucket of proofs of payment: no public access, encrypted, kept with the stack's
    data; the web app's origin may POST uploads (presigned by the API) to it. The admin's large
    CSV exports are kept under `exports/` for a day (their links last 15 minutes), then deleted;
    so are uploads never attached to their payment (`proofs/pending/`, see billing/proofs.py)."""
    properties: dict[str, Any] = {
        "BucketName": {"Fn::Sub": stage.proof_bucket_name},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "VersioningConfiguration": {"Status": "Enabled"},
        "LifecycleConfiguration": {"Rules": [{
            "Id": rule, "Status": "Enabled", "Prefix": prefix, "ExpirationInDays": 1,
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1}} for rule, prefix in EXPIRING]},
    }
    if stage.web_origin:
        properties["CorsConfiguration"] = {"CorsRules": [{
            "AllowedOrigins": [stage.web_origin], "AllowedMethods": ["POST", "GET"],
            "AllowedHeaders": ["*"], "MaxAge": 600}]}
    return {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": properties}


# The routes that hash a password, send an email or mint tokens: tighter limits than the rest.
AUTH_POSTS = ("login", "register", "refresh", "password", "password-reset",
              "password-reset/complete", "verify-email", "verify-email/resend", "invitations/accept")


def proofs_bucket_policy() -> dict[str, Any]:
    """The proofs bucket refuses every request made without TLS (presigned links included)."""
    return {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": {"Ref": "ProofsBucket"},
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [{"Fn::GetAtt": ["ProofsBucket", "Arn"]},
                         {"Fn::Sub": "${ProofsBucket.Arn}/*"}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}}


def method_settings(stage: Stage) -> list[dict[str, Any]]:
    """API Gateway throttling: the stage's rate and burst for every method (API_THROTTLE_RATE,
    API_THROTTLE_BURST), and AUTH_THROTTLE_RATE and AUTH_THROTTLE_BURST for each /auth POST."""
    def limits(rate: str, burst: str, rate_default: int, burst_default: int) -> dict[str, Any]:
        return {"ThrottlingRateLimit": stage.number(rate, rate_default),
                "ThrottlingBurstLimit": stage.number(burst, burst_default)}

    every = {"ResourcePath": "/*", "HttpMethod": "*",
             **limits("API_THROTTLE_RATE", "API_THROTTLE_BURST", 50, 100)}
    auth = limits("AUTH_THROTTLE_RATE", "AUTH_THROTTLE_BURST", 5, 10)
    return [every, *({"ResourcePath": "/~1api~1v1~1auth~1" + path.replace("/", "~1"),
                      "HttpMethod": "POST", **auth} for path in AUTH_POSTS)]


def merge_template(stage: Stage, functions: list[Function],
                   streams: list[StreamSource]) -> dict[str, Any]:
    """The template `chalice package --merge-template` merges into its own."""
    _require_secret_parameter(stage)
    resources: dict[str, Any] = dict(tables.table_resources(stage))
    retention = LOG_RETENTION_DAYS.get(stage.name, DEFAULT_LOG_RETENTION_DAYS)
    for function in functions:
        log_group = f"{function.logical_id}LogGroup"
        resources[log_group] = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete",
                                "UpdateReplacePolicy": "Delete", "Properties": {
            "LogGroupName": f"/aws/lambda/{function.function_name}", "RetentionInDays": retention}}
        resources[function.logical_id] = {"DependsOn": [log_group],
                                          "Properties": {"FunctionName": function.function_name}}
    by_placeholder = {placeholder_stream_arn(stage, tables.entity(model)): model
                      for model in tables.table_models() if tables.stream_view_type(model)}
    for source in streams:
        model = by_placeholder.get(source.stream_arn)
        if model is None:
            raise SystemExit(f"{source.resource_name}: stream {source.stream_arn} is no table's")
        resources[source.function.logical_id]["Properties"]["Events"] = {source.logical_id: {
            "Properties": {"Stream": {"Fn::GetAtt": [tables.logical_id(model), "StreamArn"]},
                           "MaximumRetryAttempts": STREAM_MAX_RETRIES}}}
    resources["ProofsBucket"] = proofs_bucket(stage)
    resources["ProofsBucketPolicy"] = proofs_bucket_policy()
    # OpenApiVersion (the version Chalice writes) stops SAM adding a stray stage named "Stage".
    resources["RestAPI"] = {"Properties": {"GatewayResponses": gateway_responses(stage),
                                           "OpenApiVersion": "2.0",
                                           "MethodSettings": method_settings(stage)}}
    reserved = stage.number("API_RESERVED_CONCURRENCY", 20)
    if reserved and "APIHandler" in resources:  # 0: none reserved (an account with a low quota)
        resources["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] = reserved
    template: dict[str, Any] = {
        "Globals": {"Function": {"Environment": {"Variables": {
            **tables.function_variables(),
            "PROOF_BUCKET": {"Ref": "ProofsBucket"}}}}},
        "Resources": resources,
        "Outputs": {"ApiBaseUrl": {
            "Description": "The API's base URL (the web app's apiBaseUrl)",
            "Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
                                 f"/{stage.api_gateway_stage}/api/v1"}}},
    }
    return template
