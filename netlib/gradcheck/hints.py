r"""Hints: name the known mistake that a wrong gradient's pattern points to.

A failing check compares the analytic gradient :math:`a` with the reference
:math:`n` (finite differences, or the derived VJP). Wrong backward passes that
people really write leave recognisable patterns:

- a shape error or :math:`a = n^\top`: a missing or extra transpose, or a
  swapped product order;
- :math:`a = c\,n` for a constant :math:`c`: a sign error (:math:`c = -1`), a
  missing or doubled ``1/batch`` (:math:`c` the size of an axis or its
  inverse), a forgotten or spurious ½;
- :math:`a` all zeros or NaN: the gradient was never written;
- :math:`a` equal to the diagonal part of :math:`J^\top u`: the coupling
  between entries (softmax) is missing;
- a second difference of order :math:`h\,|\text{jump}|`: not a mistake in the
  code but a kink within one step of the point.

These tests use a loose closeness (:func:`close`, 1e-6 of the scale): they
only choose words; the verdict is always the derived tolerance's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["close", "diagonal_hint", "factor_hint", "kink_hint", "shape_hint", "value_hint"]


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to 1e-6 of the larger array's scale (for hints, not verdicts)."""
    scale = max(float(np.max(np.abs(a), initial=0)), float(np.max(np.abs(b), initial=0)))
    return a.shape == b.shape and scale > 0 and bool(np.all(np.abs(a - b) <= 1e-6 * scale))


def shape_hint(a: np.ndarray, numeric: np.ndarray) -> str:
    """What a gradient of the wrong shape is (appended to the shape message)."""
    if a.ndim == 2 and close(a.T, numeric):
        return ("; analytic is the transpose of numeric (a missing or extra transpose, "
                "or a swapped product order)")
    if a.size == numeric.size and close(a.reshape(numeric.shape), numeric):
        return "; the values are right but reshaped: return the argument's shape"
    if numeric.ndim == 1 and a.ndim == 2 and numeric.shape[0] in a.shape:
        axis = a.shape.index(numeric.shape[0])
        summed = a.sum(axis=1 - axis)
        tail = "" if not close(summed, numeric) else \
            f" (summing it over axis {1 - axis} gives numeric)"
        return f"; a bias gradient must be summed over the batch{tail}"
    if numeric.ndim == 1 and a.ndim == 1:
        return "; summed over the wrong axis?"
    return ""


def value_hint(a: np.ndarray, numeric: np.ndarray, tol: np.ndarray,
               axis_sizes: set[int]) -> str:
    """What a gradient of the right shape but wrong values is, or ``""``."""
    if not np.all(np.isfinite(a)):
        bad = int((~np.isfinite(a)).sum())
        return f"analytic has {bad} non-finite entries (NaN: not written by backward?)"
    if not np.any(a) and np.any(numeric):
        return "analytic is all zeros: the gradient was not computed or not stored"
    if a.ndim == 2 and a.shape[0] == a.shape[1] and close(a, numeric.T):
        return ("analytic equals numeric transposed: a missing or extra transpose, or a "
                "swapped product order (square shapes let it through without a shape error)")
    # The least-squares factor c minimising |a - c n|: if a is c n, name c.
    denominator = float(np.sum(numeric * numeric))
    if denominator > 0:
        c = float(np.sum(a * numeric)) / denominator
        if close(a, c * numeric):
            return factor_hint(c, axis_sizes)
    wrong = np.abs(a - numeric) > tol
    if 0 < wrong.sum() < wrong.size:
        return f"wrong on {int(wrong.sum())} of {wrong.size} entries"
    return ""


def factor_hint(c: float, axis_sizes: set[int]) -> str:
    """Name the mistakes a constant factor ``analytic = c * numeric`` points to."""
    if not np.isfinite(c) or c == 0:
        return ""
    text = f"analytic = {c:.6g} × numeric"
    if abs(c + 1) < 1e-6:
        return text + ": a sign error"
    size = abs(c)
    causes = []
    for n in sorted(axis_sizes - {0, 1}):
        if abs(size - n) < 1e-6 * n:
            causes.append(f"a missing 1/batch ({n} is the size of an axis: the batch size?)")
        if abs(size - 1 / n) < 1e-6 / n:
            causes.append(f"1/batch applied twice ({n} is the size of an axis: the batch "
                          f"size?)")
    if abs(size - 2) < 1e-6:
        causes.append("the ½ of a squared loss forgotten")
    if abs(size - 0.5) < 1e-6:
        causes.append("a spurious ½")
    sign = ", and a sign error" if c < 0 else ""
    if not causes:
        return text + ": off by a constant factor" + sign
    return text + ": " + " or ".join(causes) + sign


def diagonal_hint(jac: np.ndarray, u: np.ndarray, analytic: np.ndarray,
                  tol: float) -> str:
    r"""Say so when ``analytic`` keeps only the diagonal of a square Jacobian.

    The diagonal-only VJP is :math:`\operatorname{diag}(J) \odot u`; it is a
    mistake only when :math:`J` has off-diagonal entries above ``tol``.
    """
    if jac.shape[0] != jac.shape[1]:
        return ""
    diagonal = (np.diag(jac) * u.reshape(-1)).reshape(analytic.shape)
    off_diagonal = jac - np.diag(np.diag(jac))
    if np.any(np.abs(off_diagonal) > tol) and close(analytic, diagonal):
        return ("analytic keeps only the diagonal of the Jacobian: the coupling "
                "between entries (softmax's -y_i y_j) is missing")
    return ""


def kink_hint(second: float, h: float, error: float, index: tuple) -> str:
    r"""Say so when the point is within one step ``h`` of a kink.

    A kink within one step shows as a second difference
    :math:`\varphi(p+h) - 2\varphi(p) + \varphi(p-h)` of order
    :math:`h\,|\text{jump}|`, against :math:`h^2 |\varphi''|` for a smooth
    function (see the package docstring); ``error`` is the failing entry's
    :math:`|a - n|`, of the size of the jump.
    """
    if abs(second) >= h * error:
        return (f"the point is within one step (h = {h:.1e}) of a kink of the "
                f"function at index {index}: check at points away from kinks")
    return ""
