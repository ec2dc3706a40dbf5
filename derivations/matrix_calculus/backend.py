r"""Where ``derive`` computes numbers: numpy with netlib, or plain Python.

Two backends give the value of an expression at a point and central
differences of it; everything else of the confirmation (the explicit SymPy
Jacobian, the comparisons) is shared.  :func:`default_backend` takes numpy
when it can be imported (the command line), plain Python otherwise (the
browser, where Pyodide has SymPy but no numpy).

- ``numpy``: ``numeric.to_numpy`` and netlib's one finite-difference engine,
  :func:`netlib.gradcheck.check_gradients` in ``full`` mode (with its
  Ridders refinement and its hints: a transpose, a constant factor);
- ``python``: ``pure.to_python`` and :func:`central_differences` below, the
  same rule in plain floats.

The rule is netlib's, stated once in ``netlib/gradcheck/rule.py`` (plain
Python): the step :math:`h = \epsilon^{1/3}\max(1, |x_j|)` and the
tolerance :math:`K\epsilon^{2/3}(\Gamma + F/s)`, with :math:`\Gamma` the size
of the gradient and :math:`F = \sum_i |u_i f_i|` the size of the function,
so that the tolerance scales with the function's magnitude
(``sum(X * X) + 1e6`` is held to a bound a million times that of
``sum(X * X)``).  That file is loaded on its own, so that importing this
module imports neither numpy nor netlib (the browser has neither; the wheel
of the engine carries ``netlib/gradcheck/rule.py`` beside ``derivations``).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from .expr import Node
from .pure import Mat, smallest_singular_value, to_python

__all__ = ["Differences", "NumpyBackend", "PythonBackend", "central_differences",
           "default_backend", "get_backend", "rule"]


def _load_rule():
    """``netlib/gradcheck/rule.py``, by its file: importing the netlib package
    would import numpy, which this module must not need (nor pull in)."""
    loaded = sys.modules.get("netlib.gradcheck.rule")
    if loaded is not None:
        return loaded
    path = Path(__file__).resolve().parents[2] / "netlib" / "gradcheck" / "rule.py"
    if not path.exists():  # netlib installed somewhere else: its package, then
        try:
            return importlib.import_module("netlib.gradcheck.rule")
        except ImportError as error:
            raise ImportError(f"derive: netlib's finite-difference rule is missing: "
                              f"no {path}, and netlib cannot be imported ({error})") from None
    spec = importlib.util.spec_from_file_location("netlib_gradcheck_rule", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


#: netlib's step and tolerance (``netlib/gradcheck/rule.py``).
rule = _load_rule()


@dataclass
class Differences:
    """The verdict of central differences: the worst entry's ``|a - n|`` and
    its derived tolerance (absolute units), the relative error of the whole
    gradient, and a hint where a known mistake fits."""

    passed: bool
    error: float
    tolerance: float
    rel_error: float
    hint: str = ""


def _finite(m: Mat) -> bool:
    return all(math.isfinite(v) for v in m.flat)


def _moved(x: Mat, j: int, t: float) -> Mat:
    flat = list(x.flat)
    flat[j] += t
    return Mat(x.rows, x.cols, flat)


def central_differences(forward, x: Mat, analytic: Mat | None, u: Mat) -> Differences:
    r"""``analytic`` against central differences of ``<u, forward(x)>``, entry by entry.

    ``forward(x) -> Mat``.  Entry ``j`` is stepped by ``h = rule.step(s)``,
    ``s = max(1, |x_j|)`` (rounded so that ``x_j ± h`` is exact), halved while
    ``forward`` raises or is not finite there; ``n_j = Σ_i u_i (f_i(x + h e_j)
    - f_i(x - h e_j)) / 2h``, held to ``rule.tolerance(Γ, F, s·min(1, h/h₀))``.
    """
    y0 = forward(x)
    size = math.fsum(abs(a * b) for a, b in zip(u.flat, y0.flat, strict=True))
    numeric, scales = [], []
    for j, value in enumerate(x.flat):
        scale = max(1.0, abs(value))
        nominal = rule.step(scale)
        h, quotient = nominal, float("nan")
        for _ in range(40):  # shrink out of a domain's edge, as netlib's safe_step does
            h = (value + h) - value
            try:
                plus, minus = forward(_moved(x, j, h)), forward(_moved(x, j, -h))
            except (ArithmeticError, ValueError):
                h /= 2
                continue
            if _finite(plus) and _finite(minus):
                quotient = math.fsum(w * (p - m) for w, p, m in zip(
                    u.flat, plus.flat, minus.flat, strict=True)) / (2 * h)
                break
            h /= 2
        numeric.append(quotient)
        scales.append(scale * min(1.0, h / nominal))
    if analytic is None or analytic.shape != x.shape:
        shape = None if analytic is None else analytic.shape
        hint = (f"the answer has shape {shape}, the variable {x.shape}: a missing transpose?"
                if shape == x.shape[::-1] else f"the answer has shape {shape}, expected "
                f"{x.shape}")
        return Differences(False, float("inf"), float("inf"), float("inf"), hint)
    finite_a = [abs(v) for v in analytic.flat if math.isfinite(v)]
    gamma = max([abs(v) for v in numeric if math.isfinite(v)] + finite_a + [0.0])
    worst = (-1.0, float("inf"), float("nan"))
    for a, n, s in zip(analytic.flat, numeric, scales, strict=True):
        tol = rule.tolerance(gamma, size, s)
        err = abs(a - n)
        ratio = 0.0 if err == 0 else (err / tol if err == err else float("inf"))
        if ratio > worst[0]:
            worst = (ratio, err, tol)
    ratio, err, tol = worst
    rel = rule.relative(max((abs(a - n) for a, n in zip(analytic.flat, numeric, strict=True)),
                            default=0.0), max((abs(n) for n in numeric), default=0.0))
    passed = ratio <= 1.0 and len(finite_a) == len(analytic.flat)
    return Differences(passed, err if passed or ratio > 1 else float("inf"), tol, rel)


class PythonBackend:
    """Plain Python floats (:mod:`~derivations.matrix_calculus.pure`), central differences."""

    name = "python"
    engine = "central differences, plain Python (netlib's rule)"

    def evaluate(self, node: Node, values: dict) -> Mat:
        return to_python(node, values)

    def smallest_singular_value(self, m: Mat) -> float:
        return smallest_singular_value(m)

    def differences(self, expr: Node, wrt: str, values: dict, backward, u: Mat) -> Differences:
        """``backward(g, point) -> Mat`` against central differences of ``expr``."""
        x = values[wrt]
        analytic = backward(u, values)
        return central_differences(lambda moved: self.evaluate(expr, {**values, wrt: moved}),
                                   x, analytic, u)


class NumpyBackend:
    """numpy (:mod:`~derivations.matrix_calculus.numeric`) and netlib's finite-difference engine."""

    name = "numpy"
    engine = "central differences, netlib.gradcheck"

    def __init__(self):
        import numpy as np

        from netlib.gradcheck import check_gradients, relative_error

        from .numeric import to_numpy
        self._np, self._check, self._relative, self._to_numpy = (
            np, check_gradients, relative_error, to_numpy)

    def _array(self, m):
        return self._np.array(m.tolist() if isinstance(m, Mat) else m, dtype=float)

    def evaluate(self, node: Node, values: dict) -> Mat:
        with self._np.errstate(all="ignore"):
            out = self._to_numpy(node, {n: self._array(v) for n, v in values.items()})
        return Mat.of(self._np.asarray(out, dtype=float))

    def smallest_singular_value(self, m: Mat) -> float:
        return float(self._np.min(self._np.linalg.svd(self._array(m), compute_uv=False)))

    def differences(self, expr: Node, wrt: str, values: dict, backward, u: Mat) -> Differences:
        np = self._np

        def forward(**point):
            return self._to_numpy(expr, point)

        def vjp(g, **point):
            out = backward(Mat.of(np.asarray(g, dtype=float)),
                           {n: Mat.of(v) for n, v in point.items()})
            return None if out is None else self._array(out)

        arrays = {n: self._array(v) for n, v in values.items()}
        # u is random (drawn by rand.Random), passed in so that both backends
        # use the same one; it is never all ones.
        with np.errstate(all="ignore"):
            report = self._check(forward, vjp, arrays, wrt=[wrt], rng=0, mode="full",
                                 upstream=self._array(u))
        check = report[wrt]
        # A failing check whose worst entry is not above its tolerance failed on a
        # non-finite value or a shape: report it as an infinite error.
        error = check.error if check.passed or check.error > check.tolerance else float("inf")
        rel = (self._relative(check.analytic_array, check.numeric_array)
               if check.analytic_array is not None and check.numeric_array is not None
               else float("inf"))
        # No entry to compare (a wrong shape): no tolerance was derived either.
        tolerance = float("inf") if check.index is None else float(check.tolerance)
        return Differences(bool(check.passed), float(error), tolerance,
                           float(rel), "" if check.passed else check.hint)


_BACKENDS: dict = {}


def get_backend(name: str):
    """The backend called ``name`` (``"numpy"`` or ``"python"``), made once."""
    if name not in _BACKENDS:
        if name not in ("numpy", "python"):
            raise ValueError(f"derive: expected backend 'numpy' or 'python', got {name!r}")
        _BACKENDS[name] = NumpyBackend() if name == "numpy" else PythonBackend()
    return _BACKENDS[name]


def default_backend():
    """numpy with netlib where both import, plain Python otherwise."""
    try:
        return get_backend("numpy")
    except ImportError:
        return get_backend("python")
