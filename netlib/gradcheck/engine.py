r"""The finite-difference engine: steps, derived tolerances, full and directional checks.

A :class:`Problem` is a function of named float64 arrays that the engine
perturbs in place; :func:`run` checks the analytic VJP of each argument
against central differences, in ``full`` mode (the whole Jacobian, one column
per entry) or ``directional`` mode (random directions). The step
:math:`h = \epsilon^{1/3} s` and the tolerance
:math:`K \epsilon^{2/3} (\Gamma + F/s)` are derived in the package docstring.

Two stages. The plain quotient at :math:`h` decides every entry it can: all
of them for correct code away from singularities. An entry it rejects is
measured again by Ridders' extrapolation (:mod:`netlib.gradcheck.ridders`),
which returns the derivative with an estimate :math:`e_R` of its own error;
the entry is then held to :math:`\text{tol} + C_R e_R`. Steps shrink to stay
in the domain (``bounds``, a forward map that raises or returns NaN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from netlib.gradcheck.compare import compare_gradient, relative_error, shape_problem
from netlib.gradcheck.hints import (
    diagonal_hint,
    factor_hint,
    kink_hint,
    missing_hint,
    wrong_point_hint,
)
from netlib.gradcheck.report import ArgumentCheck, GradcheckReport
from netlib.gradcheck.ridders import kink_test, ridders, safe_step
from netlib.gradcheck.rule import EPS, ERROR_FACTOR, SAFETY_FACTOR, STEP_FACTOR, tolerance
from netlib.gradcheck.rule import step as nominal_step

__all__ = ["AUTO_FULL_MAX", "EPS", "ERROR_FACTOR", "MODES", "RIDDERS_FACTOR",
           "SAFETY_FACTOR", "STEP_FACTOR", "Problem", "as_float64", "run"]

# float64 machine epsilon and the derived quantities of the package docstring
# are stated once, in plain Python, in rule.py (derive uses them without numpy).
#: ``mode="auto"`` checks arguments up to this many entries with the full Jacobian.
AUTO_FULL_MAX = 256
MODES = ("auto", "full", "directional")
#: C_R in ``|a - n| <= tol + C_R e_R`` once Ridders' estimate e_R is known: the
#: estimate is the gap between two extrapolants, not a bound, so it gets a margin.
RIDDERS_FACTOR = 4.0
#: Rejected entries measured again by Ridders' method, at most (worst first);
#: refining stops once ``WRONG_ENOUGH`` of them stay clearly wrong (the
#: argument fails; more would only cost time).
REFINE_MAX = 256
WRONG_ENOUGH = 8


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
    bounds : dict of str to (float, float)
        The open interval each named argument must stay in (default: none).
    wrt_given : bool
        The user named the arguments to check (else a missing gradient
        suggests ``wrt=``).
    """

    what: str
    values: dict[str, np.ndarray]
    wrt: list[str]
    evaluate: Callable[[], np.ndarray]
    analytic: Callable[[np.ndarray], dict]
    axis_sizes: set[int]
    bounds: dict = field(default_factory=dict)
    wrt_given: bool = True


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
    if not np.array_equal(y0, _output(problem), equal_nan=True):
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
    line = _Line(problem, u)
    checks = []
    for name in problem.wrt:
        p = problem.values[name]
        a = analytic.get(name)
        use_full = mode == "full" or (mode == "auto" and p.size <= AUTO_FULL_MAX)
        if use_full:
            checks.append(_check_full(problem, line, name, p, a, u, F))
        else:
            check = _check_directional(problem, line, name, p, a, F, rng, directions)
            if not check.passed and p.size <= 50 * AUTO_FULL_MAX:
                # Locate the worst entry and find a hint with the full Jacobian.
                full = _check_full(problem, line, name, p, a, u, F)
                full.mode = "directional→full"
                check = full if not full.passed else check
            checks.append(check)
        if a is None:
            extra = missing_hint(name, list(analytic), list(problem.values), problem.wrt_given)
            checks[-1].hint = "; ".join(text for text in (checks[-1].hint, extra) if text)
    return GradcheckReport(who, checks)


