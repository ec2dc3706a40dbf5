"""Print the mutation catalogue's kill-rate table and the false-alarm counts.

    .venv/bin/python benchmarks/mutation_report.py [--seeds 200] [--bce-seeds 1000]

For every mutant of ``derivations.mutants.MUTANTS``: whether the finite-
difference checker and the symbolic check reject it (at every shape set of
its entry), whether it slips through a check with square shapes and an
all-ones upstream gradient, and the hint the checker prints. Then the
user-side mutants (``derivations.user_check.USER_MUTANTS``: wrong backward
functions written outside the project), each against ``check_against`` and
finite differences of netlib's forward. Then the kill rate of each checker,
how often correct code is rejected over ``--seeds`` random points per
registry entry, and false alarms at realistic probabilities: a correct
binary cross-entropy (a user's, with ``check_gradients``, and netlib's, with
``check_layer``) over ``--bce-seeds`` seeds with p ~ U(0.001, 0.999) and
p = sigmoid(N(0, 4²)) clipped to [1e-6, 1 - 1e-6].
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import netlib as nl
from derivations import mutants
from derivations.registry import REGISTRY
from derivations.user_check import USER_MUTANTS, check_against, finite_difference_check_of
from netlib.gradcheck import check_gradients, check_layer


def mark(flag: bool) -> str:
    return "yes" if flag else "NO"


def bce(p, t):
    """A user's binary cross-entropy, the mean over every entry."""
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))


def bce_backward(g, p, t):
    return {"p": g * (p - t) / (p * (1 - p)) / p.size}


def probabilities(kind: str, rng, shape=(4, 3)) -> np.ndarray:
    if kind == "uniform":
        return rng.uniform(0.001, 0.999, shape)
    return np.clip(1 / (1 + np.exp(-4 * rng.standard_normal(shape))), 1e-6, 1 - 1e-6)


def realistic_false_alarms(kind: str, seeds: int) -> dict[str, int]:
    """Rejections of correct BCE code (user's and netlib's) and crashes, over ``seeds``."""
    counts = {"user": 0, "netlib": 0, "crashes": 0}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        p = probabilities(kind, rng)
        t = (rng.random(p.shape) < 0.5).astype(float)
        try:
            counts["user"] += not check_gradients(bce, bce_backward, {"p": p, "t": t},
                                                  wrt=["p"], rng=seed).passed
            counts["netlib"] += not check_layer(nl.BinaryCrossEntropy(), p, target=t,
                                                rng=seed).passed
        except (ValueError, ArithmeticError):
            counts["crashes"] += 1
    return counts


def user_mutant_rows() -> list[tuple[str, str, bool, bool]]:
    """(name, entry, caught by check_against, caught by finite differences)."""
    return [(wrong.__name__, entry, not check_against(entry, wrong).passed,
             not finite_difference_check_of(entry, wrong).passed)
            for entry, wrong in USER_MUTANTS]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200,
                        help="random points per registry entry for the false-alarm count")
    parser.add_argument("--bce-seeds", type=int, default=1000,
                        help="seeds per distribution for the realistic-probability count")
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
    users = user_mutant_rows()
    print(f"\nuser-side mutants{'':{max(0, width - 17)}}  {'entry':22s} {'FD':4s} {'sym.':4s}")
    for name, entry, symbolic, fd in users:
        print(f"{name.ljust(width)}  {entry:22s} {mark(fd):4s} {mark(symbolic):4s}")
    rates = mutants.kill_rates(results)
    print()
    print(f"mutants: {len(results)}")
    for checker, rate in rates.items():
        print(f"kill rate, {checker}: {100 * rate:.1f}%")
    counts = mutants.false_alarms(args.seeds)
    print(f"false alarms on correct code ({args.seeds} seeds x {len(REGISTRY)} entries = "
          f"{counts['checks']} checks): finite differences {counts['finite differences']}, "
          f"symbolic {counts['symbolic']}")
    user_killed = sum(fd and symbolic for _, _, symbolic, fd in users)
    print(f"user-side mutants caught by both: {user_killed} of {len(users)}")
    realistic = {}
    for kind, label in (("uniform", "p ~ U(0.001, 0.999)"),
                        ("sigmoid", "p = sigmoid(N(0, 4²)) clipped to [1e-6, 1 - 1e-6]")):
        realistic[kind] = realistic_false_alarms(kind, args.bce_seeds)
        c = realistic[kind]
        print(f"false alarms, correct BCE, {label}, {args.bce_seeds} seeds: "
              f"user's (check_gradients) {c['user']}, netlib's (check_layer) {c['netlib']}, "
              f"crashes {c['crashes']}")
    print(f"({time.perf_counter() - started:.1f} s)")
    perfect = (rates["finite differences"] == 1.0 and rates["symbolic"] == 1.0
               and counts["finite differences"] == 0 and counts["symbolic"] == 0
               and user_killed == len(users)
               and not any(sum(c.values()) for c in realistic.values()))
    return 0 if perfect else 1


if __name__ == "__main__":
    raise SystemExit(main())
