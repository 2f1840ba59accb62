"""`make package`: the SAM template and zip of each stage, checked with cfn-lint and taken apart.

Every table, index, stream and function variable here is derived from chalicelib.models; a table
added there is deployed with no other edit (the last test adds one to show it).
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pypdf
import pytest
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

import app as app_module
from chalicelib.billing import proofs
from chalicelib.core.config import table_variable
from chalicelib.storage import models
from chalicelib.storage.models.base import TableMeta
from chalicelib.storage.models.billing import PaymentModel
from deploy import policy, tables, web_hosting
from deploy.package import BUILD_ONLY, RUNTIME_PROVIDED
from deploy.stage import Stage
from devserver.gateway import NOT_FOUND_BODY
from tests.conftest import Api, PaidSignup
from tests.deploy.conftest import STAGES, cfn_lint, template

def test_the_templates_their_sam_transforms_and_the_web_hosting_template_pass_cfn_lint(
        built: dict[str, Path], transformed: dict[str, dict[str, Any]]) -> None:
    # cfn-lint's exit code is 0 only without errors and warnings (one run for all the files)
    files = [built[stage] / name for stage in STAGES
             for name in ("sam.json", "cfn.json", "web-hosting.json")]
    result = cfn_lint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_make_package_writes_the_web_hosting_template(built: dict[str, Path], stage: str) -> None:
    written = json.loads((built[stage] / "web-hosting.json").read_text())
    assert written == web_hosting.web_hosting_template()  # checked in tests/deploy/test_web_hosting.py
    assert written["Resources"]["ResponseHeadersPolicy"]["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"


@pytest.mark.parametrize("stage", STAGES)
def test_the_sam_transform_makes_the_stream_mapping_schedule_and_one_api_stage(
        transformed: dict[str, dict[str, Any]], stage: str) -> None:
    cfn = transformed[stage]
    types = {r["Type"] for r in cfn["Resources"].values()}
    assert {"AWS::Lambda::EventSourceMapping", "AWS::Events::Rule", "AWS::ApiGateway::RestApi",
            "AWS::DynamoDB::Table"} <= types
    stages = [r["Properties"]["StageName"] for r in cfn["Resources"].values()
              if r["Type"] == "AWS::ApiGateway::Stage"]
    assert stages == ["api"]  # and no stray "Stage" stage


@pytest.mark.parametrize("stage", STAGES)
def test_every_model_is_a_retained_on_demand_table_with_its_keys_and_indexes(
        built: dict[str, Path], stage: str) -> None:
    resources = template(built, stage)["Resources"]
    found = {r["Properties"]["TableName"]: r for r in resources.values()
             if r["Type"] == "AWS::DynamoDB::Table"}
    assert set(found) == {f"billing-{stage}-{tables.entity(m)}" for m in models.ALL_MODELS}
    for model in models.ALL_MODELS:
        table = found[f"billing-{stage}-{tables.entity(model)}"]
        props = table["Properties"]
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        hash_key = model._hash_keyname
        assert props["KeySchema"][0] == {"AttributeName": hash_key, "KeyType": "HASH"}
        if model._range_keyname:
            assert props["KeySchema"][1] == {"AttributeName": model._range_keyname, "KeyType": "RANGE"}
        declared = {name for name, index in model._indexes.items()}  # type: ignore[attr-defined]
        deployed = {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])
                    + props.get("LocalSecondaryIndexes", [])}
        assert deployed == {model._indexes[n].Meta.index_name for n in declared}  # type: ignore[attr-defined]
        for index in props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", []):
            assert index["KeySchema"][0]["KeyType"] == "HASH"
        defined = {d["AttributeName"] for d in props["AttributeDefinitions"]}
        keys = {k["AttributeName"] for k in props["KeySchema"]} | {
            k["AttributeName"] for i in props.get("GlobalSecondaryIndexes", [])
            + props.get("LocalSecondaryIndexes", []) for k in i["KeySchema"]}
        assert defined == keys  # exactly the key attributes, as CloudFormation requires
        assert ("StreamSpecification" in props) == bool(tables.stream_view_type(model))


@pytest.mark.parametrize("stage", STAGES)
def test_the_proofs_bucket_expires_unattached_uploads_and_exports_after_a_day(
        built: dict[str, Path], stage: str) -> None:
    bucket = template(built, stage)["Resources"]["ProofsBucket"]["Properties"]
    rules = {rule["Prefix"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert set(rules) == {"exports/", "proofs/pending/"}
    for rule in rules.values():
        assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", 1)
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}  # the bucket is versioned
    # the key an upload goes to is under the expiring prefix; an attached proof is not
    payment = PaymentModel(payment_id="pay_1", account_id="acc_1")
    assert proofs.upload_key(payment).startswith("proofs/pending/")


@pytest.mark.parametrize("stage", STAGES)
def test_the_outbox_stream_feeds_its_handler_and_every_function_gets_the_tables_by_reference(
        built: dict[str, Path], stage: str) -> None:
    sam = template(built, stage)
    resources = sam["Resources"]
    outbox = resources["OutboxTable"]["Properties"]
    assert outbox["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}
    event = resources["DeliverNewEmails"]["Properties"]["Events"]["DeliverNewEmailsDynamodbEventSource"]
    assert event["Type"] == "DynamoDB"
    assert event["Properties"]["Stream"] == {"Fn::GetAtt": ["OutboxTable", "StreamArn"]}
    assert resources["DeliverNewEmails"]["Properties"]["Handler"] == "app.deliver_new_emails"
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    for model in models.ALL_MODELS:
        assert variables[table_variable(tables.entity(model))] == {"Ref": tables.logical_id(model)}
    # app.py registers the stream handler at import only when this is set: it must be at run time
    assert variables["OUTBOX_STREAM_ARN"] == {"Fn::GetAtt": ["OutboxTable", "StreamArn"]}
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {"APIHandler", "DrainOutbox", "DeliverNewEmails", "BillingJobs",
                              "DeliverWebhooks"}
    assert {f["Properties"]["FunctionName"] for f in functions.values()} == {
        f"billing-{stage}", f"billing-{stage}-drain_outbox", f"billing-{stage}-deliver_new_emails",
        f"billing-{stage}-billing_jobs", f"billing-{stage}-deliver_webhooks"}
    assert "000000000000" not in json.dumps(sam)


@pytest.mark.parametrize("stage", STAGES)
def test_the_token_secret_is_read_from_the_stages_ssm_parameter_and_is_in_no_variable(
        built: dict[str, Path], stage: str) -> None:
    sam = template(built, stage)
    assert "Parameters" not in sam and "JWT_SECRET\"" not in json.dumps(sam)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            variables = resource["Properties"]["Environment"]["Variables"]
            assert variables["JWT_SECRET_PARAMETER"] == f"/billing/{stage}/jwt-secret"


@pytest.mark.parametrize("stage", STAGES)
def test_api_gateway_errors_have_the_api_error_shape(built: dict[str, Path], stage: str) -> None:
    responses = template(built, stage)["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN"} <= set(responses)
    unknown_route = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown_route["StatusCode"] == "404"
    # the same body the local dev server gives for an unknown route
    assert json.loads(unknown_route["ResponseTemplates"]["application/json"]) == json.loads(NOT_FOUND_BODY)
    for response in responses.values():
        text = response["ResponseTemplates"]["application/json"].replace(
            "$context.error.messageString", '"API Gateway says why"')
        error = json.loads(text)["error"]
        assert set(error) == {"code", "message", "details"} and error["details"] == {}
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json'"


def api_gateway_body(response: dict[str, Any], accept: str, binary_media_types: list[str]) -> bytes:
    """What API Gateway (a REST API, Lambda proxy integration) sends the client of the function's
    answer: a base64 body is decoded into bytes when the request's first Accept type is one of
    the API's binary media types, and sent as the base64 text it is otherwise; a text body as is."""
    first = accept.split(",", 1)[0].split(";", 1)[0].strip()
    body = response["body"]
    if response.get("isBase64Encoded") and first in binary_media_types:
        return base64.b64decode(body)
    return body.encode()


