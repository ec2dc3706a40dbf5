r"""The finite-difference engine: steps, derived tolerances, full and directional checks.

A :class:`Problem` is a function of named float64 arrays that the engine
perturbs in place; :func:`run` checks the analytic VJP of each argument
against central differences, in ``full`` mode (the whole Jacobian, one column
per entry) or ``directional`` mode (random directions). The step
:math:`h = \epsilon^{1/3} s` and the tolerance
:math:`K \epsilon^{2/3} (\Gamma + F/s)` are derived in the package docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from netlib.gradcheck.compare import compare_gradient, relative_error, shape_problem
from netlib.gradcheck.hints import diagonal_hint, factor_hint, kink_hint
from netlib.gradcheck.report import ArgumentCheck, GradcheckReport

__all__ = ["AUTO_FULL_MAX", "EPS", "ERROR_FACTOR", "MODES", "SAFETY_FACTOR", "STEP_FACTOR",
           "Problem", "as_float64", "run"]

#: float64 machine epsilon and the derived quantities of the package docstring.
EPS = float(np.finfo(np.float64).eps)
STEP_FACTOR = EPS ** (1 / 3)           # h = eps^(1/3) * scale
ERROR_FACTOR = EPS ** (2 / 3)          # truncation and rounding both ~ eps^(2/3)
#: K in the tolerance ``|a - n| <= K eps^(2/3) (Gamma + F/s)``.
SAFETY_FACTOR = 100.0
#: ``mode="auto"`` checks arguments up to this many entries with the full Jacobian.
AUTO_FULL_MAX = 256
MODES = ("auto", "full", "directional")


@dataclass
class Problem:
    """A function of named float64 arrays, perturbed in place.

    Attributes
    ----------
    what : str
        What is checked, for the report and the error messages.
    values : dict of str to ndarray
        The point; the arrays of ``wrt`` are perturbed in place, so
        ``evaluate`` must read them from here at every call.
    wrt : list of str
        The arguments to check, in report order.
    evaluate : callable
        ``evaluate() -> y``, the forward map at ``values``.
    analytic : callable
        ``analytic(u) -> {name: gradient}``, the VJPs :math:`J^\\top u` at ``values``.
    axis_sizes : set of int
        Sizes of the axes (candidate batch sizes, for the constant-factor hint).
    """

    what: str
    values: dict[str, np.ndarray]
    wrt: list[str]
    evaluate: Callable[[], np.ndarray]
    analytic: Callable[[np.ndarray], dict]
    axis_sizes: set[int]


def as_float64(who: str, name: str, value) -> np.ndarray:
    """A private, finite float64 C-order copy of ``value`` that the engine may perturb."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{who}: expected {name} as a real numeric array, got dtype "
                        f"{array.dtype}")
    array = np.array(array, dtype=np.float64, order="C")   # a private copy we may perturb
    if not np.isfinite(array).all():
        raise ValueError(f"{who}: expected finite values in {name}, got "
                         f"{int((~np.isfinite(array)).sum())} non-finite entries")
    return array


def _output(problem: Problem) -> np.ndarray:
    """The forward output as a float64 *copy*: a map may return its input itself
    (the identity), which the next perturbation would change under our feet."""
    return np.array(problem.evaluate(), dtype=np.float64)


def run(problem: Problem, rng: np.random.Generator, mode: str, directions: int,
        upstream) -> GradcheckReport:
    r"""Check every argument of ``problem``; one :class:`ArgumentCheck` each.

    Parameters
    ----------
    problem : Problem
    rng : numpy.random.Generator
        Draws the upstream gradient :math:`u` and the directions :math:`v`.
    mode : {"auto", "full", "directional"}
    directions : int
        Random directions per argument in ``directional`` mode.
    upstream : array or None
        A fixed :math:`u` (``None``: standard normal, of the output's shape).
    """
    who = problem.what
    if mode not in MODES:
        raise ValueError(f"gradcheck of {who}: expected mode in {MODES}, got {mode!r}")
    y0 = _output(problem)
    if not np.array_equal(y0, _output(problem)):
        raise ValueError(f"gradcheck of {who}: the forward map is not deterministic (two "
                         f"calls at the same point differ); fix its randomness first")
    if upstream is None:
        u = np.asarray(rng.standard_normal(y0.shape), dtype=np.float64)
    else:
        u = np.asarray(upstream, dtype=np.float64)
        if u.shape != y0.shape:
            raise ValueError(f"gradcheck of {who}: expected an upstream gradient of the "
                             f"output's shape {y0.shape}, got shape {u.shape}")
    analytic = problem.analytic(u)
    F = float(np.sum(np.abs(u * y0)))      # size of the terms summed into phi = <u, f>

    def phi() -> float:
        return float(np.sum(u * _output(problem)))

    phi0 = phi()
    checks = []
    for name in problem.wrt:
        p = problem.values[name]
        a = analytic.get(name)
        use_full = mode == "full" or (mode == "auto" and p.size <= AUTO_FULL_MAX)
        if use_full:
            checks.append(_check_full(problem, name, p, a, u, F, phi0))
        else:
            check = _check_directional(problem, name, p, a, u, F, rng, directions, phi)
            if not check.passed and p.size <= 50 * AUTO_FULL_MAX:
                # Locate the worst entry and find a hint with the full Jacobian.
                full = _check_full(problem, name, p, a, u, F, phi0)
                full.mode = "directional→full"
                check = full if not full.passed else check
            checks.append(check)
    return GradcheckReport(who, checks)


