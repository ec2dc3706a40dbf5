r"""Check any backward pass against central finite differences (numpy only).

Point it at a netlib layer or loss (:func:`check_layer`), a whole model with
its loss (:func:`check_model`), or two plain functions of your own
(:func:`check_gradients`): a ``forward`` and a ``backward`` written in any
layout. Every input and every parameter is checked, in float64, with a random
upstream gradient ``u`` (an all-ones ``u`` hides wrong-axis sums and swapped
products).

What is compared
----------------
Let :math:`f` be the forward map, :math:`u` the upstream gradient and
:math:`\varphi(p) = \langle u, f(p)\rangle`. A correct backward returns, for
every argument :math:`p`, :math:`a = J_p^\top u = \nabla_p \varphi`.

``mode="full"`` (small arguments)
    The whole finite-difference Jacobian, one column per entry,

    .. math:: J_{:, j} \approx \frac{f(p + h_j e_j) - f(p - h_j e_j)}{2 h_j},
              \qquad n = J^\top u,

    compared with :math:`a` entry by entry.
``mode="directional"`` (large arguments)
    The dot-product test :math:`\langle v, J^\top u\rangle = \langle J v, u\rangle`
    for random directions :math:`v` (``directions`` of them, scaled to
    :math:`\max_j |v_j| = 1`):

    .. math:: \langle v, a\rangle \approx
              \frac{\varphi(p + h v) - \varphi(p - h v)}{2h}.
``mode="auto"``
    ``full`` for arguments of at most ``AUTO_FULL_MAX`` entries, else
    ``directional``.

Step and tolerance (derived, not tuned)
---------------------------------------
The step is :math:`h = \epsilon^{1/3} s` with :math:`\epsilon` the float64
machine epsilon and :math:`s = \max(1, |p_j|)` (``full``) or
:math:`\max(1, \lVert p\rVert_\infty)` (``directional``) the scale of the
argument; ``p + h`` is rounded so that the step is exact. A central difference
errs by truncation and by rounding,

.. math:: |n - \partial\varphi| \le \frac{h^2}{6}|\varphi'''|
          + \frac{\epsilon F}{h},
          \qquad F = \sum_i |u_i f_i(p)|,

(:math:`F` is the size of the terms summed into :math:`\varphi`, which bounds
its rounding error). We assume that :math:`\varphi` varies on the scale of its
argument, :math:`|\varphi'''| \le \Gamma / s^2` with :math:`\Gamma` the size of
the gradient (the largest :math:`|a_j|, |n_j|` of the argument in ``full``
mode; :math:`\max(\sum_j |v_j a_j|, |n|)` in ``directional`` mode). With
:math:`h = \epsilon^{1/3}s` both terms are of order :math:`\epsilon^{2/3}`, and
a check passes when

.. math:: |a - n| \le K \, \epsilon^{2/3} \Big(\Gamma + \frac{F}{s}\Big),
          \qquad K = 100,

:math:`\epsilon^{2/3} \approx 3.7\times 10^{-11}`. ``K`` absorbs the
:math:`1/6`, the unknown third derivative relative to :math:`\Gamma/s^2`, and
rounding accumulated in :math:`f` and in the sums; it was fixed from this
analysis, never adjusted to make a test pass. A wrong gradient errs by a
fraction of :math:`\Gamma` itself, eight orders of magnitude above the bound.
The assumption fails near a singularity (``log p`` with ``p`` near 0) or a kink:
check at points away from them. :math:`F` also undercounts rounding when
:math:`f` is itself a small difference of large terms that the checker cannot
see (a cross-entropy of a sample classified with great confidence: ``lse(z) -
z_y`` with both terms large): check such losses at samples that are not yet
fitted, rather than raising ``K``.

Kinks
-----
ReLU-like maps are not differentiable at 0. A point closer than ``h`` to a kink
gets a meaningless finite difference, so the checks must *sample away* from
kinks (:func:`sample_away_from_kinks`; ``check_layer`` does it when given a
shape instead of an array) rather than loosen the tolerance. If a check fails
and the second difference shows a kink within one step, the report says so.

Report
------
One row per argument: the worst entry (largest :math:`|a - n|` relative to its
tolerance), analytic against numeric, the relative error, and a hint when the
error has the pattern of a known mistake: analytic equal to the numeric
transposed, a constant factor (the batch size, 2, ``-1``), a wrong shape,
nothing written. ``str(report)`` prints the table; for failing arguments of at
most ``SHOW_MAX`` entries it also prints both arrays side by side.

Examples
--------
Your own column-layout dense layer, checked in five lines:

>>> import numpy as np
>>> from netlib.gradcheck import check_gradients
>>> forward = lambda x, W, b: W @ x + b[:, None]      # x (in, batch), W (out, in)
>>> backward = lambda g, x, W, b: {"x": W.T @ g, "W": g @ x.T, "b": g.sum(axis=1)}
>>> rng = np.random.default_rng(0)
>>> inputs = {"x": rng.standard_normal((3, 5)), "W": rng.standard_normal((2, 3)),
...           "b": rng.standard_normal(2)}
>>> check_gradients(forward, backward, inputs).passed
True

The classic mistake, ``dW`` written in row-layout order:

>>> wrong = lambda g, x, W, b: {"x": W.T @ g, "W": x @ g.T, "b": g.sum(axis=1)}
>>> report = check_gradients(forward, wrong, inputs)
>>> report.passed, report["W"].passed, report["x"].passed
(False, False, True)
>>> print(report["W"].hint)
analytic has shape (3, 2), the gradient must have W's shape (2, 3); analytic is the
transpose of numeric (a missing or extra transpose, or a swapped product order)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "AUTO_FULL_MAX",
    "SAFETY_FACTOR",
    "ArgumentCheck",
    "GradcheckReport",
    "check_gradients",
    "check_layer",
    "check_model",
    "compare_gradient",
    "sample_away_from_kinks",
]

#: float64 machine epsilon and the derived quantities of the docstring.
EPS = float(np.finfo(np.float64).eps)
STEP_FACTOR = EPS ** (1 / 3)           # h = eps^(1/3) * scale
ERROR_FACTOR = EPS ** (2 / 3)          # truncation and rounding both ~ eps^(2/3)
#: K in the tolerance ``|a - n| <= K eps^(2/3) (Gamma + F/s)``.
SAFETY_FACTOR = 100.0
#: ``mode="auto"`` checks arguments up to this many entries with the full Jacobian.
AUTO_FULL_MAX = 256
#: Failing arguments up to this many entries are printed in full in the report.
SHOW_MAX = 40
MODES = ("auto", "full", "directional")


# -- results ----------------------------------------------------------------------

@dataclass
class ArgumentCheck:
    """The check of one input or parameter.

    Attributes
    ----------
    name, shape : str, tuple
        The argument and its shape.
    mode : str
        ``"full"`` or ``"directional"``.
    passed : bool
    index : tuple or int or None
        Worst entry (``full``), worst direction number (``directional``), or
        ``None`` when the analytic gradient is missing or has the wrong shape.
    analytic, numeric : float
        The two values at ``index`` (``<v, a>`` and the difference quotient in
        ``directional`` mode).
    error, tolerance : float
        ``|analytic - numeric|`` and the derived bound it is held to.
    rel_error : float
        ``error / max(|analytic|, |numeric|)``.
    hint : str
        Known-mistake pattern, or ``""``.
    analytic_array, numeric_array : ndarray or None
        The whole gradients (``numeric_array`` in ``full`` mode only).
    jacobian : ndarray or None
        The finite-difference Jacobian (``full`` mode), shape
        ``(output size, argument size)``, numerator layout.
    where : str
        Which point or shape set, when a report checks several.
    """

    name: str
    shape: tuple
    mode: str
    passed: bool
    index: tuple | int | None
    analytic: float
    numeric: float
    error: float
    tolerance: float
    rel_error: float
    hint: str = ""
    analytic_array: np.ndarray | None = field(default=None, repr=False)
    numeric_array: np.ndarray | None = field(default=None, repr=False)
    jacobian: np.ndarray | None = field(default=None, repr=False)
    where: str = ""


@dataclass
class GradcheckReport:
    """All argument checks of one function; ``str()`` gives the table.

    ``reference`` names what the analytic gradient is compared with
    (``"numeric"``: finite differences; ``"derived"``: SymPy).
    """

    what: str
    checks: list[ArgumentCheck]
    reference: str = "numeric"

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def __getitem__(self, name: str) -> ArgumentCheck:
        """The check of argument ``name`` (its first failing one, if several)."""
        matching = [check for check in self.checks if check.name == name]
        for check in matching:
            if not check.passed:
                return check
        if matching:
            return matching[0]
        raise KeyError(f"GradcheckReport: no argument {name!r}; checked "
                       f"{[c.name for c in self.checks]}")

    def failures(self) -> list[ArgumentCheck]:
        return [check for check in self.checks if not check.passed]

    def raise_if_failed(self) -> None:
        """Raise ``AssertionError`` carrying the report's table if any check failed."""
        if not self.passed:
            raise AssertionError(str(self))

    def __str__(self) -> str:
        verdict = "passed" if self.passed else f"FAILED ({len(self.failures())} of " \
                                               f"{len(self.checks)} arguments)"
        lines = [f"gradient check of {self.what}: {verdict}"]
        wheres = any(c.where for c in self.checks)
        header = ("argument", *(("at",) if wheres else ()), "shape", "mode", "worst index",
                  "analytic", self.reference, "rel. error", "tolerance", "ok")
        rows = [header]
        for c in self.checks:
            rows.append((c.name, *((c.where,) if wheres else ()), str(c.shape), c.mode,
                         "-" if c.index is None else str(c.index),
                         _number(c.analytic), _number(c.numeric), f"{c.rel_error:.2e}",
                         f"{c.tolerance:.1e}", "yes" if c.passed else "NO"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)))
        for c in self.failures():
            label = f"{c.name} ({c.where})" if c.where else c.name
            if c.hint:
                lines.append(f"hint for {label}: {c.hint}")
            if (c.analytic_array is not None and c.numeric_array is not None
                    and max(c.analytic_array.size, c.numeric_array.size) <= SHOW_MAX):
                lines.append(f"{label}, analytic | {self.reference}:")
                lines.extend(_side_by_side(c.analytic_array, c.numeric_array))
        return "\n".join(lines)

    __repr__ = __str__