def test_a_pdf_crosses_api_gateway_as_bytes_and_json_routes_stay_json(
        built: dict[str, Path], api: Api, paid_signup: PaidSignup) -> None:
    # Given the binary media types of the packaged REST API (application/pdf: the app's files)
    for stage in STAGES:
        definition = template(built, stage)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
        binary = definition["x-amazon-apigateway-binary-media-types"]
        assert "application/pdf" in binary
        assert not {"application/json", "*/*", "text/html"} & set(binary)  # JSON stays text
    gateway = api._client.http._local_gateway

    def invoke(path: str, accept: str, token: str = paid_signup.token) -> dict[str, Any]:
        """The app's handler called as Lambda calls it, with the request's API Gateway event."""
        event = gateway._generate_lambda_event(
            "GET", path, {"accept": accept, "authorization": f"Bearer {token}"}, b"")
        with contextlib.redirect_stdout(io.StringIO()):  # the JSON log lines
            return app_module.app(event, gateway._generate_lambda_context())

    # When the invoice's PDF is asked for with Accept: application/pdf
    pdf_path = f"/api/v1/billing/invoices/{paid_signup.invoice_id}/pdf"
    response = invoke(pdf_path, "application/pdf")
    # Then the function answers it base64-encoded, and the client gets the PDF's bytes
    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    assert response["headers"]["Content-Type"] == "application/pdf"
    document = api_gateway_body(response, "application/pdf", binary)
    invoice = api.get(f"/api/v1/billing/invoices/{paid_signup.invoice_id}", token=paid_signup.token).body
    text = pypdf.PdfReader(io.BytesIO(document)).pages[0].extract_text()
    assert document.startswith(b"%PDF-") and invoice["invoice_number"] in text
    # (which is why the route refuses any other first Accept type: the client would get base64)
    assert api_gateway_body(response, "*/*", binary) == response["body"].encode()
    refused = invoke(pdf_path, "*/*")
    assert refused["statusCode"] == 406 and not refused.get("isBase64Encoded")
    # And JSON routes, and the PDF route's errors, stay JSON text
    other = api.register("other@example.com").body["access_token"]
    for path, accept, token, status in (
            (f"/api/v1/billing/invoices/{paid_signup.invoice_id}", "application/json",
             paid_signup.token, 200),
            ("/api/v1/auth/me", "*/*", paid_signup.token, 200),
            ("/api/v1/billing/plans", "application/pdf", paid_signup.token, 200),
            (pdf_path, "application/pdf", other, 404)):
        response = invoke(path, accept, token)
        assert response["statusCode"] == status and not response.get("isBase64Encoded"), path
        assert response["headers"]["Content-Type"] == "application/json", path
        assert json.loads(api_gateway_body(response, accept, binary)), path


