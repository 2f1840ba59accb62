"""The route table: how every capability declares its routes, and the one decorator that runs them.

A capability makes one `Routes` (a Chalice blueprint plus its declarations) and declares each route
with its path, method, status, least role, Idempotency-Key scope, request body and documented
answers. The decorator here is the only place that reads the request, checks the caller's role,
applies the Idempotency-Key and turns an `AppError` into the JSON error shape; the same
declarations are what `api.openapi.build` describes.
"""
from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Chalice, CORSConfig, Response

from chalicelib.accounts import admin_roles
from chalicelib.accounts.admin_roles import ADMIN_ROLES, APPROVER, OWNER, VIEWER
from chalicelib.accounts.auth import Principal, principal_from_header
from chalicelib.api import idempotency
from chalicelib.core import telemetry
from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError, Forbidden, NotAcceptable
from chalicelib.core.validation import read_json_object
from chalicelib.storage import store

JSON_TYPE = "application/json"
JSON = {"Content-Type": JSON_TYPE}
PDF = "application/pdf"  # a route's media type for PDF documents
CSV = "text/csv"  # a route's media type for CSV files: text, sent as is (no Accept needed)
USER = "user"  # the least role a route needs (None: public)
# The admin roles, least first (accounts.admin_roles): viewer reads, approver decides payments and
# applies statement lines, owner does everything (rates, keys, credits, admins, suspensions);
# capabilities import them from here with the route table's other names.
__all__ = ["ADMIN_ROLES", "APPROVER", "OWNER", "VIEWER"]
SERVICE = "service"  # a service key of the SaaS's backend (credits), never a user's or admin's token
_request: ContextVar[Any] = ContextVar("request", default=None)  # set by compose()'s middleware
log = logging.getLogger("billing")


@dataclass(frozen=True)
class Idempotent:
    """How a route takes an Idempotency-Key: whose keys (scope), and what is kept of the response."""

    scope: Callable[[Principal | None, bytes | None], str]
    redact: Callable[[Any], Any] | None = None
    restore: Callable[[Any], Any] | None = None


# A user's keys are theirs alone (an admin's too); a signup's belong to its email.
BY_CALLER = Idempotent(lambda caller, raw: caller.user_id if caller else "")


@dataclass(frozen=True)
class WithStatus:
    """A view's answer in another success status than its route's (a first approval's 202)."""

    status: int
    body: Any


def with_status(status: int) -> None:
    """Say, before the change commits, that this request answers `status`: an Idempotency-Key's
    record keeps it, so a retry gets the same status. The view then returns WithStatus."""
    claim = idempotency.current()
    if claim is not None:
        claim.status_code = status


@dataclass(frozen=True)
class Body:
    """A route's JSON body: the field spec it is validated with and the schema that describes it."""

    schema: str  # the name of its OpenAPI component
    fields: Mapping[str, Any] | None  # the field spec the schema is derived from
    description: str
    required: bool = True  # as documented
    empty_ok: bool = False  # an empty body reads as {} (and meets the field spec's requirements)
    extra: Mapping[str, Any] = field(default_factory=dict)  # more JSON Schema (if/then, ...)
    max_bytes: int | None = None  # a larger body than MAX_BODY_BYTES (a file's)


@dataclass(frozen=True)
class Declared:
    """One route as declared: everything the decorator enforces and OpenAPI describes."""

    path: str
    method: str
    name: str
    tag: str
    doc: str
    status: int
    auth: str | None
    idempotent: Idempotent | None
    body: Body | None
    query: tuple[str, ...]
    response: tuple[str, str]  # (schema component, description)
    errors: Mapping[int, str]
    store: bool  # False: answers without the data store (no 503)
    media_type: str = JSON_TYPE  # of the success response; another is a file: (bytes, filename)
    also: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # other success answers
    # A file's route that may answer JSON instead, in the same status (a link to a file too large
    # to send): (schema component, description); its view returns a dict then.
    instead: tuple[str, str] | None = None


class _Blueprint(Blueprint):
    """A blueprint that can be registered into more than one app: Chalice pops a route's `methods`
    out of the kwargs it keeps, so a second app (tests import a second copy of app.py) would get
    every route as GET; each registration here gets its own copy."""

    def _register_handler(self, handler_type: str, name: str, user_handler: Any,
                          wrapped_handler: Any, kwargs: dict[str, Any],
                          options: dict[Any, Any] | None = None) -> None:
        def register(app: Chalice, options: dict[Any, Any]) -> None:
            app._register_handler(handler_type, name, user_handler, wrapped_handler,
                                  copy.deepcopy(kwargs), options)
        self._deferred_registrations.append(register)


