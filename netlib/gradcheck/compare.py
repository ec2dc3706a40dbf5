r"""Comparing a gradient with a reference: the project's one relative error,
and the entry-by-entry comparison that every check ends in.

The verdict of a comparison is always an absolute, per-entry bound
:math:`|a - n| \le \text{tol}` (derived for finite differences, stated for the
SymPy reference); the relative error is what the report prints and what the
numeric checks of ``derivations`` hold to ``NUMERIC_RTOL``.
"""

from __future__ import annotations

import numpy as np

from netlib.gradcheck.hints import shape_hint, value_hint
from netlib.gradcheck.report import ArgumentCheck
from netlib.gradcheck.rule import relative

__all__ = ["compare_gradient", "relative_error", "shape_problem"]


def relative_error(actual, expected) -> float:
    r"""The relative error of ``actual`` against ``expected``, over all entries.

    .. math:: \operatorname{rel}(a, e) = \frac{\max_i |a_i - e_i|}{\max_i |e_i|}

    One scale for the whole array (not entry by entry), so that an entry of
    ``expected`` that happens to be near 0 does not blow the error up.

    Parameters
    ----------
    actual, expected : array_like
        The value to judge and the reference, of the same shape.

    Returns
    -------
    float
        ``0.0`` when both are all zero (or empty); ``inf`` when ``expected`` is
        all zero and ``actual`` is not, or when the shapes differ (a gradient of
        the wrong shape is close to nothing); NaN when either holds a NaN.

    Examples
    --------
    >>> relative_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> relative_error([1.0, 2.5], [1.0, 2.0])          # 0.5 / 2
    0.25
    >>> relative_error([0.0, 1e-9], [0.0, 0.0]), relative_error([0.0], [0.0])
    (inf, 0.0)
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    # np.max propagates NaN, so a NaN anywhere gives a NaN error (never "passes").
    error = float(np.max(np.abs(actual - expected), initial=0.0))
    scale = float(np.max(np.abs(expected), initial=0.0))
    return relative(error, scale)   # the maxima's ratio, stated once in rule.py


def shape_problem(name: str, shape: tuple, a) -> tuple[str, np.ndarray | None]:
    """Message when the analytic gradient is missing, not numeric, or misshapen.

    Returns ``(message, a as float64)``: the message is ``""`` when ``a`` can be
    compared entry by entry; the array is ``None`` when there is none to show.
    """
    if a is None:
        return f"no gradient returned for {name}", None
    a = np.asarray(a)
    if a.dtype.kind not in "fiu":
        return f"gradient of {name} has dtype {a.dtype}, expected floats", None
    a = a.astype(np.float64)
    if a.shape != shape:
        return (f"analytic has shape {a.shape}, the gradient must have {name}'s shape "
                f"{shape}"), a
    return "", a


def compare_gradient(name: str, analytic, reference: np.ndarray, tolerance,
                     axis_sizes=(), mode: str = "reference",
                     reference_name: str = "numeric") -> ArgumentCheck:
    """Compare a gradient with a reference entry by entry, with hints.

    ``tolerance`` is a scalar or an array of the reference's shape; an entry
    passes when ``|analytic - reference| <= tolerance``. Used by the finite-
    difference checks here and by ``derivations.user_check`` (reference = the
    lambdified SymPy VJP). Hints call the reference ``reference_name``.
    """
    check = _compare(name, analytic, reference, tolerance, set(axis_sizes), mode)
    if reference_name != "numeric":
        check.hint = check.hint.replace("numeric", reference_name)
    return check


def _compare(name, analytic, reference, tolerance, axis_sizes, mode) -> ArgumentCheck:
    reference = np.asarray(reference, dtype=np.float64)
    problem_text, a = shape_problem(name, reference.shape, analytic)
    if problem_text:
        hint = problem_text + (shape_hint(a, reference) if a is not None else "")
        return ArgumentCheck.unusable(name, reference.shape, mode, hint, a, reference)
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), reference.shape)
    err = np.abs(a - reference)
    # The worst entry is the one furthest beyond its own bound (a NaN is the worst).
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err == 0, 0.0, err / tol)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    worst = int(np.argmax(ratio)) if ratio.size else 0
    passed = bool(np.all(err <= tol)) and bool(np.all(np.isfinite(a)))
    if not reference.size:
        return ArgumentCheck(name, reference.shape, mode, passed, (), 0.0, 0.0, 0.0, 0.0, 0.0,
                             "", a, reference)
    index = tuple(int(i) for i in np.unravel_index(worst, reference.shape))
    aw, nw = float(a.reshape(-1)[worst]), float(reference.reshape(-1)[worst])
    hint = "" if passed else value_hint(a, reference, tol, axis_sizes)
    return ArgumentCheck(name, reference.shape, mode, passed, index, aw, nw,
                         float(err.reshape(-1)[worst]), float(tol.reshape(-1)[worst]),
                         relative_error(aw, nw), hint, a, reference)
