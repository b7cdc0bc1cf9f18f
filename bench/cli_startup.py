"""Start-up time of the command line: each command run N times in its own process.

    .venv/bin/python bench/cli_startup.py [-n 15] [--src DIR]

Runs ``python -m batteryloop.cli`` (what the ``batteryloop`` script runs: ``batteryloop.cli:main``) with

* ``--help`` (the top-level help: every group and command);
* ``policy`` (a one-line command: prints the authorization table, no database);
* ``trace --help`` (one group's help);

and prints min / median / max wall-clock seconds per command. ``--src DIR`` puts another work tree's
``src`` first on ``PYTHONPATH`` (e.g. ``git worktree add /tmp/cli-before 29f94bf`` then
``--src /tmp/cli-before/src``) to time that version with the same interpreter and packages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = (("--help",), ("policy",), ("trace", "--help"))


def run_once(args: tuple[str, ...], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "batteryloop.cli", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=15, help="runs per command")
    ap.add_argument("--src", help="a work tree's src directory to time instead of the installed package")
    a = ap.parse_args()
    env = dict(os.environ)
    if a.src:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (a.src, env.get("PYTHONPATH")) if p)
    where = subprocess.run([sys.executable, "-c", "import batteryloop; print(batteryloop.__file__)"], env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    print(f"batteryloop from {where}; {a.n} runs per command")
    for args in COMMANDS:
        run_once(args, env)  # warm the file cache (and byte-compile) before timing
        times = [run_once(args, env) for _ in range(a.n)]
        print(f"batteryloop {' '.join(args):14} min {min(times):.3f} s  median {statistics.median(times):.3f} s  "
              f"max {max(times):.3f} s")


if __name__ == "__main__":
    main()
