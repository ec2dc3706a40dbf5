"""Print the mutation catalogue's kill-rate table and the false-alarm count.

    .venv/bin/python benchmarks/mutation_report.py [--seeds 200]

For every mutant of ``derivations.mutants.MUTANTS``: whether the finite-
difference checker and the symbolic check reject it (at every shape set of
its entry), whether it slips through a check with square shapes and an
all-ones upstream gradient, and the hint the checker prints. Then the kill
rate of each checker, and how often correct code is rejected over ``--seeds``
random points per registry entry.
"""

from __future__ import annotations

import argparse
import time

from derivations import mutants
from derivations.registry import REGISTRY


def mark(flag: bool) -> str:
    return "yes" if flag else "NO"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200,
                        help="random points per registry entry for the false-alarm count")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    results = mutants.run_catalogue()
    width = max(len(r.mutant.name) for r in results)
    print(f"{'mutant'.ljust(width)}  {'entry':22s} {'FD':4s} {'sym.':4s} {'square+ones':12s} hint")
    for r in results:
        slips = "slips" if r.slips_square_ones else "caught"
        hint = r.hint if len(r.hint) < 90 else r.hint[:87] + "..."
        print(f"{r.mutant.name.ljust(width)}  {r.mutant.entry:22s} "
              f"{mark(r.caught_by_finite_differences):4s} {mark(r.caught_by_symbolic):4s} "
              f"{slips:12s} {hint}")
    rates = mutants.kill_rates(results)
    print()
    print(f"mutants: {len(results)}")
    for checker, rate in rates.items():
        print(f"kill rate, {checker}: {100 * rate:.1f}%")
    counts = mutants.false_alarms(args.seeds)
    print(f"false alarms on correct code ({args.seeds} seeds x {len(REGISTRY)} entries = "
          f"{counts['checks']} checks): finite differences {counts['finite differences']}, "
          f"symbolic {counts['symbolic']}")
    print(f"({time.perf_counter() - started:.1f} s)")
    perfect = (rates["finite differences"] == 1.0 and rates["symbolic"] == 1.0
               and counts["finite differences"] == 0 and counts["symbolic"] == 0)
    return 0 if perfect else 1


if __name__ == "__main__":
    raise SystemExit(main())
