"""Confirm a candidate VJP: SymPy's explicit Jacobian and central differences.

At a concrete size (every free size given a value) and a random point, the
candidate is compared with two independent references, each reported as a
:class:`~derivations.verify.rows.CheckRow`:

1. ``explicit Jacobian``: the expression evaluated by SymPy on a matrix of
   symbols for the variable (the other inputs fixed to the point's numbers),
   ``sympy.Matrix.jacobian`` of its row-major flattening (numerator layout,
   ``J[i, j] = dy_i/dx_j``), then ``J^T vec(G)`` at the point, reshaped to
   the variable's shape.  The error is the project's relative error,
   ``max|candidate - reference| / max|reference|``; both sides are exact up
   to float64 rounding (``~1e-15``), so the tolerance ``1e-9`` leaves six
   orders of margin;
2. ``finite differences``: central differences of the expression against
   the candidate evaluated at the point with a random upstream gradient
   ``g`` (an all-ones ``g`` hides wrong-axis sums), by the backend's engine
   (``backend.py``: netlib's with numpy, the same rule in plain Python
   without).  Its step ``h = ε^(1/3)·max(1, |x_j|)`` and its tolerance
   ``K·ε^(2/3)·(Γ + F/s)`` are derived in netlib (``Γ`` the size of the
   gradient, ``F = Σ|g_i f_i|`` the size of the function): they scale with
   the function, so that ``sum(X * X) + 1e6``, whose rounding error is a
   million times that of ``sum(X * X)``, is held to a tolerance a million
   times larger instead of a fixed one.  The error and the tolerance are those
   of the worst entry (largest ``|a - n|`` relative to its own tolerance), in
   absolute units.  A wrong rule misses by a fraction of the gradient
   itself, orders of magnitude above the tolerance.

Points are drawn by :func:`sample_point`, where the expression is finite and
at least :data:`POLE_MARGIN` away from its poles, as that derivation of the
tolerance requires.  Values are :class:`~derivations.matrix_calculus.pure.Mat`
matrices whichever the backend, so both backends see the same numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import sympy

from derivations.verify.rows import CheckRow

from .backend import rule
from .errors import MatrixCalculusError
from .evaluate import to_sympy
from .expr import Binary, Call, Node, constant_kind, names_in, subtrees
from .pure import Mat
from .rand import Random

__all__ = [
    "JACOBIAN_TOLERANCE",
    "POLE_MARGIN",
    "DomainError",
    "distance_to_pole",
    "explicit_jacobian",
    "explicit_jacobian_vjp",
    "finite_difference_row",
    "jacobian_row",
    "sample_point",
    "shape_text",
    "shapes_of",
]

JACOBIAN_TOLERANCE = 1e-9
#: Below this everywhere, a reference gradient is zero up to rounding.
ZERO_FLOOR = 1e-3
#: The points stay this far from a pole (a zero denominator, a singular
#: matrix under inv).  netlib's tolerance assumes that the function varies on
#: the scale of its argument; near the pole of ``a/x`` it varies on the scale
#: of ``x``, and the truncation error of a central difference, ``ε^(2/3)·a/x⁴``,
#: exceeds the tolerance ``K·ε^(2/3)·a/x²`` (``K = 100``) once ``|x| < 0.1``;
#: at ``0.3`` it is a ninth of it.
POLE_MARGIN = 0.3
#: The points stay this far from a kink (the 0 of abs, sign, relu, step,
#: norm1).  Each side of a kink is linear, so there is no truncation error to
#: bound: the margin only has to exceed the difference step, ``ε^(1/3)·|x|
#: ≈ 6e-6·|x|``, so that no difference straddles the kink.
KINK_MARGIN = 1e-3
_KINKS = ("abs", "sign", "relu", "step", "norm1")


class DomainError(MatrixCalculusError):
    """The expression has no finite value at the points tried."""


def shape_text(concrete: dict) -> str:
    """``'A 4×2, X 2×3'``: the sizes of a check, as the registry's rows print them."""
    return ", ".join(f"{name} {r}×{c}" for name, (r, c) in concrete.items())


def shapes_of(text: str) -> dict:
    """The inverse of :func:`shape_text`: ``'A 4×2, X 2×3'`` -> ``{'A': (4, 2), 'X': (2, 3)}``."""
    pairs = (part.rsplit(" ", 1) for part in text.split(", ") if part)
    return {name: tuple(int(v) for v in size.split("×")) for name, size in pairs}


def _max_abs(values) -> float:
    # NaN propagates (max skips it), so that a NaN never passes.
    values = list(values)
    if any(v != v for v in values):
        return float("nan")
    return max((abs(v) for v in values), default=0.0)


