"""Confirm a candidate VJP: explicit SymPy Jacobian and netlib's finite differences.

At a concrete size (every free size given a value) and a random point, the
candidate is compared with two independent references:

1. the **explicit Jacobian**: the expression evaluated by SymPy on a matrix
   of symbols for the variable (the other inputs fixed to the point's
   numbers), ``sympy.Matrix.jacobian`` of its row-major flattening
   (numerator layout, ``J[i, j] = dy_i/dx_j``), then ``J^T vec(G)`` at the
   point, reshaped to the variable's shape.  The error is
   :func:`netlib.gradcheck.relative_error`, ``max|candidate - reference| /
   max|reference|``; both sides are exact up to float64 rounding
   (``~1e-15``), so the tolerance ``1e-9`` leaves six orders of margin;
2. **central differences** by the project's one finite-difference engine,
   :func:`netlib.gradcheck.check_gradients` in ``full`` mode: the forward is
   the expression evaluated in numpy, the backward the candidate evaluated at
   the point with the checker's random upstream gradient ``g`` (an all-ones
   ``g`` hides wrong-axis sums).  Its step ``h = ε^(1/3)·max(1, |x_j|)`` and
   its tolerance ``K·ε^(2/3)·(Γ + F/s)`` are derived there (``Γ`` the size of
   the gradient, ``F = Σ|g_i f_i|`` the size of the function): they scale
   with the function, so that ``sum(X * X) + 1e6``, whose rounding error is a
   million times that of ``sum(X * X)``, is held to a tolerance a million
   times larger instead of a fixed one.  The error and the tolerance are those
   of the worst entry (largest ``|a - n|`` relative to its own tolerance), in
   absolute units.  A wrong rule misses by a fraction of the gradient
   itself, orders of magnitude above the tolerance.

Points are drawn by :func:`sample_point`, where the expression is finite and
at least :data:`POLE_MARGIN` away from its poles, as that derivation of the
tolerance requires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy

from netlib.gradcheck import check_gradients, relative_error

from .errors import MatrixCalculusError
from .evaluate import to_sympy
from .expr import Binary, Call, Node, constant_kind, subtrees
from .numeric import to_numpy

__all__ = [
    "FD_METHOD",
    "JACOBIAN_METHOD",
    "JACOBIAN_TOLERANCE",
    "POLE_MARGIN",
    "Confirmation",
    "DomainError",
    "distance_to_pole",
    "explicit_jacobian",
    "explicit_jacobian_vjp",
    "finite_difference_check",
    "jacobian_confirmation",
    "sample_point",
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
JACOBIAN_METHOD = "explicit Jacobian (SymPy)"
FD_METHOD = "central differences (netlib.gradcheck, h = ε^(1/3)·max(1, |x|))"


class DomainError(MatrixCalculusError):
    """The expression has no finite value at the points tried."""


@dataclass
class Confirmation:
    """One comparison of the candidate with an independent reference.

    ``measure`` says what ``error`` and ``tolerance`` are: ``"relative"``
    (max-norm relative error) or ``"absolute"`` (worst entry, with its
    derived tolerance).
    """

    method: str
    sizes: dict  # variable name -> (rows, cols) at this check
    error: float
    tolerance: float
    measure: str = "relative"
    hint: str = ""  # netlib's name for the pattern of a failure (a transpose, a factor)

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)

    def as_dict(self) -> dict:
        return {"method": self.method, "sizes": {k: list(v) for k, v in self.sizes.items()},
                "max_error": self.error, "tolerance": self.tolerance, "measure": self.measure,
                "passed": self.passed, **({"hint": self.hint} if self.hint else {})}


def jacobian_confirmation(value: np.ndarray, reference: np.ndarray, sizes: dict,
                          method: str = JACOBIAN_METHOD) -> Confirmation:
    """``value`` against an exact ``reference``: relative error, tolerance ``1e-9``.

    The error is :func:`netlib.gradcheck.relative_error`, except where the
    reference is below :data:`ZERO_FLOOR` everywhere (a gradient that is
    exactly zero, such as that of ``sum(softmax(Z))``, the number of rows,
    comes out as rounding noise of order 1e-17 on both sides): there it is
    ``max|value - reference| / ZERO_FLOOR``, so that noise passes and any
    answer that is not zero to within 1e-12 fails.  A value of another shape
    (a missing transpose on a non-square variable) has error ``inf``, one
    with a NaN error NaN: both fail.
    """
    error = float(relative_error(value, reference))
    value, reference = np.asarray(value, dtype=float), np.asarray(reference, dtype=float)
    if (value.shape == reference.shape and np.all(np.isfinite(value))
            and np.max(np.abs(reference), initial=0.0) < ZERO_FLOOR):
        error = float(np.max(np.abs(value - reference), initial=0.0) / ZERO_FLOOR)
    return Confirmation(method, sizes, error, JACOBIAN_TOLERANCE)


def distance_to_pole(expr: Node, values: dict) -> float:
    """How close ``values`` come to a pole of ``expr`` or of its gradient.

    The smallest of: ``|d|`` over every denominator ``d`` of ``/``, ``|x|``
    under ``log``, ``sqrt`` and a negative or fractional power, the norm
    under ``norm2``, the smallest singular value of a matrix under ``inv``,
    ``logdet`` and ``adj``, and ``|x|`` under a kink (``abs``, ``relu``, ...)
    scaled by ``POLE_MARGIN / KINK_MARGIN``; ``inf`` where there is none.
    """
    nearest = float("inf")
    for node in subtrees(expr):
        if isinstance(node, Binary) and node.op == "/":
            distance = np.min(np.abs(to_numpy(node.right, values)))
        elif (isinstance(node, Call) and node.fn == "log" and isinstance(node.args[0], Call)
              and node.args[0].fn in ("softmax", "exp")):
            continue  # read as log_softmax and as the identity: no pole
        elif isinstance(node, Call) and node.fn in ("log", "sqrt", "norm2"):
            watched = node if node.fn == "norm2" else node.args[0]
            distance = np.min(np.abs(to_numpy(watched, values)))
        elif isinstance(node, Binary) and node.op == "**" and not (
                node.right.value >= 1 and float(node.right.value).is_integer()):
            distance = np.min(np.abs(to_numpy(node.left, values)))  # x ** -1, x ** 0.5
        elif isinstance(node, Call) and node.fn in ("inv", "logdet", "adj"):
            distance = np.min(np.linalg.svd(to_numpy(node.args[0], values), compute_uv=False))
        elif isinstance(node, Call) and node.fn in _KINKS:
            # scaled so that the kink margin compares with the pole margin
            distance = np.min(np.abs(to_numpy(node.args[0], values))) * (
                POLE_MARGIN / KINK_MARGIN)
        else:
            continue
        nearest = min(nearest, float(distance))
    return nearest


def sample_point(expr: Node, concrete: dict, rng: np.random.Generator, tries: int = 20) -> dict:
    """Random float64 values for every variable, where ``expr`` is finite and
    at least :data:`POLE_MARGIN` away from its poles.

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
                values[name] = np.ones((rows, cols)) if kind == "ones" else np.eye(rows)
                continue
            if attempt < tries // 2:
                block = rng.standard_normal((rows, cols))
            else:
                block = rng.uniform(0.5, 1.5, (rows, cols))
            if rows == cols and rows > 1:
                block = block + rows * np.eye(rows)
            values[name] = block
        try:
            with np.errstate(all="ignore"):
                finite = bool(np.all(np.isfinite(to_numpy(expr, values))))
                if finite and distance_to_pole(expr, values) >= POLE_MARGIN:
                    return values
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            continue  # a singular matrix where inv(...) needs a regular one
    raise DomainError(f"derive: the expression is not finite, or within {POLE_MARGIN} of a "
                      f"pole (a division by zero, the inverse of a singular matrix), at each "
                      f"of {tries} random points")