def test_a_csv_export_crosses_api_gateway_as_text_whatever_the_client_accepts(
        built: dict[str, Path], api: Api, paid_signup: PaidSignup) -> None:
    # Given the packaged REST API: text/csv is not one of its binary media types
    for stage in STAGES:
        definition = template(built, stage)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
        assert "text/csv" not in definition["x-amazon-apigateway-binary-media-types"]
    gateway = api._client.http._local_gateway
    today = datetime.now(timezone.utc).date().isoformat()
    path = f"/api/v1/billing/admin/exports/invoices.csv?from={today}&to={today}"
    for accept in ("*/*", "text/csv", "application/json"):
        event = gateway._generate_lambda_event(
            "GET", path, {"accept": accept, "authorization": f"Bearer {api.admin_token()}"}, b"")
        with contextlib.redirect_stdout(io.StringIO()):
            response = app_module.app(event, gateway._generate_lambda_context())
        # Then the function answers the CSV as its text body, not base64, for any Accept
        assert response["statusCode"] == 200 and not response.get("isBase64Encoded"), accept
        assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
        assert response["body"].startswith("id,invoice_number,") and paid_signup.invoice_id in response["body"]


def test_the_zip_holds_the_app_and_its_dependencies_but_not_what_lambda_provides(
        built: dict[str, Path]) -> None:
    archive = built["dev"] / "deployment.zip"
    names = zipfile.ZipFile(archive).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {"app.py", "chalicelib", "chalice", "pynamodb", "jwt", "argon2", "jinja2", "pydyf"} <= tops
    assert not tops & {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py",
                       "cffi", "pycparser"}, sorted(tops)
    assert "chalicelib/notifications/templates/layout.html" in names
    assert "chalicelib/api/openapi/openapi.json" in names
    # The budget, bytecode included: the app's own code is about 0.9 MB of it; a heavy library
    # (fpdf2 with fontTools, 8.8 MB; ReportLab, 2.0 MB) still does not fit.
    assert archive.stat().st_size <= 2_500_000, archive.stat().st_size
    modules = {n for n in names if n.endswith(".py")}
    assert "chalicelib/storage/models/__pycache__/tables.cpython-311.pyc" in names
    assert len({n for n in names if n.endswith(".pyc")}) >= len(modules) - 5
    assert set(RUNTIME_PROVIDED) >= {"boto3", "botocore"} and "pycparser" in BUILD_ONLY