def jacobian_row(value: Mat | None, reference: Mat, where: tuple, check: str,
                 seconds: float = 0.0) -> CheckRow:
    """``value`` against an exact ``reference``: relative error, tolerance ``1e-9``.

    ``where`` is ``(entry, wrt, shapes)`` of the row.  The error is the
    project's relative error, ``max|value - reference| / max|reference|``,
    except where the reference is below :data:`ZERO_FLOOR` everywhere (a
    gradient that is exactly zero, such as that of ``sum(softmax(Z))``, the
    number of rows, comes out as rounding noise of order 1e-17 on both
    sides): there the row measures the absolute ``max|value - reference|``
    against ``1e-9 · ZERO_FLOOR = 1e-12``, so that noise passes and any answer
    that is not zero to within 1e-12 fails.  A value of another shape (a
    missing transpose on a non-square variable) has error ``inf``, one with a
    NaN error NaN: both fail.
    """
    if value is None or value.shape != reference.shape:
        return CheckRow(*where, check, False, float("inf"), seconds,
                        f"the value has shape {None if value is None else value.shape}, "
                        f"the reference {reference.shape}", JACOBIAN_TOLERANCE, float("inf"))
    gap = _max_abs(a - b for a, b in zip(value.flat, reference.flat, strict=True))
    error = rule.relative(gap, _max_abs(reference.flat))
    tolerance, measure, margin = JACOBIAN_TOLERANCE, "relative", error / JACOBIAN_TOLERANCE
    if all(math.isfinite(v) for v in value.flat) and _max_abs(reference.flat) < ZERO_FLOOR:
        tolerance, measure = JACOBIAN_TOLERANCE * ZERO_FLOOR, "absolute"
        margin = gap / tolerance
    passed = margin <= 1.0  # False for NaN
    return CheckRow(*where, check, passed, error, seconds,
                    "" if passed else f"error {margin * tolerance:.3g} > tolerance "
                    f"{tolerance:.0e} ({measure})", tolerance,
                    margin if margin == margin else float("inf"), measure)


def _min_abs(m: Mat) -> float:
    return min((abs(v) if v == v else 0.0 for v in m.flat), default=float("inf"))


def distance_to_pole(expr: Node, values: dict, backend, without: str | None = None) -> float:
    """How close ``values`` come to a pole of ``expr`` or of its gradient
    (``without``: a variable whose parts are passed over, having no value).

    The smallest of: ``|d|`` over every denominator ``d`` of ``/``, ``|x|``
    under ``log``, ``sqrt`` and a negative or fractional power, the norm
    under ``norm2``, the smallest singular value of a matrix under ``inv``,
    ``logdet`` and ``adj``, and ``|x|`` under a kink (``abs``, ``relu``, ...)
    scaled by ``POLE_MARGIN / KINK_MARGIN``; ``inf`` where there is none.
    """
    nearest = float("inf")
    for node in subtrees(expr):
        if without is not None and without in names_in(node):
            continue
        if isinstance(node, Binary) and node.op == "/":
            distance = _min_abs(backend.evaluate(node.right, values))
        elif (isinstance(node, Call) and node.fn == "log" and isinstance(node.args[0], Call)
              and node.args[0].fn in ("softmax", "exp")):
            continue  # read as log_softmax and as the identity: no pole
        elif isinstance(node, Call) and node.fn in ("log", "sqrt", "norm2"):
            watched = node if node.fn == "norm2" else node.args[0]
            distance = _min_abs(backend.evaluate(watched, values))
        elif isinstance(node, Binary) and node.op == "**" and not (
                node.right.value >= 1 and float(node.right.value).is_integer()):
            distance = _min_abs(backend.evaluate(node.left, values))  # x ** -1, x ** 0.5
        elif isinstance(node, Call) and node.fn in ("inv", "logdet", "adj"):
            distance = backend.smallest_singular_value(backend.evaluate(node.args[0], values))
        elif isinstance(node, Call) and node.fn in _KINKS:
            # scaled so that the kink margin compares with the pole margin
            distance = _min_abs(backend.evaluate(node.args[0], values)) * (
                POLE_MARGIN / KINK_MARGIN)
        else:
            continue
        nearest = min(nearest, float(distance))
    return nearest


