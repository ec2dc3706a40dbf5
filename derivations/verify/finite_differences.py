"""netlib's backward against central finite differences of netlib's forward.

Not a second finite-difference engine: this hands the entry to netlib's one,
:func:`netlib.gradcheck.check_layer` (or :func:`~netlib.gradcheck.check_gradients`
for entries called another way), float64, ``mode="full"``, a random upstream
gradient, and the tolerance that engine derives and states.
"""

from __future__ import annotations

import time

import numpy as np

from derivations.core import Derivation, Shapes
from derivations.verify.numeric import netlib_forward, netlib_vjp, sample_values
from derivations.verify.rows import CheckRow
from derivations.verify.symbolic import shape_sets
from netlib.gradcheck import GradcheckReport, check_gradients, check_layer


def finite_difference_check(d: Derivation, shapes: Shapes, rng, *, upstream=None,
                            values: dict | None = None) -> GradcheckReport:
    """The public finite-difference checker on entry ``d`` at a sampled point.

    An entry called the usual way (no ``run``, ``forward`` takes ``"x"``) is
    handed to :func:`netlib.gradcheck.check_layer`, which perturbs the layer's
    own parameter arrays in place. Otherwise the layer is rebuilt from the
    perturbed values at every evaluation by :func:`netlib.gradcheck.check_gradients`.
    ``d.build`` of a mutant gives the mutant's backward either way.
    """
    rng = np.random.default_rng(rng)
    if values is None:
        values = sample_values(d, shapes, rng)
    if d.run is None and d.forward_arg == "x":
        target = None
        if d.kind == "loss":
            target = d.netlib_target(values) if d.netlib_target else values["t"]
        report = check_layer(d.build(values), values["x"], target=target, rng=rng,
                             mode="full", upstream=upstream)
        if [c.name for c in report.checks] == list(d.inputs):
            return report

    def forward(**point):
        return netlib_forward(d, d.build(point), point)

    def backward(g, **point):
        return netlib_vjp(d, point, g)

    forward.__name__ = backward.__name__ = d.name
    return check_gradients(forward, backward, values, wrt=list(d.inputs), rng=rng,
                           mode="full", upstream=upstream)


def check_finite_differences(d: Derivation, shapes: Shapes | None = None,
                             rng=None) -> list[CheckRow]:
    """:func:`finite_difference_check` at ``shapes`` (or each shape set), one row per input."""
    rng = np.random.default_rng(0) if rng is None else np.random.default_rng(rng)
    rows = []
    for sh in shape_sets(d, shapes):
        started = time.perf_counter()
        report = finite_difference_check(d, sh, rng)
        seconds = (time.perf_counter() - started) / max(1, len(report.checks))
        for c in report.checks:
            message = "" if c.passed else f"{d.name} at shapes {d.shape_text(sh)}:\n{report}"
            rows.append(CheckRow(d.name, c.name, d.shape_text(sh), "finite differences",
                                 c.passed, float(c.rel_error), seconds, message))
    return rows
