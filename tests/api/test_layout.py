"""The shape of the house: capability packages that say what they own, small modules, no import
circle, short route functions, and an OpenAPI file that is what the code declares."""
from __future__ import annotations

import ast
from pathlib import Path

from chalicelib.api.openapi import build, served
from tests.conftest import PROJECT_DIR

CHALICELIB = PROJECT_DIR / "chalicelib"
MODULES = sorted(CHALICELIB.rglob("*.py"))
MAX_MODULE_LINES = 400  # response schemas are declarations, counted the same
MAX_ROUTE_BODY_LINES = 3


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_package_says_in_one_line_what_it_owns() -> None:
    packages = [p for p in MODULES if p.name == "__init__.py"]
    assert len(packages) >= 9
    for init in packages:
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "\n" not in doc.strip(), f"{init}: one line saying what the package owns"


def test_no_module_is_over_the_limit() -> None:
    long = {str(p.relative_to(PROJECT_DIR)): n for p in MODULES
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, long


def test_no_import_circle_among_chalicelib_modules() -> None:
    names = {_module_name(p): p for p in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    edges.add(target if target in names else node.module)
            elif isinstance(node, ast.Import):
                edges |= {a.name for a in node.names if a.name.startswith("chalicelib")}
        graph[name] = {e for e in edges if e in names and e != name}
    # Then a depth-first walk finds no edge back to a module still on the path
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_route_functions_only_hand_over_to_their_capability() -> None:
    routes = sorted(CHALICELIB.rglob("routes.py"))
    assert len(routes) >= 5
    for module in routes:
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.decorator_list:
                body = node.body[1:] if ast.get_docstring(node) else node.body
                lines = body[-1].end_lineno - body[0].lineno + 1
                assert lines <= MAX_ROUTE_BODY_LINES, f"{module.name}:{node.name} has {lines} lines"


def test_the_committed_openapi_document_is_what_the_code_declares() -> None:
    # Given the document built from the route table, the field specs and the response schemas
    text = build.render(build.build())
    # Then the committed file is exactly that (else: make openapi), and it is what is served
    assert Path(served.PATH).read_text(encoding="utf-8") == text, "stale: run `make openapi`"
    assert build.main(["--check"]) == 0


def test_every_schema_reference_resolves() -> None:
    document = build.build()
    refs: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    for ref in refs:
        target: object = document
        for part in ref[2:].split("/"):
            assert isinstance(target, dict) and part in target, f"unresolved {ref}"
            target = target[part]
