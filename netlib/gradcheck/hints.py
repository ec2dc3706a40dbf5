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
- :math:`a = u \odot f'(f(x))` where :math:`n = u \odot f'(x)` (an
  entrywise map): the derivative evaluated at the output instead of the
  input, e.g. :math:`\sigma'(a)` instead of :math:`\sigma'(z)`;
- one-sided quotients whose gap does not shrink with the step: not a mistake
  in the code but a kink within one step of the point
  (:func:`netlib.gradcheck.ridders.kink_test`).

No hint is given for a difference below the tolerance, nor a constant
factor of 1 (an error that is no factor at all).

These tests use a loose closeness (:func:`close`, 1e-6 of the scale): they
only choose words; the verdict is always the derived tolerance's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["close", "diagonal_hint", "factor_hint", "kink_hint", "missing_hint", "shape_hint",
           "value_hint", "wrong_point_hint"]


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
    if abs(c - 1) < 1e-3:
        return ""              # no factor: the error is elsewhere (or is noise)
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


def kink_hint(jump: float, h: float, error: float, index) -> str:
    r"""Say so when a kink lies within one step ``h`` of the failing entry.

    ``jump`` is :func:`~netlib.gradcheck.ridders.kink_test`'s measure of the
    jump of the derivative (``0`` for a smooth function); it explains the
    failure when it is at least a tenth of the failing entry's ``error``.
    """
    if jump > 0 and jump >= 0.1 * error:
        return (f"the point is within one step (h = {h:.1e}) of a kink of the "
                f"function at index {index}: check at points away from kinks")
    return ""


def wrong_point_hint(problem, p: np.ndarray, analytic: np.ndarray, u: np.ndarray) -> str:
    r"""For an entrywise map: is ``analytic`` the derivative taken at the output?

    With :math:`y = f(x)` entry by entry, the right VJP is :math:`u \odot f'(x)`.
    :math:`f'` at the points :math:`y` is measured by one central difference
    of the whole array (entrywise maps do not mix entries),
    :math:`f'(y) \approx (f(y + h) - f(y - h)) / 2h`; if ``analytic`` equals
    :math:`u \odot f'(y)`, the derivative was evaluated at the wrong point.
    """
    keep = p.copy()
    try:
        y = np.array(problem.evaluate(), dtype=np.float64)
        if y.shape != p.shape:
            return ""
        h = 6e-6 * np.maximum(1.0, np.abs(y))
        p[...] = y + h
        plus = np.array(problem.evaluate(), dtype=np.float64)
        p[...] = y - h
        minus = np.array(problem.evaluate(), dtype=np.float64)
    except (ArithmeticError, ValueError):
        return ""
    finally:
        p[...] = keep
    at_output = u * (plus - minus) / (2 * h)
    scale = float(np.max(np.abs(at_output), initial=0))
    if scale > 0 and np.all(np.abs(analytic - at_output) <= 1e-4 * scale):
        return ("analytic/numeric = f'(f(x))/f'(x): the derivative is evaluated at the "
                "wrong point, at the output y = f(x) instead of the input x (e.g. σ'(a) "
                "where σ'(z) = a(1 - a) was meant)")
    return ""


def missing_hint(name: str, returned, known, wrt_given: bool) -> str:
    """Why no gradient came back for ``name``: a misspelt key, or a forgotten ``wrt=``.

    ``returned`` are the keys backward gave, ``known`` the argument names.
    """
    keys = [key for key in (returned or ()) if isinstance(key, str)]
    unknown = [key for key in keys if key not in known]

    def bare(key: str) -> str:
        return key.removeprefix("grad_").removeprefix("d_").removeprefix("d").lower()

    for key in unknown:
        if bare(key) == name.lower():
            return (f"backward returned the unknown key {key!r}: gradients are keyed by "
                    f"the argument's own name, {name!r}")
    parts = []
    if unknown:
        parts.append(f"backward returned unknown keys {unknown} (arguments: {list(known)})")
    if not wrt_given:
        parts.append(f"if {name} is a constant (a target, labels), pass wrt= naming the "
                     f"arguments to check")
    return "; ".join(parts)
