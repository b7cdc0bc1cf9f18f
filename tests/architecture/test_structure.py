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
ADAPTERS = ("batteryloop.api", "batteryloop.web", "batteryloop.cli", "batteryloop.server", "batteryloop.responses")
#: the exchange node's HTTP face and its process runner
NODE_HTTP = ("batteryloop.exchange.app", "batteryloop.exchange.pact",
             "batteryloop.exchange.ouranos_api", "batteryloop.exchange.runtime")


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
    (pkg / "e.py").write_text("import importlib\nimportlib.import_module('.b', package='batteryloop.sub')\n")
    (pkg / "f.py").write_text("__import__('batteryloop.sub', fromlist=['b'])\nrun('batteryloop.a:app')\n")
    (pkg / "sub" / "g.py").write_text("from . import b\nimport batteryloop.sub.b\n")
    g = imports.graph(pkg)
    assert g["batteryloop.a"] == {"batteryloop.sub.b", "batteryloop.sub"}  # a package's __init__ runs first
    assert g["batteryloop.sub.b"] == {"batteryloop.c"}
    assert g["batteryloop.c"] == {"batteryloop.d"}
    assert g["batteryloop.d"] == {"batteryloop.a"}
    assert g["batteryloop.e"] == {"batteryloop.sub.b", "batteryloop.sub"}
    assert g["batteryloop.f"] == {"batteryloop.sub", "batteryloop.sub.b", "batteryloop.a"}
    assert g["batteryloop.sub.g"] == {"batteryloop.sub.b"}  # its own package has already started
    assert imports.cycles(g) == [["batteryloop.a", "batteryloop.c", "batteryloop.d", "batteryloop.sub.b"]]


def test_no_import_cycle_between_modules():
    found = imports.cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(imports.path_within(GRAPH, c)) for c in found)


def test_nothing_below_the_adapters_imports_one():
    """Domain, services and store get their services from batteryloop.services (the composition root),
    never from the API, the web pages, the CLI, the server or the exchange node's HTTP face."""
    below = [m for m in GRAPH if not _in(m, *ADAPTERS, *NODE_HTTP, "batteryloop.sim")]
    wrong = sorted(f"{m} -> {t}" for m in below for t in GRAPH[m] if _in(t, *ADAPTERS, *NODE_HTTP))
    assert not wrong, wrong


def test_the_simulator_uses_the_root_and_starts_nodes_only():
    """The simulator and the demos drive the services of batteryloop.services; the data-space demo starts
    five exchange nodes, each its own HTTP server, through the node's runner (exchange.runtime) — and
    nothing else of the adapters."""
    sim = [m for m in GRAPH if _in(m, "batteryloop.sim")]
    wrong = sorted(f"{m} -> {t}" for m in sim for t in GRAPH[m]
                   if _in(t, *ADAPTERS, *NODE_HTTP) and t != "batteryloop.exchange.runtime")
    assert not wrong, wrong
    runners = sorted(m for m in sim if "batteryloop.exchange.runtime" in GRAPH[m])
    assert runners == ["batteryloop.sim.dataspace_nodes"], runners


def test_the_store_depends_on_nothing_but_itself_and_the_errors():
    wrong = sorted(f"{m} -> {t}" for m in GRAPH if _in(m, "batteryloop.store")
                   for t in GRAPH[m] if not _in(t, "batteryloop.store", "batteryloop.errors"))
    assert not wrong, wrong


def test_only_the_server_assembles_the_adapters():
    """The API's routes and the web pages are mounted by batteryloop.server alone."""
    mounts = ("batteryloop.api.routes", "batteryloop.web.routes")
    wrong = sorted(f"{m} -> {t}" for m in GRAPH for t in GRAPH[m] if t in mounts and m != "batteryloop.server")
    assert not wrong, wrong
    # the CLI's serve names it as uvicorn's import string, which counts as an import; nothing else does
    assert sorted(m for m in GRAPH if "batteryloop.server" in GRAPH[m]) == ["batteryloop.cli.serve"]


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
