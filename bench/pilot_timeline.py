"""Where the pilot leaves a core idle: its steps with the CPU of the main process and of its workers, second by second.

    PYTHONPATH=src .venv/bin/python bench/pilot_timeline.py --packs 100000 [--years 10] [--seed 42] [--every 1.0]
        [--csv timeline.csv]

Runs the pilot (`sim.loop.run_pilot`, what `batteryloop demo --no-serve` runs) in this process on a fresh SQLite
store in a temporary directory. A thread samples, every ``--every`` seconds, the CPU time (user + system, from
``/proc``) of this process and of each of its child processes (the sealing workers, the verification behind the
ledger, the outflow report's workers), and the pilot's progress callback names the step under way ("building",
"driving, BMS reports", "retiring, routing, recycling", …; the year left out). Prints, per step and in total: the
wall time, the core-seconds the main process and the workers used, and the core-seconds left idle on this
machine's CPUs (wall × CPUs − both: other programs' load counts as idle here, so run it on a quiet machine). The
wall time is bounded below by the main process's CPU and by half of all CPU on two cores; the idle column says
where the second bound is not reached. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import tempfile
import threading
import time
from collections import defaultdict

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float | None:
    """A process's CPU seconds (user + system), ``None`` if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of stat)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


class Sampler:
    def __init__(self, every: float) -> None:
        self.every = every
        self.me = os.getpid()
        self.step = "set-up"
        self.rows: list[tuple[float, str, float, float]] = []  # (t, step, main core-s, workers core-s) per interval
        self._seen: dict[int, float] = {}
        self._main = _cpu(self.me) or 0.0
        self._stop = threading.Event()
        self._t = time.perf_counter()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        now = time.perf_counter()
        main = _cpu(self.me) or self._main
        work = 0.0
        for pid in _children(self.me):
            c = _cpu(pid)
            if c is None:
                continue
            work += c - self._seen.get(pid, 0.0)
            self._seen[pid] = c
        self.rows.append((now, self.step, main - self._main, work))
        self._main, self._t = main, now

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()
        self._sample()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packs", type=int, default=10000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--every", type=float, default=1.0, help="seconds between samples")
    ap.add_argument("--csv", help="write every sample (time, step, main and workers' core-seconds) here")
    a = ap.parse_args()
    ncpu = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="pilot-timeline-") as tmp:
        os.environ["BATTERYLOOP_DATABASE_URL"] = f"sqlite:///{tmp}/pilot.db"
        os.environ["BATTERYLOOP_VAR_DIR"] = tmp
        from batteryloop.config import get_settings
        from batteryloop.services import build_services
        from batteryloop.sim.loop import PilotConfig, run_pilot

        sampler = Sampler(a.every)
        t0 = time.perf_counter()
        sampler._t = t0
        sampler.thread.start()
        s = build_services(get_settings())

        def progress(what: str, done: int, total: int) -> None:
            sampler.step = re.sub(r"^\d{4}: ", "", what)
            sampler.step = re.sub(r"building [\d,]+ packs", "building packs", sampler.step)

        try:
            run_pilot(s, PilotConfig(packs=a.packs, years=a.years, seed=a.seed), progress=progress)
        finally:
            sampler.stop()
            s.store.dispose()
        wall = time.perf_counter() - t0
    per: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    prev = t0
    for t, step, m, w in sampler.rows:
        p = per[step]
        p[0] += t - prev
        p[1] += m
        p[2] += w
        prev = t
    print(f"pilot {a.packs} packs, {a.years} years, seed {a.seed}; {ncpu} CPUs; samples every {a.every:g} s; "
          f"load at the end {os.getloadavg()[0]:.1f}")
    print(f"{'step':<46} {'wall s':>8} {'main core-s':>12} {'workers core-s':>15} {'idle core-s':>12}")
    tw = tm = tk = 0.0
    for step, (w, m, k) in sorted(per.items(), key=lambda kv: -kv[1][0]):
        print(f"{step[:46]:<46} {w:8.1f} {m:12.1f} {k:15.1f} {max(0.0, w * ncpu - m - k):12.1f}")
        tw, tm, tk = tw + w, tm + m, tk + k
    print(f"{'all':<46} {wall:8.1f} {tm:12.1f} {tk:15.1f} {max(0.0, wall * ncpu - tm - tk):12.1f}")
    if a.csv:
        with open(a.csv, "w", newline="") as fh:
            wr = csv.writer(fh)
            wr.writerow(["t_s", "step", "main_core_s", "workers_core_s"])
            for t, step, m, w in sampler.rows:
                wr.writerow([f"{t - t0:.2f}", step, f"{m:.3f}", f"{w:.3f}"])


if __name__ == "__main__":
    main()