def _number(value: float) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.10g}"


def _side_by_side(analytic: np.ndarray, numeric: np.ndarray) -> list[str]:
    left = np.array2string(np.atleast_2d(analytic), precision=6, suppress_small=False,
                           max_line_width=200).splitlines()
    right = np.array2string(np.atleast_2d(numeric), precision=6, suppress_small=False,
                            max_line_width=200).splitlines()
    width = max(len(line) for line in left)
    height = max(len(left), len(right))
    left += [""] * (height - len(left))
    right += [""] * (height - len(right))
    return [f"  {a.ljust(width)}   |   {b}" for a, b in zip(left, right, strict=True)]


# -- sampling ---------------------------------------------------------------------

def sample_away_from_kinks(rng, shape, margin: float = 0.1, scale: float = 1.0) -> np.ndarray:
    r"""Normal samples with :math:`|x| \ge` ``margin``: no entry near a kink at 0.

    ``margin`` (default 0.1) is four orders of magnitude above the step
    :math:`h \approx 6\times10^{-6}`, so no difference quotient straddles 0.
    """
    rng = np.random.default_rng(rng)
    x = scale * rng.standard_normal(shape)
    small = np.abs(x) < margin
    # Push small entries out to the margin, keeping their sign (0 goes up).
    x[small] = np.where(x[small] < 0, -1.0, 1.0) * (margin + rng.random(int(small.sum())))
    return x


