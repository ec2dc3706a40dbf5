"""Confirm a candidate VJP: explicit SymPy Jacobian and central differences.

At a concrete size (every free size given a value) and a random point, the
candidate's value is compared with

1. the **explicit Jacobian**: the expression evaluated by SymPy on a matrix
   of symbols for the variable (the other inputs fixed to the point's
   numbers), ``sympy.Matrix.jacobian`` of its row-major flattening
   (numerator layout, ``J[i, j] = dy_i/dx_j``), then ``J^T vec(G)`` at the
   point, reshaped to the variable's shape;
2. **central differences** of ``<G, f(X)>`` in float64, one entry at a time.

The upstream ``G`` is random (an all-ones ``G`` hides wrong-axis sums).
Errors are ``max|candidate - reference| / max(1, max|reference|)``.

Tolerances, stated rather than tuned: the explicit Jacobian is exact up to
float64 rounding of both sides, so ``1e-9`` leaves six orders of margin over
the ``~1e-15`` rounding.  A central difference with step ``h`` errs by
about ``h²/6·|f'''| + ε·|f|/h``; ``h = 1e-5`` makes that ``~2e-11·|f'''| +
2e-11·|f|``, and the tolerance ``1e-6`` covers third derivatives up to
``~1e4`` on the sampled points (a square input is shifted by ``n·I``, which
makes singular or nearly singular draws for ``inv`` and ``det`` unlikely,
though not impossible; a draw where the expression is not finite is
replaced).  A wrong rule misses by far more: a missing transpose or a wrong
sign errs by ``O(1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from .errors import MatrixCalculusError
from .evaluate import to_numpy, to_sympy
from .expr import Node

__all__ = [
    "FD_STEP",
    "FD_TOLERANCE",
    "JACOBIAN_TOLERANCE",
    "Confirmation",
    "DomainError",
    "explicit_jacobian_vjp",
    "finite_difference_vjp",
    "relative_error",
    "sample_point",
]

JACOBIAN_TOLERANCE = 1e-9
FD_STEP = 1e-5
FD_TOLERANCE = 1e-6


class DomainError(MatrixCalculusError):
    """The expression has no finite value at the points tried."""


@dataclass
class Confirmation:
    """One comparison of the candidate with an independent reference."""

    method: str
    sizes: dict  # variable name -> (rows, cols) at this check
    error: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)

    def as_dict(self) -> dict:
        return {"method": self.method, "sizes": {k: list(v) for k, v in self.sizes.items()},
                "max_error": self.error, "tolerance": self.tolerance, "passed": self.passed}


def relative_error(value: np.ndarray, reference: np.ndarray) -> float:
    """``max|value - reference| / max(1, max|reference|)``; inf on a shape mismatch."""
    value, reference = np.asarray(value, dtype=float), np.asarray(reference, dtype=float)
    if value.shape != reference.shape:
        return float("inf")
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    return float(np.max(np.abs(value - reference), initial=0.0) / scale)


def sample_point(expr: Node, concrete: dict, rng: np.random.Generator, tries: int = 20) -> dict:
    """Random float64 values for every variable, where ``expr`` is finite.

    Entries are standard normal; an ``n×n`` input (``n > 1``) gets ``n·I``
    added, which shifts each of its eigenvalues by ``n`` (usually away from
    0) but guarantees neither invertibility nor diagonal dominance.  Where
    the expression raises or is not finite (a singular matrix, the log of a
    negative number) the point is drawn again, after ``tries // 2`` attempts
    with entries from ``[0.5, 1.5]`` instead.
    """
    for attempt in range(tries):
        values = {}
        for name, (rows, cols) in concrete.items():
            if attempt < tries // 2:
                block = rng.standard_normal((rows, cols))
            else:
                block = rng.uniform(0.5, 1.5, (rows, cols))
            if rows == cols and rows > 1:
                block = block + rows * np.eye(rows)
            values[name] = block
        try:
            with np.errstate(all="ignore"):
                out = to_numpy(expr, values)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue  # a singular matrix where inv(...) needs a regular one
        if np.all(np.isfinite(out)):
            return values
    raise DomainError(f"derive: the expression is not finite at any of {tries} random points "
                      "(an inverse of a singular matrix, a division by zero?)")


def explicit_jacobian_vjp(expr: Node, wrt: str, values: dict, G: np.ndarray) -> np.ndarray:
    """``J^T vec(G)`` from SymPy's explicit Jacobian, at ``values``.

    The Jacobian is assembled one column at a time: column ``k`` is
    ``Matrix.jacobian`` of the flattened output with respect to a symbol
    ``t`` placed in entry ``k`` of the variable (``X = X0 + t E_k``), taken at
    ``t = 0``.  That is the same exact derivative as one symbol per entry,
    without building the many-variable expressions (a 4×4 symbolic inverse
    has thousands of terms).
    """
    rows, cols = values[wrt].shape
    t = sympy.Symbol("t")
    inputs = {name: sympy.Matrix(v.tolist()).applyfunc(sympy.Float)
              for name, v in values.items() if name != wrt}
    base = sympy.Matrix(values[wrt].tolist()).applyfunc(sympy.Float)
    g = np.asarray(G, dtype=float).reshape(-1)
    columns = []
    for k in range(rows * cols):
        moved = base.copy()
        moved[k // cols, k % cols] += t
        out = to_sympy(expr, {**inputs, wrt: moved})
        flat = out.reshape(out.rows * out.cols, 1)  # row-major, as the project flattens
        column = flat.jacobian([t]).subs(t, 0)
        columns.append([complex(sympy.N(entry)) for entry in column])
    jacobian = np.array(columns).T  # numerator layout: outputs index rows
    if np.max(np.abs(jacobian.imag), initial=0.0) > 1e-12 * max(1.0, np.max(np.abs(jacobian))):
        raise ValueError("derive: the explicit Jacobian is complex at the sampled point")
    return (jacobian.real.T @ g).reshape(rows, cols)


def finite_difference_vjp(expr: Node, wrt: str, values: dict, G: np.ndarray,
                          step: float = FD_STEP) -> np.ndarray:
    """Central differences of ``<G, f(X)>``, one entry of the variable at a time."""
    base = values[wrt]
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        shifted = dict(values)
        plus, minus = base.copy(), base.copy()
        plus[index] += step
        minus[index] -= step
        shifted[wrt] = plus
        up = float(np.sum(G * to_numpy(expr, shifted)))
        shifted[wrt] = minus
        down = float(np.sum(G * to_numpy(expr, shifted)))
        grad[index] = (up - down) / (2 * step)
    return grad
