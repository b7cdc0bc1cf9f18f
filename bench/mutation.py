"""Mutation testing of the core modules with mutmut: how many plausible one-line bugs the tests catch.

    python bench/mutation.py                      # the core modules changed since HEAD (or in the last commit)
    python bench/mutation.py passport.lifecycle   # one or more named core modules
    python bench/mutation.py --all                # every core module (about an hour on 2 cores)
    python bench/mutation.py --survivors access   # also print the diff of each surviving mutant

Each module runs in its own scratch folder, ``var/mutation/<module>/``: a copy of pyproject.toml with a
``[tool.mutmut]`` section naming that one file and the tests of its area, and links to ``src`` and ``tests``.
mutmut mutates the file, runs the selected tests once to learn which test reaches which function, then
runs, for every mutant, only the tests that reach the mutated function (tests marked ``postgres`` or
``slow`` are left out: the rules do not depend on the store and those tests are covered by ``make test``).

The kill rate counts a mutant as caught when a test failed (or timed out) with it; mutants listed in
``bench/mutation_equivalent/<module>.toml`` (each with the reason it cannot change behaviour) are left out of the
denominator. Results are printed as a table; ``docs/testing.md`` records them. ``make mutation`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRATCH = REPO / "var" / "mutation"
EQUIVALENT = REPO / "bench" / "mutation_equivalent"  # one <module>.toml per core module

# core module (under src/batteryloop) -> the tests of its area that mutmut may choose from
CORE: dict[str, list[str]] = {
    "passport.lifecycle": ["tests/passport"],
    "passport.redact": ["tests/passport", "tests/security/test_redaction_attacks.py"],
    "passport.tiers": ["tests/passport"],
    "passport.identifiers": ["tests/passport"],
    "access": ["tests/security", "tests/api/test_authorization_matrix.py"],
    "trace.events": ["tests/trace"],
    # the ledger's own contract tests, on a store copied from a migrated template (tests/trace as a whole
    # reaches the ledger from every query and tamper test: more than an hour per run; `make test` runs them)
    "trace.ledger": ["tests/trace/test_mutation_ledger.py"],
    "trace.verify": ["tests/trace"],
    "trace.massbalance": ["tests/trace"],
    "trace.custody": ["tests/trace"],
    "circular.recycling": ["tests/circular"],
    "circular.footprint": ["tests/circular"],
    "circular.compliance": ["tests/circular"],
    # the route decision's own tests (the rest of tests/circular reaches routes only through baas/swap-station
    # figures, which these pin more directly)
    "circular.routes": ["tests/circular/test_routes.py", "tests/circular/test_mutation_routes.py",
                        "tests/circular/test_route_options.py"],
    # the health rules on hand-built series: the tests on real cycler files (CALCE, Severson) load data sets
    # for seconds per mutant; `make test` still runs them
    "health.soh": ["tests/health/test_mutation_soh.py", "tests/health/test_self_discharge.py"],
    "health.summary": ["tests/health/test_mutation_summary.py", "tests/health/test_mutation_soh.py",
                       "tests/health/test_self_discharge.py"],
    # the RUL rules on hand-built histories, and the population branch on three synthetic knee lives; the
    # population tests on the CALCE data (seconds each, similarity's own code) run in `make test`
    "health.rul": ["tests/health/test_mutation_rul.py",
                   "tests/health/test_rul_population.py::test_forecast_eol_uses_a_matching_population",
                   "tests/health/test_rul_population.py::test_default_population_is_the_three_calce_cells",
                   "tests/health/test_rul_population.py::test_a_history_a_straight_line_explains_gets_no_similarity_forecast"],
    # the exchange rules are pure functions: their unit-test files only (the node tests start uvicorn servers,
    # which made every mutant of a function they reach take seconds; `make test` still runs them)
    "exchange.odrl": ["tests/exchange/test_odrl.py", "tests/exchange/test_odrl_profile.py",
                      "tests/exchange/test_counter_offers.py::test_narrowing_rule",
                      "tests/exchange/test_mutation_odrl.py"],
    "exchange.dsp": ["tests/exchange/test_dsp_state_tables.py",
                     "tests/exchange/test_counter_offers.py::test_state_machine_counter_offer_transitions",
                     "tests/exchange/test_mutation_dsp.py"],
    "exchange.credentials": ["tests/exchange/test_credentials.py", "tests/exchange/test_mutation_credentials.py"],
}

# modules whose functions run while the package is imported (tiered() builds the passport model's fields):
# each mutant gets a fresh process that imports the mutated package, instead of a fork of a warmed-up one
IMPORT_TIME = {"passport.tiers"}
# modules whose tests use polars: its thread pool does not survive fork(), so a child forked from the process
# that ran the tests waits on lost worker threads until the timeout and every mutant counts as killed. They run
# in a fork server warmed by collecting the tests (which imports polars without starting its pool)
FORK_SERVER = {"health.soh", "health.summary", "health.rul"}

KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # a test failed, pytest broke, or the mutant timed out
SURVIVED = {0, 5, 33}  # every selected test passed, or no test reached the mutated function


@dataclass
class Result:
    module: str
    total: int
    killed: int
    survivors: list[str]
    equivalent: list[str]
    other: dict[str, int]
    seconds: float

    @property
    def rate(self) -> float:
        counted = self.killed + len(self.survivors)
        return 100.0 * self.killed / counted if counted else 100.0


def source_path(module: str) -> Path:
    rel = Path("src/batteryloop", *module.split("."))
    return rel.with_suffix(".py") if (REPO / rel.with_suffix(".py")).exists() else rel / "__init__.py"


def equivalents() -> dict[str, str]:
    """``[mutant."batteryloop.x.y.x_f__mutmut_3"]`` tables with a ``reason`` each, from every file in EQUIVALENT."""
    found: dict[str, str] = {}
    for path in sorted(EQUIVALENT.glob("*.toml")):
        for name, entry in tomllib.loads(path.read_text()).get("mutant", {}).items():
            if not str(entry.get("reason", "")).strip():
                raise SystemExit(f"{path.name}: mutant {name} is listed as equivalent without a reason")
            found[name] = entry["reason"]
    return found


def changed_modules(base: str) -> list[str]:
    def diff(*args: str) -> set[str]:
        out = subprocess.run(["git", "diff", "--name-only", *args], cwd=REPO, capture_output=True, text=True)
        return set(out.stdout.split())

    files = diff("HEAD") or diff(base, "HEAD")
    return [m for m in CORE if str(source_path(m)) in files]


def scratch_for(module: str) -> Path:
    folder = SCRATCH / module
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in ("src", "tests", "docs", "bench", "README.md", "Makefile"):
        if (REPO / name).exists():
            (folder / name).symlink_to(REPO / name)
    config = {
        "source_paths": ["src"],
        "only_mutate": [str(source_path(module))],
        "pytest_add_cli_args_test_selection": CORE[module],
        "pytest_add_cli_args": ["-p", "no:xdist", "-p", "no:cacheprovider", "-m", "not postgres and not slow"],
        "also_copy": ["docs", "bench", "README.md", "Makefile"],
    }
    if module in IMPORT_TIME:
        # a fresh process imports the package for every mutant: allow for it, or slow starts count as kills
        config |= {"process_isolation": "forkserver", "forkserver_warmup": "none", "timeout_constant": 120.0}
    elif module in FORK_SERVER:
        config |= {"process_isolation": "forkserver", "forkserver_warmup": "collect"}
    lines = ["", "[tool.mutmut]"] + [f"{k} = {json.dumps(v)}" for k, v in config.items()]
    (folder / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text() + "\n".join(lines) + "\n")
    return folder


def run(module: str, equivalent: dict[str, str], verbose: bool) -> Result:
    folder = scratch_for(module)
    env = dict(os.environ, BATTERYLOOP_SHARED=str(Path(os.environ.get("BATTERYLOOP_SHARED", REPO.parent / "shared")).resolve()))
    mutmut = Path(sys.executable).parent / "mutmut"
    started = time.perf_counter()
    with open(folder / "mutmut.log", "w") as log:
        proc = subprocess.run([str(mutmut), "run"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    meta = folder / "mutants" / source_path(module).with_suffix(".py.meta")
    if proc.returncode != 0 or not meta.exists():
        tail = (folder / "mutmut.log").read_text()[-3000:]
        raise SystemExit(f"mutmut failed on {module} (exit {proc.returncode}); see {folder / 'mutmut.log'}:\n{tail}")
    codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    killed, survivors, equiv, other = 0, [], [], {}
    for name, code in sorted(codes.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1])):
        if name in equivalent:
            equiv.append(name)
        elif code in KILLED:
            killed += 1
        elif code in SURVIVED:
            survivors.append(name)
        else:
            other[str(code)] = other.get(str(code), 0) + 1
    result = Result(module, len(codes), killed, survivors, equiv, other, seconds)
    if verbose:
        for name in survivors:
            shown = subprocess.run([str(mutmut), "show", name], cwd=folder, env=env, capture_output=True, text=True)
            diff = [ln for ln in shown.stdout.splitlines() if ln.startswith(("-", "+")) and not ln.startswith(("---", "+++"))]
            print(f"  survived {name}:\n    " + "\n    ".join(diff))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"core modules, e.g. passport.lifecycle (known: {', '.join(CORE)})")
    parser.add_argument("--all", action="store_true", help="every core module")
    parser.add_argument("--base", default="HEAD~1", help="with no module named: compare with this commit when the work tree is clean")
    parser.add_argument("--survivors", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in CORE]
    if unknown:
        parser.error(f"not a core module: {', '.join(unknown)} (known: {', '.join(CORE)})")
    modules = list(CORE) if args.all else args.modules or changed_modules(args.base)
    if not modules:
        print("no core module changed; name one (e.g. passport.lifecycle) or pass --all")
        return 0
    equivalent = equivalents()
    results = []
    print(f"{'module':24} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv.':>6} {'kill rate':>9} {'time':>7}")
    for module in modules:
        r = run(module, equivalent, args.survivors)
        results.append(r)
        extra = f"  other: {r.other}" if r.other else ""
        print(f"{module:24} {r.total:7d} {r.killed:6d} {len(r.survivors):8d} {len(r.equivalent):6d} {r.rate:8.1f}% {r.seconds:6.0f}s{extra}", flush=True)
    killed = sum(r.killed for r in results)
    counted = killed + sum(len(r.survivors) for r in results)
    print(f"{'all':24} {sum(r.total for r in results):7d} {killed:6d} {counted - killed:8d} "
          f"{sum(len(r.equivalent) for r in results):6d} {100.0 * killed / counted if counted else 100.0:8.1f}%")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"rate": r.rate} for r in results], indent=2))
    return 0 if all(r.rate >= 90.0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