# -- the engine -------------------------------------------------------------------

class _Problem:
    """A function of named float64 arrays, perturbed in place."""

    def __init__(self, what: str, values: dict[str, np.ndarray], wrt: list[str],
                 evaluate: Callable[[], np.ndarray], analytic: Callable[[np.ndarray], dict],
                 axis_sizes: set[int]) -> None:
        self.what, self.values, self.wrt = what, values, wrt
        self.evaluate, self.analytic, self.axis_sizes = evaluate, analytic, axis_sizes


def _as_float64(who: str, name: str, value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{who}: expected {name} as a real numeric array, got dtype "
                        f"{array.dtype}")
    array = np.array(array, dtype=np.float64, order="C")   # a private copy we may perturb
    if not np.isfinite(array).all():
        raise ValueError(f"{who}: expected finite values in {name}, got "
                         f"{int((~np.isfinite(array)).sum())} non-finite entries")
    return array


def _output(problem: _Problem) -> np.ndarray:
    """The forward output as a float64 *copy*: a map may return its input itself
    (the identity), which the next perturbation would change under our feet."""
    return np.array(problem.evaluate(), dtype=np.float64)


def _run(problem: _Problem, rng: np.random.Generator, mode: str, directions: int,
         upstream) -> GradcheckReport:
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
    F = float(np.sum(np.abs(u * y0)))

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


def _shape_problem(name: str, shape: tuple, a) -> tuple[str, np.ndarray | None]:
    """Message when the analytic gradient is missing, not numeric, or misshapen."""
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


