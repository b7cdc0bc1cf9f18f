"""The command line starts light: ``--help`` of the command line, of every group and of every command imports
neither the domain nor the heavy libraries (they come in when a command runs).

Checked on the modules a fresh interpreter has loaded (no timing here: bench/cli_startup.py times start-up).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: libraries a ``--help`` has no use for (typer itself, the standard library and orjson are fine)
HEAVY_LIBRARIES = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "pydantic", "numpy", "pandas",
                   "polars", "pyarrow", "scipy", "sklearn", "highspy", "plotly", "httpx", "jinja2", "jsonschema",
                   "cryptography", "yaml", "rich")

GROUPS = ("db", "passport", "participant", "archive", "health", "hub", "trace", "node", "circular", "formats", "alerts",
          "pilot", "fleet", "registry")


def _heavy(modules: list[str]) -> list[str]:
    """Loaded modules of a heavy library, or of batteryloop outside its command line."""
    out = []
    for m in modules:
        top = m.split(".")[0]
        if top in HEAVY_LIBRARIES:
            out.append(m)
        elif top == "batteryloop" and m != "batteryloop" and m != "batteryloop.cli" and not m.startswith("batteryloop.cli."):
            out.append(m)
    return sorted(out)


def _imported(*args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``python -X importtime -m batteryloop.cli ARGS`` as a user would; the modules it imported."""
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "batteryloop.cli", *args], capture_output=True,
                       text=True, timeout=120)
    modules = [line.rsplit("|", 1)[1].strip() for line in p.stderr.splitlines() if line.startswith("import time:")]
    return p, modules[1:]  # the first line is the header


def test_help_lists_every_group_and_imports_nothing_heavy() -> None:
    p, modules = _imported("--help")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "batteryloop.cli.trace" in modules  # the groups' modules are imported (they are light)…
    assert not _heavy(modules), _heavy(modules)  # …the domain and the heavy libraries are not
    listed = {line.split()[0] for line in p.stdout.split("Commands:")[1].splitlines() if line[:3].strip()}
    assert listed == {"policy", "serve", "demo", *GROUPS}
    assert "Traceability: the signed, hash-chained lifecycle ledger and its queries." in " ".join(p.stdout.split())


@pytest.mark.parametrize("args", [("trace", "--help"), ("health", "lifetime", "--help"), ("policy", "--help")])
def test_a_group_or_command_help_imports_nothing_heavy(args: tuple[str, ...]) -> None:
    p, modules = _imported(*args)
    assert p.returncode == 0, p.stderr[-2000:]
    assert not _heavy(modules), _heavy(modules)


WALK = """
import json, sys, contextlib, io
from typer.main import get_command
from batteryloop.cli import app

root = get_command(app)
paths = []

def walk(cmd, path):
    paths.append(path)
    for name in getattr(cmd, "commands", {}):
        walk(cmd.commands[name], [*path, name])

walk(root, [])
for path in paths:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            root.main([*path, "--help"], prog_name="batteryloop", standalone_mode=False)
        except SystemExit:
            pass
print(json.dumps({"paths": paths, "modules": sorted(sys.modules)}))
"""


def test_every_command_help_imports_nothing_heavy() -> None:
    """Every group and command built and its help printed, in one process: no option's type or default pulls
    the domain in."""
    p = subprocess.run([sys.executable, "-c", WALK], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert len(res["paths"]) > 60 and ["trace", "verify"] in res["paths"] and ["circular", "baas", "price"] in res["paths"]
    assert not _heavy(res["modules"]), _heavy(res["modules"])


def test_no_module_of_the_command_line_imports_it_back() -> None:
    """cli/* import cli.common, never the package (batteryloop.cli builds the app from them), nor the adapters
    that serve HTTP: ``serve`` hands uvicorn the string "batteryloop.server:create_app". (``cli/__main__.py``,
    run by ``python -m batteryloop.cli`` once the package is loaded, calls the package's ``main``.)"""
    from tests.architecture import imports

    graph = imports.graph()
    modules = [m for m in graph if m.startswith("batteryloop.cli.") and m != "batteryloop.cli.__main__"]
    assert modules
    wrong = sorted(f"{m} -> {t}" for m in modules for t in graph[m]
                   if t == "batteryloop.cli" or t.split(".")[:2] in (["batteryloop", "api"], ["batteryloop", "web"])
                   or (t == "batteryloop.server" and m != "batteryloop.cli.serve"))
    assert not wrong, wrong  # serve names the server only as uvicorn's import string (which counts as an import)