def sample_point(expr: Node, concrete: dict, rng: Random, backend, tries: int = 20,
                 answers: tuple = ()) -> dict:
    """Random values (:class:`Mat`) for every variable, where ``expr`` is finite
    and at least :data:`POLE_MARGIN` away from its poles and from those of the
    ``answers`` to be checked there (their parts without the upstream ``G``).

    Why the answers' poles: ``det(X.T @ A @ X)`` has none, but its gradient
    holds ``inv(X.T @ A @ X)``, a closed form that exists only where
    ``X.T @ A @ X`` is regular; a point where it is singular says nothing.

    Entries are standard normal; an ``n×n`` input (``n > 1``) gets ``n·I``
    added, which shifts each of its eigenvalues by ``n`` (usually away from
    0) but guarantees neither invertibility nor diagonal dominance.  Where
    the expression raises, is not finite (the log of a negative number) or
    comes closer to a pole than the margin (:func:`distance_to_pole`), the
    point is drawn again, after ``tries // 2`` attempts with entries from
    ``[0.5, 1.5]`` instead.
    """
    for attempt in range(tries):
        values = {}
        for name, (rows, cols) in concrete.items():
            kind = constant_kind(name)
            if kind is not None:  # ones and eye are constants, not random
                values[name] = Mat(rows, cols, [1.0 if kind == "ones" or i == j else 0.0
                                                for i in range(rows) for j in range(cols)])
                continue
            if attempt < tries // 2:
                block = Mat.of(rng.standard_normal((rows, cols)))
            else:
                block = Mat.of(rng.uniform(0.5, 1.5, (rows, cols)))
            if rows == cols and rows > 1:
                block = Mat(rows, cols, [v + rows * (k // cols == k % cols)
                                         for k, v in enumerate(block.flat)])
            values[name] = block
        try:
            out = backend.evaluate(expr, values)
            if (all(math.isfinite(v) for v in out.flat)
                    and distance_to_pole(expr, values, backend) >= POLE_MARGIN
                    and all(distance_to_pole(answer, values, backend, without="G")
                            >= POLE_MARGIN for answer in answers)):
                return values
        except (ValueError, ArithmeticError):
            continue  # a singular matrix where inv(...) needs a regular one
    raise DomainError(f"derive: the expression is not finite, or within {POLE_MARGIN} of a "
                      f"pole (a division by zero, the inverse of a singular matrix), at each "
                      f"of {tries} random points")


def explicit_jacobian_vjp(expr: Node, wrt: str, values: dict, G: Mat) -> Mat:
    """``J^T vec(G)`` from SymPy's explicit Jacobian, at ``values``."""
    jacobian = explicit_jacobian(expr, wrt, values)
    g = G.flat
    out = [math.fsum(jacobian[i, j] * g[i] for i in range(jacobian.rows))
           for j in range(jacobian.cols)]
    return Mat(values[wrt].rows, values[wrt].cols, out)


def explicit_jacobian(expr: Node, wrt: str, values: dict) -> Mat:
    """SymPy's explicit Jacobian at ``values``, numerator layout (outputs index rows).

    The Jacobian is assembled one column at a time: column ``k`` is SymPy's
    derivative (``diff``, the entries of ``Matrix.jacobian``) of the flattened
    output with respect to a symbol ``t`` placed in entry ``k`` of the
    variable (``X = X0 + t E_k``), taken at ``t = 0``.  That is the same
    exact derivative as one symbol per entry, without building the
    many-variable expressions (a 4×4 symbolic inverse has thousands of terms).
    """
    rows, cols = values[wrt].shape
    t = sympy.Symbol("t", real=True)  # real: abs and sign differentiate as on the reals
    inputs = {name: sympy.Matrix(Mat.of(v).tolist()).applyfunc(sympy.Float)
              for name, v in values.items() if name != wrt}
    base = sympy.Matrix(Mat.of(values[wrt]).tolist()).applyfunc(sympy.Float)
    columns = []
    for k in range(rows * cols):
        moved = base.copy()
        moved[k // cols, k % cols] += t
        out = to_sympy(expr, {**inputs, wrt: moved})
        # Row-major, as the project flattens; an output entry that does not
        # hold t (another row of a softmax) has derivative 0 without asking.
        columns.append([complex(entry.diff(t).xreplace({t: 0}).evalf()) if entry.has(t)
                        else 0j for entry in out])
    top = max((abs(v) for column in columns for v in column), default=0.0)
    if any(abs(v.imag) > 1e-12 * max(1.0, top) for column in columns for v in column):
        raise ValueError("derive: the explicit Jacobian is complex at the sampled point")
    outputs = len(columns[0]) if columns else 0
    # numerator layout: outputs index rows, the variable's entries columns
    return Mat(outputs, len(columns), [columns[j][i].real for i in range(outputs)
                                       for j in range(len(columns))])


def finite_difference_row(expr: Node, wrt: str, values: dict, backward: Callable,
                          rng: Random, backend, where: tuple,
                          check: str = "finite differences") -> CheckRow:
    """``backward`` against central differences of ``expr`` at ``values``.

    ``backward(g, point) -> Mat`` returns the candidate VJP (``wrt``-shaped)
    for the upstream ``g`` (the output's shape, drawn here from ``rng``) at
    the point.  The row holds the worst entry's ``|a - n|`` against its
    derived tolerance (``measure="absolute"``), the relative error of the
    whole gradient, and, on failure, the hint of a known mistake.
    """
    started = time.perf_counter()
    out = backend.evaluate(expr, values)
    u = Mat.of(rng.standard_normal(out.shape))
    found = backend.differences(expr, wrt, values, backward, u)
    tolerance = found.tolerance
    margin = found.error / tolerance if math.isfinite(found.error) else float("inf")
    message = "" if found.passed else (
        f"worst entry's error {found.error:.3g} > derived tolerance {found.tolerance:.3g}")
    return CheckRow(*where, check, found.passed, found.rel_error,
                    time.perf_counter() - started, message, tolerance, margin, "absolute",
                    found.hint)