class Routes:
    """One capability's routes: a Chalice blueprint and the declarations of its routes."""

    def __init__(self, import_name: str, tag: str, description: str) -> None:
        self.blueprint = _Blueprint(import_name)
        self.tag, self.description = tag, description
        self.declared: list[Declared] = []

    def get(self, path: str, **declaration: Any) -> Callable[..., Any]:
        return self.route(path, "GET", **declaration)

    def post(self, path: str, **declaration: Any) -> Callable[..., Any]:
        return self.route(path, "POST", **declaration)

    def put(self, path: str, **declaration: Any) -> Callable[..., Any]:
        return self.route(path, "PUT", **declaration)

    def patch(self, path: str, **declaration: Any) -> Callable[..., Any]:
        return self.route(path, "PATCH", **declaration)

    def delete(self, path: str, **declaration: Any) -> Callable[..., Any]:
        return self.route(path, "DELETE", **declaration)

    def route(self, path: str, method: str, *, response: tuple[str, str], status: int = 200,
              auth: str | None = None, idempotent: Idempotent | None = None,
              body: Body | None = None, query: tuple[str, ...] = (),
              errors: Mapping[int, str] | None = None, store: bool = True,
              media_type: str = JSON_TYPE,
              also: Mapping[int, tuple[str, str]] | None = None,
              instead: tuple[str, str] | None = None) -> Callable[..., Any]:
        """Declare a route; the view gets `caller` when the route has a role, `body` when it has
        a body, and its path parameters. A route whose `media_type` is not JSON answers a file:
        its view returns (bytes, filename), or (str, filename) for a text type, or a dict (JSON)
        where it declares what it answers `instead`."""
        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            self.declared.append(Declared(
                path=path, method=method, name=view.__name__, tag=self.tag, doc=view.__doc__ or "",
                status=status, auth=auth, idempotent=idempotent, body=body, query=query,
                response=response, errors=dict(errors or {}), store=store, media_type=media_type,
                also=dict(also or {}), instead=instead))
            handler = _handler(path, view, status, auth, idempotent, body, media_type)
            return self.blueprint.route(path, methods=[method], cors=_cors())(handler)
        return decorator


def _handler(path: str, view: Callable[..., Any], status: int, auth: str | None,
             idempotent: Idempotent | None, body: Body | None,
             media_type: str = JSON_TYPE) -> Callable[..., Response]:
    @functools.wraps(view)
    def handler(**params: str) -> Response:
        try:
            store.ready()
            request = current_request()
            key = idempotency.read_key(request.headers) if idempotent else None
            caller = authenticate(auth) if auth else None
            if is_binary(media_type):
                require_accept(media_type)

            def run() -> Any:
                args: dict[str, Any] = dict(params)
                if auth:
                    args["caller"] = caller
                if body is not None:
                    args["body"] = read_body(optional=body.empty_ok, max_bytes=body.max_bytes)
                return view(**args)

            if idempotent is None or key is None:
                result = run()
                if isinstance(result, Response):  # a view that sets its own headers
                    return result
                if isinstance(result, WithStatus):
                    return Response(body=result.body, status_code=result.status, headers=dict(JSON))
                if media_type != JSON_TYPE and isinstance(result, tuple):
                    return file_response(media_type, status, *result)
                if status == 204:
                    return Response(body="", status_code=204, headers={})
                return Response(body=result, status_code=status, headers=dict(JSON))
            return _run_idempotent(idempotent, caller, key, path, params, status, run)
        except AppError as error:
            if error.status >= 500:
                log.error("%s failed: %s", path, error.code, exc_info=error.status != 503)
            return error_response(error)
    return handler


def _run_idempotent(spec: Idempotent, caller: Principal | None, key: str, path: str,
                    params: dict[str, str], status: int, run: Callable[[], Any]) -> Response:
    raw = current_request().raw_body
    scope = spec.scope(caller, raw)
    print_ = idempotency.fingerprint(path, params, raw)
    outcome = idempotency.run(scope, key, print_, status, run, spec.redact)
    if isinstance(outcome, idempotency.Replay):
        replayed = spec.restore(outcome.body) if spec.restore else outcome.body
        return Response(body=replayed, status_code=outcome.status_code,
                        headers={**JSON, "Idempotent-Replayed": "true"})
    code, body = outcome
    if isinstance(body, WithStatus):
        code, body = body.status, body.body
    return Response(body=body, status_code=code, headers=dict(JSON))


# The request being handled ---------------------------------------------------------------------

def current_request() -> Any:
    """The request being handled (by whichever app: tests import a second copy of app.py)."""
    return _request.get()


