"""Route decisions per second over a fleet of retired packs (vectorised). Goal: ≥ 1,000,000 per second.

Run: .venv/bin/python bench/circular_routes.py [--packs 1000000] [--repeat 5]
Prints the packs, the best of ``repeat`` timings (set-up of reference values included in each), the
rate, and the share of each recommended route.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from batteryloop.circular.routes import decide_routes_batch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packs", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.packs
    chem_names = ["NMC622", "NMC811", "LFP", "NCA", "NMC111", "LMO"]
    chem_index = rng.integers(0, len(chem_names), n)  # a dictionary-encoded column, as in Parquet/Arrow
    cap = rng.uniform(30, 110, n)
    soh = np.clip(rng.normal(0.75, 0.1, n), 0.0, 1.0)
    grade_names = ["A", "B", "C", "D"]
    grade_index = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    flagged = rng.random(n) < 0.02
    best = float("inf")
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = decide_routes_batch(chem_names, cap, soh, chemistry_index=chem_index, grade=grade_names,
                                     grade_index=grade_index, safety_flagged=flagged)
        best = min(best, time.perf_counter() - t0)
    assert result is not None
    print(f"packs: {n:,}")
    print(f"best of {args.repeat}: {best * 1000:.1f} ms")
    print(f"route decisions per second: {n / best:,.0f}")
    for route, count in sorted(result.counts().items(), key=lambda kv: -kv[1]):
        print(f"  {route:15s} {count / n:6.1%}")


if __name__ == "__main__":
    main()
