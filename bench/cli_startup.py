"""Start-up time of the command line: each command run N times in its own process.

    .venv/bin/python bench/cli_startup.py [-n 15] [--src DIR] [--script]

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
from pathlib import Path

COMMANDS = (("--help",), ("policy",), ("trace", "--help"))


def run_once(args: tuple[str, ...], env: dict[str, str], script: str | None = None) -> float:
    command = [script] if script else [sys.executable, "-m", "batteryloop.cli"]
    t = time.perf_counter()
    subprocess.run([*command, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=15, help="runs per command")
    ap.add_argument("--src", help="a work tree's src directory to time instead of the installed package")
    ap.add_argument("--script", action="store_true",
                    help="run the installed console script (the interpreter's bin/batteryloop) instead of python -m")
    a = ap.parse_args()
    env = dict(os.environ)
    if a.src:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (a.src, env.get("PYTHONPATH")) if p)
    where = subprocess.run([sys.executable, "-c", "import batteryloop; print(batteryloop.__file__)"], env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    script = str(Path(sys.executable).with_name("batteryloop")) if a.script else None
    print(f"batteryloop from {where}; {'the console script ' + script if script else 'python -m batteryloop.cli'}; "
          f"{a.n} runs per command")
    for args in COMMANDS:
        run_once(args, env, script)  # warm the file cache (and byte-compile) before timing
        times = [run_once(args, env, script) for _ in range(a.n)]
        print(f"batteryloop {' '.join(args):14} min {min(times):.3f} s  median {statistics.median(times):.3f} s  "
              f"max {max(times):.3f} s")


if __name__ == "__main__":
    main()
