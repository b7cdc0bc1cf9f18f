"""The import graph of ``src/batteryloop``, read from the source with :mod:`ast` (nothing is imported).

Counted as an import: ``import a.b``, ``from a import b`` (an edge to ``a.b`` when that is a module, else to
``a``), relative forms of both, the module names in ``__import__("…", fromlist=[…])`` and
``importlib.import_module("…", package=…)`` calls with literal strings, and import strings of the form
``"batteryloop.x.y:attr"`` (what uvicorn and entry points import) — at module level, inside a function or
under ``TYPE_CHECKING``, since a cycle through a function body is still a cycle a newcomer has to keep in
their head. Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``: those count as edges too,
except the packages that hold the importing module (Python has already started them).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = "batteryloop"
ROOT = Path(__file__).resolve().parents[2] / "src" / PACKAGE


_IMPORT_STRING = re.compile(rf"^({PACKAGE}(?:\.\w+)+):\w+$")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(current: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([name] if name else []))


def _text(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _literal_imports(node: ast.Call) -> tuple[str, str | None, list[str]] | None:
    """``(name, package, fromlist)`` of an ``__import__``/``import_module`` call with a literal name."""
    func = node.func
    called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if called not in ("__import__", "import_module") or not node.args:
        return None
    name = _text(node.args[0])
    if name is None:
        return None
    kw = {k.arg: k.value for k in node.keywords}
    package = _text(kw.get("package") or (node.args[1] if called == "import_module" and len(node.args) > 1 else None))
    fromlist_node = kw.get("fromlist") or (node.args[3] if called == "__import__" and len(node.args) > 3 else None)
    fromlist = [x for x in (_text(e) for e in getattr(fromlist_node, "elts", [])) if x]
    return name, package, fromlist


def imports_of(module: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of this package that ``module`` imports (edges of the graph)."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    own_packages = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    if is_package:
        own_packages.add(module)

    def add(name: str) -> None:
        # the deepest module of this package that the dotted name reaches, and the packages it runs on the way
        parts = name.split(".")
        while parts and ".".join(parts) not in modules:
            parts.pop()
        if parts:
            found.add(".".join(parts))
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in modules and parent not in own_packages:
                    found.add(parent)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                full = f"{target}.{alias.name}"
                add(full if full in modules else target)
        elif isinstance(node, ast.Call):
            call = _literal_imports(node)
            if call:
                name, package, fromlist = call
                relative = len(name) - len(name.lstrip("."))
                if relative:
                    anchor, anchor_is_package = (package, True) if package else (module, is_package)
                    name = _resolve(anchor, anchor_is_package, relative, name.lstrip(".") or None)
                add(name)
                for sub in fromlist:
                    if f"{name}.{sub}" in modules:
                        add(f"{name}.{sub}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = _IMPORT_STRING.match(node.value)
            if m:
                add(m.group(1))
    found.discard(module)
    return found


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    names = set(files)
    return {m: imports_of(m, p, names) for m, p in files.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        # iterative Tarjan: the graph is small, but recursion depth should not depend on it
        work = [(v, iter(sorted(g.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g.get(w, ())))))
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def path_within(g: dict[str, set[str]], component: list[str]) -> list[str]:
    """One closed walk through a cycle, for the error message."""
    comp = set(component)
    start = component[0]
    seen = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(g[v] & comp):
            if w == start:
                walk = [v]
                while seen[walk[-1]] is not None:
                    walk.append(seen[walk[-1]])
                return list(reversed(walk)) + [start]
            if w not in seen:
                seen[w] = v
                queue.append(w)
    return component


if __name__ == "__main__":
    g = graph()
    for comp in cycles(g):
        print(len(comp), " -> ".join(path_within(g, comp)))
        print("   members:", ", ".join(comp))
