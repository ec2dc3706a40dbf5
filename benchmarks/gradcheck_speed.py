"""How long :func:`netlib.gradcheck.check_model` takes on a 784-256-10 network.

The model is ``Dense(784, 256) → ReLU → Dense(256, 10)`` with softmax
cross-entropy on a small batch of random inputs (float64, as the checker
works). It has 203,530 parameters, so the two modes cost very differently:

``full``
    one pair of forward passes per entry of every argument (the whole
    finite-difference Jacobian, column by column; 203,530 parameters and the
    4 x 784 input, 206,666 entries): about 413,000 forward passes;
``directional``
    one pair of forward passes per random direction and argument (the
    dot-product test), independent of the argument's size.

Each mode is timed on the same model and batch; the directional mode, being
cheap, is repeated and its median reported. Every check must pass (the
model's gradients are right), which the table shows. Targets (issue 17):
directional at most 0.2 s.

Localisation: the same network with a wrong last layer (its ``dW`` halved) fails
end to end; ``check_model`` then checks every layer alone at the activations
of the forward pass. Its extra cost (``localise="auto"`` minus
``localise=False``) is reported as a multiple of the failing check itself:
target at most 2. Wall and CPU seconds are both printed (the machine may be
shared: CPU seconds count only the work done).

Run ``python benchmarks/gradcheck_speed.py`` (``--help`` for options);
``--skip-full`` leaves out the full mode, which takes minutes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from netlib import Dense, ReLU, Sequential, SoftmaxCrossEntropy
from netlib.gradcheck import check_model


class HalvedWeightGradient(Dense):
    """A wrong layer for the localisation timing: ``dW`` half of the truth."""

    def _backward(self, g):
        dx = super()._backward(g)
        self.grads["W"] *= 0.5
        return dx


def build(rng, last=Dense) -> Sequential:
    return Sequential([Dense(784, 256, rng=rng), ReLU(), last(256, 10, rng=rng)])


def timed_check(model, loss, x, labels, mode: str, directions: int, localise="auto"):
    start, cpu = time.perf_counter(), time.process_time()
    report = check_model(model, loss, x, labels, rng=1, mode=mode, directions=directions,
                         localise=localise)
    return time.perf_counter() - start, report, time.process_time() - cpu


def localisation(rng_seed, x, labels, args) -> None:
    """Time a failing check with and without the layer-by-layer localisation."""
    model, loss = build(np.random.default_rng(rng_seed), HalvedWeightGradient), \
        SoftmaxCrossEntropy()
    plain, with_steps = [], []
    report = None
    for _ in range(max(1, args.repeats // 2)):
        wall, _, cpu = timed_check(model, loss, x, labels, "directional", args.directions,
                                   localise=False)
        plain.append((wall, cpu))
        wall, report, cpu = timed_check(model, loss, x, labels, "directional",
                                        args.directions)
        with_steps.append((wall, cpu))
    fail_wall = statistics.median(w for w, _ in plain)
    fail_cpu = statistics.median(c for _, c in plain)
    total_wall = statistics.median(w for w, _ in with_steps)
    total_cpu = statistics.median(c for _, c in with_steps)
    print(f"\nlocalisation (last layer's dW halved), directional, median of "
          f"{len(plain)}:")
    print(f"  failing check alone        {fail_wall:7.3f} s wall  {fail_cpu:7.3f} s cpu")
    print(f"  with localisation          {total_wall:7.3f} s wall  {total_cpu:7.3f} s cpu")
    print(f"  localisation / failing check: {(total_wall - fail_wall) / fail_wall:.2f} "
          f"(wall), {(total_cpu - fail_cpu) / fail_cpu:.2f} (cpu); target <= 2")
    print("  " + report.localisation().replace("\n", "\n  "))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4, help="samples in the checked batch")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of directional")
    parser.add_argument("--directions", type=int, default=2,
                        help="random directions per argument (directional mode)")
    parser.add_argument("--skip-full", action="store_true", help="leave out the full mode")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    model, loss = build(rng), SoftmaxCrossEntropy()
    x = rng.standard_normal((args.batch, 784))
    labels = rng.integers(0, 10, args.batch)
    n_params = sum(p.size for p in model.parameters().values())
    print(f"check_model on {model!r}, {n_params} parameters + input {x.shape}, "
          f"batch {args.batch}, float64\n")
    print(f"{'mode':12s} {'runs':>4s} {'seconds per check':>18s} {'passed':>6s}  arguments")

    directional, cpus, report = [], [], None
    for _ in range(args.repeats):
        seconds, report, cpu = timed_check(model, loss, x, labels, "directional",
                                           args.directions)
        directional.append(seconds)
        cpus.append(cpu)
    names = ", ".join(check.name for check in report.checks)
    print(f"{'directional':12s} {args.repeats:4d} {statistics.median(directional):18.3f} "
          f"{report.passed!s:>6s}  {names} ({args.directions} directions each; "
          f"{statistics.median(cpus):.3f} s cpu; target <= 0.2 s)")
    localisation(args.seed, x, labels, args)

    if not args.skip_full:
        seconds, report, _ = timed_check(model, loss, x, labels, "full", args.directions)
        print(f"{'full':12s} {1:4d} {seconds:18.3f} {report.passed!s:>6s}  "
              f"{names} (every entry)")
        print(f"\nfull mode: {seconds / (n_params + x.size) * 1e6:.1f} µs per checked entry")
    if report is not None and not report.passed:
        print(report)


if __name__ == "__main__":
    main()