def test_the_zip_runs_with_only_what_the_lambda_runtime_adds(built: dict[str, Path],
                                                             tmp_path: Path) -> None:
    # Given the zip unpacked, and a folder with just what the Lambda runtime has (boto3 & co.)
    code = tmp_path / "task"
    zipfile.ZipFile(built["dev"] / "deployment.zip").extractall(code)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    import boto3  # noqa: E401
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import six
    import urllib3

    for module in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3):
        (runtime / module.__name__).symlink_to(Path(module.__file__).parent)
    (runtime / "six.py").symlink_to(six.__file__)
    # When a bare interpreter (no site-packages, writing no bytecode: Lambda's code folder is
    # read-only) imports the app from them and uses its libraries
    script = (
        "import builtins, sys; sys.path[:0] = sys.argv[1:3]\n"
        "compiled, _compile = [], builtins.compile\n"
        "def counting(source, filename, *args, **kwargs):\n"
        "    if str(filename).startswith(sys.argv[1]) and str(filename).endswith('.py'):\n"
        "        compiled.append(filename)\n"
        "    return _compile(source, filename, *args, **kwargs)\n"
        "builtins.compile = counting\n"
        "import app\n"
        "from chalicelib.accounts import auth\n"
        "from chalicelib.notifications import delivery\n"
        "digest = auth.hash_password('correct horse battery')\n"
        "assert auth.verify_password(digest, 'correct horse battery')\n"
        "token, _ = auth.issue_token(auth.Principal('u', 'a', 'e@x.co', 'user'))\n"
        "assert auth.verify_token(token).email == 'e@x.co'\n"
        "print(delivery.render('welcome_trial', {'name': 'A', 'account_name': 'B',"
        " 'plan_name': 'Free', 'credits': '1000'})[0])\n"
        "print(next(r for r in sorted(app.app.routes) if r == '/api/v1/auth/login'))\n"
        "from chalicelib.billing import document_layout\n"
        "from chalicelib.core import pdf\n"
        "page = pdf.Document('Invoice', 'Seller')\n"
        "page.text(50, 50, 'INV-2026-000123 PKR 24,964.50')\n"
        "print('pdf', page.write()[:5])\n"
        "print('compiled at run time:', compiled)\n")
    env = {"JWT_SECRET": "z" * 40, "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys._base_executable, "-I", "-S", "-B", "-c", script, str(code), str(runtime)],
                            env=env, capture_output=True, text=True, cwd=tmp_path)
    # Then everything it needs is there, already compiled
    assert result.returncode == 0, result.stderr
    assert "Welcome" in result.stdout and "/api/v1/auth/login" in result.stdout
    assert "pdf b'%PDF-'" in result.stdout
    assert "compiled at run time: []" in result.stdout, result.stdout


def test_every_model_class_is_listed_so_it_gets_a_table() -> None:
    declared = {value for value in vars(models).values()
                if isinstance(value, type) and issubclass(value, Model) and value is not Model
                and hasattr(value.Meta, "entity")}
    assert declared == set(models.ALL_MODELS)


@pytest.fixture
def extra_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Model]]:
    class ReceiptModel(Model):
        class Meta(TableMeta):
            entity = "receipts"

        receipt_id = UnicodeAttribute(hash_key=True)

    monkeypatch.setattr(models, "ALL_MODELS", (*models.ALL_MODELS, ReceiptModel))
    yield ReceiptModel


def test_a_table_added_to_the_models_is_deployed_and_granted_with_no_other_edit(
        extra_table: type[Model]) -> None:
    stage = Stage("prod")
    resource = tables.table_resources(stage)["ReceiptsTable"]
    assert resource["Properties"]["TableName"] == "billing-prod-receipts"
    assert tables.function_variables()["RECEIPTS_TABLE"] == {"Ref": "ReceiptsTable"}
    granted = json.dumps(policy.policy_document(stage, policy.API_FUNCTION))
    assert ":${AWS::AccountId}:table/billing-prod-receipts\"" in granted


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_throttles_every_method_and_auth_posts_tighter_with_reserved_concurrency(
        built: dict[str, Path], stage: str) -> None:
    resources = template(built, stage)["Resources"]
    settings = resources["RestAPI"]["Properties"]["MethodSettings"]
    every, *auth = settings
    assert (every["ResourcePath"], every["HttpMethod"]) == ("/*", "*")
    assert (every["ThrottlingRateLimit"], every["ThrottlingBurstLimit"]) == (50, 100)
    # each /auth POST is a real route of the API (API Gateway refuses a setting for an unknown one)
    paths = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    for setting in auth:
        path = setting["ResourcePath"][1:].replace("~1", "/")
        assert path.startswith("/api/v1/auth/") and "post" in paths[path], path
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (5, 10)
    assert {"/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/password-reset"} <= {
        setting["ResourcePath"][1:].replace("~1", "/") for setting in auth}
    assert resources["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] == 20
