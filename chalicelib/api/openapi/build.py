"""Build the OpenAPI 3.1 description from what the code declares, and write it (`make openapi`).

Paths and operations come from the route table (`api.routing.Routes`: path, method, role,
Idempotency-Key, body, query, answers), summaries from the route functions' docstrings, request
schemas from the field specs the routes validate with, and response schemas from each capability's
`schemas` module beside its views. Never imported by the app: the served document is the file
this writes, read on the first request (cold start pays nothing for it).

    python -m chalicelib.api.openapi.build           # write chalicelib/api/openapi/openapi.json
    python -m chalicelib.api.openapi.build --check   # exit 1 when the file is not what it builds
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from typing import Any

from chalicelib.api.openapi import fields, shared
from chalicelib.api.openapi.served import PATH
from chalicelib.api.routing import ADMIN_ROLES, JSON_TYPE, SERVICE, Declared, Routes, is_binary

_JSON = JSON_TYPE
_BAD_BODY = ("`invalid_json` (empty body, not JSON, or not a JSON object) or `invalid_request` (an "
             "unknown field or a value of the wrong type; `details.fields` says which)")
_BODY_RULES = "Unknown fields or wrong types are 400; missing or invalid values 422."
_IDEMPOTENT = {
    400: "`invalid_idempotency_key`: the Idempotency-Key header is not 1 to 255 visible ASCII "
         "characters.",
    409: "`idempotency_in_progress`: a request with this Idempotency-Key is still running (retry "
         "after `Retry-After`).",
    422: "`idempotency_key_reused`: the Idempotency-Key was used for another request.",
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying (idempotency_in_progress, "
                               "transaction_conflict).",
                "schema": {"type": "integer", "minimum": 0}}
_ADMIN_ONLY = ("**Admins: {role}** (roles: viewer < approver < owner): a user token gets 403, an "
               "admin of a lesser role 403 `insufficient_role`.")
_NOT_ACCEPTABLE = ("`not_acceptable`: the first type of the request's `Accept` header is not {}, "
                   "the only one this route answers (API Gateway returns its bytes only then).")


def schema_modules() -> list[Any]:
    """Every capability's response schemas (imported here only: the app never needs them)."""
    from chalicelib.accounts import schemas as accounts
    from chalicelib.admin import schemas as admin
    from chalicelib.billing import schemas as billing
    from chalicelib.catalog import schemas as catalog
    from chalicelib.credits import schemas as credits
    from chalicelib.notifications import schemas as notifications
    from chalicelib.reports import schemas as reports
    from chalicelib.statements import schemas as statements
    from chalicelib.webhooks import schemas as webhooks

    return [accounts, catalog, billing, admin, notifications, credits, statements, webhooks, reports]


def build(tables: Iterable[Routes] | None = None) -> dict[str, Any]:
    """The OpenAPI document of these route tables (default: the app's)."""
    if tables is None:
        import app

        tables = app.ROUTES
    tables = list(tables)
    schemas: dict[str, Any] = dict(shared.SCHEMAS)
    for module in schema_modules():
        _add(schemas, module.SCHEMAS, module.__name__)
    requests: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for table in tables:
        for route in table.declared:
            paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, requests)
    _add(schemas, requests, "request bodies")
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": shared.INFO,
        "servers": shared.SERVERS,
        "tags": [{"name": t.tag, "description": t.description} for t in tables],
        "paths": paths,
        "components": {"schemas": schemas, "parameters": shared.PARAMETERS,
                       "responses": shared.RESPONSES, "securitySchemes": shared.SECURITY_SCHEMES},
    }


def _add(into: dict[str, Any], more: dict[str, Any], source: str) -> None:
    clash = set(into) & set(more)
    assert not clash, f"{source} declares schemas declared elsewhere: {sorted(clash)}"
    into.update(more)


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {_JSON: {"schema": schema}}


def _doc(docstring: str) -> tuple[str, str]:
    """A docstring's first line (the summary) and the rest as one paragraph per blank line."""
    lines = [line.strip() for line in docstring.strip().splitlines()]
    summary, rest = lines[0], lines[1:]
    paragraphs, current = [], []
    for line in rest + [""]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return summary, "\n\n".join(paragraphs)


def _camel(name: str) -> str:
    """`get_payment_detail` -> `getPaymentDetail` (operation ids)."""
    head, *tail = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in tail)