class _Line:
    r"""The output and :math:`\varphi = \langle u, f\rangle` along one line ``p + t e``."""

    def __init__(self, problem: Problem, u: np.ndarray) -> None:
        self.problem, self.u = problem, u

    def at(self, p: np.ndarray, direction, t: float) -> np.ndarray:
        """The forward output at ``p + t * direction`` (``p`` restored afterwards).

        ``direction`` is an array, or an int ``j`` for the unit vector ``e_j``
        (then only that entry is written: the fast path of ``full`` mode).
        """
        if isinstance(direction, (int, np.integer)):
            flat = p.reshape(-1) if p.flags.c_contiguous else p.flat
            keep = float(flat[direction])
            try:
                flat[direction] = keep + t
                with np.errstate(all="ignore"):     # a step out of the domain is tried
                    return _output(self.problem)
            finally:
                flat[direction] = keep
        keep = p.copy()
        try:
            p[...] = keep + t * direction
            with np.errstate(all="ignore"):
                return _output(self.problem)
        finally:
            p[...] = keep

    def phi(self, p, direction) -> Callable[[float], float]:
        return lambda t: float(np.sum(self.u * self.at(p, direction, t)))


def _pair(evaluate, h: float):
    """``evaluate(h), evaluate(-h)``, or ``(None, None)`` if either raises or is not finite."""
    try:
        plus, minus = evaluate(h), evaluate(-h)
    except (ArithmeticError, ValueError, FloatingPointError):
        return None, None
    if np.all(np.isfinite(plus)) and np.all(np.isfinite(minus)):
        return plus, minus
    return None, None


def _room(problem: Problem, name: str, p: np.ndarray, direction) -> float:
    """The distance from ``p`` to the nearest bound along ``direction`` (``inf``: none)."""
    if name not in problem.bounds:
        return np.inf
    low, high = problem.bounds[name]
    if isinstance(direction, (int, np.integer)):
        value = float(p.flat[direction])
        return min(value - low, high - value)
    moving = direction != 0
    if not np.any(moving):
        return np.inf
    gaps = np.minimum(p - low, high - p)[moving] / np.abs(direction[moving])
    return float(np.min(gaps))


def _check_full(problem, line, name, p, a, u, F) -> ArgumentCheck:
    """The whole finite-difference Jacobian of ``p``, then ``J^T u`` entry by entry."""
    who = f"gradcheck of {problem.what}, argument {name}"
    values = p.ravel()
    scale = np.maximum(1.0, np.abs(values))
    nominal = nominal_step(scale)
    h = np.empty(p.size)
    jac = np.empty((u.size, p.size))
    for j in range(p.size):
        e = j
        step = nominal[j]
        if name in problem.bounds:
            step = safe_step(lambda t, e=e: line.at(p, e, t), step, _room(problem, name, p, e),
                             who)
        plus, minus = _pair(lambda t, e=e: line.at(p, e, t), step)
        if plus is None:       # out of the domain: shrink until it works (or say why not)
            step = safe_step(lambda t, e=e: line.at(p, e, t), step / 2, np.inf, who)
            plus, minus = line.at(p, e, step), line.at(p, e, -step)
        h[j] = (values[j] + step) - values[j]     # the step actually taken (rounded)
        jac[:, j] = (plus - minus).reshape(-1) / (2 * h[j])
    numeric = (jac.T @ u.reshape(-1)).reshape(p.shape)
    gamma = float(np.max(np.abs(numeric), initial=0))       # the gradient's scale
    problem_text, a_checked = shape_problem(name, p.shape, a)
    if not problem_text:
        finite = a_checked[np.isfinite(a_checked)]
        gamma = max(gamma, float(np.max(np.abs(finite), initial=0)))
    # eps F / h is the rounding term; at the nominal step it is eps^(2/3) F / s.
    effective_scale = (scale * np.minimum(1.0, h / nominal)).reshape(p.shape)
    tol = tolerance(gamma, F, effective_scale)
    if not problem_text and p.size:
        _refine(problem, line, name, p, a_checked, numeric, tol, h)
    check = compare_gradient(name, a, numeric, tol, problem.axis_sizes, mode="full")
    check.jacobian = jac
    if check.passed or check.index is None:
        return check
    diagonal = diagonal_hint(jac, u, check.analytic_array, float(tol.max()))
    point = ""
    if not diagonal and _is_entrywise(jac, p, u, float(tol.max())):
        point = wrong_point_hint(problem, p, check.analytic_array, u)
    check.hint = diagonal or point or check.hint
    worst = int(np.ravel_multi_index(check.index, p.shape))
    jump = kink_test(line.phi(p, worst), h[worst], EPS * F)
    kink = kink_hint(jump, h[worst], check.error, check.index)
    check.hint = "; ".join(text for text in (check.hint, kink) if text)
    return check