def authenticate(role: str) -> Any:
    """The caller of this request, who must hold at least `role` (a service key for SERVICE)."""
    header = current_request().headers.get("authorization")
    if role == SERVICE:
        from chalicelib.credits import service_keys

        caller = service_keys.authenticate(header)
        telemetry.annotate(actor=f"service_key:{caller.key_id}")
        return caller
    principal = principal_from_header(header)
    telemetry.annotate(actor=principal.user_id)
    if role in ADMIN_ROLES:
        if not principal.is_admin:
            raise Forbidden("This route is for admins.")
        return admin_roles.require(principal, role)
    return principal


def require_accept(media_type: str) -> None:
    """A file's route answers only a request whose first Accept type is the file's: API Gateway
    turns the function's base64 body back into bytes only when the first Accept type is one of
    the API's binary media types (else the client would get base64 text)."""
    accept = current_request().headers.get("accept") or ""
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if first != media_type:
        raise NotAcceptable(f"This route answers {media_type}: send the header "
                            f"\"Accept: {media_type}\".", details={"accept": media_type})


def is_binary(media_type: str) -> bool:
    """A file type whose body crosses API Gateway base64-encoded (a PDF); JSON and text go as is."""
    return media_type != JSON_TYPE and not media_type.startswith("text/")


def file_response(media_type: str, status: int, body: bytes | str, filename: str) -> Response:
    """A file: a binary one's bytes shown in the browser (inline), a text one's UTF-8 text saved
    (attachment), with the name to save it under."""
    if is_binary(media_type):
        content_type, disposition = media_type, "inline"
    else:
        content_type, disposition = f"{media_type}; charset=utf-8", "attachment"
    return Response(body=body, status_code=status, headers={
        "Content-Type": content_type, "Content-Disposition": f'{disposition}; filename="{filename}"'})


def read_body(optional: bool = False, max_bytes: int | None = None) -> dict[str, Any]:
    raw = current_request().raw_body
    if optional and not (raw or b"").strip():
        return {}
    return read_json_object(raw, max_bytes or get_settings().max_body_bytes)


def query(name: str) -> str | None:
    return (current_request().query_params or {}).get(name)


# Errors ----------------------------------------------------------------------------------------

_CHALICE_ERRORS = {
    "MethodNotAllowedError": ("method_not_allowed", "This method is not allowed on this route."),
    "UnsupportedMediaType": ("unsupported_media_type", "Send the request body as application/json."),
    "BadRequestError": ("bad_request", "The request is malformed."),
    "BadRequest": ("bad_request", "The request is malformed."),
}


def error_response(error: AppError) -> Response:
    """An AppError in the API's JSON error shape."""
    headers = dict(JSON)
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return Response(body=error.to_body(), status_code=error.status, headers=headers)


def error_shape(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Give Chalice's own errors (405, 415, 500) the API's error shape (an HTTP middleware)."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        if response.status_code >= 500:
            return error_response(AppError("Something went wrong on our side; it has been logged."))
        code, message = _CHALICE_ERRORS.get(body["Code"], ("bad_request", "The request is malformed."))
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() == "allow" or k.lower().startswith("access-control-")}
        response = Response(body={"error": {"code": code, "message": message, "details": {}}},
                            status_code=response.status_code, headers={**JSON, **headers})
    return response


def _cors() -> CORSConfig:
    # Browsers may call the API from the web app's origin only (WEB_APP_URL), never from elsewhere.
    return CORSConfig(allow_origin=get_settings().web_origin, allow_headers=["Idempotency-Key"],
                      expose_headers=["Retry-After", "Idempotent-Replayed"], max_age=600)


def compose(app: Chalice, *tables: Routes) -> None:
    """Register every capability's routes on the app, and the middleware that gives the
    decorator the request being handled."""
    def bind_request(event: Any, get_response: Callable[[Any], Response]) -> Response:
        token = _request.set(event)
        try:
            return get_response(event)
        finally:
            _request.reset(token)

    app.register_middleware(bind_request, "http")
    for table in tables:
        app.register_blueprint(table.blueprint)
        # A binary file's type is one of the API's binary media types: Chalice base64-encodes
        # such a body, and the packaged REST API lists the type (x-amazon-apigateway-binary-media-
        # types) so that API Gateway decodes it for a client whose first Accept type it is. A text
        # file (CSV) is not: it goes as is, whatever the client accepts.
        for declared in table.declared:
            if is_binary(declared.media_type) and declared.media_type not in app.api.binary_types:
                app.api.binary_types.append(declared.media_type)