def explicit_jacobian_vjp(expr: Node, wrt: str, values: dict, G: np.ndarray) -> np.ndarray:
    """``J^T vec(G)`` from SymPy's explicit Jacobian, at ``values``."""
    g = np.asarray(G, dtype=float).reshape(-1)
    return (explicit_jacobian(expr, wrt, values).T @ g).reshape(values[wrt].shape)


def explicit_jacobian(expr: Node, wrt: str, values: dict) -> np.ndarray:
    """SymPy's explicit Jacobian at ``values``, numerator layout (outputs index rows).

    The Jacobian is assembled one column at a time: column ``k`` is
    ``Matrix.jacobian`` of the flattened output with respect to a symbol
    ``t`` placed in entry ``k`` of the variable (``X = X0 + t E_k``), taken at
    ``t = 0``.  That is the same exact derivative as one symbol per entry,
    without building the many-variable expressions (a 4×4 symbolic inverse
    has thousands of terms).
    """
    rows, cols = values[wrt].shape
    t = sympy.Symbol("t", real=True)  # real: abs and sign differentiate as on the reals
    inputs = {name: sympy.Matrix(v.tolist()).applyfunc(sympy.Float)
              for name, v in values.items() if name != wrt}
    base = sympy.Matrix(values[wrt].tolist()).applyfunc(sympy.Float)
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
    return jacobian.real


def finite_difference_check(expr: Node, wrt: str, values: dict, backward: Callable,
                            rng: np.random.Generator, sizes: dict | None = None
                            ) -> tuple[Confirmation, object]:
    """``backward`` against netlib's central differences of ``expr`` at ``values``.

    ``backward(g, values)`` returns the candidate VJP (``wrt``-shaped) for the
    upstream ``g`` (the output's shape) at the point ``values``.  Returns the
    :class:`Confirmation` (worst entry's ``|a - n|`` against its derived
    tolerance) and netlib's :class:`~netlib.gradcheck.ArgumentCheck`, whose
    ``hint`` names a known mistake (a transpose, a constant factor) and whose
    arrays hold both gradients.
    """
    def forward(**point):
        return to_numpy(expr, point)

    def vjp(g, **point):
        return backward(np.asarray(g, dtype=float), point)

    with np.errstate(all="ignore"):
        report = check_gradients(forward, vjp, values, wrt=[wrt], rng=rng, mode="full")
    check = report[wrt]
    # A failing check whose worst entry is not above its tolerance failed on a
    # non-finite value or a shape: report it as an infinite error.
    error = check.error if check.passed or check.error > check.tolerance else float("inf")
    sizes = {n: v.shape for n, v in values.items()} if sizes is None else sizes
    return Confirmation(FD_METHOD, sizes, float(error), float(check.tolerance), "absolute",
                        "" if check.passed else check.hint), check
