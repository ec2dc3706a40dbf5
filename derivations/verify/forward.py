"""netlib's forward equals the SymPy forward map, at random float64 points.

The derivation restates each layer from its definition; this check makes
sure that what was differentiated is what netlib computes. Tolerance:
:data:`~derivations.verify.rows.NUMERIC_RTOL` relative, for the same reason
as the numeric VJP check (two float64 evaluations of a few dozen flops).
"""

from __future__ import annotations

import time

import numpy as np

from derivations.core import Derivation, Shapes
from derivations.verify.numeric import netlib_forward, numpy_function, sample_values
from derivations.verify.rows import NUMERIC_RTOL, CheckRow
from derivations.verify.symbolic import shape_sets
from netlib.gradcheck import relative_error


def sympy_forward(d: Derivation, shapes: Shapes):
    """The lambdified SymPy forward map of ``d`` at ``shapes``: ``f(values) -> ndarray``."""
    return numpy_function("forward", d, shapes, "", lambda: d.output(shapes))


def check_forward(d: Derivation, shapes: Shapes | None = None,
                  rng: np.random.Generator | None = None) -> list[CheckRow]:
    """netlib's forward against the lambdified SymPy forward map, one row per shape set."""
    rng = np.random.default_rng(0) if rng is None else rng
    rows = []
    for sh in shape_sets(d, shapes):
        started = time.perf_counter()
        values = sample_values(d, sh, rng)
        expected = sympy_forward(d, sh)(values)
        actual = np.asarray(netlib_forward(d, d.build(values), values), dtype=np.float64)
        if actual.size != expected.size:
            error, message = float("inf"), (f"{d.name} forward: netlib gives shape "
                                            f"{actual.shape}, SymPy {expected.shape}")
        else:
            actual = actual.reshape(expected.shape)
            error = relative_error(actual, expected)
            message = "" if error <= NUMERIC_RTOL else (
                f"{d.name} forward at shapes {d.shape_text(sh)}: relative error "
                f"{error:.2e} > {NUMERIC_RTOL:g}\n  netlib {actual.ravel()}\n"
                f"  sympy  {expected.ravel()}")
        rows.append(CheckRow(d.name, None, d.shape_text(sh), "forward", not message, error,
                             time.perf_counter() - started, message,
                             tolerance=NUMERIC_RTOL, margin=error / NUMERIC_RTOL))
    return rows
