"""Routes of the API itself: its OpenAPI description."""
from __future__ import annotations

from typing import Any

from chalicelib.api.openapi import served
from chalicelib.api.routing import Routes

routes = Routes(__name__, "Meta", "This description.")


@routes.get("/api/v1/openapi.json", response=("OpenApiDocument", "The OpenAPI document."),
            store=False)
def get_open_api() -> dict[str, Any]:
    """This OpenAPI 3.1 description

    Public.
    """
    return served.spec()