def _is_entrywise(jac: np.ndarray, p: np.ndarray, u: np.ndarray, tol: float) -> bool:
    """The output has ``p``'s shape and the Jacobian is diagonal: ``y_i = f(p_i)``."""
    if u.shape != p.shape or jac.shape[0] != jac.shape[1] or p.size < 2:
        return False
    return bool(np.all(np.abs(jac - np.diag(np.diag(jac))) <= tol))


def _clearly_wrong(analytic: float, bound: float):
    """Ridders' early stop: once the analytic value lies ten times beyond the bound
    the tableau allows so far, more rows will not save it. A pass is never
    decided early: the tableau runs until its error estimate stops improving."""
    def decide(value: float, error: float) -> bool | None:
        return False if abs(analytic - value) > 10 * (bound + RIDDERS_FACTOR * error) else None
    return decide


def _refine(problem, line, name, p, a, numeric, tol, h) -> None:
    """Measure rejected entries again by Ridders' method; update ``numeric`` and
    ``tol`` in place. Stops once ``WRONG_ENOUGH`` entries stay wrong."""
    err = np.abs(a - numeric)
    rejected = np.flatnonzero(~(err <= tol))
    order = rejected[np.argsort(-(err.flat[rejected] / tol.flat[rejected]))]
    wrong = 0
    for j in order[:REFINE_MAX]:
        if not np.isfinite(a.flat[j]):
            return
        bound = tol.flat[j]

        value, error, _ = ridders(line.phi(p, int(j)), float(h[j]),
                                  _clearly_wrong(float(a.flat[j]), bound))
        numeric.flat[j] = value
        tol.flat[j] = bound + RIDDERS_FACTOR * error
        wrong += abs(a.flat[j] - value) > tol.flat[j]
        if wrong >= WRONG_ENOUGH:
            return                                  # the argument fails in any case


def _check_directional(problem, line, name, p, a, F, rng, directions) -> ArgumentCheck:
    """The dot-product test ``<v, a> ≈ (phi(p + h v) - phi(p - h v)) / 2h``, worst of
    ``directions`` random ``v``; a rejected direction is measured again by Ridders."""
    problem_text, a = shape_problem(name, p.shape, a)
    if problem_text:
        return ArgumentCheck.unusable(name, p.shape, "directional", problem_text, a)
    who = f"gradcheck of {problem.what}, argument {name}"
    scale = max(1.0, float(np.max(np.abs(p), initial=0)))
    worst = None
    for k in range(directions):
        v = rng.standard_normal(p.shape)
        v /= np.max(np.abs(v), initial=1.0)
        nominal = nominal_step(scale)
        h = nominal
        if name in problem.bounds:
            h = safe_step(lambda t, v=v: line.at(p, v, t), h, _room(problem, name, p, v), who)
        psi = line.phi(p, v)
        plus, minus = _pair(psi, h)
        if plus is None:
            h = safe_step(lambda t, v=v: line.at(p, v, t), h / 2, np.inf, who)
            plus, minus = psi(h), psi(-h)
        numeric = (plus - minus) / (2 * h)
        analytic = float(np.sum(v * a))
        gamma = max(float(np.sum(np.abs(v * a))), abs(numeric))
        tol = tolerance(gamma, F, scale * min(1.0, h / nominal))
        if not abs(analytic - numeric) <= tol and np.isfinite(analytic):
            bound = tol
            numeric, error, _ = ridders(psi, h, _clearly_wrong(analytic, bound))
            tol = bound + RIDDERS_FACTOR * error
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