def _pascal(name: str) -> str:
    """`payment_id` -> `PaymentId` (the parameter component of a path parameter)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _operation(route: Declared, requests: dict[str, Any]) -> dict[str, Any]:
    summary, description = _doc(route.doc)
    if route.auth in ADMIN_ROLES:
        only = _ADMIN_ONLY.format(role=route.auth)
        description = f"{description}\n\n{only}" if description else only
    operation: dict[str, Any] = {"operationId": _camel(route.name), "tags": [route.tag],
                                 "summary": summary}
    if description:
        operation["description"] = description
    scheme = "serviceKey" if route.auth == SERVICE else "bearerAuth"
    operation["security"] = [{scheme: []}] if route.auth else []
    if route.auth in ADMIN_ROLES:
        operation["x-required-role"] = route.auth
    parameters = [_ref("parameters", _pascal(name))
                  for name in re.findall(r"{(\w+)}", route.path)]
    parameters += [_ref("parameters", name) for name in route.query]
    if route.idempotent:
        parameters.append(_ref("parameters", "IdempotencyKey"))
    for parameter in parameters:
        name = parameter["$ref"].rsplit("/", 1)[1]
        assert name in shared.PARAMETERS, f"{route.path}: no parameter component {name}"
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        body = route.body
        schema = fields.object_schema(body.fields or {}, _BODY_RULES, False, requests)
        schema.update(body.extra)
        requests[body.schema] = schema
        operation["requestBody"] = {"required": body.required, "description": body.description,
                                    "content": _json(_ref("schemas", body.schema))}
    operation["responses"] = _responses(route)
    return operation


def _responses(route: Declared) -> dict[str, Any]:
    schema, description = route.response
    answers: dict[int, Any] = {route.status: {
        "description": description, "content": {route.media_type: {"schema": _ref("schemas", schema)}}}}
    if is_binary(route.media_type):
        answers[route.status]["headers"] = {"Content-Disposition": {
            "description": "`inline; filename=\"<name>\"`, e.g. `inline; filename=\"INV-2026-000123.pdf\"`.",
            "schema": {"type": "string"}}}
    elif route.media_type != _JSON:  # a text file, saved under its name
        answers[route.status]["headers"] = {"Content-Disposition": {
            "description": "`attachment; filename=\"<name>\"` (with the file; not with the JSON "
                           "answer), e.g. `attachment; filename=\"invoices-2026-01-01-2026-01-31.csv\"`.",
            "schema": {"type": "string"}}}
    if route.instead is not None:
        other, text = route.instead
        answers[route.status]["description"] = f"{description} {text}"
        answers[route.status]["content"][_JSON] = {"schema": _ref("schemas", other)}
    if route.status == 204:
        answers[204] = {"description": description}
    for status, (other, text) in route.also.items():
        answers[status] = {"description": text, "content": _json(_ref("schemas", other))}
    texts = dict(route.errors)
    if is_binary(route.media_type):
        texts.setdefault(406, _NOT_ACCEPTABLE.format(route.media_type))
    if route.body is not None:
        texts.setdefault(400, _BAD_BODY)
    if route.idempotent:
        for status, text in _IDEMPOTENT.items():
            texts[status] = f"{texts[status].rstrip('.')}; {text}" if status in texts else text
    shared_refs = {415: "UnsupportedMediaType", 500: "InternalError"}
    if route.auth:
        shared_refs[401] = "Unauthorized"
    if route.auth in (*ADMIN_ROLES, SERVICE):
        shared_refs[403] = "Forbidden"
    if route.body is not None:
        shared_refs[413] = "PayloadTooLarge"
    if route.store:
        shared_refs[503] = "ServiceUnavailable"
    for status, name in shared_refs.items():
        texts.setdefault(status, name)
    for status, text in texts.items():
        if text in shared.RESPONSES:
            answers[status] = _ref("responses", text)
            continue
        answer: dict[str, Any] = {"description": text, "content": _json(_ref("schemas", "Error"))}
        if status == 409 and ("transaction_conflict" in text or "idempotency_in_progress" in text):
            answer["headers"] = {"Retry-After": _RETRY_AFTER}
        answers[status] = answer
    return {str(status): answers[status] for status in sorted(answers)}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    args = parser.parse_args(argv)
    text = render(build())
    with open(PATH, encoding="utf-8") as current:
        stale = current.read() != text
    if args.check:
        if stale:
            print(f"{PATH} is stale: run `make openapi`", file=sys.stderr)
        return 1 if stale else 0
    if stale:
        with open(PATH, "w", encoding="utf-8") as out:
            out.write(text)
    print(f"{PATH}: {'written' if stale else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
