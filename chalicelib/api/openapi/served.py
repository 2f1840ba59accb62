"""The OpenAPI 3.1 description of every route, served at GET /api/v1/openapi.json.

The document lives in openapi.json next to this module and is read on the first call only, so
`import app` pays nothing for it (Lambda compiles .py sources at every cold start; a JSON file
is not compiled). Keep it in step with the code: tests/test_openapi.py validates it as
OpenAPI 3.1, compares its paths with app.routes and the request schemas with the field specs,
and checks real responses against it.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi.json")


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document (read once, then cached; treat it as read-only)."""
    with open(PATH, encoding="utf-8") as document:
        return json.load(document)