def _check_full(problem, name, p, a, u, F, phi0) -> ArgumentCheck:
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
    problem_text, a_checked = _shape_problem(name, p.shape, a)
    if not problem_text:
        finite = a_checked[np.isfinite(a_checked)]
        gamma = max(gamma, float(np.max(np.abs(finite), initial=0)))
    tol = SAFETY_FACTOR * ERROR_FACTOR * (gamma + F / scale.reshape(p.shape))
    check = compare_gradient(name, a, numeric, tol, problem.axis_sizes, mode="full")
    check.jacobian = jac
    if not check.passed and check.index is not None and jac.shape[0] == jac.shape[1]:
        diagonal = (np.diag(jac) * u.reshape(-1)).reshape(p.shape)
        off_diagonal = jac - np.diag(np.diag(jac))
        if np.any(np.abs(off_diagonal) > tol.max()) and _close(check.analytic_array, diagonal):
            check.hint = ("analytic keeps only the diagonal of the Jacobian: the coupling "
                          "between entries (softmax's -y_i y_j) is missing")
    if not check.passed and check.index is not None and p.size:
        worst = int(np.ravel_multi_index(check.index, p.shape))
        # A kink within one step shows as a second difference of order h |jump|,
        # against h^2 |phi''| for a smooth function (see the module docstring).
        if abs(second[worst]) >= h[worst] * check.error:
            check.hint = (check.hint + "; " if check.hint else "") + (
                f"the point is within one step (h = {h[worst]:.1e}) of a kink of the "
                f"function at index {check.index}: check at points away from kinks")
    return check


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
    problem_text, a = _shape_problem(name, reference.shape, analytic)
    if problem_text:
        hint = problem_text
        if a is not None:
            hint += _shape_hint(a, reference)
        return ArgumentCheck(name, reference.shape, mode, False, None, np.nan, np.nan, np.inf,
                             0.0, np.inf, hint, a, reference)
    tol = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), reference.shape)
    err = np.abs(a - reference)
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
    hint = "" if passed else _value_hint(a, reference, tol, axis_sizes)
    return ArgumentCheck(name, reference.shape, mode, passed, index, aw, nw,
                         float(err.reshape(-1)[worst]), float(tol.reshape(-1)[worst]),
                         _relative(aw, nw), hint, a, reference)


def _check_directional(problem, name, p, a, u, F, rng, directions, phi) -> ArgumentCheck:
    problem_text, a = _shape_problem(name, p.shape, a)
    if problem_text:
        return ArgumentCheck(name, p.shape, "directional", False, None, np.nan, np.nan,
                             np.inf, 0.0, np.inf, problem_text, a, None)
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
        hint = _factor_hint(analytic / numeric, problem.axis_sizes)
    return ArgumentCheck(name, p.shape, "directional", bool(passed), k, analytic, numeric,
                         err, tol, _relative(analytic, numeric), hint, a, None)


def _relative(a: float, n: float) -> float:
    denominator = max(abs(a), abs(n))
    return 0.0 if a == n else (abs(a - n) / denominator if denominator else np.inf)


# -- hints --------------------------------------------------------------------------

def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to 1e-6 of the larger array's scale (for hints, not verdicts)."""
    scale = max(float(np.max(np.abs(a), initial=0)), float(np.max(np.abs(b), initial=0)))
    return a.shape == b.shape and scale > 0 and bool(np.all(np.abs(a - b) <= 1e-6 * scale))


def _shape_hint(a: np.ndarray, numeric: np.ndarray) -> str:
    if a.ndim == 2 and _close(a.T, numeric):
        return ("; analytic is the transpose of numeric (a missing or extra transpose, "
                "or a swapped product order)")
    if a.size == numeric.size and _close(a.reshape(numeric.shape), numeric):
        return "; the values are right but reshaped: return the argument's shape"
    if numeric.ndim == 1 and a.ndim == 2 and numeric.shape[0] in a.shape:
        axis = a.shape.index(numeric.shape[0])
        summed = a.sum(axis=1 - axis)
        tail = "" if not _close(summed, numeric) else \
            f" (summing it over axis {1 - axis} gives numeric)"
        return f"; a bias gradient must be summed over the batch{tail}"
    if numeric.ndim == 1 and a.ndim == 1:
        return "; summed over the wrong axis?"
    return ""


