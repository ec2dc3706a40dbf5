"""How long ``web.answer`` takes with numpy and without it (the browser's path).

Each backend answers the same questions in its own process, in the same
order (imports excluded, SymPy's cache warmed by the earlier questions as in
a page that answers many): the numpy one as the command line runs, the other
with ``numpy`` and ``netlib`` blocked, as Pyodide runs it. The table puts the
two times side by side with their ratio: CPU seconds of the process (the
work is single-threaded, so on an idle machine this is the wall time; on a
shared one it is the steadier measure), and the wall time in the summary.

Target of issue 15: under 5 s per example question in the browser; Pyodide
runs about 2-3x slower than CPython, so the numpy-free path should stay
under about 1.5 s here. Not a test: the machine is shared and timings vary.

    python benchmarks/derive_no_numpy.py [--repeat N]

The same question asked twice with the same seed is answered much faster
the second time (SymPy caches its results); the times here are first asks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The questions of tests/test_derive_without_numpy.py, the README's, and the
#: examples of the site's "Ask a question" page.
QUESTIONS = [
    ("tr(A @ X @ B)", "X", None),
    ("log(det(X))", "X", None),
    ("sum(Y * log(softmax(Z)))", "Z", None),
    ("sum(X * X) + 1e6", "X", None),
    ("A @ x", "x", "x=nx1"),
    ("sum(tanh(X @ W))", "W", "X=4x3, W=3x2"),
    ("x.T @ A @ x", "x", "x=nx1"),
    ("softmax(Z)", "Z", None),
    ("tr(matrix_power(X, 3))", "X", None),
    ("sum(softmax(X @ W) * Y)", "W", None),
]

TIMER = """
import json, statistics, sys, time
if sys.argv[2] == "python":
    sys.modules["numpy"] = None
    sys.modules["netlib"] = None
from derivations.matrix_calculus.backend import default_backend
from derivations.matrix_calculus.web import answer
questions, repeat = json.loads(sys.argv[1]), int(sys.argv[3])
times = []
for text, wrt, shapes in questions:
    cpus, walls, confirmed = [], [], True
    for seed in range(repeat):  # another seed, another point: no cached SymPy result
        started, cpu = time.perf_counter(), time.process_time()
        payload = answer(text, wrt, shapes, seed=seed)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - started)
        confirmed = confirmed and payload.get("confirmed")
    times.append((statistics.median(cpus), statistics.median(walls), confirmed))
print(json.dumps({"backend": default_backend().name, "times": times}))
"""


def timings(backend: str, repeat: int) -> dict:
    result = subprocess.run([sys.executable, "-c", TIMER, json.dumps(QUESTIONS), backend,
                             str(repeat)], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1,
                        help="answer each question with seeds 0..N-1 (other points, so "
                             "that SymPy's cache does not answer), keep the median")
    args = parser.parse_args()
    with_numpy, without = timings("numpy", args.repeat), timings("python", args.repeat)
    assert without["backend"] == "python", without["backend"]
    print("CPU seconds per question")
    print(f"{'numpy':>8} {'no numpy':>9} {'ratio':>6}  ok  question")
    for (text, wrt, shapes), (a, _, ok_a), (b, _, ok_b) in zip(
            QUESTIONS, with_numpy["times"], without["times"], strict=True):
        ok = "yes" if ok_a and ok_b else "NO "
        sizes = f"  [{shapes}]" if shapes else ""
        print(f"{a:8.2f} {b:9.2f} {b / a:6.2f}  {ok} d/d{wrt} {text}{sizes}")
    for what, column in (("CPU", 0), ("wall", 1)):
        a = [t[column] for t in with_numpy["times"]]
        b = [t[column] for t in without["times"]]
        print(f"{what}: median {statistics.median(a):.2f} s with numpy, "
              f"{statistics.median(b):.2f} s without; max {max(a):.2f} s and "
              f"{max(b):.2f} s; {len(a)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
