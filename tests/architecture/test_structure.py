"""The structure docs/architecture.md draws, checked on the source so that it stays true.

Read with :mod:`ast` (tests/architecture/imports.py): nothing of batteryloop is imported here, and an
import inside a function, under ``TYPE_CHECKING`` or in an ``__import__("…")`` string counts like any
other.
"""

from __future__ import annotations

import ast

import pytest

from . import imports

GRAPH = imports.graph()
FILES = imports.module_files()
ADAPTERS = ("batteryloop.api", "batteryloop.web", "batteryloop.cli", "batteryloop.server")


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_graph_reader_sees_every_kind_of_import(tmp_path):
    # a module of each kind of import, and a cycle through a function body and an __import__ string
    pkg = tmp_path / "batteryloop"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from .. import c\n")
    (pkg / "c.py").write_text("__import__('batteryloop.d', fromlist=['x'])\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import batteryloop.a\n")
    (pkg / "e.py").write_text("import importlib\nimportlib.import_module('batteryloop.sub.b')\n")
    g = imports.graph(pkg)
    assert g["batteryloop.a"] == {"batteryloop.sub.b"}
    assert g["batteryloop.sub.b"] == {"batteryloop.c"}
    assert g["batteryloop.c"] == {"batteryloop.d"}
    assert g["batteryloop.d"] == {"batteryloop.a"}
    assert g["batteryloop.e"] == {"batteryloop.sub.b"}
    assert imports.cycles(g) == [["batteryloop.a", "batteryloop.c", "batteryloop.d", "batteryloop.sub.b"]]


def test_no_import_cycle_between_modules():
    found = imports.cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(imports.path_within(GRAPH, c)) for c in found)


@pytest.mark.parametrize("layer", ["domain and services", "simulator"])
def test_nothing_below_the_adapters_imports_one(layer):
    """Domain, services, store and the simulator get their services from batteryloop.services (the
    composition root), never from the API, the web pages, the CLI or the server."""
    below = [m for m in GRAPH if not _in(m, *ADAPTERS) and not _in(m, "batteryloop.exchange.app")]
    below = [m for m in below if _in(m, "batteryloop.sim") == (layer == "simulator")]
    wrong = sorted(f"{m} -> {t}" for m in below for t in GRAPH[m] if _in(t, *ADAPTERS))
    assert not wrong, wrong


def test_the_store_depends_on_nothing_but_itself_and_the_errors():
    wrong = sorted(f"{m} -> {t}" for m in GRAPH if _in(m, "batteryloop.store")
                   for t in GRAPH[m] if not _in(t, "batteryloop.store", "batteryloop.errors"))
    assert not wrong, wrong


def test_only_the_server_assembles_the_adapters():
    """The API's routes and the web pages are mounted by batteryloop.server alone."""
    mounts = ("batteryloop.api.routes", "batteryloop.web.routes")
    wrong = sorted(f"{m} -> {t}" for m in GRAPH for t in GRAPH[m] if t in mounts and m != "batteryloop.server")
    assert not wrong, wrong
    assert not [m for m in GRAPH if "batteryloop.server" in GRAPH[m]]


def _sqlalchemy_imports(path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    lines = []
    for node in ast.walk(tree):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
        if any(n == "sqlalchemy" or n.startswith("sqlalchemy.") for n in names):
            lines.append(node.lineno)
    return lines


def test_sql_is_written_in_the_store_only():
    """Services call repository modules in store/; no SQLAlchemy import anywhere else."""
    wrong = {str(p.relative_to(imports.ROOT)): lines for m, p in FILES.items()
             if not _in(m, "batteryloop.store") and (lines := _sqlalchemy_imports(p))}
    assert not wrong, wrong