def _value_hint(a: np.ndarray, numeric: np.ndarray, tol: np.ndarray,
                axis_sizes: set[int]) -> str:
    if not np.all(np.isfinite(a)):
        bad = int((~np.isfinite(a)).sum())
        return f"analytic has {bad} non-finite entries (NaN: not written by backward?)"
    if not np.any(a) and np.any(numeric):
        return "analytic is all zeros: the gradient was not computed or not stored"
    if a.ndim == 2 and a.shape[0] == a.shape[1] and _close(a, numeric.T):
        return ("analytic equals numeric transposed: a missing or extra transpose, or a "
                "swapped product order (square shapes let it through without a shape error)")
    denominator = float(np.sum(numeric * numeric))
    if denominator > 0:
        c = float(np.sum(a * numeric)) / denominator
        if _close(a, c * numeric):
            return _factor_hint(c, axis_sizes)
    wrong = np.abs(a - numeric) > tol
    if 0 < wrong.sum() < wrong.size:
        return f"wrong on {int(wrong.sum())} of {wrong.size} entries"
    return ""


def _factor_hint(c: float, axis_sizes: set[int]) -> str:
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


# -- entry points --------------------------------------------------------------------

def check_gradients(forward: Callable, backward: Callable, inputs: Mapping[str, np.ndarray],
                    *, wrt=None, rng=0, mode: str = "auto", directions: int = 2,
                    upstream=None) -> GradcheckReport:
    r"""Check a hand-written ``backward`` against finite differences of ``forward``.

    Parameters
    ----------
    forward : callable
        ``forward(**inputs) -> y``, an array (or a scalar, for a loss).
    backward : callable
        ``backward(g, **inputs)`` returning the VJPs :math:`J^\top g`: a dict
        ``name -> gradient`` or a tuple in the order of ``wrt``.
    inputs : dict of str to array
        The point, by argument name (copied to float64).
    wrt : sequence of str, optional
        The arguments to differentiate (default: all of ``inputs``); the others
        are constants (targets, labels).
    rng : int or numpy.random.Generator
        Seed of the random upstream gradient and directions.
    mode : {"auto", "full", "directional"}
        See the module docstring.
    directions : int
        Random directions per argument in ``directional`` mode.
    upstream : array, optional
        A fixed upstream gradient instead of a random one (for demonstrating
        what an all-ones ``g`` hides; never use it to verify).

    Returns
    -------
    GradcheckReport
    """
    who = getattr(forward, "__name__", "forward")
    who = f"{who}/{getattr(backward, '__name__', 'backward')}"
    names = list(inputs) if wrt is None else list(wrt)
    for name in names:
        if name not in inputs:
            raise KeyError(f"check_gradients: wrt names {name!r}, which is not among the "
                           f"inputs {list(inputs)}")
    # Differentiated arguments become private float64 copies; constants (targets,
    # integer labels) are passed as given.
    values = {name: _as_float64(who, name, value) if name in names else value
              for name, value in inputs.items()}

    def analytic(u):
        result = backward(u if u.ndim else float(u), **values)
        if isinstance(result, Mapping):
            return dict(result)
        if isinstance(result, (tuple, list)):
            if len(result) != len(names):
                raise ValueError(f"check_gradients: backward returned {len(result)} "
                                 f"gradients, expected {len(names)} (for {names})")
            return dict(zip(names, result, strict=True))
        if len(names) == 1:
            return {names[0]: result}
        raise TypeError(f"check_gradients: expected backward to return a dict name -> "
                        f"gradient or a tuple, got {type(result).__name__}")

    sizes = {int(s) for v in values.values() for s in np.shape(v)}
    problem = _Problem(who, values, names, lambda: forward(**values), analytic, sizes)
    return _run(problem, np.random.default_rng(rng), mode, directions, upstream)


def _to_float64(obj):
    """A float64 deep copy of a layer, loss or model (the checks run in float64)."""
    obj = copy.deepcopy(obj)
    for layer in getattr(obj, "layers", [obj]):
        params = getattr(layer, "params", None) or {}
        if any(np.asarray(value).dtype != np.float64 for value in params.values()):
            # Only a float32 layer gets new arrays; a float64 one keeps its own,
            # so that composite layers whose params alias their parts still work.
            for key in list(params):
                params[key] = np.array(params[key], dtype=np.float64)
            # In place too: a composite's grads dict may be its part's own.
            fresh = {key: np.zeros_like(value) for key, value in params.items()}
            layer.grads.clear()
            layer.grads.update(fresh)
    return obj