def _steps(p: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Steps ``eps^(1/3) * scale`` rounded so that ``(p + h) - p == h`` exactly."""
    h = STEP_FACTOR * scale
    return (p + h) - p


def _check_full(problem, name, p, a, u, F, phi0) -> ArgumentCheck:
    """The whole finite-difference Jacobian of ``p``, then ``J^T u`` entry by entry."""
    flat = p.flat                          # C-order view of any memory layout: writes go to p
    values = p.ravel()
    scale = np.maximum(1.0, np.abs(values))
    h = _steps(values, scale)
    jac = np.empty((u.size, p.size))
    second = np.empty(p.size)              # phi(p+h) - 2 phi(p) + phi(p-h): kink detector
    for j in range(p.size):
        keep = flat[j]
        flat[j] = keep + h[j]
        plus = _output(problem).reshape(-1)
        flat[j] = keep - h[j]
        minus = _output(problem).reshape(-1)
        flat[j] = keep
        jac[:, j] = (plus - minus) / (2 * h[j])
        second[j] = float(u.reshape(-1) @ (plus + minus)) - 2 * phi0
    numeric = (jac.T @ u.reshape(-1)).reshape(p.shape)
    gamma = float(np.max(np.abs(numeric), initial=0))       # the gradient's scale
    problem_text, a_checked = shape_problem(name, p.shape, a)
    if not problem_text:
        finite = a_checked[np.isfinite(a_checked)]
        gamma = max(gamma, float(np.max(np.abs(finite), initial=0)))
    tol = SAFETY_FACTOR * ERROR_FACTOR * (gamma + F / scale.reshape(p.shape))
    check = compare_gradient(name, a, numeric, tol, problem.axis_sizes, mode="full")
    check.jacobian = jac
    if check.passed or check.index is None:
        return check
    diagonal = diagonal_hint(jac, u, check.analytic_array, float(tol.max()))
    check.hint = diagonal or check.hint
    if p.size:
        worst = int(np.ravel_multi_index(check.index, p.shape))
        kink = kink_hint(second[worst], h[worst], check.error, check.index)
        check.hint = "; ".join(text for text in (check.hint, kink) if text)
    return check


def _check_directional(problem, name, p, a, u, F, rng, directions, phi) -> ArgumentCheck:
    """The dot-product test ``<v, a> ≈ (phi(p + h v) - phi(p - h v)) / 2h``, worst of
    ``directions`` random ``v``."""
    problem_text, a = shape_problem(name, p.shape, a)
    if problem_text:
        return ArgumentCheck.unusable(name, p.shape, "directional", problem_text, a)
    scale = max(1.0, float(np.max(np.abs(p), initial=0)))
    keep = p.copy()
    worst = None
    for k in range(directions):
        v = rng.standard_normal(p.shape)
        v /= np.max(np.abs(v), initial=1.0)
        h = STEP_FACTOR * scale
        up, down = keep + h * v, keep - h * v
        p[...] = up
        plus = phi()
        p[...] = down
        minus = phi()
        p[...] = keep
        numeric = (plus - minus) / (2 * h)
        # The direction actually stepped (p ± h v rounds): compare along it.
        v = (up - down) / (2 * h)
        analytic = float(np.sum(v * a))
        gamma = max(float(np.sum(np.abs(v * a))), abs(numeric))
        tol = SAFETY_FACTOR * ERROR_FACTOR * (gamma + F / scale)
        err = abs(analytic - numeric)
        ratio = 0.0 if err == 0 else err / tol
        if worst is None or ratio > worst[0]:
            worst = (ratio, k, analytic, numeric, err, tol)
    _, k, analytic, numeric, err, tol = worst
    passed = err <= tol and np.isfinite(analytic)
    hint = ""
    if not passed and numeric != 0:
        hint = factor_hint(analytic / numeric, problem.axis_sizes)
    return ArgumentCheck(name, p.shape, "directional", bool(passed), k, analytic, numeric,
                         err, tol, relative_error(analytic, numeric), hint, a, None)
