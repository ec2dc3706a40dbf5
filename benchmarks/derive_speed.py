"""How long ``derive`` takes per question: the identity reference and 8×8 questions.

Each question is answered in this process (imports excluded, as in a
session that asks many questions), with its confirmation at two random
sizes and points: the time a reader waits after the first question.

Targets of issue 16 on the 2-core machine of the brief: median under 1 s
over the identity reference, every reference question under 10 s, typical
8×8 questions under 5 s.  Not a test: the machine is shared and timings vary.

    python benchmarks/derive_speed.py [--skip-reference] [--skip-8x8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from derivations.matrix_calculus import derive
from derivations.matrix_calculus.identities import IDENTITIES

#: Questions at a fixed 8×8 size (the sizes a reader types to see a number).
EIGHT = [
    ("sum(tanh(X @ W))", "W", ("X=8x8", "W=8x8")),
    ("tr(A @ X @ B)", "X", ("A=8x8", "X=8x8", "B=8x8")),
    ("sum(softmax(X @ W) * Y)", "W", ("X=8x8", "W=8x8")),
    ("x.T @ A @ x", "x", ("x=8x1", "A=8x8")),
    ("sum((X @ W - Y) ** 2)", "W", ("X=8x8", "W=8x8")),
    ("A @ x", "x", ("x=8x1", "A=8x8")),
]
TARGETS = {"median": 1.0, "reference, each": 10.0, "8×8, each": 5.0}


def timed(text: str, wrt: str, shapes) -> tuple[float, bool]:
    started = time.perf_counter()
    answer = derive(text, wrt, shapes, elementwise=False)
    return time.perf_counter() - started, answer.confirmed


def report(title: str, questions) -> list[float]:
    print(f"\n{title}\n{'seconds':>8}  ok  question")
    times = []
    for text, wrt, shapes in questions:
        seconds, confirmed = timed(text, wrt, shapes)
        times.append(seconds)
        sizes = f"  [{', '.join(shapes)}]" if shapes else ""
        print(f"{seconds:8.2f}  {'yes' if confirmed else 'NO '} d/d{wrt} {text}{sizes}")
    print(f"median {statistics.median(times):.2f} s, max {max(times):.2f} s, "
          f"{len(times)} questions")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--skip-8x8", action="store_true")
    args = parser.parse_args()
    derive("tr(X)", "X")  # warm-up: first calls import and cache
    verdicts = []
    if not args.skip_reference:
        times = report("identity reference (sizes drawn at random, two points each)",
                       [(i.expression, i.wrt, i.shapes) for i in IDENTITIES])
        verdicts += [("median", statistics.median(times)), ("reference, each", max(times))]
    if not args.skip_8x8:
        times = report("8×8 questions", EIGHT)
        verdicts.append(("8×8, each", max(times)))
    print()
    for label, value in verdicts:
        met = "met" if value < TARGETS[label] else "MISSED"
        print(f"{label}: {value:.2f} s (target < {TARGETS[label]:.0f} s): {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