def _poison_grads(layers) -> None:
    """Fill every stored gradient with NaN, in place (aliases stay aliases).

    A gradient that ``backward`` forgets to write then shows up as NaN
    instead of passing as a stale value from an earlier call.
    """
    for layer in layers:
        for value in (getattr(layer, "grads", None) or {}).values():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                value[...] = np.nan


def check_layer(layer, x, *, target=None, rng=0, mode: str = "auto", directions: int = 2,
                upstream=None) -> GradcheckReport:
    """Check a netlib layer (or loss) on every input and parameter.

    The layer is copied and converted to float64; yours is left untouched.

    Parameters
    ----------
    layer : netlib Layer or Loss
        Anything with ``forward``/``backward`` and ``params``/``grads`` dicts.
    x : array or tuple
        The input; a shape tuple draws it with :func:`sample_away_from_kinks`.
    target : array, optional
        Required for a loss: checks ``x -> loss.forward(x, target)``.
    rng, mode, directions, upstream
        As in :func:`check_gradients`.

    Examples
    --------
    >>> import numpy as np
    >>> from netlib import Dense
    >>> layer = Dense(3, 2, rng=np.random.default_rng(1))
    >>> report = check_layer(layer, (4, 3))
    >>> report.passed, [c.name for c in report.checks]
    (True, ['x', 'W', 'b'])
    """
    rng = np.random.default_rng(rng)
    if isinstance(x, tuple):
        x = sample_away_from_kinks(rng, x)
    who = layer.describe() if hasattr(layer, "describe") else type(layer).__name__
    work = _to_float64(layer)
    values = {"x": _as_float64(who, "x", x)}
    params = getattr(work, "params", {}) or {}
    values.update(params)                 # the layer's own arrays: perturbed in place
    is_loss = target is not None          # a loss maps (x, target) to a scalar
    if is_loss:
        target_value = np.asarray(target)
        if target_value.dtype.kind == "f":
            target_value = target_value.astype(np.float64)

        def evaluate():
            return np.float64(work.forward(values["x"], target_value))
    else:
        def evaluate():
            return work.forward(values["x"])

    def analytic(u):
        evaluate()
        _poison_grads([work])
        dx = work.backward(float(u)) if is_loss else work.backward(u)
        result = {"x": np.array(dx, copy=True)}
        grads = getattr(work, "grads", {}) or {}
        result.update({key: np.array(grads[key], copy=True) for key in params if key in grads})
        return result

    sizes = {int(s) for s in values["x"].shape}
    problem = _Problem(who, values, list(values), evaluate, analytic, sizes)
    return _run(problem, rng, mode, directions, upstream)


def check_model(model, loss, x, target, *, rng=0, mode: str = "auto",
                directions: int = 2) -> GradcheckReport:
    r"""Check a whole ``Sequential`` model and its loss, end to end.

    The function checked is :math:`(x, \theta) \mapsto L(\mathrm{model}(x; \theta), t)`
    for the input and every parameter, named like ``model.parameters()``
    (``"0.W"``, ``"2.b"``...). Model and loss are copied to float64.

    Examples
    --------
    >>> import numpy as np
    >>> from netlib import Dense, MeanSquaredError, Sequential, Sigmoid
    >>> rng = np.random.default_rng(0)
    >>> model = Sequential([Dense(3, 4, rng=rng), Sigmoid(), Dense(4, 2, rng=rng)])
    >>> report = check_model(model, MeanSquaredError(), rng.standard_normal((5, 3)),
    ...                      rng.standard_normal((5, 2)))
    >>> report.passed, [c.name for c in report.checks]
    (True, ['x', '0.W', '0.b', '2.W', '2.b'])
    """
    who = f"{model!r} with {loss!r}"
    work, work_loss = _to_float64(model), _to_float64(loss)
    values = {"x": _as_float64(who, "x", x)}
    params = work.parameters()
    values.update(params)
    target_value = np.asarray(target)
    if target_value.dtype.kind == "f":
        target_value = target_value.astype(np.float64)

    def evaluate():
        return np.float64(work_loss.forward(work.forward(values["x"]), target_value))

    def analytic(u):
        evaluate()
        _poison_grads(work.layers)
        dx = work.backward(work_loss.backward(float(u)))
        result = {"x": np.array(dx, copy=True)}
        result.update({key: np.array(value, copy=True)
                       for key, value in work.gradients().items()})
        return result

    sizes = {int(s) for s in values["x"].shape}
    problem = _Problem(who, values, list(values), evaluate, analytic, sizes)
    return _run(problem, np.random.default_rng(rng), mode, directions, None)
